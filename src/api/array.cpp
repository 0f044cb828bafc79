// qcal::Array and its conversions to the libraries' tensors: shared memory, never a copy.
#include <cstring>

#include "api/convert.hpp"
#include "core/error.hpp"

namespace qcal {
namespace {

struct TypeRow {
  ElementType type;
  DType dtype;
};
constexpr TypeRow kTypes[] = {
    {ElementType::kFloat32, DType::kFloat32}, {ElementType::kFloat64, DType::kFloat64},
    {ElementType::kFloat16, DType::kFloat16}, {ElementType::kInt8, DType::kInt8},
    {ElementType::kUInt8, DType::kUInt8},     {ElementType::kInt16, DType::kInt16},
    {ElementType::kUInt16, DType::kUInt16},   {ElementType::kInt32, DType::kInt32},
    {ElementType::kUInt32, DType::kUInt32},   {ElementType::kInt64, DType::kInt64},
    {ElementType::kUInt64, DType::kUInt64},   {ElementType::kBool, DType::kBool},
};

}  // namespace

std::size_t element_size(ElementType type) { return dtype_size(api::to_dtype(type)); }

std::string_view element_type_name(ElementType type) { return dtype_name(api::to_dtype(type)); }

std::int64_t Array::numel() const { return shape_numel(shape); }

Array Array::zeros(ElementType element, std::vector<std::int64_t> dims) {
  return api::to_array(Tensor(api::to_dtype(element), std::move(dims)));
}

Array Array::from_floats(std::vector<std::int64_t> dims, const std::vector<float>& values) {
  return api::to_array(Tensor::from_values<float>(std::move(dims), values));
}

std::vector<float> Array::to_floats() const {
  if (type != ElementType::kFloat32) {
    throw_invalid("the array is " + std::string(element_type_name(type)) + ", not float32");
  }
  std::vector<float> out(static_cast<std::size_t>(numel()));
  if (!out.empty()) std::memcpy(out.data(), data.get(), nbytes());
  return out;
}

namespace api {

DType to_dtype(ElementType type) {
  for (const auto& row : kTypes) {
    if (row.type == type) return row.dtype;
  }
  throw Error(ErrorCode::kInternal, "unknown element type");
}

ElementType to_element_type(DType dtype) {
  for (const auto& row : kTypes) {
    if (row.dtype == dtype) return row.type;
  }
  throw Error(ErrorCode::kUnsupported, "tensor of undefined element type");
}

Tensor to_tensor(const Array& array) {
  if (!array.data && array.numel() != 0) throw_invalid("an array without memory");
  // Aliasing shared_ptr: the tensor shares the array's owner.
  std::shared_ptr<std::byte> bytes(array.data, static_cast<std::byte*>(array.data.get()));
  return Tensor::adopt(to_dtype(array.type), array.shape, std::move(bytes));
}

Array to_array(const Tensor& tensor) {
  Array a;
  a.type = to_element_type(tensor.dtype());
  a.shape = tensor.shape();
  // The tensor copy inside the deleter keeps its buffer alive; data points at it.
  auto owner = std::make_shared<Tensor>(tensor);
  a.data = std::shared_ptr<void>(owner, const_cast<void*>(owner->raw_data()));
  return a;
}

void check_cancel(const Control& control, const std::string& stage) {
  if (control.cancel && control.cancel->load()) {
    throw Error(ErrorCode::kCancelled, stage + " cancelled");
  }
}

}  // namespace api
}  // namespace qcal
