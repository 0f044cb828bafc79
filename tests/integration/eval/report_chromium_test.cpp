// Renders a full report.html in headless Chromium (Debian's chromium, installed by
// scripts/setup.sh) and checks that the charts and tables are in the rendered DOM and that a
// screenshot is produced. Chromium runs offline: no network flags, a throwaway profile.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <regex>

#include "core/atomic_file.hpp"
#include "eval/report.hpp"
#include "test_support.hpp"

namespace qcal::eval {
namespace {

constexpr const char* kChromium = "/usr/bin/chromium";

std::string chromium(const test::TempDir& dir, const std::string& args) {
  return std::string(kChromium) +
         " --headless --no-sandbox --disable-gpu --disable-background-networking"
         " --disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage"
         " --user-data-dir=" +
         (dir / "profile").string() + " " + args;
}

ReportImage load(const std::string& name) {
  const cv::Mat m = cv::imread((test::opencv_data() / name).string(), cv::IMREAD_COLOR);
  EXPECT_FALSE(m.empty()) << name;
  ReportImage im;
  im.width = m.cols;
  im.height = m.rows;
  im.channels = 3;
  im.pixels.assign(m.data, m.data + m.total() * 3);
  return im;
}

ReportData full_report() {
  ReportData d;
  d.title = "qcal eval: yolov8n";
  d.command = "qcal eval yolov8n.onnx yolov8n_int8.onnx --data images --task yolo";
  d.parameters = {{"task", "yolo"}, {"runtime", "qcal"}, {"images", "2"}};
  d.accuracy.push_back({"Detection accuracy",
                        {"metric", "FP32", "INT8", "drop"},
                        {{"mAP50", "0.62", "0.61", "0.01"}, {"mAP50-95", "0.45", "0.44", "0.01"}},
                        "mAP: COCO 101-point interpolation"});
  for (const char* name : {"baboon.jpg", "fruits.jpg"}) {
    ReportImage im = load(name);
    ReportImage small = make_thumbnail(im, 160);
    d.thumbnails.push_back({name, small, make_thumbnail(im, 96)});
  }
  for (int t = 0; t < 3; ++t) {
    ReportHistogram h;
    h.tensor = "/model.0/conv/Conv_output_" + std::to_string(t);
    h.lo = -6;
    h.hi = 6;
    for (int i = 0; i < 512; ++i) {
      const double x = -6 + 12.0 * (i + 0.5) / 512;
      h.counts.push_back(1e5 * std::exp(-x * x / (1.0 + t)));
    }
    h.markers = {{"-amax", -2.0 - t}, {"amax", 2.0 + t}};
    d.histograms.push_back(h);
  }
  d.sensitivity = rank_sensitivity({{"/model.22/cv3/Conv_output_0", 18.5, 0.991, 21, 0.995},
                                    {"/model.0/conv/Conv_output_0", 41.2, 0.9999, 38, 0.9998}});
  ReportLineChart c;
  c.title = "Accuracy and ranges vs calibration images";
  c.x_label = "calibration images";
  c.y_label = "mAP50-95";
  c.log_x = true;
  c.series = {{"INT8", {{10, 0.40}, {25, 0.43}, {50, 0.44}, {100, 0.445}, {200, 0.446}}},
              {"FP32", {{10, 0.45}, {200, 0.45}}}};
  d.saturation.push_back(c);
  return d;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

TEST(ReportChromium, ChartsAndTablesRender) {
  ASSERT_TRUE(std::filesystem::exists(kChromium)) << "install chromium (scripts/setup.sh)";
  test::TempDir dir;
  const auto html_path = dir / "report.html";
  write_report_html(html_path, full_report());
  if (const char* keep = std::getenv("QCAL_KEEP_REPORT")) {
    std::filesystem::copy_file(html_path, keep, std::filesystem::copy_options::overwrite_existing);
  }
  const test::CommandResult dom =
      test::run_command(chromium(dir, "--dump-dom file://" + html_path.string()) + " 2>/dev/null");
  ASSERT_EQ(dom.exit_code, 0) << dom.output;
  const std::string& out = dom.output;
  // The DOM as Chromium built it: 3 histograms + 1 line chart, each with its drawn parts.
  EXPECT_EQ(count(out, "<svg"), 4u);
  EXPECT_EQ(count(out, "class=\"histogram\""), 3u);
  EXPECT_EQ(count(out, "class=\"line-chart\""), 1u);
  EXPECT_EQ(count(out, "class=\"marker\""), 6u);
  EXPECT_GE(count(out, "<polyline"), 2u);
  EXPECT_GE(count(out, "class=\"bar\""), 100u);
  EXPECT_EQ(count(out, "<table class=\"sensitivity\">"), 1u);
  EXPECT_EQ(count(out, "<table class=\"accuracy\">"), 1u);
  EXPECT_EQ(count(out, "<table class=\"parameters\">"), 1u);
  EXPECT_NE(out.find("/model.22/cv3/Conv_output_0"), std::string::npos);
  EXPECT_EQ(count(out, "src=\"data:image/png;base64,"), 4u);
  // Chromium's parser puts tables' rows under <tbody>; a well-formed file keeps all 6 sections.
  EXPECT_EQ(count(out, "<section id="), 6u);

  const auto shot = dir / "shot.png";
  const test::CommandResult s = test::run_command(
      chromium(dir, "--hide-scrollbars --window-size=1200,2400 --screenshot=" + shot.string() +
                        " file://" + html_path.string()) +
      " 2>/dev/null");
  ASSERT_EQ(s.exit_code, 0) << s.output;
  const cv::Mat img = cv::imread(shot.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, 1200);
  // Something was drawn: the page is not a blank white sheet.
  cv::Scalar mean = cv::mean(img);
  EXPECT_LT(mean[0], 254.0);
  if (const char* keep = std::getenv("QCAL_KEEP_SCREENSHOT")) {
    std::filesystem::copy_file(shot, keep, std::filesystem::copy_options::overwrite_existing);
  }
}

// What calibrate adds: the task-drop column of the sensitivity table, the all-quantized vs
// mixed-precision accuracy table next to the saturation table, and the two saturation curves.
TEST(ReportChromium, CalibrateSectionsRender) {
  ASSERT_TRUE(std::filesystem::exists(kChromium)) << "install chromium (scripts/setup.sh)";
  test::TempDir dir;
  ReportData d = full_report();
  d.title = "qcal calibrate: yolov8n.onnx";
  std::vector<TensorSensitivity> s = {
      {"/model.22/cv3.0/Conv_output_0", 41.0, 0.9999, 30, 0.999, 4.5},
      {"/model.9/cv2/act/Mul_output_0", 28.9, 0.9993, 5.3, 0.84, 0.0}};
  d.sensitivity = rank_sensitivity(s);
  d.accuracy = {
      {"INT8 vs FP32 on the evaluation set (map50-95)",
       {"model", "float activations", "FP32", "INT8", "drop (pp)"},
       {{"all quantized", "0", "1", "0.80", "19.6"},
        {"mixed precision (--max-drop 0.5)", "12", "1", "0.996", "0.4"}},
       "12 nodes kept float"},
      {"Calibration set size",
       {"samples", "mean amax change (%)", "max amax change (%)", "map50-95", "drop (pp)"},
       {{"10", "12.3", "80", "0.53", "47"}, {"115", "0", "0", "0.80", "19.6"}},
       ""}};
  d.saturation.push_back({"Ranges vs calibration set size",
                          "calibration samples",
                          "mean amax change vs full set (%)",
                          true,
                          {{"amax", {{10, 12.3}, {25, 9.0}, {50, 6.3}, {100, 1.0}, {115, 0}}}}});
  const auto html_path = dir / "report.html";
  write_report_html(html_path, d);
  const test::CommandResult dom =
      test::run_command(chromium(dir, "--dump-dom file://" + html_path.string()) + " 2>/dev/null");
  ASSERT_EQ(dom.exit_code, 0) << dom.output;
  const std::string& out = dom.output;
  EXPECT_EQ(count(out, "class=\"line-chart\""), 2u);
  EXPECT_EQ(count(out, "<table class=\"accuracy\">"), 2u);
  EXPECT_NE(out.find("task drop (pp)"), std::string::npos);
  EXPECT_NE(out.find("mixed precision (--max-drop 0.5)"), std::string::npos);
  // The task drop leads the ranking: the head tensor with 4.5 pp comes first despite its SQNR.
  EXPECT_LT(out.find("/model.22/cv3.0/Conv_output_0"), out.find("/model.9/cv2/act/Mul_output_0"));
}

}  // namespace
}  // namespace qcal::eval

namespace qcal::eval {
namespace {

// Chromium's console messages (errors, uncaught exceptions, failed loads) with
// --enable-logging=stderr: lines "...:INFO:CONSOLE:N] "message", source: ...".
std::vector<std::string> console_lines(const std::string& log) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < log.size()) {
    const std::size_t end = std::min(log.find('\n', start), log.size());
    const std::string line = log.substr(start, end - start);
    if (line.find(":CONSOLE") != std::string::npos) out.push_back(line);
    start = end + 1;
  }
  return out;
}

ReportData shipped_report() {
  ReportData d = full_report();
  ReportVerdict v;
  v.state = ReportVerdict::State::kFail;
  v.headline = "FAIL: mAP50-95 drops 3.1 pp, over the 1 pp budget";
  v.details = {"30 images cannot resolve a 1-point drop", "Worst output: output0",
               "Worst tensor: /model.22/cv3/Conv_output_0"};
  d.verdict = v;
  for (auto& t : d.thumbnails) {
    t.source_w = t.before.width;
    t.source_h = t.before.height;
    t.boxes = {{10, 10, 80, 90, "person 0.91", false}, {12, 11, 78, 88, "person 0.88", true}};
  }
  return d;
}

// The page a user opens first: the verdict banner on top in its colour, the boxes' legend, the
// sensitivity bars; and Chromium reports no console message for it (a page with an error is
// the control that the console is read at all).
TEST(ReportChromium, VerdictBannerOnTopAndNoConsoleErrors) {
  ASSERT_TRUE(std::filesystem::exists(kChromium)) << "install chromium (scripts/setup.sh)";
  test::TempDir dir;
  const auto html_path = dir / "report.html";
  write_report_html(html_path, shipped_report());
  const test::CommandResult dom = test::run_command(
      chromium(dir, "--enable-logging=stderr --v=0 --dump-dom file://" + html_path.string()));
  ASSERT_EQ(dom.exit_code, 0) << dom.output;
  EXPECT_TRUE(console_lines(dom.output).empty()) << dom.output;
  const std::string& out = dom.output;
  EXPECT_NE(out.find("<section id=\"verdict\" class=\"verdict fail\" data-state=\"fail\">"),
            std::string::npos);
  EXPECT_LT(out.find("id=\"verdict\""), out.find("id=\"parameters\""));  // on top
  EXPECT_NE(out.find("30 images cannot resolve a 1-point drop"), std::string::npos);
  EXPECT_EQ(count(out, "class=\"sensitivity-bars\""), 1u);
  EXPECT_EQ(count(out, "class=\"sens-bar\""), 2u);
  EXPECT_NE(out.find("INT8 detections"), std::string::npos);

  write_file_atomic(dir / "bad.html", "<html><body><script>undefined_fn();</script></body></html>");
  const test::CommandResult bad = test::run_command(chromium(
      dir, "--enable-logging=stderr --v=0 --dump-dom file://" + (dir / "bad.html").string()));
  EXPECT_FALSE(console_lines(bad.output).empty()) << bad.output;

  // The screenshot: the banner's red fills a band near the top of the page.
  const auto shot = dir / "shot.png";
  const test::CommandResult s = test::run_command(
      chromium(dir, "--hide-scrollbars --window-size=1200,900 --screenshot=" + shot.string() +
                        " file://" + html_path.string()) +
      " 2>/dev/null");
  ASSERT_EQ(s.exit_code, 0) << s.output;
  const cv::Mat img = cv::imread(shot.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  int banner_rows = 0, first_row = -1;
  for (int y = 0; y < img.rows; ++y) {
    int red = 0;
    for (int x = 0; x < img.cols; ++x) {
      const cv::Vec3b p = img.at<cv::Vec3b>(y, x);  // B, G, R of #b3261e = (30, 38, 179)
      red += std::abs(p[0] - 30) < 8 && std::abs(p[1] - 38) < 8 && std::abs(p[2] - 179) < 8;
    }
    if (red > img.cols / 2) {
      ++banner_rows;
      if (first_row < 0) first_row = y;
    }
  }
  EXPECT_GE(banner_rows, 40) << "no red verdict banner in the screenshot";
  EXPECT_LT(first_row, 200) << "the banner is not at the top";
}

}  // namespace
}  // namespace qcal::eval
