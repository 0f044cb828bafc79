// The report's verdict, the spread of evaluation samples, class names, the calibration-overlap
// check, the colour order of thumbnails and the boxes drawn on them.
#include "eval/verdict.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "core/error.hpp"
#include "eval/class_names.hpp"
#include "eval/overlap.hpp"
#include "eval/report.hpp"
#include "eval/samples.hpp"
#include "test_support.hpp"

namespace qcal::eval {
namespace {

using State = ReportVerdict::State;

VerdictInputs inputs(double drop) {
  VerdictInputs in;
  in.metric = "mAP50-95";
  in.drop_pp = drop;
  in.max_drop_pp = 1.0;
  in.samples = 30;
  in.sample_kind = "images";
  in.no_noise_reason = "no labels";
  return in;
}

TEST(Verdict, PassFailAgainstTheBudget) {
  EXPECT_EQ(make_verdict(inputs(0.4)).state, State::kPass);
  EXPECT_EQ(make_verdict(inputs(1.0)).state, State::kPass);  // the budget itself passes
  const ReportVerdict fail = make_verdict(inputs(1.5));
  EXPECT_EQ(fail.state, State::kFail);
  EXPECT_NE(fail.headline.find("FAIL"), std::string::npos);
  EXPECT_NE(fail.headline.find("1.5 pp"), std::string::npos) << fail.headline;
  VerdictInputs undefined = inputs(0);
  undefined.drop_pp = std::nan("");
  EXPECT_EQ(make_verdict(undefined).state, State::kNotMeasured);
}

TEST(Verdict, NoiseCaveatSaysWhatTheSampleCannotResolve) {
  VerdictInputs in = inputs(-1.8);  // INT8 "beat" FP32
  in.noise = DropNoise{-4.2, 0.9, 90, "paired bootstrap over images, 1000 resamples"};
  ReportVerdict v = make_verdict(in);
  EXPECT_EQ(v.state, State::kPass);
  ASSERT_FALSE(v.details.empty());
  EXPECT_NE(v.details[0].find("30 images cannot resolve a 1-point drop"), std::string::npos)
      << v.details[0];
  EXPECT_NE(v.details[0].find("is noise, not a gain"), std::string::npos) << v.details[0];
  in.drop_pp = 0.5;
  in.noise = DropNoise{0.2, 1.1, 90, "bootstrap"};
  v = make_verdict(in);
  EXPECT_EQ(v.state, State::kUnresolved);  // passes, but the interval reaches past the budget
  EXPECT_NE(v.details[0].find("within the noise"), std::string::npos) << v.details[0];
  // No interval: the caveat says why.
  v = make_verdict(inputs(0.3));
  EXPECT_NE(v.details[0].find("No interval of the drop: no labels"), std::string::npos);
}

TEST(Verdict, NamesTheWorstOutputAndTensor) {
  VerdictInputs in = inputs(0.2);
  in.worst_output = "output0";
  in.worst_output_cosine = 0.9871;
  in.sensitivity =
      rank_sensitivity({{"/m/a", 30, 0.999, 30, 0.999, 0.1}, {"/m/b", 12, 0.99, 10, 0.98, 0.9}});
  in.warnings = {"the evaluation data overlaps"};
  const ReportVerdict v = make_verdict(in);
  std::string all;
  for (const auto& d : v.details) all += d + "\n";
  EXPECT_NE(all.find("Worst output: output0 (cosine 0.9871"), std::string::npos) << all;
  EXPECT_NE(all.find("Worst tensor: /m/b"), std::string::npos) << all;
  EXPECT_NE(all.find("Warning: the evaluation data overlaps"), std::string::npos) << all;
  EXPECT_NE(make_verdict(inputs(0.2)).details.back().find("not measured"), std::string::npos);
}

TEST(SpreadIndices, OneSeededDrawPerStratum) {
  const auto a = spread_indices(100, 10, 42);
  ASSERT_EQ(a.size(), 10u);
  for (std::int64_t j = 0; j < 10; ++j) {
    EXPECT_GE(a[j], j * 10);
    EXPECT_LT(a[j], (j + 1) * 10);
  }
  EXPECT_EQ(a, spread_indices(100, 10, 42));
  EXPECT_NE(a, spread_indices(100, 10, 43));
  EXPECT_EQ(spread_indices(5, 9, 1), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(spread_indices(0, 3, 1).empty());
}

TEST(ClassNames, DataYamlFormsAndCocoCategories) {
  EXPECT_EQ(parse_data_yaml_names("path: x\nnames:\n  0: person\n  2: 'traffic light'\nnc: 3\n",
                                  "d.yaml"),
            (std::vector<std::string>{"person", "", "traffic light"}));
  EXPECT_EQ(parse_data_yaml_names("names:\n  - cat # pet\n  - dog\n", "d.yaml"),
            (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(parse_data_yaml_names("nc: 2\nnames: [face, 'a, b']\n", "d.yaml"),
            (std::vector<std::string>{"face", "a, b"}));
  EXPECT_THROW(parse_data_yaml_names("nc: 2\n", "d.yaml"), Error);
  EXPECT_THROW(parse_data_yaml_names("names:\n  zero: person\n", "d.yaml"), Error);
  EXPECT_EQ(parse_coco_category_names(
                R"({"categories":[{"id":3,"name":"car"},{"id":1,"name":"person"}]})", "c.json"),
            (std::vector<std::string>{"person", "car"}));
  EXPECT_THROW(parse_coco_category_names("{}", "c.json"), Error);
}

TEST(CalibrationOverlap, ByContentAndByPath) {
  test::TempDir dir;
  const float a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5}, c[4] = {9, 9, 9, 9};
  const std::string image = (dir / "x.jpg").string();
  {
    std::ofstream(dir / kCalibrationSamplesName) << format_calibration_samples(
        "calib/", {sample_fingerprint(a, sizeof a)}, {normal_path(image)});
  }
  EXPECT_FALSE(read_calibration_samples(dir / "sub" / "m.onnx"));  // none beside that model
  auto samples = read_calibration_samples(dir / "m.qdq.onnx");
  ASSERT_TRUE(samples);
  OverlapCheck check(*samples);
  check.add("a", "", a, sizeof a);     // same tensor
  check.add("b", image, b, sizeof b);  // same file, other tensor (another recipe)
  check.add("c", "", c, sizeof c);     // neither
  const OverlapResult& r = check.result();
  EXPECT_EQ(r.checked, 3u);
  EXPECT_EQ(r.overlapping, 2u);
  EXPECT_EQ(r.by_content, 1u);
  EXPECT_EQ(r.by_path, 1u);
  EXPECT_NE(r.warning().find("2 of 3 evaluation samples are calibration samples"),
            std::string::npos)
      << r.warning();
  std::ofstream(dir / kCalibrationSamplesName) << "{\"format\": \"other\"}";
  EXPECT_THROW(read_calibration_samples(dir / "m.qdq.onnx"), Error);
}

// A BGR recipe's planes are drawn as BGR: the thumbnail keeps the true colours.
TEST(ReportImages, ThumbnailsInTheRecipesColourOrder) {
  Tensor t(DType::kFloat32, {1, 3, 1, 2});  // zero-filled
  // Pixel 0 pure plane-0 colour, pixel 1 black (the min-max scale maps 0 -> 0, 1 -> 255).
  t.data<float>()[0] = 1.0f;
  const ReportImage rgb = image_from_chw(t.view(), "RGB");
  const ReportImage bgr = image_from_chw(t.view(), "BGR");
  // Pixels are stored B, G, R. Plane 0 is red in an RGB tensor, blue in a BGR one.
  EXPECT_EQ(rgb.pixels[2], 255);
  EXPECT_EQ(rgb.pixels[0], 0);
  EXPECT_EQ(bgr.pixels[0], 255);
  EXPECT_EQ(bgr.pixels[2], 0);
}

TEST(ReportImages, BoxesDrawnAtTheThumbnailsScale) {
  ReportImage im;
  im.width = 50;
  im.height = 40;
  im.pixels.assign(50 * 40 * 3, 0);
  ReportThumbnail t;
  t.source_w = 100;  // the boxes refer to an image twice the thumbnail's size
  t.source_h = 80;
  t.boxes = {{20, 20, 60, 60, "person 0.9", false}};
  const ReportImage out = draw_boxes(im, t);
  auto px = [&](int x, int y, int c) { return out.pixels[(y * 50 + x) * 3 + c]; };
  EXPECT_EQ(px(10, 20, 1), 158);  // the FP32 box's left edge at x = 20 / 2, green
  EXPECT_EQ(px(20, 20, 1), 0);    // inside: untouched
  t.boxes = {};
  EXPECT_EQ(draw_boxes(im, t).pixels, im.pixels);
}

TEST(ReportSvg, SensitivityBarsOnePerTensor) {
  const auto ranked = rank_sensitivity(
      {{"/m/a", 30, 0.999, 30, 0.999, std::nan("")}, {"/m/b", 12, 0.99, 10, 0.98, std::nan("")}});
  const std::string svg = render_sensitivity_svg(ranked);
  std::size_t bars = 0;
  for (auto p = svg.find("class=\"sens-bar\""); p != std::string::npos;
       p = svg.find("class=\"sens-bar\"", p + 1)) {
    ++bars;
  }
  EXPECT_EQ(bars, 2u);
  EXPECT_LT(svg.find("/m/b"), svg.find("/m/a"));  // most sensitive first
}

}  // namespace
}  // namespace qcal::eval
