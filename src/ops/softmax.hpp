// Softmax and LogSoftmax. Before opset 13 the input is coerced to 2-D at `axis` (default 1) and
// normalised over the whole trailing block; from opset 13 over the single `axis` (default -1).
#pragma once

#include <span>

#include "ops/kernel.hpp"

namespace qcal::ops {

struct SoftmaxAttrs {
  std::int64_t axis = -1;
  bool log = false;
  bool coerce_2d = false;  // opset < 13
};
// [outer, reduce, inner] split of the shape for the normalised axis or block.
void infer_softmax(const NodeDef& node, const SoftmaxAttrs& attrs, const Shape& shape,
                   std::int64_t& outer, std::int64_t& reduce, std::int64_t& inner);
void softmax_f32_ref(bool log, const float* in, std::int64_t outer, std::int64_t reduce,
                     std::int64_t inner, float* out);
std::unique_ptr<Kernel> make_softmax(const NodeDef& node);

}  // namespace qcal::ops
