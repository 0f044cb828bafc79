// Gather and GatherElements (see gather.hpp).
#include "ops/gather.hpp"

#include "ops/op_util.hpp"

namespace qcal::ops {
namespace {

// Reads index i as int64 and wraps negatives; returns false when out of [-dim, dim).
template <typename I>
bool load_indices(const I* raw, std::int64_t count, std::int64_t dim,
                  std::vector<std::int64_t>& out) {
  out.resize(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    std::int64_t v = static_cast<std::int64_t>(raw[i]);
    if (v < -dim || v >= dim) return false;
    out[static_cast<std::size_t>(i)] = v < 0 ? v + dim : v;
  }
  return true;
}

void read_indices(const NodeDef& node, const Tensor& indices, std::int64_t dim,
                  std::vector<std::int64_t>& out) {
  const bool ok = indices.dtype() == DType::kInt64
                      ? load_indices(indices.data<std::int64_t>(), indices.numel(), dim, out)
                      : load_indices(indices.data<std::int32_t>(), indices.numel(), dim, out);
  if (!ok) {
    throw node.error(ErrorCode::kInvalidArgument, "an index is outside [-" + std::to_string(dim) +
                                                      ", " + std::to_string(dim) + ")");
  }
}

class GatherKernel : public NodeKernel {
 public:
  GatherKernel(const NodeDef& node, GatherAttrs attrs) : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 2, 2);
    require_dtype(node_, inputs[1].dtype, {DType::kInt64, DType::kInt32}, "indices");
    return {
        {inputs[0].dtype, infer_gather(node_, attrs_, inputs[0].shape, inputs[1].shape), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& data = *inputs[0];
    const Tensor& indices = *inputs[1];
    ensure_output(*outputs[0], data.dtype(),
                  infer_gather(node_, attrs_, data.shape(), indices.shape()));
    const auto rank = static_cast<std::int64_t>(data.shape().size());
    const std::int64_t axis = attrs_.axis < 0 ? attrs_.axis + rank : attrs_.axis;
    const std::int64_t dim = data.shape()[static_cast<std::size_t>(axis)];
    read_indices(node_, indices, dim, index_buffer_);
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t d = 0; d < rank; ++d) {
      if (d < axis) outer *= data.shape()[d];
      if (d > axis) inner *= data.shape()[d];
    }
    const std::size_t block = static_cast<std::size_t>(inner) * dtype_size(data.dtype());
    const auto count = static_cast<std::int64_t>(index_buffer_.size());
    const auto* src = static_cast<const std::byte*>(data.raw_data());
    auto* dst = static_cast<std::byte*>(outputs[0]->raw_data());
    const std::int64_t grain =
        std::max<std::int64_t>(1, 65536 / static_cast<std::int64_t>(block + 1));
    parallel_for(outer * count, grain, ctx.num_threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t item = begin; item < end; ++item) {
        const std::int64_t o = item / count;
        const std::int64_t j = item % count;
        std::memcpy(
            dst + static_cast<std::size_t>(item) * block,
            src + static_cast<std::size_t>(o * dim + index_buffer_[static_cast<std::size_t>(j)]) *
                      block,
            block);
      }
    });
  }

 private:
  GatherAttrs attrs_;
  std::vector<std::int64_t> index_buffer_;
};

class GatherElementsKernel : public NodeKernel {
 public:
  GatherElementsKernel(const NodeDef& node, GatherAttrs attrs) : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 2, 2);
    require_dtype(node_, inputs[1].dtype, {DType::kInt64, DType::kInt32}, "indices");
    if (inputs[0].shape.size() != inputs[1].shape.size()) {
      throw node_.error(ErrorCode::kInvalidArgument, "data and indices must have the same rank");
    }
    normalize_axis(node_, attrs_.axis, static_cast<std::int64_t>(inputs[0].shape.size()));
    return {{inputs[0].dtype, inputs[1].shape, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext&) override {
    const Tensor& data = *inputs[0];
    const Tensor& indices = *inputs[1];
    ensure_output(*outputs[0], data.dtype(), indices.shape());
    const auto rank = static_cast<std::int64_t>(data.shape().size());
    const std::int64_t axis = attrs_.axis < 0 ? attrs_.axis + rank : attrs_.axis;
    const std::int64_t dim = data.shape()[static_cast<std::size_t>(axis)];
    read_indices(node_, indices, dim, index_buffer_);
    const auto data_strides = contiguous_strides(data.shape());
    const std::size_t es = dtype_size(data.dtype());
    const auto* src = static_cast<const std::byte*>(data.raw_data());
    auto* dst = static_cast<std::byte*>(outputs[0]->raw_data());
    const Shape& ishape = indices.shape();
    for (std::int64_t flat = 0; flat < indices.numel(); ++flat) {
      std::int64_t rest = flat, offset = 0;
      for (std::int64_t d = rank - 1; d >= 0; --d) {
        const std::int64_t coord = rest % ishape[static_cast<std::size_t>(d)];
        rest /= ishape[static_cast<std::size_t>(d)];
        offset +=
            (d == axis ? index_buffer_[static_cast<std::size_t>(flat)] : coord) * data_strides[d];
      }
      std::memcpy(dst + static_cast<std::size_t>(flat) * es,
                  src + static_cast<std::size_t>(offset) * es, es);
    }
  }

 private:
  GatherAttrs attrs_;
  std::vector<std::int64_t> index_buffer_;
};

}  // namespace

Shape infer_gather(const NodeDef& node, const GatherAttrs& attrs, const Shape& data_shape,
                   const Shape& indices_shape) {
  const auto rank = static_cast<std::int64_t>(data_shape.size());
  if (rank == 0) throw node.error(ErrorCode::kInvalidArgument, "data must have rank >= 1");
  const std::int64_t axis = normalize_axis(node, attrs.axis, rank);
  Shape out(data_shape.begin(), data_shape.begin() + axis);
  out.insert(out.end(), indices_shape.begin(), indices_shape.end());
  out.insert(out.end(), data_shape.begin() + axis + 1, data_shape.end());
  require_rank_supported(node, out.size());
  return out;
}

void gather_f32_ref(const float* data, const Shape& data_shape, const std::int64_t* indices,
                    std::int64_t index_count, std::int64_t axis, float* out) {
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < data_shape.size(); ++d) {
    if (static_cast<std::int64_t>(d) < axis) outer *= data_shape[d];
    if (static_cast<std::int64_t>(d) > axis) inner *= data_shape[d];
  }
  const std::int64_t dim = data_shape[static_cast<std::size_t>(axis)];
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t j = 0; j < index_count; ++j) {
      const std::int64_t index = indices[j] < 0 ? indices[j] + dim : indices[j];
      for (std::int64_t i = 0; i < inner; ++i) {
        out[(o * index_count + j) * inner + i] = data[(o * dim + index) * inner + i];
      }
    }
  }
}

std::unique_ptr<Kernel> make_gather(const NodeDef& node) {
  GatherAttrs attrs;
  attrs.axis = node.attr_int("axis", 0);
  return std::make_unique<GatherKernel>(node, attrs);
}

std::unique_ptr<Kernel> make_gather_elements(const NodeDef& node) {
  GatherAttrs attrs;
  attrs.axis = node.attr_int("axis", 0);
  return std::make_unique<GatherElementsKernel>(node, attrs);
}

}  // namespace qcal::ops
