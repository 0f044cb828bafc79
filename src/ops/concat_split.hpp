// Concat and Split: contiguous block copies along an axis, split evenly over threads by bytes.
#pragma once

#include <optional>
#include <span>

#include "ops/kernel.hpp"

namespace qcal::ops {

struct ConcatAttrs {
  std::int64_t axis = 0;
};
Shape infer_concat(const NodeDef& node, const ConcatAttrs& attrs, std::span<const Shape> shapes);
std::unique_ptr<Kernel> make_concat(const NodeDef& node);

struct SplitAttrs {
  std::int64_t axis = 0;
  std::vector<std::int64_t> split;          // attribute (opset < 13) or constant input 1
  std::optional<std::int64_t> num_outputs;  // opset 18
};
// Sizes of the pieces along the axis: explicit, or even (the last smaller from opset 18 on).
std::vector<std::int64_t> infer_split_sizes(const NodeDef& node, std::int64_t dim,
                                            std::span<const std::int64_t> split,
                                            std::size_t output_count);
std::unique_ptr<Kernel> make_split(const NodeDef& node);

}  // namespace qcal::ops
