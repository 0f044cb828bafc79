// TopK: the k largest (or smallest) values along an axis and their int64 indices; ties keep the
// lower index first. K is an attribute before opset 10 and an input after.
#pragma once

#include <span>

#include "ops/kernel.hpp"

namespace qcal::ops {

struct TopKAttrs {
  std::int64_t axis = -1;
  std::int64_t largest = 1;
  std::int64_t sorted = 1;
  std::int64_t k = -1;  // opset < 10
};
Shape infer_topk(const NodeDef& node, const TopKAttrs& attrs, const Shape& shape, std::int64_t k);
std::unique_ptr<Kernel> make_topk(const NodeDef& node);

}  // namespace qcal::ops
