// Pillow's resampling algorithm re-implemented from its documented behaviour (Resample.c
// semantics: filter supports, coefficient normalisation, 22-bit fixed point, pass order), so that
// torchvision-mode resizes match PIL bit for bit.
#include "preprocess/pil_resize.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "core/error.hpp"

namespace qcal::preprocess {
namespace {

// 32 bits minus 8 bits of pixel value minus 2 bits of headroom for negative lobes and sums.
constexpr int kPrecisionBits = 32 - 8 - 2;

double filter_value(PilFilter f, double x) {
  switch (f) {
    case PilFilter::kBox:
      return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0;
    case PilFilter::kBilinear:
      x = std::fabs(x);
      return x < 1.0 ? 1.0 - x : 0.0;
    case PilFilter::kHamming: {
      x = std::fabs(x);
      if (x == 0.0) return 1.0;
      if (x >= 1.0) return 0.0;
      x *= std::numbers::pi;
      // Pillow writes the window constants as float literals (0.54f, 0.46f).
      return std::sin(x) / x *
             (static_cast<double>(0.54f) + static_cast<double>(0.46f) * std::cos(x));
    }
    case PilFilter::kBicubic: {
      constexpr double kA = -0.5;  // Keys' cubic with a = -0.5, as Pillow
      x = std::fabs(x);
      if (x < 1.0) return ((kA + 2.0) * x - (kA + 3.0)) * x * x + 1;
      if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * kA;
      return 0.0;
    }
    case PilFilter::kLanczos: {
      auto sinc = [](double v) {
        if (v == 0.0) return 1.0;
        v *= std::numbers::pi;
        return std::sin(v) / v;
      };
      if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3);
      return 0.0;
    }
  }
  return 0.0;
}

double filter_support(PilFilter f) {
  switch (f) {
    case PilFilter::kBox:
      return 0.5;
    case PilFilter::kBilinear:
      return 1.0;
    case PilFilter::kHamming:
      return 1.0;
    case PilFilter::kBicubic:
      return 2.0;
    case PilFilter::kLanczos:
      return 3.0;
  }
  return 1.0;
}

struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;       // per output pixel: first input index, count
  std::vector<std::int32_t> kk;  // fixed-point weights, ksize per output pixel
};

Coeffs precompute(int in_size, int out_size, PilFilter f) {
  const float in0 = 0.0f;
  const auto in1 = static_cast<float>(in_size);
  const double scale = static_cast<double>(in1 - in0) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = filter_support(f) * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<std::size_t>(out_size) * 2);
  c.kk.assign(static_cast<std::size_t>(out_size) * static_cast<std::size_t>(c.ksize), 0);
  std::vector<double> k(static_cast<std::size_t>(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    // (int) truncation toward zero, then clamping, exactly as Pillow rounds the window.
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double w = filter_value(f, (x + xmin - center + 0.5) * ss);
      k[static_cast<std::size_t>(x)] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[static_cast<std::size_t>(x)] /= ww;
    }
    for (int x = 0; x < xmax; ++x) {
      const double v = k[static_cast<std::size_t>(x)] * (1 << kPrecisionBits);
      // Round half away from zero, as Pillow's normalize_coeffs_8bpc.
      c.kk[static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize) +
           static_cast<std::size_t>(x)] = static_cast<std::int32_t>(v < 0 ? -0.5 + v : 0.5 + v);
    }
    c.bounds[static_cast<std::size_t>(xx) * 2] = xmin;
    c.bounds[static_cast<std::size_t>(xx) * 2 + 1] = xmax;
  }
  return c;
}

inline std::uint8_t clip8(std::int32_t v) {
  const std::int32_t s = v >> kPrecisionBits;  // arithmetic shift (C++20)
  return static_cast<std::uint8_t>(std::clamp(s, 0, 255));
}

// Horizontal pass over rows [row_offset, row_offset + out.rows) of src.
void resample_horizontal(const cv::Mat& src, cv::Mat& out, int row_offset, const Coeffs& c) {
  const int channels = src.channels();
  for (int yy = 0; yy < out.rows; ++yy) {
    const std::uint8_t* in_row = src.ptr<std::uint8_t>(yy + row_offset);
    std::uint8_t* out_row = out.ptr<std::uint8_t>(yy);
    for (int xx = 0; xx < out.cols; ++xx) {
      const int xmin = c.bounds[static_cast<std::size_t>(xx) * 2];
      const int xmax = c.bounds[static_cast<std::size_t>(xx) * 2 + 1];
      const std::int32_t* k =
          &c.kk[static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize)];
      for (int ch = 0; ch < channels; ++ch) {
        std::int32_t ss = 1 << (kPrecisionBits - 1);
        for (int x = 0; x < xmax; ++x) ss += in_row[(x + xmin) * channels + ch] * k[x];
        out_row[xx * channels + ch] = clip8(ss);
      }
    }
  }
}

void resample_vertical(const cv::Mat& src, cv::Mat& out, const Coeffs& c, int bound_shift) {
  const int row_len = out.cols * out.channels();
  for (int yy = 0; yy < out.rows; ++yy) {
    const int ymin = c.bounds[static_cast<std::size_t>(yy) * 2] - bound_shift;
    const int ymax = c.bounds[static_cast<std::size_t>(yy) * 2 + 1];
    const std::int32_t* k = &c.kk[static_cast<std::size_t>(yy) * static_cast<std::size_t>(c.ksize)];
    std::uint8_t* out_row = out.ptr<std::uint8_t>(yy);
    for (int i = 0; i < row_len; ++i) {
      std::int32_t ss = 1 << (kPrecisionBits - 1);
      for (int y = 0; y < ymax; ++y) ss += src.ptr<std::uint8_t>(y + ymin)[i] * k[y];
      out_row[i] = clip8(ss);
    }
  }
}

}  // namespace

cv::Mat pil_resize(const cv::Mat& src, int out_width, int out_height, PilFilter filter) {
  if (src.depth() != CV_8U || src.channels() < 1 || src.channels() > 4 || src.empty()) {
    throw Error(ErrorCode::kInternal,
                "pil_resize needs a non-empty 8-bit image with 1..4 channels");
  }
  if (out_width <= 0 || out_height <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "resize target must be positive");
  }
  if (out_width == src.cols && out_height == src.rows) return src.clone();  // PIL returns a copy
  const bool need_h = out_width != src.cols;
  const bool need_v = out_height != src.rows;
  const Coeffs coeffs_h = precompute(src.cols, out_width, filter);
  const Coeffs coeffs_v = precompute(src.rows, out_height, filter);
  // Rows of the source that the vertical pass reads.
  const int ybox_first = coeffs_v.bounds[0];
  const int ybox_last = coeffs_v.bounds[static_cast<std::size_t>(out_height) * 2 - 2] +
                        coeffs_v.bounds[static_cast<std::size_t>(out_height) * 2 - 1];
  cv::Mat cur = src;
  int shift = 0;
  if (need_h) {
    cv::Mat tmp(ybox_last - ybox_first, out_width, src.type());
    resample_horizontal(src, tmp, ybox_first, coeffs_h);
    cur = tmp;
    shift = ybox_first;
  }
  if (need_v) {
    cv::Mat out(out_height, out_width, src.type());
    resample_vertical(cur, out, coeffs_v, shift);
    return out;
  }
  return cur;
}

}  // namespace qcal::preprocess
