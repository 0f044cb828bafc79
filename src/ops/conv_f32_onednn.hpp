// Conv float32 through oneDNN: format_tag::any so oneDNN picks its blocked layouts (brgconv on
// AVX-512), bias and the fused activation as post-ops, weights reordered once when constant.
#pragma once

#include <map>
#include <memory>

#include "core/tensor.hpp"
#include "ops/conv.hpp"

namespace qcal::ops {

class ConvF32OneDnn {
 public:
  ConvF32OneDnn();
  ~ConvF32OneDnn();
  ConvF32OneDnn(ConvF32OneDnn&&) noexcept;

  // y = act(conv(x, w) + b) for the geometry (x, y in ONNX's plain NC... layout). Primitives are
  // cached per input shape; constant weights are reordered once per shape.
  void run(const ConvGeometry& g, const FusedActivation& activation, const float* x,
           const Tensor& w, const float* b, float* y, bool weights_constant);

  // The oneDNN implementation chosen for the last shape run ("brgconv:avx512_core"...).
  std::string implementation() const;

 private:
  struct Prepared;
  std::map<Shape, std::unique_ptr<Prepared>> cache_;
  const Prepared* last_ = nullptr;
};

}  // namespace qcal::ops
