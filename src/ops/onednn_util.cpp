// oneDNN helpers: one CPU engine for the process, activation post-ops, dims and tags.
#include "ops/onednn_util.hpp"

#include "core/error.hpp"
#include "ops/onednn_scratch.hpp"

namespace qcal::ops {

dnnl::engine& onednn_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

std::vector<BinaryPostOp> append_activation(dnnl::post_ops& ops, const FusedActivation& activation,
                                            std::size_t rank) {
  using K = FusedOp::Kind;
  using dnnl::algorithm;
  std::vector<BinaryPostOp> binary;
  for (const FusedOp& op : activation.ops) {
    switch (op.kind) {
      case K::kNone:
        break;
      case K::kRelu:
        ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
        break;
      // clip_v2 is [alpha, beta] inclusive on both ends, as ONNX Clip.
      case K::kClip:
        ops.append_eltwise(1.f, algorithm::eltwise_clip_v2, op.alpha, op.beta);
        break;
      case K::kLeakyRelu:
        ops.append_eltwise(1.f, algorithm::eltwise_relu, op.alpha, 0.f);
        break;
      // oneDNN hardswish is x * min(max(x + 3, 0), 6) / 6, the ONNX definition.
      case K::kHardSwish:
        ops.append_eltwise(1.f, algorithm::eltwise_hardswish, 0.f, 0.f);
        break;
      case K::kSwish:
        ops.append_eltwise(1.f, algorithm::eltwise_swish, op.alpha, 0.f);
        break;
      case K::kSigmoid:
        ops.append_eltwise(1.f, algorithm::eltwise_logistic, 0.f, 0.f);
        break;
      // Mul/Add by a scalar: binary post-ops with a broadcast one-element operand, each rounding
      // once as the unfused ONNX op does. (Not eltwise_linear: oneDNN 2.6's JIT post-op chain
      // gives wrong results when one eltwise algorithm appears twice with different
      // parameters, which Paddle's Mul, Add, HardSwish, Mul, Add chains would hit.)
      case K::kMul:
      case K::kAdd: {
        const int index = ops.len();
        const dnnl::memory::desc scalar(dnnl::memory::dims(rank, 1), dnnl::memory::data_type::f32,
                                        plain_tag(rank));
        ops.append_binary(op.kind == K::kMul ? algorithm::binary_mul : algorithm::binary_add,
                          scalar);
        binary.push_back({index, op.alpha});
        break;
      }
    }
  }
  return binary;
}

Shape conv_weight_shape(const ConvGeometry& g) {
  Shape w = g.group == 1 ? Shape{g.out_channels, g.in_channels}
                         : Shape{g.group, g.out_channels / g.group, g.in_channels / g.group};
  w.insert(w.end(), g.kernel.begin(), g.kernel.end());
  return w;
}

dnnl::convolution_forward::primitive_desc conv_primitive_desc(const ConvGeometry& g,
                                                              const dnnl::memory::desc& src,
                                                              bool bias,
                                                              const dnnl::primitive_attr& attr) {
  using dnnl::memory;
  const auto f32 = memory::data_type::f32;
  const memory::desc any_w(to_dims(conv_weight_shape(g)), f32, memory::format_tag::any);
  const memory::desc any_dst(to_dims(g.out_shape()), f32, memory::format_tag::any);
  const memory::desc bias_md({g.out_channels}, f32, memory::format_tag::a);
  const memory::dims strides(g.strides.begin(), g.strides.end());
  memory::dims dil;
  for (auto d : g.dilations) dil.push_back(d - 1);  // oneDNN counts dilation from 0
  const memory::dims pl(g.pad_begin.begin(), g.pad_begin.end());
  const memory::dims pr(g.pad_end.begin(), g.pad_end.end());
  const auto kind = dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::convolution_direct;
  auto desc =
      bias ? dnnl::convolution_forward::desc(kind, alg, src, any_w, bias_md, any_dst, strides, dil,
                                             pl, pr)
           : dnnl::convolution_forward::desc(kind, alg, src, any_w, any_dst, strides, dil, pl, pr);
  return dnnl::convolution_forward::primitive_desc(desc, attr, onednn_engine());
}

void OneDnnLayouts::init(const dnnl::memory::desc& src, const dnnl::memory::desc& weights_desc,
                         const dnnl::memory::desc& dst) {
  auto& eng = onednn_engine();
  prim_src = src;
  prim_dst = dst;
  reorder_src = src != user_src;
  reorder_dst = dst != user_dst;
  reorder_weights = weights_desc != user_weights;
  if (reorder_src)
    src_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, user_src, eng, src));
  if (reorder_dst)
    dst_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, dst, eng, user_dst));
  if (reorder_weights) weights = dnnl::memory(weights_desc, eng);
}

std::unordered_map<int, dnnl::memory> OneDnnLayouts::bind(dnnl::stream& stream, const void* x,
                                                          const Tensor& w, void* y,
                                                          bool weights_constant) {
  using dnnl::memory;
  auto& eng = onednn_engine();
  // Weights: reorder into the owned buffer once (constant) or every run.
  memory user_w(user_weights, eng, const_cast<void*>(w.raw_data()));
  memory w_mem = user_w;
  if (reorder_weights) {
    if (!weights_constant || weights_from != w.raw_data()) {
      dnnl::reorder(user_w, weights).execute(stream, user_w, weights);
      weights_from = weights_constant ? w.raw_data() : nullptr;
    }
    w_mem = weights;
  }
  memory src(user_src, eng, const_cast<void*>(x));
  if (reorder_src) {
    memory moved(prim_src, eng, onednn_scratch(0, prim_src.get_size()));
    src_reorder.execute(stream, src, moved);
    src = moved;
  }
  memory dst(user_dst, eng, y);
  if (reorder_dst) {
    dst = memory(prim_dst, eng, onednn_scratch(1, prim_dst.get_size()));
  }
  return {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w_mem}, {DNNL_ARG_DST, dst}};
}

void OneDnnLayouts::finish(dnnl::stream& stream, std::unordered_map<int, dnnl::memory>& args,
                           void* y) {
  if (!reorder_dst) return;
  dnnl::memory user_y(user_dst, onednn_engine(), y);
  dst_reorder.execute(stream, args.at(DNNL_ARG_DST), user_y);
}

dnnl::memory::dims to_dims(const Shape& shape) {
  return dnnl::memory::dims(shape.begin(), shape.end());
}

dnnl::memory::format_tag plain_tag(std::size_t rank) {
  using T = dnnl::memory::format_tag;
  switch (rank) {
    case 1:
      return T::a;
    case 2:
      return T::ab;
    case 3:
      return T::abc;
    case 4:
      return T::abcd;
    case 5:
      return T::abcde;
    case 6:
      return T::abcdef;
    default:
      throw Error(ErrorCode::kUnsupported, "oneDNN tensors of rank " + std::to_string(rank));
  }
}

}  // namespace qcal::ops

// Scratch buffers (ops/onednn_scratch.hpp).
#include <cstdlib>
#include <memory>

#include "ops/onednn_scratch.hpp"

namespace qcal::ops {
namespace {
struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
struct Scratch {
  std::unique_ptr<void, FreeDeleter> data;
  std::size_t bytes = 0;
};
}  // namespace

void* onednn_scratch(int slot, std::size_t bytes) {
  thread_local Scratch slots[4];
  Scratch& s = slots[slot];
  if (s.bytes < bytes) {
    const std::size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p)
      throw Error(ErrorCode::kLimit,
                  "out of memory for a " + std::to_string(rounded) + "-byte scratch buffer");
    s.data.reset(p);
    s.bytes = rounded;
  }
  return s.data.get();
}

}  // namespace qcal::ops
