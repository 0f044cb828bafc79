// Tensor implementation: aligned allocation with limits, dtype table.
#include "core/tensor.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#include "core/checked.hpp"
#include "core/error.hpp"

namespace qcal {

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kFloat64:
    case DType::kInt64:
    case DType::kUInt64:
      return 8;
    case DType::kFloat32:
    case DType::kInt32:
    case DType::kUInt32:
      return 4;
    case DType::kFloat16:
    case DType::kInt16:
    case DType::kUInt16:
      return 2;
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kBool:
      return 1;
    case DType::kUndefined:
      return 0;
  }
  return 0;
}

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
    case DType::kFloat16:
      return "float16";
    case DType::kInt8:
      return "int8";
    case DType::kUInt8:
      return "uint8";
    case DType::kInt16:
      return "int16";
    case DType::kUInt16:
      return "uint16";
    case DType::kInt32:
      return "int32";
    case DType::kUInt32:
      return "uint32";
    case DType::kInt64:
      return "int64";
    case DType::kUInt64:
      return "uint64";
    case DType::kBool:
      return "bool";
    case DType::kUndefined:
      return "undefined";
  }
  return "undefined";
}

std::int64_t shape_numel(std::span<const std::int64_t> shape) { return checked_numel(shape); }

std::string shape_to_string(std::span<const std::int64_t> shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  if (dtype == DType::kUndefined) throw Error(ErrorCode::kInternal, "tensor with undefined dtype");
  numel_ = checked_numel(shape_, "tensor");
  const std::int64_t bytes =
      checked_mul(numel_, static_cast<std::int64_t>(dtype_size(dtype)), "tensor bytes");
  check_alloc(static_cast<std::uint64_t>(bytes), "tensor " + shape_to_string(shape_));
  // 64-byte alignment for AVX-512 kernels; at least one byte so data() is never null.
  const std::size_t alloc = (static_cast<std::size_t>(bytes) + 63) / 64 * 64 + 64;
  void* p = std::aligned_alloc(64, alloc);
  if (!p)
    throw Error(ErrorCode::kLimit, "out of memory allocating " + std::to_string(alloc) + " bytes");
  std::memset(p, 0, alloc);
  buffer_ =
      std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}

Tensor Tensor::clone() const {
  if (empty()) return {};
  Tensor t(dtype_, shape_);
  std::memcpy(t.raw_data(), raw_data(), nbytes());
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (checked_numel(shape) != numel_) {
    throw Error(ErrorCode::kInvalidArgument,
                "cannot reshape " + shape_to_string(shape_) + " to " + shape_to_string(shape));
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::alias(DType dtype, Shape shape, const Tensor& owner, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = checked_numel(t.shape_, "tensor");
  // Aliasing shared_ptr: keeps the owner's buffer alive, points at `data`.
  t.buffer_ = std::shared_ptr<std::byte>(owner.buffer_, static_cast<std::byte*>(data));
  return t;
}

Tensor Tensor::adopt(DType dtype, Shape shape, std::shared_ptr<std::byte> buffer) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = checked_numel(t.shape_, "tensor");
  t.buffer_ = std::move(buffer);
  return t;
}

void Tensor::check_dtype(DType expected) const {
  if (expected != dtype_) {
    throw Error(ErrorCode::kInternal, "tensor of dtype " + std::string(dtype_name(dtype_)) +
                                          " accessed as " + std::string(dtype_name(expected)));
  }
}

void Tensor::check_count(std::size_t count) const {
  if (static_cast<std::int64_t>(count) != numel_) {
    throw Error(ErrorCode::kInvalidArgument, "tensor " + shape_to_string(shape_) + " given " +
                                                 std::to_string(count) + " values");
  }
}

}  // namespace qcal
