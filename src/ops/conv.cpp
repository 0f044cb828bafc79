// Conv: attributes, shape inference (explicit pads and auto_pad), reference kernel, factory.
#include "ops/conv.hpp"

#include "core/checked.hpp"
#include "ops/conv_f32_onednn.hpp"

namespace qcal::ops {

void ConvWindowAttrs::read(const NodeDef& node) {
  auto_pad = node.attr_string("auto_pad", "NOTSET");
  dilations = node.attr_ints("dilations");
  group = node.attr_int("group", 1);
  kernel_shape = node.attr_ints("kernel_shape");
  pads = node.attr_ints("pads");
  strides = node.attr_ints("strides");
  if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" &&
      auto_pad != "VALID") {
    throw node.error(ErrorCode::kFormat, "auto_pad '" + auto_pad + "' is not a valid value");
  }
  if (group < 1) throw node.error(ErrorCode::kFormat, "group must be >= 1");
}

ConvAttrs ConvAttrs::from_node(const NodeDef& node) {
  ConvAttrs a;
  a.read(node);
  a.activation = FusedActivation::from_node(node);
  return a;
}

Shape ConvGeometry::out_shape() const {
  Shape s{batch, out_channels};
  s.insert(s.end(), out_size.begin(), out_size.end());
  return s;
}

ConvGeometry infer_conv(const ConvAttrs& attrs, const Shape& x, const Shape& w, const Shape* b,
                        const NodeDef& node) {
  if (x.size() < 3 || x.size() > 5) {
    throw node.error(ErrorCode::kUnsupported,
                     "Conv input X must have rank 3 to 5, got " + shape_to_string(x));
  }
  if (w.size() != x.size()) {
    throw node.error(ErrorCode::kFormat, "Conv weight W " + shape_to_string(w) +
                                             " must have the rank of X " + shape_to_string(x));
  }
  const std::size_t nsp = x.size() - 2;
  ConvGeometry g;
  g.batch = x[0];
  g.in_channels = x[1];
  g.out_channels = w[0];
  g.group = attrs.group;
  if (g.in_channels % g.group || g.out_channels % g.group || w[1] * g.group != g.in_channels) {
    throw node.error(ErrorCode::kFormat, "Conv channels do not match: X " + shape_to_string(x) +
                                             ", W " + shape_to_string(w) + ", group " +
                                             std::to_string(g.group));
  }
  if (b && (b->size() != 1 || (*b)[0] != g.out_channels)) {
    throw node.error(ErrorCode::kFormat, "Conv bias B " + shape_to_string(*b) + " must be [" +
                                             std::to_string(g.out_channels) + "]");
  }
  g.in_size.assign(x.begin() + 2, x.end());
  g.kernel.assign(w.begin() + 2, w.end());
  if (!attrs.kernel_shape.empty() && attrs.kernel_shape != g.kernel) {
    throw node.error(ErrorCode::kFormat, "kernel_shape does not match W " + shape_to_string(w));
  }
  g.strides = attrs.strides.empty() ? std::vector<std::int64_t>(nsp, 1) : attrs.strides;
  g.dilations = attrs.dilations.empty() ? std::vector<std::int64_t>(nsp, 1) : attrs.dilations;
  std::vector<std::int64_t> pads =
      attrs.pads.empty() ? std::vector<std::int64_t>(2 * nsp, 0) : attrs.pads;
  if (g.strides.size() != nsp || g.dilations.size() != nsp || pads.size() != 2 * nsp) {
    throw node.error(ErrorCode::kFormat,
                     "strides/dilations/pads do not match the spatial rank " + std::to_string(nsp));
  }
  g.pad_begin.resize(nsp);
  g.pad_end.resize(nsp);
  g.out_size.resize(nsp);
  for (std::size_t i = 0; i < nsp; ++i) {
    if (g.strides[i] < 1 || g.dilations[i] < 1 || g.kernel[i] < 1 || pads[i] < 0 ||
        pads[i + nsp] < 0) {
      throw node.error(ErrorCode::kFormat,
                       "Conv strides, dilations and kernel must be >= 1, pads >= 0");
    }
    const std::int64_t extent = checked_add(checked_mul(g.kernel[i] - 1, g.dilations[i]), 1);
    if (attrs.auto_pad == "NOTSET") {
      g.pad_begin[i] = pads[i];
      g.pad_end[i] = pads[i + nsp];
    } else if (attrs.auto_pad == "VALID") {
      g.pad_begin[i] = g.pad_end[i] = 0;
    } else {
      // SAME_*: output = ceil(in / stride); the odd pad goes at the end (UPPER) or begin (LOWER).
      const std::int64_t out = (g.in_size[i] + g.strides[i] - 1) / g.strides[i];
      const std::int64_t total =
          std::max<std::int64_t>(0, (out - 1) * g.strides[i] + extent - g.in_size[i]);
      g.pad_begin[i] = attrs.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pad_end[i] = total - g.pad_begin[i];
    }
    const std::int64_t padded = checked_add(g.in_size[i], g.pad_begin[i] + g.pad_end[i]);
    if (padded < extent) {
      throw node.error(ErrorCode::kFormat, "Conv kernel " + shape_to_string(g.kernel) +
                                               " is larger than the padded input " +
                                               shape_to_string(x));
    }
    g.out_size[i] = (padded - extent) / g.strides[i] + 1;
  }
  checked_numel(g.out_shape(), "Conv output");
  return g;
}

void conv_f32_ref(const ConvGeometry& g, const float* x, const float* w, const float* b, float* y,
                  const FusedActivation& activation) {
  const Spatial3 sp(g);
  const auto& in = sp.in;
  const auto& k = sp.k;
  const auto& out = sp.out;
  const auto& st = sp.st;
  const auto& dl = sp.dl;
  const auto& pb = sp.pb;
  const std::int64_t in_ch_per_group = g.in_channels / g.group;
  const std::int64_t out_ch_per_group = g.out_channels / g.group;
  const std::int64_t in_plane = in[0] * in[1] * in[2];
  const std::int64_t out_plane = out[0] * out[1] * out[2];
  const std::int64_t k_plane = k[0] * k[1] * k[2];
  for (std::int64_t n = 0; n < g.batch; ++n) {
    for (std::int64_t out_channel = 0; out_channel < g.out_channels; ++out_channel) {
      const std::int64_t grp = out_channel / out_ch_per_group;
      float* y_plane = y + (n * g.out_channels + out_channel) * out_plane;
      for (std::int64_t od = 0; od < out[0]; ++od) {
        for (std::int64_t oh = 0; oh < out[1]; ++oh) {
          for (std::int64_t ow = 0; ow < out[2]; ++ow) {
            float acc = 0.f;
            for (std::int64_t ic = 0; ic < in_ch_per_group; ++ic) {
              const std::int64_t in_channel = grp * in_ch_per_group + ic;
              const float* x_plane = x + (n * g.in_channels + in_channel) * in_plane;
              const float* w_plane = w + (out_channel * in_ch_per_group + ic) * k_plane;
              for (std::int64_t kd = 0; kd < k[0]; ++kd) {
                const std::int64_t id = od * st[0] - pb[0] + kd * dl[0];
                if (id < 0 || id >= in[0]) continue;
                for (std::int64_t kh = 0; kh < k[1]; ++kh) {
                  const std::int64_t ih = oh * st[1] - pb[1] + kh * dl[1];
                  if (ih < 0 || ih >= in[1]) continue;
                  for (std::int64_t kw = 0; kw < k[2]; ++kw) {
                    const std::int64_t iw = ow * st[2] - pb[2] + kw * dl[2];
                    if (iw < 0 || iw >= in[2]) continue;
                    acc += x_plane[(id * in[1] + ih) * in[2] + iw] *
                           w_plane[(kd * k[1] + kh) * k[2] + kw];
                  }
                }
              }
            }
            if (b) acc += b[out_channel];
            y_plane[(od * out[1] + oh) * out[2] + ow] = activation.apply(acc);
          }
        }
      }
    }
  }
}

namespace {

class ConvKernel : public Kernel {
 public:
  explicit ConvKernel(const NodeDef& node) : node_(node), attrs_(ConvAttrs::from_node(node)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    if (inputs.size() < 2 || inputs[0].dtype == DType::kUndefined ||
        inputs[1].dtype == DType::kUndefined) {
      throw node_.error(ErrorCode::kFormat, "Conv needs inputs X and W");
    }
    const bool has_bias = inputs.size() > 2 && inputs[2].dtype != DType::kUndefined;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].dtype != DType::kUndefined && inputs[i].dtype != DType::kFloat32) {
        throw node_.error(ErrorCode::kUnsupported, "Conv supports float32 tensors, input " +
                                                       std::to_string(i) + " is " +
                                                       std::string(dtype_name(inputs[i].dtype)));
      }
    }
    geometry_ = infer_conv(attrs_, inputs[0].shape, inputs[1].shape,
                           has_bias ? &inputs[2].shape : nullptr, node_);
    weights_constant_ = inputs[1].value != nullptr;
    return {TensorInfo{DType::kFloat32, geometry_.out_shape(), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext&) override {
    const Tensor& x = *inputs[0];
    const Tensor* b = inputs.size() > 2 ? inputs[2] : nullptr;
    if (geometry_.in_size.size() + 2 != x.shape().size() || geometry_.batch != x.shape()[0] ||
        !std::equal(geometry_.in_size.begin(), geometry_.in_size.end(), x.shape().begin() + 2)) {
      // Several plans share the kernel: re-derive the geometry for this input shape.
      Shape bs;
      if (b) bs = b->shape();
      geometry_ = infer_conv(attrs_, x.shape(), inputs[1]->shape(), b ? &bs : nullptr, node_);
    }
    fast_.run(geometry_, attrs_.activation, x.data<float>(), *inputs[1],
              b ? b->data<float>() : nullptr, outputs[0]->data<float>(), weights_constant_);
  }

 private:
  NodeDef node_;
  ConvAttrs attrs_;
  ConvGeometry geometry_;
  bool weights_constant_ = false;
  ConvF32OneDnn fast_;
};

}  // namespace

std::unique_ptr<Kernel> make_conv(const NodeDef& node) {
  return std::make_unique<ConvKernel>(node);
}

}  // namespace qcal::ops
