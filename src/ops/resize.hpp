// Resize (opset 10 to 19: nearest/linear/cubic, every coordinate_transformation_mode and
// nearest_mode, scales or sizes, roi for tf_crop_and_resize, exclude_outside, extrapolation_value,
// axes and keep_aspect_ratio_policy) and Upsample (opset 7 to 9: nearest/linear, asymmetric).
#pragma once

#include <functional>
#include <span>
#include <string>

#include "ops/kernel.hpp"

namespace qcal::ops {

struct ResizeAttrs {
  std::string mode = "nearest";  // nearest, linear, cubic
  std::string coordinate_transformation_mode = "half_pixel";
  std::string nearest_mode = "round_prefer_floor";
  float cubic_coeff_a = -0.75f;
  std::int64_t exclude_outside = 0;
  float extrapolation_value = 0.0f;
  std::int64_t antialias = 0;
  std::vector<std::int64_t> axes;
  std::string keep_aspect_ratio_policy = "stretch";
  std::vector<float> upsample_scales;  // Upsample-7 attribute
  bool is_upsample = false;
};

// Output shape and the per-dim scales used by the coordinate transforms.
struct ResizePlan {
  Shape out_shape;
  std::vector<double> scales;
  std::vector<double> roi_start, roi_end;  // tf_crop_and_resize, normalised [0, 1]
};
ResizePlan infer_resize(const NodeDef& node, const ResizeAttrs& attrs, const Shape& in_shape,
                        const Tensor* roi, const Tensor* scales, const Tensor* sizes);
// Source coordinate of output index `x` along a dim (before rounding/clamping).
double resize_source_coordinate(const ResizeAttrs& attrs, double x, double scale,
                                std::int64_t in_len, std::int64_t out_len, double roi_start,
                                double roi_end);
// How many times every input element appears in the output when the Resize only copies values
// (mode nearest, no extrapolation, each element the same number of times, as in integer-factor
// upsampling); 0 otherwise. From the kernel's own tap tables, so exact: calibration derives a
// Resize output's statistics from its input's with it. `input(i)` gives constant inputs 1..3
// (nullptr when omitted or not constant).
std::int64_t resize_copy_multiplicity(const NodeDef& node, const Shape& in_shape,
                                      const std::function<const Tensor*(std::size_t)>& input);
// Reference: every output element from its own per-dim taps (generic over rank).
void resize_f32_ref(const ResizeAttrs& attrs, const float* in, const Shape& in_shape,
                    const ResizePlan& plan, float* out);
std::unique_ptr<Kernel> make_resize(const NodeDef& node);

}  // namespace qcal::ops
