// Bilinear resize of 8-bit images that gives cv::resize(INTER_LINEAR)'s bytes exactly, faster on
// CPUs with AVX2/AVX-512 (OpenCV 4.6 as Debian builds it runs this resize with SSE2 only). Used
// by the pipeline's resize and letterbox steps; anything it does not cover is cv::resize's.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

namespace qcal::preprocess {

// dst = cv::resize(src, Size(width, height), 0, 0, INTER_LINEAR), bit for bit. Returns false
// (dst untouched) where it does not apply: not 8-bit 1- or 3-channel, same size (OpenCV copies),
// an exact 2x downscale (OpenCV switches to INTER_AREA), or no AVX2 on this CPU. dst is
// (re)allocated as cv::Mat::create does.
bool resize_linear_u8(const cv::Mat& src, cv::Mat& dst, int width, int height);

// The kernels, for tests that run each one this CPU supports against cv::resize: kScalar is the
// plain C++ definition the vector kernels reproduce. Same applicability, minus the CPU check.
enum class ResizeKernel { kScalar, kAvx2, kAvx512 };
std::vector<ResizeKernel> supported_resize_kernels();
const char* resize_kernel_name(ResizeKernel k);
bool resize_linear_u8_with(ResizeKernel k, const cv::Mat& src, cv::Mat& dst, int width, int height);

}  // namespace qcal::preprocess
