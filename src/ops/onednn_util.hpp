// The process-wide oneDNN CPU engine and helpers shared by the oneDNN kernels.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

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
                                                              const dnnl::memory::desc& src, bool bias,
                                                              const dnnl::primitive_attr& attr);
// dims as oneDNN wants them.
dnnl::memory::dims to_dims(const Shape& shape);
// The plain (row-major) tag for a rank: a, ab, abc, abcd, abcde.
dnnl::memory::format_tag plain_tag(std::size_t rank);

}  // namespace qcal::ops
