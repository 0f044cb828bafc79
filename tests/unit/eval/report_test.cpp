// Report writer: escaping, base64, PNG round trip, charts, sections, determinism.
#include "eval/report.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <opencv2/imgcodecs.hpp>

#include "core/error.hpp"

namespace qcal::eval {
namespace {

ReportImage gradient(int w, int h) {
  ReportImage im;
  im.width = w;
  im.height = h;
  im.channels = 3;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      im.pixels.push_back(static_cast<std::uint8_t>(x * 255 / std::max(1, w - 1)));
      im.pixels.push_back(static_cast<std::uint8_t>(y * 255 / std::max(1, h - 1)));
      im.pixels.push_back(128);
    }
  }
  return im;
}

TEST(Report, Base64KnownVectors) {
  // RFC 4648 section 10.
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\x00\x80", 3)), "/wCA");
}

TEST(Report, EscapingAndNumbers) {
  EXPECT_EQ(html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  EXPECT_EQ(format_number(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(format_number(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(format_number(std::nan("")), "nan");
  EXPECT_EQ(format_number(0.123456789, 4), "0.1235");
}

TEST(Report, PngRoundTripAndThumbnail) {
  const ReportImage im = gradient(400, 200);
  const std::string png = encode_png(im);
  std::vector<std::uint8_t> buf(png.begin(), png.end());
  const cv::Mat back = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(back.cols, 400);
  ASSERT_EQ(back.rows, 200);
  EXPECT_EQ(0, std::memcmp(back.data, im.pixels.data(), im.pixels.size()));
  const ReportImage t = make_thumbnail(im, 160);
  EXPECT_EQ(t.width, 160);
  EXPECT_EQ(t.height, 80);
  EXPECT_EQ(make_thumbnail(gradient(10, 5), 160).width, 10);  // never upscales
  ReportImage bad = im;
  bad.pixels.pop_back();
  EXPECT_THROW((void)encode_png(bad), Error);
}

TEST(Report, ImageFromChw) {
  // 1x3x1x2: R plane [0, 1], G [0, 0], B [1, 0] -> pixel 0 BGR (255, 0, 0), pixel 1 (0, 0, 255).
  const Tensor t = Tensor::from_values<float>({1, 3, 1, 2}, std::vector<float>{0, 1, 0, 0, 1, 0});
  const ReportImage im = image_from_chw(t.view());
  ASSERT_EQ(im.pixels.size(), 6u);
  EXPECT_EQ(im.pixels[0], 255);
  EXPECT_EQ(im.pixels[2], 0);
  EXPECT_EQ(im.pixels[5], 255);
  const Tensor bad = Tensor::from_values<float>({2, 3, 1, 1}, std::vector<float>(6, 0.0f));
  EXPECT_THROW((void)image_from_chw(bad.view()), Error);
}

TEST(Report, HistogramSvgMarksThresholds) {
  ReportHistogram h;
  h.tensor = "conv<1>";
  h.lo = -4;
  h.hi = 4;
  h.counts.assign(2048, 0.0);
  for (std::size_t i = 900; i < 1150; ++i)
    h.counts[i] = 1000.0 / (1.0 + std::fabs(1024.0 - static_cast<double>(i)));
  h.markers = {{"-amax", -2.5}, {"amax", 2.5}, {"far", 10}};
  const std::string svg = render_histogram_svg(h);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("conv&lt;1&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("conv<1>"), std::string::npos);
  // 2048 bins are summed into at most 200 bars.
  std::size_t bars = 0;
  for (std::size_t p = svg.find("class=\"bar\""); p != std::string::npos;
       p = svg.find("class=\"bar\"", p + 1)) {
    ++bars;
  }
  EXPECT_GT(bars, 0u);
  EXPECT_LE(bars, 200u);
  std::size_t markers = 0;
  for (std::size_t p = svg.find("class=\"marker\""); p != std::string::npos;
       p = svg.find("class=\"marker\"", p + 1)) {
    ++markers;
  }
  EXPECT_EQ(markers, 3u);
  EXPECT_NE(svg.find("(off range)"), std::string::npos);
}

TEST(Report, LineChart) {
  ReportLineChart c;
  c.title = "mAP50-95 vs images";
  c.x_label = "calibration images";
  c.y_label = "mAP50-95";
  c.log_x = true;
  c.series = {{"INT8", {{10, 0.30}, {25, 0.34}, {50, 0.36}, {100, 0.37}}},
              {"FP32", {{10, 0.37}, {100, 0.37}}}};
  const std::string svg = render_line_chart_svg(c);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_NE(svg.find(">25<"), std::string::npos);  // data x values are the ticks on a log axis
  EXPECT_NE(svg.find("(log scale)"), std::string::npos);
  ReportLineChart empty;
  EXPECT_NE(render_line_chart_svg(empty).find("no data"), std::string::npos);
}

TEST(Report, DocumentSectionsAndDeterminism) {
  ReportData d;
  d.title = "eval <yolov8n>";
  d.parameters = {{"task", "yolo"}, {"runtime", "qcal"}};
  d.accuracy.push_back(
      {"detections", {"metric", "FP32", "INT8"}, {{"mAP50-95", "0.5", "0.49"}}, ""});
  d.thumbnails.push_back({"a.jpg", gradient(64, 48), gradient(32, 32)});
  d.sensitivity = rank_sensitivity({{"t1", 20, 0.99, 20, 0.99}});
  const std::string html = render_report_html(d);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("eval &lt;yolov8n&gt;"), std::string::npos);
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
  EXPECT_NE(html.find("<table class=\"sensitivity\">"), std::string::npos);
  EXPECT_NE(html.find("not measured in this run (calibrate --saturation)"), std::string::npos);
  // Self-contained: no scripts and no external references.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html, render_report_html(d));
}

}  // namespace
}  // namespace qcal::eval
