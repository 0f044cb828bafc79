// Conv (ONNX opset 1-22): attributes, shape inference, the reference kernel and the factory.
// The fast path is conv_f32_onednn.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/fused_activation.hpp"
#include "ops/kernel.hpp"

namespace qcal::ops {

struct ConvAttrs {
  std::string auto_pad = "NOTSET";
  std::vector<std::int64_t> dilations;
  std::int64_t group = 1;
  std::vector<std::int64_t> kernel_shape;
  std::vector<std::int64_t> pads;
  std::vector<std::int64_t> strides;
  FusedActivation activation;  // engine fusion, not an ONNX attribute

  static ConvAttrs from_node(const NodeDef& node);
};

// Everything a kernel needs, resolved from the attributes and the input shapes.
struct ConvGeometry {
  std::int64_t batch = 0;
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  std::int64_t group = 1;
  std::vector<std::int64_t> in_size;     // spatial dims of X
  std::vector<std::int64_t> kernel;      // spatial dims of W
  std::vector<std::int64_t> out_size;    // spatial dims of Y
  std::vector<std::int64_t> strides;
  std::vector<std::int64_t> dilations;
  std::vector<std::int64_t> pad_begin;
  std::vector<std::int64_t> pad_end;

  Shape out_shape() const;
};

// Validates X [N, C, D...], W [M, C/group, k...], optional B [M]; throws qcal::Error.
ConvGeometry infer_conv(const ConvAttrs& attrs, const Shape& x, const Shape& w, const Shape* b,
                        const NodeDef& node);

// Reference: direct loops, accumulating in double-free float in a fixed order, then bias and
// the fused activation.
void conv_f32_ref(const ConvGeometry& g, const float* x, const float* w, const float* b, float* y,
                  const FusedActivation& activation);

std::unique_ptr<Kernel> make_conv(const NodeDef& node);

}  // namespace qcal::ops
