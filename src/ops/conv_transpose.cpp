// ConvTranspose: attributes, shape inference, reference kernel and factory.
#include "ops/conv_transpose.hpp"

#include <algorithm>

#include "core/checked.hpp"
#include "ops/conv_f32_onednn.hpp"
#include "ops/onednn_scratch.hpp"

namespace qcal::ops {

ConvTransposeAttrs ConvTransposeAttrs::from_node(const NodeDef& node) {
  ConvTransposeAttrs a;
  a.read(node);
  a.output_padding = node.attr_ints("output_padding");
  a.output_shape = node.attr_ints("output_shape");
  return a;
}

ConvTransposeGeometry infer_conv_transpose(const ConvTransposeAttrs& attrs, const Shape& x,
                                           const Shape& w, const Shape* b, const NodeDef& node) {
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) {
    throw node.error(ErrorCode::kFormat, "ConvTranspose X " + shape_to_string(x) + " and W " +
                                             shape_to_string(w) +
                                             " must have the same rank, 3 to 5");
  }
  const std::size_t nsp = x.size() - 2;
  ConvTransposeGeometry g;
  g.batch = x[0];
  g.in_channels = x[1];
  g.group = attrs.group;
  g.out_channels = checked_mul(w[1], attrs.group);
  if (w[0] != g.in_channels || g.in_channels % g.group) {
    throw node.error(ErrorCode::kFormat, "ConvTranspose W " + shape_to_string(w) +
                                             " does not match X " + shape_to_string(x));
  }
  if (b && (b->size() != 1 || (*b)[0] != g.out_channels)) {
    throw node.error(ErrorCode::kFormat, "ConvTranspose bias " + shape_to_string(*b) +
                                             " must be [" + std::to_string(g.out_channels) + "]");
  }
  g.in_size.assign(x.begin() + 2, x.end());
  g.kernel.assign(w.begin() + 2, w.end());
  const auto or_default = [nsp](const std::vector<std::int64_t>& v, std::int64_t d, std::size_t n) {
    return v.empty() ? std::vector<std::int64_t>(n, d) : v;
  };
  g.strides = or_default(attrs.strides, 1, nsp);
  g.dilations = or_default(attrs.dilations, 1, nsp);
  auto out_pad = or_default(attrs.output_padding, 0, nsp);
  auto pads = or_default(attrs.pads, 0, 2 * nsp);
  auto out_shape = attrs.output_shape;
  if (out_shape.size() == nsp + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (g.strides.size() != nsp || g.dilations.size() != nsp || out_pad.size() != nsp ||
      pads.size() != 2 * nsp || (!out_shape.empty() && out_shape.size() != nsp)) {
    throw node.error(ErrorCode::kFormat, "ConvTranspose attributes do not match the spatial rank");
  }
  g.pad_begin.resize(nsp);
  g.pad_end.resize(nsp);
  g.out_size.resize(nsp);
  for (std::size_t i = 0; i < nsp; ++i) {
    if (g.strides[i] < 1 || g.dilations[i] < 1 || pads[i] < 0 || pads[i + nsp] < 0 ||
        out_pad[i] < 0) {
      throw node.error(ErrorCode::kFormat,
                       "ConvTranspose strides/dilations must be >= 1, pads >= 0");
    }
    const std::int64_t extent = (g.kernel[i] - 1) * g.dilations[i] + 1;
    const std::int64_t full =
        checked_add(checked_mul(g.strides[i], g.in_size[i] - 1), out_pad[i] + extent);
    const bool same = attrs.auto_pad == "SAME_UPPER" || attrs.auto_pad == "SAME_LOWER";
    if (!out_shape.empty() || same) {
      // The spec: total = full - output_shape; SAME_UPPER puts the larger half at the end.
      const std::int64_t target = out_shape.empty() ? g.in_size[i] * g.strides[i] : out_shape[i];
      const std::int64_t total = full - target;
      if (total < 0) {
        // output_shape past the full output: the extra positions get only the bias (as the
        // ONNX reference does, like an implicit output_padding).
        g.pad_begin[i] = 0;
        g.pad_end[i] = total;
      } else if (attrs.auto_pad == "SAME_UPPER") {
        g.pad_begin[i] = total / 2;
        g.pad_end[i] = total - total / 2;
      } else {
        g.pad_begin[i] = total - total / 2;
        g.pad_end[i] = total / 2;
      }
      g.out_size[i] = target;
    } else {
      if (attrs.auto_pad == "NOTSET") {
        g.pad_begin[i] = pads[i];
        g.pad_end[i] = pads[i + nsp];
      }
      g.out_size[i] = full - g.pad_begin[i] - g.pad_end[i];
    }
    if (g.out_size[i] < 0)
      throw node.error(ErrorCode::kFormat, "ConvTranspose output size is negative");
  }
  checked_numel(g.out_shape(), "ConvTranspose output");
  return g;
}

void conv_transpose_f32_ref(const ConvTransposeGeometry& g, const float* x, const float* w,
                            const float* b, float* y) {
  const Spatial3 sp(g);
  const auto& in = sp.in;
  const auto& k = sp.k;
  const auto& out = sp.out;
  const auto& st = sp.st;
  const auto& dl = sp.dl;
  const auto& pb = sp.pb;
  const std::int64_t icg = g.in_channels / g.group;
  const std::int64_t ocg = g.out_channels / g.group;
  const std::int64_t in_plane = in[0] * in[1] * in[2];
  const std::int64_t out_plane = out[0] * out[1] * out[2];
  const std::int64_t k_plane = k[0] * k[1] * k[2];
  std::fill(y, y + g.batch * g.out_channels * out_plane, 0.f);
  // Scatter form: each input pixel adds its kernel-weighted contribution to the outputs.
  for (std::int64_t n = 0; n < g.batch; ++n) {
    for (std::int64_t in_channel = 0; in_channel < g.in_channels; ++in_channel) {
      const std::int64_t grp = in_channel / icg;
      const float* x_plane = x + (n * g.in_channels + in_channel) * in_plane;
      for (std::int64_t oc = 0; oc < ocg; ++oc) {
        const std::int64_t out_channel = grp * ocg + oc;
        float* y_plane = y + (n * g.out_channels + out_channel) * out_plane;
        const float* w_plane = w + (in_channel * ocg + oc) * k_plane;
        for (std::int64_t id = 0; id < in[0]; ++id) {
          for (std::int64_t ih = 0; ih < in[1]; ++ih) {
            for (std::int64_t iw = 0; iw < in[2]; ++iw) {
              const float xv = x_plane[(id * in[1] + ih) * in[2] + iw];
              for (std::int64_t kd = 0; kd < k[0]; ++kd) {
                const std::int64_t od = id * st[0] - pb[0] + kd * dl[0];
                if (od < 0 || od >= out[0]) continue;
                for (std::int64_t kh = 0; kh < k[1]; ++kh) {
                  const std::int64_t oh = ih * st[1] - pb[1] + kh * dl[1];
                  if (oh < 0 || oh >= out[1]) continue;
                  for (std::int64_t kw = 0; kw < k[2]; ++kw) {
                    const std::int64_t ow = iw * st[2] - pb[2] + kw * dl[2];
                    if (ow < 0 || ow >= out[2]) continue;
                    y_plane[(od * out[1] + oh) * out[2] + ow] +=
                        xv * w_plane[(kd * k[1] + kh) * k[2] + kw];
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  if (b) {
    for (std::int64_t n = 0; n < g.batch; ++n) {
      for (std::int64_t c = 0; c < g.out_channels; ++c) {
        float* y_plane = y + (n * g.out_channels + c) * out_plane;
        for (std::int64_t i = 0; i < out_plane; ++i) y_plane[i] += b[c];
      }
    }
  }
}

namespace {

// Non-overlapping 2D ConvTranspose (kernel == stride, no pads, dilation 1, one group, output
// exactly in * stride): every output pixel gets exactly one input pixel's contribution, so it is
// one 1x1 convolution, T[N, oc*kh*kw, H, W] = W^T X (oneDNN, deterministic for any thread
// count), then a scatter of T's channels into the strided output, plus bias. oneDNN's own
// deconvolution is very slow when the output has few channels (PP-OCR det's last layer:
// 24 -> 1 channel, 320 -> 640), where this path is memory-bound.
bool gemm_path_applies(const ConvTransposeGeometry& g) {
  if (g.group != 1 || g.in_size.size() != 2) return false;
  for (std::size_t i = 0; i < 2; ++i) {
    if (g.kernel[i] != g.strides[i] || g.dilations[i] != 1 || g.pad_begin[i] != 0 ||
        g.pad_end[i] != 0 || g.out_size[i] != g.in_size[i] * g.strides[i]) {
      return false;
    }
  }
  return true;
}

struct ConvTransposeAsConv {
  ConvF32OneDnn conv;
  Tensor weights;  // [oc*kh*kw, ic, 1, 1]: W [ic, oc*kh*kw] transposed
  const void* weights_from = nullptr;

  void run(const ConvTransposeGeometry& g, const float* x, const Tensor& w, const float* b,
           float* y, bool weights_constant, int num_threads) {
    const std::int64_t kh = g.kernel[0], kw = g.kernel[1];
    const std::int64_t ih = g.in_size[0], iw = g.in_size[1];
    const std::int64_t oh = g.out_size[0], ow = g.out_size[1];
    const std::int64_t m = g.out_channels * kh * kw;
    const std::int64_t hw = ih * iw;
    if (!weights_constant || weights_from != w.raw_data() || weights.numel() != m * g.in_channels) {
      weights = Tensor(DType::kFloat32, {m, g.in_channels, 1, 1});
      const float* src = w.data<float>();
      float* dst = weights.data<float>();
      for (std::int64_t i = 0; i < g.in_channels; ++i) {
        for (std::int64_t j = 0; j < m; ++j) dst[j * g.in_channels + i] = src[i * m + j];
      }
      weights_from = weights_constant ? w.raw_data() : nullptr;
    }
    ConvGeometry c;
    c.batch = g.batch;
    c.in_channels = g.in_channels;
    c.out_channels = m;
    c.in_size = g.in_size;
    c.kernel = {1, 1};
    c.out_size = g.in_size;
    c.strides = {1, 1};
    c.dilations = {1, 1};
    c.pad_begin = {0, 0};
    c.pad_end = {0, 0};
    const std::int64_t tbytes = checked_mul(
        checked_mul(checked_mul(g.batch, m, "ConvTranspose scratch"), hw, "ConvTranspose scratch"),
        std::int64_t{4}, "ConvTranspose scratch");
    // Slot 2: ConvF32OneDnn uses slots 0 and 1 for its own reorders.
    float* t = static_cast<float*>(onednn_scratch(2, static_cast<std::size_t>(tbytes)));
    conv.run(c, FusedActivation{}, x, weights, nullptr, t, true);
    // Scatter: y[n, oc, r*kh + a, col*kw + bb] = t[n, (oc*kh + a)*kw + bb, r, col] + bias[oc].
    const std::int64_t rows = g.batch * g.out_channels * oh;
#pragma omp parallel for num_threads(num_threads) schedule(static)
    for (std::int64_t row = 0; row < rows; ++row) {
      const std::int64_t plane = row / oh;  // n * oc_total + oc
      const std::int64_t n = plane / g.out_channels;
      const std::int64_t oc = plane % g.out_channels;
      const std::int64_t orow = row % oh;
      const std::int64_t r = orow / kh;
      const std::int64_t a = orow % kh;
      float* out = y + row * ow;
      const float bias = b ? b[oc] : 0.f;
      for (std::int64_t bb = 0; bb < kw; ++bb) {
        const float* src = t + (n * m + (oc * kh + a) * kw + bb) * hw + r * iw;
        if (b) {
          for (std::int64_t col = 0; col < iw; ++col) out[col * kw + bb] = src[col] + bias;
        } else {
          for (std::int64_t col = 0; col < iw; ++col) out[col * kw + bb] = src[col];
        }
      }
    }
  }
};

class ConvTransposeKernel : public Kernel {
 public:
  explicit ConvTransposeKernel(const NodeDef& node)
      : node_(node), attrs_(ConvTransposeAttrs::from_node(node)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    if (inputs.size() < 2 || inputs[0].dtype == DType::kUndefined ||
        inputs[1].dtype == DType::kUndefined) {
      throw node_.error(ErrorCode::kFormat, "ConvTranspose needs inputs X and W");
    }
    for (const auto& in : inputs) {
      if (in.dtype != DType::kUndefined && in.dtype != DType::kFloat32) {
        throw node_.error(ErrorCode::kUnsupported, "ConvTranspose supports float32");
      }
    }
    const bool has_bias = inputs.size() > 2 && inputs[2].dtype != DType::kUndefined;
    geometry_ = infer_conv_transpose(attrs_, inputs[0].shape, inputs[1].shape,
                                     has_bias ? &inputs[2].shape : nullptr, node_);
    weights_constant_ = inputs[1].value != nullptr;
    return {TensorInfo{DType::kFloat32, geometry_.out_shape(), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor* b = inputs.size() > 2 ? inputs[2] : nullptr;
    Shape bs = b ? b->shape() : Shape{};
    geometry_ = infer_conv_transpose(attrs_, inputs[0]->shape(), inputs[1]->shape(),
                                     b ? &bs : nullptr, node_);
    const float* bias = b ? b->data<float>() : nullptr;
    if (gemm_path_applies(geometry_) && geometry_.out_channels < 16) {
      as_conv_.run(geometry_, inputs[0]->data<float>(), *inputs[1], bias, outputs[0]->data<float>(),
                   weights_constant_, std::max(1, ctx.num_threads));
    } else if (fast_.supports(geometry_)) {
      fast_.run(geometry_, inputs[0]->data<float>(), *inputs[1], bias, outputs[0]->data<float>(),
                weights_constant_);
    } else {
      conv_transpose_f32_ref(geometry_, inputs[0]->data<float>(), inputs[1]->data<float>(), bias,
                             outputs[0]->data<float>());
    }
  }

 private:
  NodeDef node_;
  ConvTransposeAttrs attrs_;
  ConvTransposeGeometry geometry_;
  bool weights_constant_ = false;
  ConvTransposeF32OneDnn fast_;
  ConvTransposeAsConv as_conv_;
};

}  // namespace

std::unique_ptr<Kernel> make_conv_transpose(const NodeDef& node) {
  return std::make_unique<ConvTransposeKernel>(node);
}

}  // namespace qcal::ops
