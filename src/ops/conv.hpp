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

// The sliding-window attributes Conv and ConvTranspose share.
struct ConvWindowAttrs {
  std::string auto_pad = "NOTSET";
  std::vector<std::int64_t> dilations;
  std::int64_t group = 1;
  std::vector<std::int64_t> kernel_shape;
  std::vector<std::int64_t> pads;
  std::vector<std::int64_t> strides;

  // Reads them from the node; throws kFormat for a bad auto_pad or group.
  void read(const NodeDef& node);
};

struct ConvAttrs : ConvWindowAttrs {
  FusedActivation activation;  // engine fusion, not an ONNX attribute

  static ConvAttrs from_node(const NodeDef& node);
};

// Everything a kernel needs, resolved from the attributes and the input shapes (ConvTranspose's
// geometry has the same fields).
struct ConvGeometry {
  std::int64_t batch = 0;
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  std::int64_t group = 1;
  std::vector<std::int64_t> in_size;   // spatial dims of X
  std::vector<std::int64_t> kernel;    // spatial dims of W
  std::vector<std::int64_t> out_size;  // spatial dims of Y
  std::vector<std::int64_t> strides;
  std::vector<std::int64_t> dilations;
  std::vector<std::int64_t> pad_begin;
  std::vector<std::int64_t> pad_end;

  Shape out_shape() const;
};

// Spatial dims of a Conv/ConvTranspose geometry padded to 3 with size-1 leading dims (pads 0),
// so one loop nest in the reference kernels covers 1D/2D/3D.
struct Spatial3 {
  std::int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, out[3] = {1, 1, 1}, st[3] = {1, 1, 1},
               dl[3] = {1, 1, 1}, pb[3] = {0, 0, 0};

  template <class Geometry>
  explicit Spatial3(const Geometry& g) {
    const std::size_t nsp = g.in_size.size();
    for (std::size_t i = 0; i < nsp; ++i) {
      const std::size_t j = 3 - nsp + i;
      in[j] = g.in_size[i];
      k[j] = g.kernel[i];
      out[j] = g.out_size[i];
      st[j] = g.strides[i];
      dl[j] = g.dilations[i];
      pb[j] = g.pad_begin[i];
    }
  }
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
