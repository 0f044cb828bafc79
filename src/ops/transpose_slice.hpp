// Strided data movement: Transpose (permuted strides) and Slice (offset + stepped strides),
// both executed by one strided copy with merged dims and memcpy inner rows.
#pragma once

#include <functional>
#include <span>

#include "ops/kernel.hpp"

namespace qcal::ops {

struct TransposeAttrs {
  std::vector<std::int64_t> perm;  // empty: reverse the dims
};
Shape infer_transpose(const NodeDef& node, const TransposeAttrs& attrs, const Shape& data_shape);
std::unique_ptr<Kernel> make_transpose(const NodeDef& node);

struct SliceAttrs {
  // Opset < 10: attributes. Opset >= 10: inputs 1..4 (starts, ends, axes, steps).
  std::vector<std::int64_t> starts, ends, axes;
};
// A resolved slice: per input dim, first index, step and count.
struct SliceRegion {
  std::vector<std::int64_t> start, step, count;
};
// Resolves starts/ends/axes/steps against a known data shape with the spec's clamping
// (positive step: [0, dim]; negative step: start in [0, dim-1], end in [-1, dim-1]).
SliceRegion infer_slice(const NodeDef& node, const Shape& data_shape,
                        std::span<const std::int64_t> starts, std::span<const std::int64_t> ends,
                        std::span<const std::int64_t> axes, std::span<const std::int64_t> steps);
// The region a Slice node takes from data of `data_shape`, its starts/ends/axes/steps read from
// attributes (opset < 10) or from `input(i)` for inputs 1..4 (nullptr: omitted). The kernel's own
// resolution; calibration uses it to recognise Slices that partition a tensor.
SliceRegion resolve_slice(const NodeDef& node, const Shape& data_shape,
                          const std::function<const Tensor*(std::size_t)>& input);
// Reference kernel: per-element coordinates.
void slice_f32_ref(const float* in, const Shape& in_shape, const SliceRegion& region, float* out);
std::unique_ptr<Kernel> make_slice(const NodeDef& node);

}  // namespace qcal::ops
