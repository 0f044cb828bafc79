// Transpose and Slice through strided_copy (see transpose_slice.hpp).
#include "ops/transpose_slice.hpp"

#include <numeric>

#include "ops/op_util.hpp"

namespace qcal::ops {
namespace {

const Tensor* const_value(std::span<const TensorInfo> inputs, std::size_t i) {
  const TensorInfo* info = input_info(inputs, i);
  return info ? info->value : nullptr;
}

class TransposeKernel : public NodeKernel {
 public:
  TransposeKernel(const NodeDef& node, TransposeAttrs attrs)
      : NodeKernel(node), attrs_(std::move(attrs)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 1, 1);
    return {{inputs[0].dtype, infer_transpose(node_, attrs_, inputs[0].shape), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& in = *inputs[0];
    const Shape out_shape = infer_transpose(node_, attrs_, in.shape());
    ensure_output(*outputs[0], in.dtype(), out_shape);
    const std::size_t rank = in.shape().size();
    const auto in_strides = contiguous_strides(in.shape());
    std::array<std::int64_t, kMaxRank> strides{};
    for (std::size_t d = 0; d < rank; ++d) {
      const std::size_t from =
          attrs_.perm.empty() ? rank - 1 - d : static_cast<std::size_t>(attrs_.perm[d]);
      strides[d] = in_strides[from];
    }
    strided_copy(in.raw_data(), dtype_size(in.dtype()), out_shape,
                 std::span<const std::int64_t>(strides.data(), rank), outputs[0]->raw_data(),
                 ctx.num_threads, in.dtype() == DType::kFloat32 ? ctx.minmax : nullptr);
  }

  // Float32 copies are scanned block by block as they are written (strided_copy).
  MinMaxSupport minmax_support(std::span<const TensorInfo> inputs) const override {
    return {!inputs.empty() && inputs[0].dtype == DType::kFloat32, false};
  }

 private:
  TransposeAttrs attrs_;
};

class SliceKernel : public NodeKernel {
 public:
  SliceKernel(const NodeDef& node, SliceAttrs attrs) : NodeKernel(node), attrs_(std::move(attrs)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    const bool from_inputs = node_.opset >= 10;
    require_inputs(node_, inputs, from_inputs ? 3 : 1, from_inputs ? 5 : 1);
    for (std::size_t i = 1; i < inputs.size(); ++i) {
      if (inputs[i].dtype != DType::kUndefined) {
        require_dtype(node_, inputs[i].dtype, {DType::kInt64, DType::kInt32}, "slice parameter");
      }
    }
    bool known = shape_known(inputs[0].shape);
    for (std::size_t i = 1; i < inputs.size(); ++i) {
      if (input_info(inputs, i) && !const_value(inputs, i)) known = false;
    }
    if (!known) {
      return {{inputs[0].dtype, Shape(inputs[0].shape.size(), -1), nullptr}};
    }
    const SliceRegion region =
        resolve(inputs[0].shape, [&](std::size_t i) { return const_value(inputs, i); });
    return {{inputs[0].dtype, region.count, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& in = *inputs[0];
    const SliceRegion region =
        resolve(in.shape(), [&](std::size_t i) { return input_tensor(inputs, i); });
    ensure_output(*outputs[0], in.dtype(), region.count);
    const std::size_t rank = in.shape().size();
    const auto in_strides = contiguous_strides(in.shape());
    std::array<std::int64_t, kMaxRank> strides{};
    std::int64_t offset = 0;
    for (std::size_t d = 0; d < rank; ++d) {
      strides[d] = in_strides[d] * region.step[d];
      offset += in_strides[d] * region.start[d];
    }
    if (outputs[0]->numel() == 0) return;
    const std::size_t es = dtype_size(in.dtype());
    strided_copy(
        static_cast<const std::byte*>(in.raw_data()) + offset * static_cast<std::int64_t>(es), es,
        region.count, std::span<const std::int64_t>(strides.data(), rank), outputs[0]->raw_data(),
        ctx.num_threads, in.dtype() == DType::kFloat32 ? ctx.minmax : nullptr);
  }

  // Float32 copies are scanned block by block as they are written (strided_copy).
  MinMaxSupport minmax_support(std::span<const TensorInfo> inputs) const override {
    return {!inputs.empty() && inputs[0].dtype == DType::kFloat32, false};
  }

 private:
  template <typename GetInput>
  SliceRegion resolve(const Shape& shape, const GetInput& get) const {
    if (node_.opset < 10) {
      return infer_slice(node_, shape, attrs_.starts, attrs_.ends, attrs_.axes, {});
    }
    return resolve_slice(node_, shape, get);
  }

  SliceAttrs attrs_;
};

}  // namespace

Shape infer_transpose(const NodeDef& node, const TransposeAttrs& attrs, const Shape& data_shape) {
  const std::size_t rank = data_shape.size();
  if (attrs.perm.empty()) return Shape(data_shape.rbegin(), data_shape.rend());
  if (attrs.perm.size() != rank) {
    throw node.error(ErrorCode::kInvalidArgument, "perm has " + std::to_string(attrs.perm.size()) +
                                                      " entries for rank " + std::to_string(rank));
  }
  std::vector<bool> seen(rank, false);
  Shape out(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    const std::int64_t p = attrs.perm[d];
    if (p < 0 || p >= static_cast<std::int64_t>(rank) || seen[static_cast<std::size_t>(p)]) {
      throw node.error(ErrorCode::kInvalidArgument,
                       "perm is not a permutation of 0.." + std::to_string(rank - 1));
    }
    seen[static_cast<std::size_t>(p)] = true;
    out[d] = data_shape[static_cast<std::size_t>(p)];
  }
  return out;
}

SliceRegion infer_slice(const NodeDef& node, const Shape& data_shape,
                        std::span<const std::int64_t> starts, std::span<const std::int64_t> ends,
                        std::span<const std::int64_t> axes, std::span<const std::int64_t> steps) {
  const auto rank = static_cast<std::int64_t>(data_shape.size());
  if (starts.size() != ends.size() || (!axes.empty() && axes.size() != starts.size()) ||
      (!steps.empty() && steps.size() != starts.size())) {
    throw node.error(ErrorCode::kInvalidArgument,
                     "starts, ends, axes and steps must have the same length");
  }
  SliceRegion region;
  region.start.assign(data_shape.size(), 0);
  region.step.assign(data_shape.size(), 1);
  region.count = data_shape;
  std::vector<std::int64_t> default_axes(starts.size());
  std::iota(default_axes.begin(), default_axes.end(), 0);
  const std::vector<std::int64_t> norm =
      normalize_axes(node, axes.empty() ? std::span<const std::int64_t>(default_axes) : axes, rank);
  for (std::size_t i = 0; i < norm.size(); ++i) {
    const auto axis = static_cast<std::size_t>(norm[i]);
    const std::int64_t dim = data_shape[axis];
    const std::int64_t step = steps.empty() ? 1 : steps[i];
    if (step == 0) throw node.error(ErrorCode::kInvalidArgument, "slice step must not be 0");
    // Clamp first so the INT64_MAX/INT64_MIN "to the end" markers never overflow.
    std::int64_t start = std::clamp<std::int64_t>(starts[i], -dim - 1, dim + 1);
    std::int64_t end = std::clamp<std::int64_t>(ends[i], -dim - 1, dim + 1);
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    std::int64_t count = 0;
    if (dim == 0) {
      count = 0;
    } else if (step > 0) {
      start = std::clamp<std::int64_t>(start, 0, dim);
      end = std::clamp<std::int64_t>(end, 0, dim);
      count = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = std::clamp<std::int64_t>(start, 0, dim - 1);
      end = std::clamp<std::int64_t>(end, -1, dim - 1);
      count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
    }
    region.start[axis] = count > 0 ? start : 0;
    region.step[axis] = step;
    region.count[axis] = count;
  }
  return region;
}

void slice_f32_ref(const float* in, const Shape& in_shape, const SliceRegion& region, float* out) {
  const std::size_t rank = in_shape.size();
  std::int64_t total = 1;
  for (std::int64_t c : region.count) total *= c;
  for (std::int64_t flat = 0; flat < total; ++flat) {
    std::int64_t rest = flat, in_index = 0, in_stride = 1;
    for (std::size_t axis = rank; axis-- > 0;) {
      const std::int64_t out_coord = rest % region.count[axis];
      rest /= region.count[axis];
      in_index += (region.start[axis] + out_coord * region.step[axis]) * in_stride;
      in_stride *= in_shape[axis];
    }
    out[flat] = in[in_index];
  }
}

std::unique_ptr<Kernel> make_transpose(const NodeDef& node) {
  TransposeAttrs attrs;
  attrs.perm = node.attr_ints("perm");
  return std::make_unique<TransposeKernel>(node, std::move(attrs));
}

SliceRegion resolve_slice(const NodeDef& node, const Shape& data_shape,
                          const std::function<const Tensor*(std::size_t)>& input) {
  if (node.opset < 10) {
    return infer_slice(node, data_shape, node.require_ints("starts"), node.require_ints("ends"),
                       node.attr_ints("axes"), {});
  }
  auto read = [&](std::size_t i) {
    const Tensor* t = input(i);
    return t ? tensor_to_ints(node, *t, "slice parameter") : std::vector<std::int64_t>{};
  };
  return infer_slice(node, data_shape, read(1), read(2), read(3), read(4));
}

std::unique_ptr<Kernel> make_slice(const NodeDef& node) {
  SliceAttrs attrs;
  if (node.opset < 10) {
    attrs.starts = node.require_ints("starts");
    attrs.ends = node.require_ints("ends");
    attrs.axes = node.attr_ints("axes");
  }
  return std::make_unique<SliceKernel>(node, std::move(attrs));
}

}  // namespace qcal::ops
