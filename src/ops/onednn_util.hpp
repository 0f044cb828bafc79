// The process-wide oneDNN CPU engine and helpers shared by the oneDNN kernels.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "core/tensor.hpp"
#include "ops/conv.hpp"
#include "ops/fused_activation.hpp"

namespace qcal::ops {

dnnl::engine& onednn_engine();
// A binary post-op's position in the chain and its scalar operand (bound at execution as
// DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1, a one-element f32 tensor
// of the destination's rank).
struct BinaryPostOp {
  int index = 0;
  float value = 0.f;
};
// Appends the fused chain as post-ops, in order (nothing for an empty chain); returns the
// binary ones. Each eltwise algorithm may appear once in a chain (engine/graph.cpp ensures it).
// `rank`: the destination's rank.
std::vector<BinaryPostOp> append_activation(dnnl::post_ops& ops, const FusedActivation& activation,
                                            std::size_t rank);
// oneDNN's weight dims for a Conv: [O, I, k...], or [G, O/G, I/G, k...] with groups.
Shape conv_weight_shape(const ConvGeometry& g);
// A forward-inference convolution for the geometry: `src` as given (format_tag::any lets oneDNN
// choose), weights and destination format_tag::any, f32 bias [O] when `bias`, post-ops in
// `attr`. Throws dnnl::error when oneDNN has no implementation.
dnnl::convolution_forward::primitive_desc conv_primitive_desc(const ConvGeometry& g,
                                                              const dnnl::memory::desc& src,
                                                              bool bias,
                                                              const dnnl::primitive_attr& attr);
// The layout plumbing of a conv-like primitive between ONNX's plain tensors and the layouts
// oneDNN chose: the reorders needed for src and dst (through per-thread scratch slots 0 and 1),
// and the weights reordered into an owned buffer once when constant.
struct OneDnnLayouts {
  dnnl::memory::desc user_src, user_dst, user_weights;  // plain layouts (weights as given)
  dnnl::memory::desc prim_src, prim_dst;                // the primitive's layouts
  bool reorder_src = false;
  bool reorder_dst = false;
  bool reorder_weights = false;
  dnnl::reorder src_reorder, dst_reorder;
  dnnl::memory weights;                // in the primitive's layout, when reordered
  const void* weights_from = nullptr;  // the constant weights already in `weights`

  // After the primitive descriptor exists: compares layouts and makes the reorders.
  void init(const dnnl::memory::desc& src, const dnnl::memory::desc& weights_desc,
            const dnnl::memory::desc& dst);
  // SRC, WEIGHTS and DST arguments for one run on x -> y (src and weights reordered as needed).
  std::unordered_map<int, dnnl::memory> bind(dnnl::stream& stream, const void* x, const Tensor& w,
                                             void* y, bool weights_constant);
  // Reorders DST (from bind's arguments) into y when the primitive wrote another layout.
  void finish(dnnl::stream& stream, std::unordered_map<int, dnnl::memory>& args, void* y);
};

// dims as oneDNN wants them.
dnnl::memory::dims to_dims(const Shape& shape);
// The plain (row-major) tag for a rank: a, ab, abc, abcd, abcde.
dnnl::memory::format_tag plain_tag(std::size_t rank);

}  // namespace qcal::ops
