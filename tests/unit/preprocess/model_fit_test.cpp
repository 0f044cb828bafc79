// Recipe <-> model input fitting, the config writers' rules and the check library's verdicts.
#include "preprocess/model_fit.hpp"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "preprocess/check.hpp"
#include "preprocess/npu_config.hpp"
#include "preprocess/recipe_json.hpp"
#include "preprocess/sources.hpp"
#include "test_support.hpp"

namespace qcal::preprocess {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.describe();
  }
  return "";
}

TEST(ModelFit, PresetTakesModelSizeLayoutAndName) {
  Recipe r = fit_recipe_to_model("yolo", {"images", {1, 3, 320, 416}, "m.onnx"}, std::nullopt);
  EXPECT_EQ(infer_shape(r).shape, (Shape{1, 3, 320, 416}));
  EXPECT_EQ(r.input_name, "images");
  Recipe nhwc = fit_recipe_to_model("edgeface", {"x", {1, 112, 112, 3}, "m.onnx"}, std::nullopt);
  EXPECT_EQ(infer_shape(nhwc).shape, (Shape{1, 112, 112, 3}));
  Recipe dyn = fit_recipe_to_model("yunet", {"input", {-1, 3, -1, -1}, "m.onnx"},
                                   std::array<int, 2>{640, 480});
  EXPECT_EQ(infer_shape(dyn).shape, (Shape{1, 3, 480, 640}));
}

TEST(ModelFit, ClearErrors) {
  const std::string dynamic = error_of([] {
    fit_recipe_to_model("yolo", {"x", {1, 3, -1, -1}, "det.onnx"}, std::nullopt);
  });
  EXPECT_NE(dynamic.find("dynamic size"), std::string::npos) << dynamic;
  EXPECT_NE(dynamic.find("--size"), std::string::npos) << dynamic;
  EXPECT_NE(dynamic.find("det.onnx"), std::string::npos) << dynamic;
  const std::string contra = error_of([] {
    fit_recipe_to_model("yolo", {"x", {1, 3, 640, 640}, "m"}, std::array<int, 2>{320, 320});
  });
  EXPECT_NE(contra.find("contradicts"), std::string::npos) << contra;
  Recipe face = make_preset("edgeface");
  const std::string mismatch = error_of([&] {
    check_recipe_feeds(face, {"images", {1, 3, 640, 640}, "yolo.onnx"});
  });
  EXPECT_NE(mismatch.find("[1, 3, 112, 112]"), std::string::npos) << mismatch;
  EXPECT_NE(mismatch.find("[1, 3, 640, 640]"), std::string::npos) << mismatch;
  Recipe nhwc = make_preset("yunet");
  nhwc.steps.erase(nhwc.steps.begin() + 1);  // drop the transpose: NHWC output
  const std::string layout = error_of([&] {
    check_recipe_feeds(nhwc, {"input", {1, 3, 320, 320}, "m"});
  });
  EXPECT_NE(layout.find("layout"), std::string::npos) << layout;
  EXPECT_TRUE(shape_feeds({1, 3, 640, 640}, {-1, 3, 640, 640}));
  EXPECT_TRUE(shape_feeds({3, 64, 64}, {8, 3, -1, 64}));
  EXPECT_FALSE(shape_feeds({1, 3, 64, 64}, {1, 1, 64, 64}));
}

TEST(NpuConfig, CaseSensitiveExtensionsAndCounts) {
  test::TempDir tmp;
  const auto d = test::opencv_data();
  std::filesystem::copy_file(d / "baboon.jpg", tmp / "a.jpg");
  std::filesystem::copy_file(d / "fruits.jpg", tmp / "b.JPG");
  ConfigRequest req;
  req.recipe = make_preset("yunet");
  req.input_name = "input";
  req.dataset = tmp.path();
  req.calibration_num = 5;
  ConfigResult r = make_calibration_config(req);
  EXPECT_EQ(r.images_found, 2u);
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_NE(r.warnings[0].find("\"JPG\""), std::string::npos);
  EXPECT_NE(r.warnings[1].find("calibration_num 5 exceeds the 2"), std::string::npos);
  DxcomConfig back = dxcom_config_from_json(parse_json_text(r.text, "out"), "out");
  EXPECT_EQ(back.inputs[0].second, (Shape{1, 3, 320, 320}));
  EXPECT_EQ(list_dxcom_images(tmp.path(), back.file_extensions).size(), 2u);
  EXPECT_EQ(list_dxcom_images(tmp.path(), {"jpg"}).size(), 1u);  // what DX-COM would see
  req.file_extensions = {"jpg"};
  r = make_calibration_config(req);
  EXPECT_NE(r.warnings[0].find("will skip them"), std::string::npos);
  req.dataset = tmp / "missing";
  EXPECT_NE(error_of([&] { make_calibration_config(req); }).find("dataset folder does not exist"),
            std::string::npos);
}

TEST(Check, StatsAndVerdicts) {
  Tensor t(DType::kFloat32, {1, 2, 2, 2});
  const float v[] = {0, 1, 2, 3, 5, 5, 5, 5};
  std::copy(v, v + 8, t.data<float>());
  auto st = channel_stats(t, 1);
  ASSERT_EQ(st.size(), 2u);
  EXPECT_DOUBLE_EQ(st[0].min, 0);
  EXPECT_DOUBLE_EQ(st[0].max, 3);
  EXPECT_DOUBLE_EQ(st[0].mean, 1.5);
  EXPECT_NEAR(st[0].std, std::sqrt(1.25), 1e-12);
  EXPECT_DOUBLE_EQ(st[1].std, 0);

  const std::vector<std::filesystem::path> images = {test::opencv_data() / "messi5.jpg",
                                                     test::opencv_data() / "fruits.jpg"};
  CheckOptions good;
  good.recipe = make_preset("yolo");
  good.expected = make_preset("yolo");
  good.expected_shape = Shape{1, 3, 640, 640};
  good.expected_source = "model";
  EXPECT_TRUE(run_check(images, good).ok());

  CheckOptions no_div = good;  // 0..255 fed where 0..1 is expected
  no_div.recipe.steps.erase(no_div.recipe.steps.begin() + 1);
  CheckReport r = run_check(images, no_div);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.samples[0].problems.at(0).find("missing div 255"), std::string::npos);

  CheckOptions bgr = good;  // colour swap removed
  bgr.recipe.steps.erase(bgr.recipe.steps.begin() + 2);
  r = run_check(images, bgr);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.problems.at(0).find("feeds BGR"), std::string::npos);
  // messi5.jpg has a clear colour cast: the data says BGR too.
  EXPECT_EQ(r.samples[0].color_evidence, "BGR");
  EXPECT_EQ(run_check(images, good).samples[0].color_evidence, "RGB");
}

}  // namespace
}  // namespace qcal::preprocess
