// qcal::Array: a dense, C-ordered tensor that the public API takes and returns without copies
// (the memory is shared, kept alive by `data`), and qcal::Control: progress and cancellation.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qcal {

// Element types, spelled as numpy's.
enum class ElementType {
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
  kBool
};

std::size_t element_size(ElementType type);
std::string_view element_type_name(ElementType type);  // "float32", "uint8", ...

struct Array {
  ElementType type = ElementType::kFloat32;
  std::vector<std::int64_t> shape;
  // numel * element_size bytes, aligned for the element type. The deleter is the owner's: a
  // numpy buffer stays alive as long as any Array (or qcal tensor) over it.
  std::shared_ptr<void> data;

  std::int64_t numel() const;  // product of the shape (1 for a scalar)
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * element_size(type); }
  // A zero-filled array owning its memory.
  static Array zeros(ElementType type, std::vector<std::int64_t> shape);
  // An array over float values (copied).
  static Array from_floats(std::vector<std::int64_t> shape, const std::vector<float>& values);
  // The values as floats (a copy); throws qcal::Error for another element type.
  std::vector<float> to_floats() const;
};

// Long work reports progress and can be cancelled. `progress(stage, done, total)`: stage is
// "calibrate" or "eval"; total is 0 while unknown (a stream). When `cancel` is set the work
// stops at the next sample or batch with qcal::Error (ErrorCode::kCancelled), leaving no output
// files behind. Both are called on the thread that runs the work.
struct Control {
  std::function<void(std::string_view stage, std::int64_t done, std::int64_t total)> progress;
  const std::atomic<bool>* cancel = nullptr;
};

}  // namespace qcal
