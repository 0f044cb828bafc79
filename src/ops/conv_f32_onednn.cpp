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
  memory::desc user_src, user_dst, user_weights;
  bool reorder_src = false;
  bool reorder_dst = false;
  bool reorder_weights = false;
  dnnl::reorder src_reorder, dst_reorder;
  memory weights;             // in pd's layout (owned) when reordered, else unused
  const void* weights_from = nullptr;  // the constant weights already reordered
  bool has_bias = false;
  std::vector<BinaryPostOp> binary;       // scalar operands of Mul/Add post-ops
  std::vector<memory> binary_mem;         // one-element views of binary[i].value
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
    p->user_src = memory::desc(to_dims(x_shape), f32, plain_tag(x_shape.size()));
    p->user_dst = memory::desc(to_dims(y_shape), f32, plain_tag(y_shape.size()));
    p->user_weights = memory::desc(to_dims(w_shape), f32, plain_tag(w_shape.size()));
    dnnl::post_ops post;
    p->binary = append_activation(post, activation, y_shape.size());
    dnnl::primitive_attr attr;
    attr.set_post_ops(post);
    p->has_bias = b != nullptr;
    p->pd = conv_primitive_desc(g, memory::desc(to_dims(x_shape), f32, memory::format_tag::any),
                                p->has_bias, attr);
    p->conv = dnnl::convolution_forward(p->pd);
    p->reorder_src = p->pd.src_desc() != p->user_src;
    p->reorder_dst = p->pd.dst_desc() != p->user_dst;
    p->reorder_weights = p->pd.weights_desc() != p->user_weights;
    if (p->reorder_src) {
      p->src_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->user_src, eng, p->pd.src_desc()));
    }
    if (p->reorder_dst) {
      p->dst_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->pd.dst_desc(), eng, p->user_dst));
    }
    if (p->reorder_weights) p->weights = memory(p->pd.weights_desc(), eng);
    for (auto& op : p->binary) {
      const memory::desc scalar(memory::dims(x_shape.size(), 1), f32, plain_tag(x_shape.size()));
      p->binary_mem.emplace_back(scalar, eng, &op.value);
    }
    it = cache_.emplace(key, std::move(p)).first;
  }
  Prepared& p = *it->second;
  last_ = &p;
  dnnl::stream stream(eng);
  // Weights: reorder into the cached buffer once (constant) or every run.
  memory user_w(p.user_weights, eng, const_cast<void*>(w.raw_data()));
  memory w_mem = user_w;
  if (p.reorder_weights) {
    if (!weights_constant || p.weights_from != w.raw_data()) {
      dnnl::reorder(user_w, p.weights).execute(stream, user_w, p.weights);
      p.weights_from = weights_constant ? w.raw_data() : nullptr;
    }
    w_mem = p.weights;
  }
  memory user_x(p.user_src, eng, const_cast<float*>(x));
  memory user_y(p.user_dst, eng, y);
  memory src = user_x;
  memory dst = user_y;
  if (p.reorder_src) {
    src = memory(p.pd.src_desc(), eng, onednn_scratch(0, p.pd.src_desc().get_size()));
    p.src_reorder.execute(stream, user_x, src);
  }
  if (p.reorder_dst) dst = memory(p.pd.dst_desc(), eng, onednn_scratch(1, p.pd.dst_desc().get_size()));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w_mem}, {DNNL_ARG_DST, dst}};
  if (p.has_bias) {
    args.emplace(DNNL_ARG_BIAS, memory(memory::desc({g.out_channels}, memory::data_type::f32,
                                                    memory::format_tag::a),
                                       eng, const_cast<float*>(b)));
  }
  for (std::size_t i = 0; i < p.binary.size(); ++i) {
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(p.binary[i].index) | DNNL_ARG_SRC_1, p.binary_mem[i]);
  }
  p.conv.execute(stream, args);
  if (p.reorder_dst) p.dst_reorder.execute(stream, dst, user_y);
  stream.wait();
}

}  // namespace qcal::ops
