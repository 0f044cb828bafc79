// Shape-manipulating ops (see shape_ops.hpp). Reshape-like ops copy the bytes into the engine's
// preallocated output, or share the input's buffer when the output shape was data-dependent.
#include "ops/shape_ops.hpp"

#include <cmath>
#include <limits>

#include "core/checked.hpp"
#include "ops/op_util.hpp"
#include "ops/unary.hpp"

namespace qcal::ops {
namespace {

// The constant value of input i at plan time, or nullptr.
const Tensor* const_value(std::span<const TensorInfo> inputs, std::size_t i) {
  const TensorInfo* info = input_info(inputs, i);
  return info ? info->value : nullptr;
}

// Copies data into a reshaped output: shares the buffer when the engine left the output empty.
void reshape_into(const Tensor& in, Tensor& out, const Shape& shape) {
  if (out.empty()) {
    out = in.reshaped(shape);
  } else {
    copy_bytes(in, out);
  }
}

std::vector<std::int64_t> read_shape_input(const NodeDef& node, const Tensor& t, const char* what) {
  if (t.shape().size() != 1) {
    throw node.error(
        ErrorCode::kInvalidArgument,
        std::string(what) + " must be a 1-D tensor, got shape " + shape_to_string(t.shape()));
  }
  return tensor_to_ints(node, t, what);
}

class ReshapeKernel : public NodeKernel {
 public:
  ReshapeKernel(const NodeDef& node, ReshapeAttrs attrs) : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 2, 2);
    require_dtype(node_, inputs[1].dtype, {DType::kInt64}, "shape");
    if (const Tensor* shape = const_value(inputs, 1)) {
      return {
          {inputs[0].dtype,
           infer_reshape(node_, attrs_, inputs[0].shape, read_shape_input(node_, *shape, "shape")),
           nullptr}};
    }
    if (inputs[1].shape.size() != 1 || inputs[1].shape[0] < 0) {
      throw node_.error(ErrorCode::kInvalidArgument, "shape must be a 1-D tensor of known length");
    }
    return {{inputs[0].dtype, Shape(static_cast<std::size_t>(inputs[1].shape[0]), -1), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext&) override {
    const Shape shape = outputs[0]->empty()
                            ? infer_reshape(node_, attrs_, inputs[0]->shape(),
                                            read_shape_input(node_, *inputs[1], "shape"))
                            : outputs[0]->shape();
    reshape_into(*inputs[0], *outputs[0], shape);
  }

 private:
  ReshapeAttrs attrs_;
};

class FlattenKernel : public NodeKernel {
 public:
  FlattenKernel(const NodeDef& node, FlattenAttrs attrs) : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 1, 1);
    return {{inputs[0].dtype, infer_flatten(node_, attrs_, inputs[0].shape), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext&) override {
    reshape_into(*inputs[0], *outputs[0], infer_flatten(node_, attrs_, inputs[0]->shape()));
  }

 private:
  FlattenAttrs attrs_;
};

class SqueezeKernel : public NodeKernel {
 public:
  SqueezeKernel(const NodeDef& node, SqueezeAttrs attrs)
      : NodeKernel(node), attrs_(std::move(attrs)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 1, node_.opset >= 13 ? 2 : 1);
    std::optional<std::vector<std::int64_t>> axes = attrs_.axes;
    if (input_info(inputs, 1)) {
      const Tensor* value = const_value(inputs, 1);
      if (!value) {
        // The count of axes fixes the output rank even when their values are unknown.
        if (inputs[1].shape.size() != 1 || inputs[1].shape[0] < 0) {
          throw node_.error(ErrorCode::kInvalidArgument, "axes must be a 1-D tensor");
        }
        const auto rank = static_cast<std::int64_t>(inputs[0].shape.size()) - inputs[1].shape[0];
        if (rank < 0) throw node_.error(ErrorCode::kInvalidArgument, "more axes than dimensions");
        return {{inputs[0].dtype, Shape(static_cast<std::size_t>(rank), -1), nullptr}};
      }
      axes = read_shape_input(node_, *value, "axes");
    }
    return {{inputs[0].dtype, infer_squeeze(node_, inputs[0].shape, axes), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext&) override {
    std::optional<std::vector<std::int64_t>> axes = attrs_.axes;
    if (const Tensor* t = input_tensor(inputs, 1)) axes = read_shape_input(node_, *t, "axes");
    reshape_into(*inputs[0], *outputs[0], infer_squeeze(node_, inputs[0]->shape(), axes));
  }

 private:
  SqueezeAttrs attrs_;
};

class UnsqueezeKernel : public NodeKernel {
 public:
  UnsqueezeKernel(const NodeDef& node, UnsqueezeAttrs attrs)
      : NodeKernel(node), attrs_(std::move(attrs)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    if (node_.opset >= 13) {
      require_inputs(node_, inputs, 2, 2);
      const Tensor* value = const_value(inputs, 1);
      if (!value) {
        if (inputs[1].shape.size() != 1 || inputs[1].shape[0] < 0) {
          throw node_.error(ErrorCode::kInvalidArgument, "axes must be a 1-D tensor");
        }
        const auto rank = static_cast<std::int64_t>(inputs[0].shape.size()) + inputs[1].shape[0];
        return {{inputs[0].dtype, Shape(static_cast<std::size_t>(rank), -1), nullptr}};
      }
      return {{inputs[0].dtype,
               infer_unsqueeze(node_, inputs[0].shape, read_shape_input(node_, *value, "axes")),
               nullptr}};
    }
    require_inputs(node_, inputs, 1, 1);
    return {{inputs[0].dtype, infer_unsqueeze(node_, inputs[0].shape, attrs_.axes), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext&) override {
    std::vector<std::int64_t> axes = attrs_.axes;
    if (const Tensor* t = input_tensor(inputs, 1)) axes = read_shape_input(node_, *t, "axes");
    reshape_into(*inputs[0], *outputs[0], infer_unsqueeze(node_, inputs[0]->shape(), axes));
  }

 private:
  UnsqueezeAttrs attrs_;
};

// Shape and Size: their values are known at plan time whenever the input's shape is, which lets
// the engine fold shape subgraphs; infer() returns them as the output's value.
class ShapeKernel : public NodeKernel {
 public:
  ShapeKernel(const NodeDef& node, ShapeAttrs attrs) : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 1, 1);
    const auto [begin, end] = range(static_cast<std::int64_t>(inputs[0].shape.size()));
    const Shape dims(inputs[0].shape.begin() + begin, inputs[0].shape.begin() + end);
    const Shape out_shape{end - begin};
    if (!shape_known(dims)) return {{DType::kInt64, out_shape, nullptr}};
    value_ = Tensor::from_values<std::int64_t>(out_shape, dims);
    return {{DType::kInt64, out_shape, &value_}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext&) override {
    const Shape& s = inputs[0]->shape();
    const auto [begin, end] = range(static_cast<std::int64_t>(s.size()));
    ensure_output(*outputs[0], DType::kInt64, Shape{end - begin});
    std::copy(s.begin() + begin, s.begin() + end, outputs[0]->data<std::int64_t>());
  }

 private:
  std::pair<std::int64_t, std::int64_t> range(std::int64_t rank) const {
    auto clamp = [rank](std::int64_t v) {
      if (v < 0) v += rank;
      return std::clamp<std::int64_t>(v, 0, rank);
    };
    const std::int64_t begin = clamp(attrs_.start);
    const std::int64_t end = attrs_.end ? clamp(*attrs_.end) : rank;
    return {begin, std::max(begin, end)};
  }

  ShapeAttrs attrs_;
  Tensor value_;
};

class SizeKernel : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 1, 1);
    if (!shape_known(inputs[0].shape)) return {{DType::kInt64, {}, nullptr}};
    value_ = Tensor::scalar<std::int64_t>(known_numel(inputs[0].shape));
    return {{DType::kInt64, {}, &value_}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext&) override {
    ensure_output(*outputs[0], DType::kInt64, {});
    *outputs[0]->data<std::int64_t>() = inputs[0]->numel();
  }

 private:
  Tensor value_;
};

class ExpandKernel : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 2, 2);
    require_dtype(node_, inputs[1].dtype, {DType::kInt64}, "shape");
    if (const Tensor* shape = const_value(inputs, 1)) {
      const Shape shapes[] = {inputs[0].shape, read_shape_input(node_, *shape, "shape")};
      return {{inputs[0].dtype, broadcast_shapes(node_, shapes), nullptr}};
    }
    if (inputs[1].shape.size() != 1 || inputs[1].shape[0] < 0) {
      throw node_.error(ErrorCode::kInvalidArgument, "shape must be a 1-D tensor of known length");
    }
    const auto rank = std::max<std::int64_t>(inputs[1].shape[0],
                                             static_cast<std::int64_t>(inputs[0].shape.size()));
    require_rank_supported(node_, static_cast<std::size_t>(rank));
    return {{inputs[0].dtype, Shape(static_cast<std::size_t>(rank), -1), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    if (outputs[0]->empty()) {
      const Shape shapes[] = {inputs[0]->shape(), read_shape_input(node_, *inputs[1], "shape")};
      *outputs[0] = Tensor(inputs[0]->dtype(), broadcast_shapes(node_, shapes));
    }
    broadcast_copy(*inputs[0], *outputs[0], ctx.num_threads);
  }
};

class ConstantOfShapeKernel : public NodeKernel {
 public:
  ConstantOfShapeKernel(const NodeDef& node, ConstantOfShapeAttrs attrs)
      : NodeKernel(node), attrs_(std::move(attrs)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 1, 1);
    require_dtype(node_, inputs[0].dtype, {DType::kInt64}, "input");
    const DType dt = attrs_.value.dtype();
    if (const Tensor* shape = const_value(inputs, 0)) {
      value_ = Tensor(dt, checked_shape(*shape));
      fill(value_);
      return {{dt, value_.shape(), &value_}};
    }
    if (inputs[0].shape.size() != 1 || inputs[0].shape[0] < 0) {
      throw node_.error(ErrorCode::kInvalidArgument, "input must be a 1-D tensor of known length");
    }
    return {{dt, Shape(static_cast<std::size_t>(inputs[0].shape[0]), -1), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext&) override {
    if (outputs[0]->empty()) *outputs[0] = Tensor(attrs_.value.dtype(), checked_shape(*inputs[0]));
    fill(*outputs[0]);
  }

 private:
  Shape checked_shape(const Tensor& t) const {
    Shape s = read_shape_input(node_, t, "shape");
    for (std::int64_t d : s) {
      if (d < 0) throw node_.error(ErrorCode::kInvalidArgument, "shape has a negative dimension");
    }
    require_rank_supported(node_, s.size());
    return s;
  }
  void fill(Tensor& out) const {
    const std::size_t size = dtype_size(out.dtype());
    auto* dst = static_cast<std::byte*>(out.raw_data());
    for (std::int64_t i = 0; i < out.numel(); ++i) {
      std::memcpy(dst + static_cast<std::size_t>(i) * size, attrs_.value.raw_data(), size);
    }
  }

  ConstantOfShapeAttrs attrs_;
  Tensor value_;
};

class RangeKernel : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 3, 3);
    const DType dt = inputs[0].dtype;
    require_dtype(node_, dt,
                  {DType::kFloat32, DType::kFloat64, DType::kInt16, DType::kInt32, DType::kInt64},
                  "start");
    for (std::size_t i = 0; i < 3; ++i) {
      if (inputs[i].dtype != dt) {
        throw node_.error(ErrorCode::kInvalidArgument, "start, limit and delta must share a dtype");
      }
      if (shape_known(inputs[i].shape) && known_numel(inputs[i].shape) != 1) {
        throw node_.error(ErrorCode::kInvalidArgument, "start, limit and delta must be scalars");
      }
    }
    if (inputs[0].value && inputs[1].value && inputs[2].value) {
      return {{dt, {count(*inputs[0].value, *inputs[1].value, *inputs[2].value)}, nullptr}};
    }
    return {{dt, {-1}, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext&) override {
    const std::int64_t n = count(*inputs[0], *inputs[1], *inputs[2]);
    ensure_output(*outputs[0], inputs[0]->dtype(), {n});
    dispatch<NumericTypes>(inputs[0]->dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T start = *inputs[0]->data<T>();
      const T delta = *inputs[2]->data<T>();
      T* out = outputs[0]->data<T>();
      // start + i * delta, as the spec's reference loop accumulates: value += delta.
      T v = start;
      for (std::int64_t i = 0; i < n; ++i) {
        out[i] = v;
        v = static_cast<T>(v + delta);
      }
    });
  }

 private:
  std::int64_t count(const Tensor& start, const Tensor& limit, const Tensor& delta) const {
    return infer_range_count(node_, tensor_to_doubles(node_, start, "start")[0],
                             tensor_to_doubles(node_, limit, "limit")[0],
                             tensor_to_doubles(node_, delta, "delta")[0]);
  }
};

class ConstantKernel : public NodeKernel {
 public:
  ConstantKernel(const NodeDef& node, ConstantAttrs attrs)
      : NodeKernel(node), attrs_(std::move(attrs)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 0, 0);
    return {{attrs_.value.dtype(), attrs_.value.shape(), &attrs_.value}};
  }

  void run(std::span<const Tensor* const>, std::span<Tensor* const> outputs,
           const RunContext&) override {
    if (outputs[0]->empty()) {
      *outputs[0] = attrs_.value;
    } else {
      copy_bytes(attrs_.value, *outputs[0]);
    }
  }

 private:
  ConstantAttrs attrs_;
};

}  // namespace

Shape infer_reshape(const NodeDef& node, const ReshapeAttrs& attrs, const Shape& data_shape,
                    std::span<const std::int64_t> requested) {
  require_rank_supported(node, requested.size());
  Shape out(requested.begin(), requested.end());
  int infer_index = -1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer_index >= 0)
        throw node.error(ErrorCode::kInvalidArgument, "shape has more than one -1");
      infer_index = static_cast<int>(i);
    } else if (out[i] == 0 && attrs.allowzero == 0) {
      if (i >= data_shape.size()) {
        throw node.error(ErrorCode::kInvalidArgument,
                         "shape copies dimension " + std::to_string(i) + " (0) but the input " +
                             shape_to_string(data_shape) + " has fewer");
      }
      out[i] = data_shape[i];
    } else if (out[i] < 0) {
      throw node.error(ErrorCode::kInvalidArgument,
                       "shape has a negative dimension " + std::to_string(out[i]));
    }
  }
  if (attrs.allowzero != 0 && infer_index >= 0 &&
      std::find(requested.begin(), requested.end(), 0) != requested.end()) {
    throw node.error(ErrorCode::kInvalidArgument, "allowzero=1 forbids both 0 and -1 in shape");
  }
  if (!shape_known(data_shape)) {
    // Unknown input dims: only what the request pins is known.
    if (infer_index >= 0) out[static_cast<std::size_t>(infer_index)] = -1;
    return out;
  }
  const std::int64_t total = known_numel(data_shape);
  std::int64_t known = 1;
  bool unknown_copy = false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (static_cast<int>(i) == infer_index) continue;
    if (out[i] < 0) {
      unknown_copy = true;
      continue;
    }
    known = checked_mul(known, out[i], "reshape");
  }
  if (unknown_copy) return out;
  if (infer_index >= 0) {
    if (known == 0 || total % known != 0) {
      throw node.error(
          ErrorCode::kInvalidArgument,
          "cannot reshape " + shape_to_string(data_shape) + " to " + shape_to_string(requested));
    }
    out[static_cast<std::size_t>(infer_index)] = total / known;
  } else if (known != total) {
    throw node.error(ErrorCode::kInvalidArgument, "cannot reshape " + shape_to_string(data_shape) +
                                                      " (" + std::to_string(total) +
                                                      " elements) to " + shape_to_string(out));
  }
  return out;
}

Shape infer_flatten(const NodeDef& node, const FlattenAttrs& attrs, const Shape& data_shape) {
  const auto rank = static_cast<std::int64_t>(data_shape.size());
  std::int64_t axis = attrs.axis;
  if (axis < -rank || axis > rank) {
    throw node.error(
        ErrorCode::kInvalidArgument,
        "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  if (axis < 0) axis += rank;
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t i = 0; i < rank; ++i) {
    const std::int64_t d = data_shape[static_cast<std::size_t>(i)];
    std::int64_t& part = i < axis ? outer : inner;
    part = (d < 0 || part < 0) ? -1 : checked_mul(part, d, "flatten");
  }
  return {outer, inner};
}

Shape infer_squeeze(const NodeDef& node, const Shape& data_shape,
                    const std::optional<std::vector<std::int64_t>>& axes) {
  const auto rank = static_cast<std::int64_t>(data_shape.size());
  std::vector<bool> drop(data_shape.size(), false);
  if (axes && !axes->empty()) {
    for (std::int64_t a : normalize_axes(node, *axes, rank)) {
      const std::int64_t d = data_shape[static_cast<std::size_t>(a)];
      if (d != 1 && d != -1) {
        throw node.error(ErrorCode::kInvalidArgument, "cannot squeeze axis " + std::to_string(a) +
                                                          " of size " + std::to_string(d) + " in " +
                                                          shape_to_string(data_shape));
      }
      drop[static_cast<std::size_t>(a)] = true;
    }
  } else {
    for (std::size_t i = 0; i < data_shape.size(); ++i) {
      if (data_shape[i] < 0) {
        throw node.error(
            ErrorCode::kUnsupported,
            "Squeeze without axes needs known dimensions, got " + shape_to_string(data_shape));
      }
      drop[i] = data_shape[i] == 1;
    }
  }
  Shape out;
  for (std::size_t i = 0; i < data_shape.size(); ++i) {
    if (!drop[i]) out.push_back(data_shape[i]);
  }
  return out;
}

Shape infer_unsqueeze(const NodeDef& node, const Shape& data_shape,
                      std::span<const std::int64_t> axes) {
  const auto rank = static_cast<std::int64_t>(data_shape.size() + axes.size());
  require_rank_supported(node, static_cast<std::size_t>(rank));
  const std::vector<std::int64_t> normalized = normalize_axes(node, axes, rank);
  Shape out(static_cast<std::size_t>(rank), 0);
  std::vector<bool> inserted(static_cast<std::size_t>(rank), false);
  for (std::int64_t a : normalized) inserted[static_cast<std::size_t>(a)] = true;
  std::size_t next = 0;
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = inserted[i] ? 1 : data_shape[next++];
  return out;
}

ConstantAttrs parse_constant_attrs(const NodeDef& node) {
  ConstantAttrs attrs;
  int count = 0;
  if (const Tensor* t = node.attr_tensor("value")) {
    attrs.value = *t;
    ++count;
  }
  if (node.has("value_float")) {
    attrs.value = Tensor::scalar<float>(node.attr_float("value_float", 0.0f));
    ++count;
  }
  if (node.has("value_floats")) {
    const auto v = node.attr_floats("value_floats");
    attrs.value = Tensor::from_values<float>({static_cast<std::int64_t>(v.size())}, v);
    ++count;
  }
  if (node.has("value_int")) {
    attrs.value = Tensor::scalar<std::int64_t>(node.attr_int("value_int", 0));
    ++count;
  }
  if (node.has("value_ints")) {
    const auto v = node.attr_ints("value_ints");
    attrs.value = Tensor::from_values<std::int64_t>({static_cast<std::int64_t>(v.size())}, v);
    ++count;
  }
  for (const char* unsupported : {"sparse_value", "value_string", "value_strings"}) {
    if (node.has(unsupported)) {
      throw node.error(ErrorCode::kUnsupported,
                       std::string("Constant attribute '") + unsupported + "' is not supported");
    }
  }
  if (count != 1) {
    throw node.error(ErrorCode::kFormat,
                     "Constant needs exactly one value attribute, got " + std::to_string(count));
  }
  return attrs;
}

std::int64_t infer_range_count(const NodeDef& node, double start, double limit, double delta) {
  if (delta == 0.0 || !std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta)) {
    throw node.error(ErrorCode::kInvalidArgument,
                     "Range needs finite start/limit and non-zero delta");
  }
  const double n = std::ceil((limit - start) / delta);
  if (n <= 0.0) return 0;
  if (n > static_cast<double>(kMaxAllocBytes / 8)) {
    throw node.error(ErrorCode::kLimit, "Range would produce " + std::to_string(n) + " elements");
  }
  return static_cast<std::int64_t>(n);
}

std::unique_ptr<Kernel> make_reshape(const NodeDef& node) {
  ReshapeAttrs attrs;
  attrs.allowzero = node.attr_int("allowzero", 0);
  return std::make_unique<ReshapeKernel>(node, attrs);
}

std::unique_ptr<Kernel> make_flatten(const NodeDef& node) {
  FlattenAttrs attrs;
  attrs.axis = node.attr_int("axis", 1);
  return std::make_unique<FlattenKernel>(node, attrs);
}

std::unique_ptr<Kernel> make_squeeze(const NodeDef& node) {
  SqueezeAttrs attrs;
  if (node.has("axes")) attrs.axes = node.attr_ints("axes");
  return std::make_unique<SqueezeKernel>(node, std::move(attrs));
}

std::unique_ptr<Kernel> make_unsqueeze(const NodeDef& node) {
  UnsqueezeAttrs attrs;
  if (node.opset < 13) attrs.axes = node.require_ints("axes");
  return std::make_unique<UnsqueezeKernel>(node, std::move(attrs));
}

std::unique_ptr<Kernel> make_shape(const NodeDef& node) {
  ShapeAttrs attrs;
  attrs.start = node.attr_int("start", 0);
  if (node.has("end")) attrs.end = node.attr_int("end", 0);
  return std::make_unique<ShapeKernel>(node, attrs);
}

std::unique_ptr<Kernel> make_size(const NodeDef& node) {
  return std::make_unique<SizeKernel>(node);
}

std::unique_ptr<Kernel> make_expand(const NodeDef& node) {
  return std::make_unique<ExpandKernel>(node);
}

std::unique_ptr<Kernel> make_constant_of_shape(const NodeDef& node) {
  ConstantOfShapeAttrs attrs;
  if (const Tensor* t = node.attr_tensor("value")) {
    if (t->numel() != 1) {
      throw node.error(ErrorCode::kInvalidArgument, "value must hold exactly one element");
    }
    attrs.value = t->reshaped({});
  } else {
    attrs.value = Tensor::scalar<float>(0.0f);
  }
  return std::make_unique<ConstantOfShapeKernel>(node, std::move(attrs));
}

std::unique_ptr<Kernel> make_range(const NodeDef& node) {
  return std::make_unique<RangeKernel>(node);
}

std::unique_ptr<Kernel> make_constant(const NodeDef& node) {
  return std::make_unique<ConstantKernel>(node, parse_constant_attrs(node));
}

}  // namespace qcal::ops
