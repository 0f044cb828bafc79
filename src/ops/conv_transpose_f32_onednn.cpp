// ConvTranspose float32 through oneDNN's deconvolution (format_tag::any, reorders through
// per-thread scratch). ONNX weights [C_in, C_out/group, k...] are oneDNN's "io" order.
#include "core/error.hpp"
#include "ops/conv_transpose.hpp"
#include "ops/onednn_scratch.hpp"
#include "ops/onednn_util.hpp"

namespace qcal::ops {

using dnnl::memory;

struct ConvTransposeF32OneDnn::Prepared {
  dnnl::deconvolution_forward::primitive_desc pd;
  dnnl::deconvolution_forward deconv;
  OneDnnLayouts io;
};

ConvTransposeF32OneDnn::ConvTransposeF32OneDnn() = default;
ConvTransposeF32OneDnn::~ConvTransposeF32OneDnn() = default;

bool ConvTransposeF32OneDnn::supports(const ConvTransposeGeometry& g) const {
  // oneDNN derives the output size from the pads: it needs the right pad implied by our output
  // size (output_padding/output_shape) to be non-negative.
  for (std::size_t i = 0; i < g.in_size.size(); ++i) {
    const std::int64_t extent = (g.kernel[i] - 1) * g.dilations[i] + 1;
    const std::int64_t right =
        (g.in_size[i] - 1) * g.strides[i] + extent - g.pad_begin[i] - g.out_size[i];
    if (right < 0) return false;
  }
  return g.batch > 0 && g.in_channels > 0 && g.out_channels > 0;
}

void ConvTransposeF32OneDnn::run(const ConvTransposeGeometry& g, const float* x, const Tensor& w,
                                 const float* b, float* y, bool weights_constant) {
  using T = memory::format_tag;
  auto& eng = onednn_engine();
  Shape key{g.batch, g.in_channels, b ? 1 : 0};
  key.insert(key.end(), g.in_size.begin(), g.in_size.end());
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    auto p = std::make_unique<Prepared>();
    const std::size_t nsp = g.in_size.size();
    Shape xs{g.batch, g.in_channels};
    xs.insert(xs.end(), g.in_size.begin(), g.in_size.end());
    const Shape ys = g.out_shape();
    Shape ws;
    T wtag;
    if (g.group == 1) {
      ws = {g.out_channels, g.in_channels};
      wtag = nsp == 1 ? T::bac : (nsp == 2 ? T::bacd : T::bacde);
    } else {
      ws = {g.group, g.out_channels / g.group, g.in_channels / g.group};
      wtag = nsp == 1 ? T::acbd : (nsp == 2 ? T::acbde : T::acbdef);
    }
    ws.insert(ws.end(), g.kernel.begin(), g.kernel.end());
    const auto f32 = memory::data_type::f32;
    p->io.user_src = memory::desc(to_dims(xs), f32, plain_tag(xs.size()));
    p->io.user_dst = memory::desc(to_dims(ys), f32, plain_tag(ys.size()));
    p->io.user_weights = memory::desc(to_dims(ws), f32, wtag);
    memory::dims strides(g.strides.begin(), g.strides.end());
    memory::dims dil, pl, pr;
    for (std::size_t i = 0; i < nsp; ++i) {
      dil.push_back(g.dilations[i] - 1);
      pl.push_back(g.pad_begin[i]);
      const std::int64_t extent = (g.kernel[i] - 1) * g.dilations[i] + 1;
      pr.push_back((g.in_size[i] - 1) * g.strides[i] + extent - g.pad_begin[i] - g.out_size[i]);
    }
    const memory::desc any_src(to_dims(xs), f32, T::any), any_dst(to_dims(ys), f32, T::any),
        any_w(to_dims(ws), f32, T::any), bias_md({g.out_channels}, f32, T::a);
    auto desc = b ? dnnl::deconvolution_forward::desc(
                        dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                        any_src, any_w, bias_md, any_dst, strides, dil, pl, pr)
                  : dnnl::deconvolution_forward::desc(
                        dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                        any_src, any_w, any_dst, strides, dil, pl, pr);
    p->pd = dnnl::deconvolution_forward::primitive_desc(desc, eng);
    p->deconv = dnnl::deconvolution_forward(p->pd);
    p->io.init(p->pd.src_desc(), p->pd.weights_desc(), p->pd.dst_desc());
    it = cache_.emplace(key, std::move(p)).first;
  }
  Prepared& p = *it->second;
  dnnl::stream stream(eng);
  auto args = p.io.bind(stream, x, w, y, weights_constant);
  if (b) {
    args.emplace(DNNL_ARG_BIAS, memory(memory::desc({g.out_channels}, memory::data_type::f32, T::a),
                                       eng, const_cast<float*>(b)));
  }
  p.deconv.execute(stream, args);
  p.io.finish(stream, args, y);
  stream.wait();
}

}  // namespace qcal::ops
