// Shape-manipulating ops that move no data or only copy it: Reshape Flatten Squeeze Unsqueeze
// Shape Size Expand ConstantOfShape Range Constant. Ops whose output shape depends on an input's
// value (Reshape's shape, Expand's shape...) compute it at plan time when the value is constant,
// and otherwise report -1 dims and size the output in run().
#pragma once

#include <optional>
#include <span>

#include "ops/kernel.hpp"

namespace qcal::ops {

struct ReshapeAttrs {
  std::int64_t allowzero = 0;  // opset 14: 0 copies the input dim, 1 makes a real 0
};
// Output shape from the data shape and the requested shape (-1 inferred, 0 copied).
Shape infer_reshape(const NodeDef& node, const ReshapeAttrs& attrs, const Shape& data_shape,
                    std::span<const std::int64_t> requested);

struct FlattenAttrs {
  std::int64_t axis = 1;
};
Shape infer_flatten(const NodeDef& node, const FlattenAttrs& attrs, const Shape& data_shape);

struct SqueezeAttrs {
  std::optional<std::vector<std::int64_t>> axes;  // attribute (opset < 13) or constant input
};
Shape infer_squeeze(const NodeDef& node, const Shape& data_shape,
                    const std::optional<std::vector<std::int64_t>>& axes);

struct UnsqueezeAttrs {
  std::vector<std::int64_t> axes;  // attribute (opset < 13) or constant input
};
Shape infer_unsqueeze(const NodeDef& node, const Shape& data_shape,
                      std::span<const std::int64_t> axes);

struct ShapeAttrs {
  std::int64_t start = 0;  // opset 15: slice of the shape, clamped like Slice
  std::optional<std::int64_t> end;
};

struct ConstantOfShapeAttrs {
  Tensor value;  // one element; float32 0 by default
};

struct ConstantAttrs {
  Tensor value;
};
ConstantAttrs parse_constant_attrs(const NodeDef& node);

// Range's element count: max(ceil((limit - start) / delta), 0); throws on delta 0 or huge counts.
std::int64_t infer_range_count(const NodeDef& node, double start, double limit, double delta);

std::unique_ptr<Kernel> make_reshape(const NodeDef& node);
std::unique_ptr<Kernel> make_flatten(const NodeDef& node);
std::unique_ptr<Kernel> make_squeeze(const NodeDef& node);
std::unique_ptr<Kernel> make_unsqueeze(const NodeDef& node);
std::unique_ptr<Kernel> make_shape(const NodeDef& node);
std::unique_ptr<Kernel> make_size(const NodeDef& node);
std::unique_ptr<Kernel> make_expand(const NodeDef& node);
std::unique_ptr<Kernel> make_constant_of_shape(const NodeDef& node);
std::unique_ptr<Kernel> make_range(const NodeDef& node);
std::unique_ptr<Kernel> make_constant(const NodeDef& node);

}  // namespace qcal::ops
