// Pad (constant, reflect, edge, wrap; negative pads crop) and Tile.
#pragma once

#include <span>

#include "ops/kernel.hpp"

namespace qcal::ops {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

struct PadAttrs {
  PadMode mode = PadMode::kConstant;
  std::vector<std::int64_t> pads;  // attribute (opset < 11) or input 1: all begins, then all ends
  float value = 0.0f;              // attribute (opset < 11) or input 2
};
// Full-rank begin/end pads from `pads` (and opset-18 `axes`), validated against the shape.
struct PadAmounts {
  std::vector<std::int64_t> begin, end;
};
PadAmounts infer_pad(const NodeDef& node, const PadAttrs& attrs, const Shape& data_shape,
                     std::span<const std::int64_t> pads, std::span<const std::int64_t> axes);
void pad_f32_ref(const float* in, const Shape& in_shape, const PadAmounts& amounts, PadMode mode,
                 float value, float* out);
std::unique_ptr<Kernel> make_pad(const NodeDef& node);

Shape infer_tile(const NodeDef& node, const Shape& data_shape,
                 std::span<const std::int64_t> repeats);
std::unique_ptr<Kernel> make_tile(const NodeDef& node);

}  // namespace qcal::ops
