// Our bilinear 8-bit resize against cv::resize(INTER_LINEAR), byte for byte: random images over a
// sweep of source/target sizes (down, up, mixed, tiny, odd, the yolo letterbox sizes), 1 and 3
// channels, continuous and ROI sources, every kernel this CPU runs (scalar, AVX2, AVX-512).
#include "preprocess/linear_resize.hpp"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <random>

namespace qcal::preprocess {
namespace {

cv::Mat random_image(std::mt19937& rng, int w, int h, int cn) {
  cv::Mat m(h, w, CV_8UC(cn));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w * cn; ++x)
      m.ptr<std::uint8_t>(y)[x] = static_cast<std::uint8_t>(rng() % 256);
  }
  return m;
}

void expect_same_as_opencv(const cv::Mat& src, int w, int h) {
  cv::Mat want;
  cv::resize(src, want, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
  const bool area = (src.cols == 2 * w && src.rows == 2 * h);
  const bool same = (w == src.cols && h == src.rows);
  for (ResizeKernel k : supported_resize_kernels()) {
    SCOPED_TRACE(resize_kernel_name(k));
    cv::Mat got;
    const bool done = resize_linear_u8_with(k, src, got, w, h);
    if (area || same) {
      EXPECT_FALSE(done) << "OpenCV does not run its bilinear code here";
      continue;
    }
    ASSERT_TRUE(done) << "refused " << src.cols << "x" << src.rows << " -> " << w << "x" << h;
    ASSERT_EQ(got.size(), want.size());
    ASSERT_EQ(got.type(), want.type());
    cv::Mat diff;
    cv::absdiff(got, want, diff);
    const int bad = cv::countNonZero(diff.reshape(1));
    EXPECT_EQ(bad, 0) << src.cols << "x" << src.rows << "x" << src.channels() << " -> " << w << "x"
                      << h << ": " << bad << " bytes differ (max " << cv::norm(diff, cv::NORM_INF)
                      << ")";
  }
}

TEST(LinearResize, MatchesOpencvOverASweepOfSizes) {
  std::mt19937 rng(11);
  const std::vector<std::pair<cv::Size, cv::Size>> pairs = {
      {{768, 576}, {640, 480}},  // yolo letterbox of vtest.avi
      {{1920, 1080}, {640, 360}}, {{640, 480}, {640, 640}},  {{500, 375}, {320, 240}},
      {{112, 112}, {640, 640}},   {{640, 360}, {1280, 720}},  // exact 2x up
      {{1280, 720}, {640, 360}},  // exact 2x down: OpenCV uses INTER_AREA
      {{1281, 721}, {640, 360}},  {{300, 300}, {100, 100}},  {{7, 5}, {3, 2}},
      {{1, 1}, {5, 3}},           {{5, 3}, {1, 1}},          {{1, 40}, {3, 17}},
      {{40, 1}, {17, 3}},         {{33, 17}, {97, 61}},      {{97, 61}, {33, 17}},
      {{250, 10}, {251, 10}},     {{17, 200}, {16, 199}},    {{640, 480}, {112, 112}},
      {{4032, 3024}, {640, 480}},
  };
  for (int cn : {3, 1}) {
    for (const auto& [s, d] : pairs) {
      const cv::Mat src = random_image(rng, s.width, s.height, cn);
      expect_same_as_opencv(src, d.width, d.height);
    }
    for (int i = 0; i < 60; ++i) {  // random sizes
      const int sw = 1 + static_cast<int>(rng() % 300);
      const int sh = 1 + static_cast<int>(rng() % 200);
      const int dw = 1 + static_cast<int>(rng() % 300);
      const int dh = 1 + static_cast<int>(rng() % 200);
      const cv::Mat src = random_image(rng, sw, sh, cn);
      expect_same_as_opencv(src, dw, dh);
    }
  }
}

TEST(LinearResize, RoiSourceAndReusedDestination) {
  std::mt19937 rng(5);
  const cv::Mat big = random_image(rng, 400, 300, 3);
  const cv::Mat roi = big(cv::Rect(13, 7, 351, 263));  // not continuous, ends inside the allocation
  const cv::Mat corner = big(cv::Rect(400 - 97, 300 - 41, 97, 41));  // last bytes of the allocation
  cv::Mat got;
  for (const cv::Mat* src : {&roi, &corner}) {
    for (cv::Size d :
         {cv::Size(320, 240), cv::Size(320, 240), cv::Size(640, 640), cv::Size(61, 19)}) {
      cv::Mat want;
      cv::resize(*src, want, d, 0, 0, cv::INTER_LINEAR);
      for (ResizeKernel k : supported_resize_kernels()) {
        SCOPED_TRACE(resize_kernel_name(k));
        ASSERT_TRUE(resize_linear_u8_with(k, *src, got, d.width, d.height));
        EXPECT_EQ(cv::norm(got, want, cv::NORM_INF), 0.0);
      }
    }
  }
  EXPECT_FALSE(resize_linear_u8(big, got, 400, 300)) << "same size: OpenCV copies";
  cv::Mat f32(10, 10, CV_32FC3, cv::Scalar::all(1));
  EXPECT_FALSE(resize_linear_u8(f32, got, 5, 7));
  cv::Mat four(10, 10, CV_8UC4, cv::Scalar::all(1));
  EXPECT_FALSE(resize_linear_u8(four, got, 5, 7));
}

}  // namespace
}  // namespace qcal::preprocess
