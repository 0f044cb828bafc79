// PIL-compatible antialiased resampling (what torchvision.transforms.Resize does to a PIL image),
// for 8-bit images with 1..4 interleaved channels.
#pragma once

#include <opencv2/core.hpp>

namespace qcal::preprocess {

enum class PilFilter { kBox, kBilinear, kHamming, kBicubic, kLanczos };

// Resizes an 8-bit image to out_width x out_height exactly as Pillow's Image.resize (9.x,
// ImagingResample): separable convolution with the filter stretched by the scale when
// downsampling, coefficients in 22-bit fixed point, horizontal pass then vertical pass, each
// rounding and clipping to 8 bits.
cv::Mat pil_resize(const cv::Mat& src, int out_width, int out_height, PilFilter filter);

}  // namespace qcal::preprocess
