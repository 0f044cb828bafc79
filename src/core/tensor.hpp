// Tensor (owning, 64-byte aligned, shared buffer) and TensorView (non-owning), with dtypes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace qcal {

enum class DType : std::uint8_t {
  kUndefined,
  kFloat32,
  kFloat64,
  kFloat16,
  kInt8,
  kUInt8,
  kInt16,
  kUInt16,
  kInt32,
  kUInt32,
  kInt64,
  kUInt64,
  kBool,  // one byte per element, 0 or 1
};

std::size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);  // numpy-style: "float32", "int64", "bool"

template <typename T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>)
    return DType::kFloat32;
  else if constexpr (std::is_same_v<T, double>)
    return DType::kFloat64;
  else if constexpr (std::is_same_v<T, std::int8_t>)
    return DType::kInt8;
  else if constexpr (std::is_same_v<T, std::uint8_t>)
    return DType::kUInt8;
  else if constexpr (std::is_same_v<T, std::int16_t>)
    return DType::kInt16;
  else if constexpr (std::is_same_v<T, std::uint16_t>)
    return DType::kUInt16;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return DType::kInt32;
  else if constexpr (std::is_same_v<T, std::uint32_t>)
    return DType::kUInt32;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return DType::kInt64;
  else if constexpr (std::is_same_v<T, std::uint64_t>)
    return DType::kUInt64;
  else if constexpr (std::is_same_v<T, bool>)
    return DType::kBool;
  else
    static_assert(sizeof(T) == 0, "no qcal dtype for this C++ type");
}

using Shape = std::vector<std::int64_t>;

// Number of elements (checked: negative or overflowing dimensions throw qcal::Error).
std::int64_t shape_numel(std::span<const std::int64_t> shape);
std::string shape_to_string(std::span<const std::int64_t> shape);  // "[1, 3, 640, 640]"

// Non-owning view of tensor data. Valid only while the owner is alive.
struct TensorView {
  DType dtype = DType::kUndefined;
  std::span<const std::int64_t> shape;
  const void* data = nullptr;

  std::int64_t numel() const { return shape_numel(shape); }
  template <typename T>
  std::span<const T> values() const {
    return {static_cast<const T*>(data), static_cast<std::size_t>(numel())};
  }
};

// Owning tensor. Copies share the buffer (cheap); clone() makes a deep copy.
class Tensor {
 public:
  Tensor() = default;
  // Allocates numel * dtype_size bytes, zero-filled; throws kLimit past kMaxAllocBytes.
  Tensor(DType dtype, Shape shape);

  template <typename T>
  static Tensor from_values(Shape shape, std::span<const T> values) {
    Tensor t(dtype_of<T>(), std::move(shape));
    t.check_count(values.size());
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
  }
  template <typename T>
  static Tensor scalar(T value) {
    Tensor t(dtype_of<T>(), Shape{});
    *t.data<T>() = value;
    return t;
  }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::int64_t numel() const { return numel_; }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel_) * dtype_size(dtype_); }
  bool empty() const { return dtype_ == DType::kUndefined; }

  void* raw_data() { return buffer_.get(); }
  const void* raw_data() const { return buffer_.get(); }
  // Typed access; throws kInternal when T does not match the dtype.
  template <typename T>
  T* data() {
    check_dtype(dtype_of<T>());
    return static_cast<T*>(raw_data());
  }
  template <typename T>
  const T* data() const {
    check_dtype(dtype_of<T>());
    return static_cast<const T*>(raw_data());
  }
  template <typename T>
  std::span<const T> values() const {
    return {data<T>(), static_cast<std::size_t>(numel_)};
  }

  // A tensor over memory owned by `owner` (`data` points inside it, at least numel * dtype_size
  // bytes, suitably aligned): the engine places many tensors in one reused arena this way.
  static Tensor alias(DType dtype, Shape shape, const Tensor& owner, void* data);
  // A tensor over memory the caller owns and keeps alive through `buffer` (the public API's
  // arrays, numpy buffers): no copy. The memory holds numel * dtype_size bytes, aligned for
  // the element type.
  static Tensor adopt(DType dtype, Shape shape, std::shared_ptr<std::byte> buffer);

  TensorView view() const { return {dtype_, shape_, raw_data()}; }
  Tensor clone() const;
  // Same buffer, new shape with the same element count (throws otherwise).
  Tensor reshaped(Shape shape) const;

 private:
  void check_dtype(DType expected) const;
  void check_count(std::size_t count) const;

  DType dtype_ = DType::kUndefined;
  Shape shape_;
  std::int64_t numel_ = 0;
  std::shared_ptr<std::byte> buffer_;
};

}  // namespace qcal
