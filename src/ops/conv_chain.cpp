// ConvChain kernel: a sequence of oneDNN convolutions whose intermediates stay in oneDNN's
// blocked layout (see conv_chain.hpp). Each stage's primitive is created with the previous
// stage's destination layout as its source layout; where oneDNN has no implementation for that,
// the stage takes format_tag::any and one blocked-to-blocked reorder runs in between.
#include "ops/conv_chain.hpp"

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "ops/conv.hpp"
#include "ops/onednn_scratch.hpp"
#include "ops/onednn_util.hpp"

namespace qcal::ops {
namespace {

using dnnl::memory;

struct Stage {
  ConvGeometry g;
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward conv;
  bool reorder_in = false;  // the previous dst (or the user's input) needs a reorder
  dnnl::reorder in_reorder;
  memory::desc user_weights;
  memory weights;  // in pd's layout
  const void* weights_from = nullptr;
  std::vector<BinaryPostOp> binary;
  std::vector<memory> binary_mem;
  bool has_bias = false;
};

struct Prepared {
  std::vector<Stage> stages;
  memory::desc user_src, user_dst;
  bool reorder_out = false;
  dnnl::reorder out_reorder;
};

// Sub-node k of a chain node: its "s<k>." attributes without the prefix.
NodeDef stage_node(const NodeDef& chain, std::int64_t k) {
  NodeDef n;
  const std::string prefix = "s" + std::to_string(k) + ".";
  n.op_type = "Conv";
  n.opset = chain.opset;
  n.name = chain.attr_string(prefix + "name", chain.name);
  for (const auto& [key, value] : chain.attributes) {
    if (key.rfind(prefix, 0) == 0 && key != prefix + "name" && key != prefix + "qcal_observe") {
      n.attributes[key.substr(prefix.size())] = value;
    }
  }
  return n;
}

class ConvChainKernel : public Kernel {
 public:
  explicit ConvChainKernel(const NodeDef& node) : node_(node) {
    const std::int64_t n = node.attr_int("qcal_stages", 0);
    if (n < 1 || node.inputs.size() != static_cast<std::size_t>(1 + 2 * n)) {
      throw node.error(ErrorCode::kInternal, "malformed ConvChain node");
    }
    for (std::int64_t k = 0; k < n; ++k) {
      subs_.push_back(stage_node(node, k));
      attrs_.push_back(ConvAttrs::from_node(subs_.back()));
      observe_.push_back(node.attr_string("s" + std::to_string(k) + ".qcal_observe", ""));
    }
  }

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    Shape s = inputs[0].shape;
    for (std::size_t k = 0; k < subs_.size(); ++k) {
      const auto& w = inputs[1 + 2 * k];
      const auto& b = inputs[2 + 2 * k];
      const bool has_b = b.dtype != DType::kUndefined;
      if (!w.value || (has_b && !b.value) || w.dtype != DType::kFloat32 ||
          (has_b && b.dtype != DType::kFloat32) || inputs[0].dtype != DType::kFloat32) {
        throw subs_[k].error(ErrorCode::kInternal, "ConvChain needs constant float32 weights");
      }
      s = infer_conv(attrs_[k], s, w.shape, has_b ? &b.shape : nullptr, subs_[k]).out_shape();
    }
    return {TensorInfo{DType::kFloat32, s, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& x = *inputs[0];
    auto it = cache_.find(x.shape());
    if (it == cache_.end()) it = cache_.emplace(x.shape(), prepare(inputs)).first;
    Prepared& p = *it->second;
    auto& eng = onednn_engine();
    dnnl::stream stream(eng);
    memory src(p.user_src, eng, const_cast<void*>(x.raw_data()));
    const std::size_t n = p.stages.size();
    for (std::size_t k = 0; k < n; ++k) {
      Stage& st = p.stages[k];
      if (st.reorder_in) {
        memory moved(st.pd.src_desc(), eng, onednn_scratch(0, st.pd.src_desc().get_size()));
        st.in_reorder.execute(stream, src, moved);
        src = moved;
      }
      const Tensor& w = *inputs[1 + 2 * k];
      if (st.weights_from != w.raw_data()) {
        memory user_w(st.user_weights, eng, const_cast<void*>(w.raw_data()));
        dnnl::reorder(user_w, st.weights).execute(stream, user_w, st.weights);
        st.weights_from = w.raw_data();
      }
      const bool last = k + 1 == n;
      memory dst =
          last && !p.reorder_out
              ? memory(p.user_dst, eng, outputs[0]->raw_data())
              // Intermediates alternate between scratch slots 1 and 2 (slot 0 holds
              // reordered inputs), so a stage never reads the buffer it writes.
              : memory(st.pd.dst_desc(), eng,
                       onednn_scratch(1 + static_cast<int>(k % 2), st.pd.dst_desc().get_size()));
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, st.weights}, {DNNL_ARG_DST, dst}};
      if (st.has_bias) {
        args.emplace(DNNL_ARG_BIAS, memory(memory::desc({st.g.out_channels}, memory::data_type::f32,
                                                        memory::format_tag::a),
                                           eng, const_cast<void*>(inputs[2 + 2 * k]->raw_data())));
      }
      for (std::size_t i = 0; i < st.binary.size(); ++i) {
        args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(st.binary[i].index) | DNNL_ARG_SRC_1,
                     st.binary_mem[i]);
      }
      st.conv.execute(stream, args);
      if (!last && !observe_[k].empty() && ctx.observe)
        report(stream, st, dst, observe_[k], *ctx.observe);
      src = dst;
    }
    if (p.reorder_out) {
      memory user_y(p.user_dst, eng, outputs[0]->raw_data());
      p.out_reorder.execute(stream, src, user_y);
    }
    stream.wait();
  }

 private:
  // Hands stage k's output to the observer. Without padding, oneDNN's blocked buffer holds
  // exactly the tensor's values in another order and is passed as it is (order-free statistics
  // are all an observe_in_chains observer may compute); with padding, it is reordered to the
  // plain layout in scratch first.
  static void report(dnnl::stream& stream, const Stage& st, memory dst, const std::string& name,
                     const std::function<void(const std::string&, const TensorView&)>& observe) {
    stream.wait();
    const Shape shape = st.g.out_shape();  // the geometry was prepared for this input's batch
    std::int64_t numel = 1;
    for (auto d : shape) numel *= d;
    const memory::desc& desc = st.pd.dst_desc();
    const void* data = dst.get_data_handle();
    if (desc.get_size() != static_cast<std::size_t>(numel) * sizeof(float)) {
      const memory::desc plain(to_dims(shape), memory::data_type::f32, plain_tag(shape.size()));
      memory out(plain, onednn_engine(), onednn_scratch(3, plain.get_size()));
      dnnl::reorder(dst, out).execute(stream, dst, out);
      stream.wait();
      data = out.get_data_handle();
    }
    observe(name, TensorView{DType::kFloat32, shape, data});
  }

  std::unique_ptr<Prepared> prepare(std::span<const Tensor* const> inputs) {
    auto& eng = onednn_engine();
    const auto f32 = memory::data_type::f32;
    auto p = std::make_unique<Prepared>();
    Shape s = inputs[0]->shape();
    p->user_src = memory::desc(to_dims(s), f32, plain_tag(s.size()));
    memory::desc prev = p->user_src;
    for (std::size_t k = 0; k < subs_.size(); ++k) {
      const Tensor& w = *inputs[1 + 2 * k];
      const Tensor* b = inputs[2 + 2 * k];
      Stage st;
      Shape bs = b ? b->shape() : Shape{};
      st.g = infer_conv(attrs_[k], s, w.shape(), b ? &bs : nullptr, subs_[k]);
      const ConvGeometry& g = st.g;
      const Shape y_shape = g.out_shape();
      const Shape w_shape = conv_weight_shape(g);
      st.user_weights = memory::desc(to_dims(w_shape), f32, plain_tag(w_shape.size()));
      const memory::desc any_src(to_dims(s), f32, memory::format_tag::any);
      dnnl::post_ops post;
      st.binary = append_activation(post, attrs_[k].activation, y_shape.size());
      dnnl::primitive_attr attr;
      attr.set_post_ops(post);
      st.has_bias = b != nullptr;
      const auto make = [&](const memory::desc& src_md) {
        return conv_primitive_desc(g, src_md, st.has_bias, attr);
      };
      // Stage 0 lets oneDNN pick (its input comes as NCHW and is reordered once); later stages
      // first try to read the previous stage's layout as is.
      bool fixed = false;
      if (k > 0) {
        try {
          st.pd = make(prev);
          fixed = true;
        } catch (const dnnl::error&) {
          fixed = false;
        }
      }
      if (!fixed) st.pd = make(any_src);
      st.conv = dnnl::convolution_forward(st.pd);
      st.reorder_in = st.pd.src_desc() != prev;
      if (st.reorder_in)
        st.in_reorder =
            dnnl::reorder(dnnl::reorder::primitive_desc(eng, prev, eng, st.pd.src_desc()));
      st.weights = memory(st.pd.weights_desc(), eng);
      for (auto& op : st.binary) {
        const memory::desc scalar(memory::dims(y_shape.size(), 1), f32, plain_tag(y_shape.size()));
        st.binary_mem.emplace_back(scalar, eng, &op.value);
      }
      prev = st.pd.dst_desc();
      s = y_shape;
      p->stages.push_back(std::move(st));
    }
    // binary_mem points into each stage's `binary`: the vectors moved with their heap buffers,
    // so the pointers stay valid.
    p->user_dst = memory::desc(to_dims(s), f32, plain_tag(s.size()));
    p->reorder_out = prev != p->user_dst;
    if (p->reorder_out)
      p->out_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, prev, eng, p->user_dst));
    return p;
  }

  NodeDef node_;
  std::vector<NodeDef> subs_;
  std::vector<ConvAttrs> attrs_;
  std::vector<std::string> observe_;  // per stage: the watched output tensor, or ""
  std::map<Shape, std::unique_ptr<Prepared>> cache_;
};

}  // namespace

std::unique_ptr<Kernel> make_conv_chain(const NodeDef& node) {
  return std::make_unique<ConvChainKernel>(node);
}

}  // namespace qcal::ops
