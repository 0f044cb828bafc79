// ConvTranspose (ONNX opset 1-22): attributes, shape inference (pads, auto_pad, output_shape,
// output_padding), reference kernel, oneDNN deconvolution fast path, factory.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ops/kernel.hpp"

namespace qcal::ops {

struct ConvTransposeAttrs {
  std::string auto_pad = "NOTSET";
  std::vector<std::int64_t> dilations;
  std::int64_t group = 1;
  std::vector<std::int64_t> kernel_shape;
  std::vector<std::int64_t> output_padding;
  std::vector<std::int64_t> output_shape;
  std::vector<std::int64_t> pads;
  std::vector<std::int64_t> strides;
  static ConvTransposeAttrs from_node(const NodeDef& node);
};

struct ConvTransposeGeometry {
  std::int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  std::vector<std::int64_t> in_size, kernel, out_size, strides, dilations, pad_begin, pad_end;
  Shape out_shape() const;
};

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
  void run(const ConvTransposeGeometry& g, const float* x, const Tensor& w, const float* b, float* y,
           bool weights_constant);

 private:
  struct Prepared;
  std::map<Shape, std::unique_ptr<Prepared>> cache_;
};

std::unique_ptr<Kernel> make_conv_transpose(const NodeDef& node);

}  // namespace qcal::ops
