// Gather and GatherElements: index-driven copies with negative indices wrapped; indices are
// checked before the copy loop and a bad one is an error naming the node.
#pragma once

#include <span>

#include "ops/kernel.hpp"

namespace qcal::ops {

struct GatherAttrs {
  std::int64_t axis = 0;
};
// data[:axis] + indices + data[axis+1:]
Shape infer_gather(const NodeDef& node, const GatherAttrs& attrs, const Shape& data_shape,
                   const Shape& indices_shape);
void gather_f32_ref(const float* data, const Shape& data_shape, const std::int64_t* indices,
                    std::int64_t index_count, std::int64_t axis, float* out);
std::unique_ptr<Kernel> make_gather(const NodeDef& node);
std::unique_ptr<Kernel> make_gather_elements(const NodeDef& node);

}  // namespace qcal::ops
