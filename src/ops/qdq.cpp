// QuantizeLinear / DequantizeLinear (see qdq.hpp). The tensor is walked as [outer, channels,
// inner] around the quantization axis (channels = 1 per tensor), so the inner loops are plain
// contiguous loops with one scale and zero point.
#include "ops/qdq.hpp"

#include <cmath>
#include <limits>

#include "ops/op_util.hpp"

namespace qcal::ops {
namespace {

// Validates scale/zero_point shapes: scalar (or 1-element) per tensor, or [C] for the axis.
void check_params(const NodeDef& node, const Shape& x_shape, const TensorInfo& scale,
                  const TensorInfo* zero_point, std::int64_t axis) {
  const bool per_tensor = scale.shape.empty() || (scale.shape.size() == 1 && scale.shape[0] == 1);
  if (!per_tensor) {
    if (scale.shape.size() != 1) {
      throw node.error(
          ErrorCode::kUnsupported,
          "scale must be a scalar or 1-D (blocked quantization is not supported), got " +
              shape_to_string(scale.shape));
    }
    const std::int64_t a = normalize_axis(node, axis, static_cast<std::int64_t>(x_shape.size()));
    const std::int64_t c = x_shape[static_cast<std::size_t>(a)];
    if (c >= 0 && scale.shape[0] != c) {
      throw node.error(ErrorCode::kInvalidArgument,
                       "per-axis scale has " + std::to_string(scale.shape[0]) + " values, axis " +
                           std::to_string(a) + " has " + std::to_string(c));
    }
  }
  if (zero_point && zero_point->shape != scale.shape) {
    const bool both_single =
        shape_known(zero_point->shape) && known_numel(zero_point->shape) == 1 && per_tensor;
    if (!both_single) {
      throw node.error(ErrorCode::kInvalidArgument,
                       "zero_point shape " + shape_to_string(zero_point->shape) +
                           " differs from scale shape " + shape_to_string(scale.shape));
    }
  }
}

// [outer, channels, inner] split for per-axis parameters (channels 1 when per tensor).
void split_axis(const Shape& shape, std::int64_t param_count, std::int64_t axis,
                std::int64_t& outer, std::int64_t& channels, std::int64_t& inner) {
  const auto rank = static_cast<std::int64_t>(shape.size());
  outer = 1;
  inner = 1;
  channels = 1;
  if (param_count <= 1) {
    for (std::int64_t d : shape) inner *= d;
    return;
  }
  const std::int64_t a = axis < 0 ? axis + rank : axis;
  for (std::int64_t d = 0; d < rank; ++d) {
    if (d < a)
      outer *= shape[static_cast<std::size_t>(d)];
    else if (d == a)
      channels = shape[static_cast<std::size_t>(d)];
    else
      inner *= shape[static_cast<std::size_t>(d)];
  }
}

template <typename Q>
void quantize_block(const float* x, Q* y, std::int64_t n, float scale, float zero_point) {
  constexpr float kQmin = static_cast<float>(std::numeric_limits<Q>::lowest());
  constexpr float kQmax = static_cast<float>(std::numeric_limits<Q>::max());
  for (std::int64_t i = 0; i < n; ++i) {
    // Division (not multiplication by 1/scale) as the spec writes it; nearbyint rounds half to
    // even in the default rounding mode; NaN saturates to... zero_point (clamp keeps NaN, so
    // map it explicitly).
    float v = std::nearbyint(x[i] / scale) + zero_point;
    v = v != v ? zero_point : v;
    v = v < kQmin ? kQmin : (v > kQmax ? kQmax : v);
    y[i] = static_cast<Q>(v);
  }
}

class QuantizeLinearKernel : public NodeKernel {
 public:
  QuantizeLinearKernel(const NodeDef& node, QuantizeLinearAttrs attrs)
      : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    return {{infer_quantize_linear(node_, attrs_, inputs), inputs[0].shape, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& x = *inputs[0];
    const Tensor& scale = *inputs[1];
    const Tensor* zp = input_tensor(inputs, 2);
    const DType out_dtype = zp ? zp->dtype() : DType::kUInt8;
    ensure_output(*outputs[0], out_dtype, x.shape());
    std::int64_t outer = 0, channels = 0, inner = 0;
    split_axis(x.shape(), scale.numel(), attrs_.axis, outer, channels, inner);
    const float* px = x.data<float>();
    const float* ps = scale.data<float>();
    dispatch<TypeList<std::int8_t, std::uint8_t>>(out_dtype, [&](auto tag) {
      using Q = decltype(tag);
      const Q* pz = zp ? zp->data<Q>() : nullptr;
      Q* py = outputs[0]->data<Q>();
      parallel_for(
          outer * channels, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(inner, 1)),
          ctx.num_threads, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t item = begin; item < end; ++item) {
              const std::int64_t c = item % channels;
              quantize_block<Q>(px + item * inner, py + item * inner, inner,
                                ps[scale.numel() > 1 ? c : 0],
                                pz ? static_cast<float>(pz[zp->numel() > 1 ? c : 0]) : 0.0f);
            }
          });
    });
  }

 private:
  QuantizeLinearAttrs attrs_;
};

class DequantizeLinearKernel : public NodeKernel {
 public:
  DequantizeLinearKernel(const NodeDef& node, DequantizeLinearAttrs attrs)
      : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 2, 3);
    require_dtype(node_, inputs[0].dtype, {DType::kInt8, DType::kUInt8, DType::kInt32}, "x");
    require_dtype(node_, inputs[1].dtype, {DType::kFloat32}, "x_scale");
    const TensorInfo* zp = input_info(inputs, 2);
    if (zp && zp->dtype != inputs[0].dtype) {
      throw node_.error(ErrorCode::kInvalidArgument, "x_zero_point must have x's dtype " +
                                                         std::string(dtype_name(inputs[0].dtype)));
    }
    if (attrs_.block_size != 0) {
      throw node_.error(ErrorCode::kUnsupported, "blocked dequantization is not supported");
    }
    check_params(node_, inputs[0].shape, inputs[1], zp, attrs_.axis);
    return {{DType::kFloat32, inputs[0].shape, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& x = *inputs[0];
    const Tensor& scale = *inputs[1];
    const Tensor* zp = input_tensor(inputs, 2);
    ensure_output(*outputs[0], DType::kFloat32, x.shape());
    std::int64_t outer = 0, channels = 0, inner = 0;
    split_axis(x.shape(), scale.numel(), attrs_.axis, outer, channels, inner);
    const float* ps = scale.data<float>();
    float* py = outputs[0]->data<float>();
    dispatch<TypeList<std::int8_t, std::uint8_t, std::int32_t>>(x.dtype(), [&](auto tag) {
      using Q = decltype(tag);
      const Q* px = x.data<Q>();
      const Q* pz = zp ? zp->data<Q>() : nullptr;
      parallel_for(outer * channels,
                   std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(inner, 1)),
                   ctx.num_threads, [&](std::int64_t begin, std::int64_t end) {
                     for (std::int64_t item = begin; item < end; ++item) {
                       const std::int64_t c = item % channels;
                       const float s = ps[scale.numel() > 1 ? c : 0];
                       // (x - zero_point) exactly in int64, then one float multiply.
                       const std::int64_t z =
                           pz ? static_cast<std::int64_t>(pz[zp->numel() > 1 ? c : 0]) : 0;
                       const Q* xi = px + item * inner;
                       float* yi = py + item * inner;
                       for (std::int64_t i = 0; i < inner; ++i) {
                         yi[i] = static_cast<float>(static_cast<std::int64_t>(xi[i]) - z) * s;
                       }
                     }
                   });
    });
  }

 private:
  DequantizeLinearAttrs attrs_;
};

}  // namespace

DType infer_quantize_linear(const NodeDef& node, const QuantizeLinearAttrs& attrs,
                            std::span<const TensorInfo> inputs) {
  require_inputs(node, inputs, 2, 3);
  require_dtype(node, inputs[0].dtype, {DType::kFloat32}, "x");
  require_dtype(node, inputs[1].dtype, {DType::kFloat32}, "y_scale");
  const TensorInfo* zp = input_info(inputs, 2);
  DType out = DType::kUInt8;
  if (zp) {
    require_dtype(node, zp->dtype, {DType::kInt8, DType::kUInt8}, "y_zero_point");
    out = zp->dtype;
  }
  if (attrs.block_size != 0) {
    throw node.error(ErrorCode::kUnsupported, "blocked quantization is not supported");
  }
  check_params(node, inputs[0].shape, inputs[1], zp, attrs.axis);
  return out;
}

void quantize_linear_f32_ref(const float* x, std::int64_t count, float scale,
                             std::int32_t zero_point, std::int32_t qmin, std::int32_t qmax,
                             std::int32_t* y) {
  for (std::int64_t i = 0; i < count; ++i) {
    const double q = static_cast<double>(x[i] / scale);
    // Round half to even by hand: floor, then compare the remainder with one half.
    double r = std::floor(q);
    const double frac = q - r;
    if (frac > 0.5 || (frac == 0.5 && std::fmod(r, 2.0) != 0.0)) r += 1.0;
    y[i] = static_cast<std::int32_t>(
        std::clamp(r + zero_point, static_cast<double>(qmin), static_cast<double>(qmax)));
  }
}

std::unique_ptr<Kernel> make_quantize_linear(const NodeDef& node) {
  QuantizeLinearAttrs attrs;
  attrs.axis = node.attr_int("axis", 1);
  attrs.saturate = node.attr_int("saturate", 1);
  attrs.block_size = node.attr_int("block_size", 0);
  return std::make_unique<QuantizeLinearKernel>(node, attrs);
}

std::unique_ptr<Kernel> make_dequantize_linear(const NodeDef& node) {
  DequantizeLinearAttrs attrs;
  attrs.axis = node.attr_int("axis", 1);
  attrs.block_size = node.attr_int("block_size", 0);
  return std::make_unique<DequantizeLinearKernel>(node, attrs);
}

}  // namespace qcal::ops
