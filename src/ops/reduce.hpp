// Reductions: ReduceSum Mean Max Min Prod L1 L2 LogSum LogSumExp SumSquare (keepdims,
// noop_with_empty_axes; axes as attribute before opset 18 (13 for ReduceSum), input after) and
// ArgMax/ArgMin (keepdims, select_last_index).
#pragma once

#include <optional>
#include <span>

#include "ops/kernel.hpp"

namespace qcal::ops {

enum class ReduceOp { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

struct ReduceAttrs {
  ReduceOp op = ReduceOp::kSum;
  std::int64_t keepdims = 1;
  std::int64_t noop_with_empty_axes = 0;
  std::optional<std::vector<std::int64_t>> axes;  // attribute form
  bool axes_from_input = false;
};
// Normalized, sorted axes to reduce (empty means no-op when noop_with_empty_axes, else all).
std::vector<std::int64_t> resolve_reduce_axes(const NodeDef& node, const ReduceAttrs& attrs,
                                              std::int64_t rank,
                                              const std::optional<std::vector<std::int64_t>>& axes);
Shape infer_reduce(const NodeDef& node, const ReduceAttrs& attrs, const Shape& data_shape,
                   std::span<const std::int64_t> axes);
// Reference: reduces [outer, reduce, inner] in double.
void reduce_f32_ref(ReduceOp op, const float* in, std::int64_t outer, std::int64_t reduce,
                    std::int64_t inner, float* out);
std::unique_ptr<Kernel> make_reduce(const NodeDef& node);

struct ArgReduceAttrs {
  bool is_max = true;
  std::int64_t axis = 0;
  std::int64_t keepdims = 1;
  std::int64_t select_last_index = 0;
};
std::unique_ptr<Kernel> make_arg_reduce(const NodeDef& node);

}  // namespace qcal::ops
