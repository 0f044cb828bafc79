// Normalization ops (see normalization.hpp). Statistics accumulate in double (two passes: mean,
// then variance of the centred values); each group is computed by one thread.
#include "ops/normalization.hpp"

#include <cmath>

#include "ops/op_util.hpp"

namespace qcal::ops {
namespace {

void require_float(const NodeDef& node, std::span<const TensorInfo> inputs) {
  for (const auto& in : inputs) {
    if (in.dtype != DType::kUndefined) require_dtype(node, in.dtype, {DType::kFloat32}, "input");
  }
}

// Normalises one group: y = (x - mean) * inv_std * scale[i] + bias[i] (scale/bias may be
// per-group constants: stride 0).
void normalize_group(const float* x, float* y, std::int64_t n, const float* scale,
                     std::int64_t scale_stride, const float* bias, std::int64_t bias_stride,
                     float epsilon, float* mean_out, float* inv_std_out) {
  double sum = 0.0;
  for (std::int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = n ? sum / static_cast<double>(n) : 0.0;
  double sq = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double d = x[i] - mean;
    sq += d * d;
  }
  const double var = n ? sq / static_cast<double>(n) : 0.0;
  const auto inv_std = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(epsilon)));
  const auto m = static_cast<float>(mean);
  for (std::int64_t i = 0; i < n; ++i) {
    const float b = bias ? bias[i * bias_stride] : 0.0f;
    y[i] = (x[i] - m) * inv_std * scale[i * scale_stride] + b;
  }
  if (mean_out) *mean_out = m;
  if (inv_std_out) *inv_std_out = inv_std;
}

class BatchNormalizationKernel : public NodeKernel {
 public:
  BatchNormalizationKernel(const NodeDef& node, BatchNormalizationAttrs attrs)
      : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    infer_batch_normalization(node_, inputs);
    return {{inputs[0].dtype, inputs[0].shape, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& x = *inputs[0];
    ensure_output(*outputs[0], x.dtype(), x.shape());
    const Shape& s = x.shape();
    const std::int64_t n = s[0], c = s.size() > 1 ? s[1] : 1;
    const std::int64_t plane = (n * c != 0) ? x.numel() / (n * c) : 0;
    // Fold into one multiply-add per element: a = scale / sqrt(var + eps), b = bias - mean * a.
    a_.resize(static_cast<std::size_t>(c));
    b_.resize(static_cast<std::size_t>(c));
    const float* scale = inputs[1]->data<float>();
    const float* bias = inputs[2]->data<float>();
    const float* mean = inputs[3]->data<float>();
    const float* var = inputs[4]->data<float>();
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const double a = scale[ch] / std::sqrt(static_cast<double>(var[ch]) + attrs_.epsilon);
      a_[static_cast<std::size_t>(ch)] = static_cast<float>(a);
      b_[static_cast<std::size_t>(ch)] = static_cast<float>(bias[ch] - mean[ch] * a);
    }
    const float* px = x.data<float>();
    float* py = outputs[0]->data<float>();
    parallel_for(n * c, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(plane, 1)),
                 ctx.num_threads, [&](std::int64_t begin, std::int64_t end) {
                   for (std::int64_t item = begin; item < end; ++item) {
                     const float a = a_[static_cast<std::size_t>(item % c)];
                     const float b = b_[static_cast<std::size_t>(item % c)];
                     const float* xi = px + item * plane;
                     float* yi = py + item * plane;
                     for (std::int64_t i = 0; i < plane; ++i) yi[i] = xi[i] * a + b;
                   }
                 });
  }

 private:
  BatchNormalizationAttrs attrs_;
  std::vector<float> a_, b_;
};

class InstanceNormalizationKernel : public NodeKernel {
 public:
  InstanceNormalizationKernel(const NodeDef& node, InstanceNormalizationAttrs attrs)
      : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 3, 3);
    require_float(node_, inputs);
    if (inputs[0].shape.size() < 2) {
      throw node_.error(ErrorCode::kInvalidArgument, "input must have rank >= 2 (N, C, ...)");
    }
    const std::int64_t c = inputs[0].shape[1];
    for (std::size_t i = 1; i < 3; ++i) {
      if (inputs[i].shape != Shape{c} && c >= 0) {
        throw node_.error(ErrorCode::kInvalidArgument,
                          std::string(i == 1 ? "scale" : "B") + " must have shape [" +
                              std::to_string(c) + "], got " + shape_to_string(inputs[i].shape));
      }
    }
    return {{inputs[0].dtype, inputs[0].shape, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& x = *inputs[0];
    ensure_output(*outputs[0], x.dtype(), x.shape());
    const std::int64_t n = x.shape()[0], c = x.shape()[1];
    const std::int64_t plane = (n * c != 0) ? x.numel() / (n * c) : 0;
    const float* scale = inputs[1]->data<float>();
    const float* bias = inputs[2]->data<float>();
    const float* px = x.data<float>();
    float* py = outputs[0]->data<float>();
    parallel_for(n * c, 1, ctx.num_threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t item = begin; item < end; ++item) {
        const std::int64_t ch = item % c;
        normalize_group(px + item * plane, py + item * plane, plane, scale + ch, 0, bias + ch, 0,
                        attrs_.epsilon, nullptr, nullptr);
      }
    });
  }

 private:
  InstanceNormalizationAttrs attrs_;
};

class LayerNormalizationKernel : public NodeKernel {
 public:
  LayerNormalizationKernel(const NodeDef& node, LayerNormalizationAttrs attrs)
      : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 2, 3);
    require_float(node_, inputs);
    const Shape& s = inputs[0].shape;
    const auto rank = static_cast<std::int64_t>(s.size());
    const std::int64_t axis = normalize_axis(node_, attrs_.axis, rank);
    const Shape norm_shape(s.begin() + axis, s.end());
    for (std::size_t i = 1; i < inputs.size(); ++i) {
      if (!input_info(inputs, i)) continue;
      const Shape shapes[] = {norm_shape, inputs[i].shape};
      if (broadcast_shapes(node_, shapes) != norm_shape) {
        throw node_.error(ErrorCode::kInvalidArgument,
                          std::string(i == 1 ? "Scale" : "B") + " of shape " +
                              shape_to_string(inputs[i].shape) + " does not broadcast to " +
                              shape_to_string(norm_shape));
      }
    }
    Shape stat_shape = s;
    for (std::int64_t d = axis; d < rank; ++d) stat_shape[static_cast<std::size_t>(d)] = 1;
    std::vector<TensorInfo> out{{inputs[0].dtype, s, nullptr}};
    for (std::size_t k = 1; k < node_.outputs.size(); ++k)
      out.push_back({DType::kFloat32, stat_shape, nullptr});
    return out;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& x = *inputs[0];
    ensure_output(*outputs[0], x.dtype(), x.shape());
    const auto rank = static_cast<std::int64_t>(x.shape().size());
    const std::int64_t axis = attrs_.axis < 0 ? attrs_.axis + rank : attrs_.axis;
    const Shape norm_shape(x.shape().begin() + axis, x.shape().end());
    Shape stat_shape = x.shape();
    for (std::int64_t d = axis; d < rank; ++d) stat_shape[static_cast<std::size_t>(d)] = 1;
    std::int64_t size = 1;
    for (std::int64_t d : norm_shape) size *= d;
    const std::int64_t groups = size ? x.numel() / size : 0;
    // Scale and bias broadcast to the normalised shape once (they are small).
    const float* scale = expand(*inputs[1], norm_shape, scale_buf_, ctx);
    const Tensor* b = input_tensor(inputs, 2);
    const float* bias = b ? expand(*b, norm_shape, bias_buf_, ctx) : nullptr;
    float* mean_out = nullptr;
    float* inv_std_out = nullptr;
    if (outputs.size() > 1 && outputs[1]) {
      ensure_output(*outputs[1], DType::kFloat32, stat_shape);
      mean_out = outputs[1]->data<float>();
    }
    if (outputs.size() > 2 && outputs[2]) {
      ensure_output(*outputs[2], DType::kFloat32, stat_shape);
      inv_std_out = outputs[2]->data<float>();
    }
    const float* px = x.data<float>();
    float* py = outputs[0]->data<float>();
    parallel_for(groups, std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(size, 1)),
                 ctx.num_threads, [&](std::int64_t begin, std::int64_t end) {
                   for (std::int64_t g = begin; g < end; ++g) {
                     normalize_group(px + g * size, py + g * size, size, scale, 1, bias, 1,
                                     attrs_.epsilon, mean_out ? mean_out + g : nullptr,
                                     inv_std_out ? inv_std_out + g : nullptr);
                   }
                 });
  }

 private:
  static const float* expand(const Tensor& t, const Shape& shape, Tensor& buf,
                             const RunContext& ctx) {
    if (t.shape() == shape) return t.data<float>();
    if (buf.empty() || buf.shape() != shape) buf = Tensor(DType::kFloat32, shape);
    broadcast_copy(t, buf, ctx.num_threads);
    return buf.data<float>();
  }

  LayerNormalizationAttrs attrs_;
  Tensor scale_buf_, bias_buf_;
};

}  // namespace

void infer_batch_normalization(const NodeDef& node, std::span<const TensorInfo> inputs) {
  require_inputs(node, inputs, 5, 5);
  require_float(node, inputs);
  if (node.attr_int("training_mode", 0) != 0 || node.outputs.size() > 1) {
    throw node.error(ErrorCode::kUnsupported,
                     "BatchNormalization in training mode is not supported");
  }
  if (node.attr_int("spatial", 1) != 1) {
    throw node.error(ErrorCode::kUnsupported, "BatchNormalization with spatial=0 is not supported");
  }
  const Shape& s = inputs[0].shape;
  if (s.empty()) throw node.error(ErrorCode::kInvalidArgument, "input must have rank >= 1");
  const std::int64_t c = s.size() > 1 ? s[1] : 1;
  for (std::size_t i = 1; i < 5; ++i) {
    if (c >= 0 && inputs[i].shape != Shape{c}) {
      throw node.error(ErrorCode::kInvalidArgument,
                       "parameter " + std::to_string(i) + " must have shape [" + std::to_string(c) +
                           "], got " + shape_to_string(inputs[i].shape));
    }
  }
}

void batch_normalization_f32_ref(const float* x, const Shape& shape, const float* scale,
                                 const float* bias, const float* mean, const float* var,
                                 float epsilon, float* y) {
  const std::int64_t n = shape[0], c = shape.size() > 1 ? shape[1] : 1;
  std::int64_t plane = 1;
  for (std::size_t d = 2; d < shape.size(); ++d) plane *= shape[d];
  for (std::int64_t b = 0; b < n; ++b) {
    for (std::int64_t ch = 0; ch < c; ++ch) {
      for (std::int64_t i = 0; i < plane; ++i) {
        const std::int64_t idx = (b * c + ch) * plane + i;
        y[idx] = static_cast<float>(
            (x[idx] - mean[ch]) / std::sqrt(static_cast<double>(var[ch]) + epsilon) * scale[ch] +
            bias[ch]);
      }
    }
  }
}

void layer_normalization_f32_ref(const float* x, std::int64_t groups, std::int64_t size,
                                 const float* scale, const float* bias, float epsilon, float* y) {
  for (std::int64_t g = 0; g < groups; ++g) {
    double mean = 0, var = 0;
    for (std::int64_t i = 0; i < size; ++i) mean += x[g * size + i];
    mean /= static_cast<double>(size);
    for (std::int64_t i = 0; i < size; ++i)
      var += (x[g * size + i] - mean) * (x[g * size + i] - mean);
    var /= static_cast<double>(size);
    for (std::int64_t i = 0; i < size; ++i) {
      y[g * size + i] = static_cast<float>(
          (x[g * size + i] - mean) / std::sqrt(var + epsilon) * scale[i] + (bias ? bias[i] : 0.0f));
    }
  }
}

std::unique_ptr<Kernel> make_batch_normalization(const NodeDef& node) {
  BatchNormalizationAttrs attrs;
  attrs.epsilon = node.attr_float("epsilon", 1e-5f);
  return std::make_unique<BatchNormalizationKernel>(node, attrs);
}

std::unique_ptr<Kernel> make_instance_normalization(const NodeDef& node) {
  InstanceNormalizationAttrs attrs;
  attrs.epsilon = node.attr_float("epsilon", 1e-5f);
  return std::make_unique<InstanceNormalizationKernel>(node, attrs);
}

std::unique_ptr<Kernel> make_layer_normalization(const NodeDef& node) {
  LayerNormalizationAttrs attrs;
  attrs.axis = node.attr_int("axis", -1);
  attrs.epsilon = node.attr_float("epsilon", 1e-5f);
  attrs.stash_type = node.attr_int("stash_type", 1);
  return std::make_unique<LayerNormalizationKernel>(node, attrs);
}

}  // namespace qcal::ops
