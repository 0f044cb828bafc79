// Conv float32 through oneDNN 2.6 (desc -> primitive_desc -> primitive), with reorders between
// ONNX's plain layout and the layout oneDNN picks, through per-thread scratch buffers.
#include "ops/conv_f32_onednn.hpp"

#include "core/error.hpp"
#include "ops/onednn_scratch.hpp"
#include "ops/onednn_util.hpp"

namespace qcal::ops {

using dnnl::memory;

struct ConvF32OneDnn::Prepared {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward conv;
  OneDnnLayouts io;
  bool has_bias = false;
  std::vector<BinaryPostOp> binary;  // scalar operands of Mul/Add post-ops
  std::vector<memory> binary_mem;    // one-element views of binary[i].value
};

ConvF32OneDnn::ConvF32OneDnn() = default;
ConvF32OneDnn::~ConvF32OneDnn() = default;
ConvF32OneDnn::ConvF32OneDnn(ConvF32OneDnn&&) noexcept = default;

std::string ConvF32OneDnn::implementation() const {
  return last_ ? std::string(last_->pd.impl_info_str()) : std::string();
}

void ConvF32OneDnn::run(const ConvGeometry& g, const FusedActivation& activation, const float* x,
                        const Tensor& w, const float* b, float* y, bool weights_constant) {
  auto& eng = onednn_engine();
  Shape key{g.batch, g.in_channels, b ? 1 : 0};
  key.insert(key.end(), g.in_size.begin(), g.in_size.end());
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    auto p = std::make_unique<Prepared>();
    const Shape x_shape = [&] {
      Shape s{g.batch, g.in_channels};
      s.insert(s.end(), g.in_size.begin(), g.in_size.end());
      return s;
    }();
    const Shape y_shape = g.out_shape();
    const Shape w_shape = conv_weight_shape(g);
    const auto f32 = memory::data_type::f32;
    p->io.user_src = memory::desc(to_dims(x_shape), f32, plain_tag(x_shape.size()));
    p->io.user_dst = memory::desc(to_dims(y_shape), f32, plain_tag(y_shape.size()));
    p->io.user_weights = memory::desc(to_dims(w_shape), f32, plain_tag(w_shape.size()));
    dnnl::post_ops post;
    p->binary = append_activation(post, activation, y_shape.size());
    dnnl::primitive_attr attr;
    attr.set_post_ops(post);
    p->has_bias = b != nullptr;
    p->pd = conv_primitive_desc(g, memory::desc(to_dims(x_shape), f32, memory::format_tag::any),
                                p->has_bias, attr);
    p->conv = dnnl::convolution_forward(p->pd);
    p->io.init(p->pd.src_desc(), p->pd.weights_desc(), p->pd.dst_desc());
    for (auto& op : p->binary) {
      const memory::desc scalar(memory::dims(x_shape.size(), 1), f32, plain_tag(x_shape.size()));
      p->binary_mem.emplace_back(scalar, eng, &op.value);
    }
    it = cache_.emplace(key, std::move(p)).first;
  }
  Prepared& p = *it->second;
  last_ = &p;
  dnnl::stream stream(eng);
  auto args = p.io.bind(stream, x, w, y, weights_constant);
  if (p.has_bias) {
    args.emplace(DNNL_ARG_BIAS, memory(memory::desc({g.out_channels}, memory::data_type::f32,
                                                    memory::format_tag::a),
                                       eng, const_cast<float*>(b)));
  }
  for (std::size_t i = 0; i < p.binary.size(); ++i) {
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(p.binary[i].index) | DNNL_ARG_SRC_1,
                 p.binary_mem[i]);
  }
  p.conv.execute(stream, args);
  p.io.finish(stream, args, y);
  stream.wait();
}

}  // namespace qcal::ops
