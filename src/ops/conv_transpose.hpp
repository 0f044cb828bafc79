// ConvTranspose (ONNX opset 1-22): attributes, shape inference (pads, auto_pad, output_shape,
// output_padding), reference kernel, oneDNN deconvolution fast path, factory.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ops/conv.hpp"
#include "ops/kernel.hpp"

namespace qcal::ops {

struct ConvTransposeAttrs : ConvWindowAttrs {
  std::vector<std::int64_t> output_padding;
  std::vector<std::int64_t> output_shape;
  static ConvTransposeAttrs from_node(const NodeDef& node);
};

// Same fields as Conv's: in_channels is X's C, out_channels is Y's.
struct ConvTransposeGeometry : ConvGeometry {};

// X [N, C, D...], W [C, M/group, k...], optional B [M].
ConvTransposeGeometry infer_conv_transpose(const ConvTransposeAttrs& attrs, const Shape& x,
                                           const Shape& w, const Shape* b, const NodeDef& node);
void conv_transpose_f32_ref(const ConvTransposeGeometry& g, const float* x, const float* w,
                            const float* b, float* y);

// oneDNN deconvolution; per-shape primitive cache, weights reordered once when constant.
class ConvTransposeF32OneDnn {
 public:
  ConvTransposeF32OneDnn();
  ~ConvTransposeF32OneDnn();
  // False when oneDNN cannot express the geometry (then use the reference).
  bool supports(const ConvTransposeGeometry& g) const;
  void run(const ConvTransposeGeometry& g, const float* x, const Tensor& w, const float* b,
           float* y, bool weights_constant);

 private:
  struct Prepared;
  std::map<Shape, std::unique_ptr<Prepared>> cache_;
};

std::unique_ptr<Kernel> make_conv_transpose(const NodeDef& node);

}  // namespace qcal::ops
