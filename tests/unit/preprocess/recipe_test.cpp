// Recipes as data: presets, shape inference, DX-COM JSON round trips and clear errors.
#include "preprocess/recipe.hpp"

#include <gtest/gtest.h>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "preprocess/recipe_json.hpp"
#include "test_support.hpp"

namespace qcal::preprocess {
namespace {

using nlohmann::json;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.describe();
  }
  return "";
}

bool same_recipe(const Recipe& a, const Recipe& b) {
  return recipe_to_json(a) == recipe_to_json(b);
}

TEST(Recipe, PresetShapes) {
  EXPECT_EQ(infer_shape(make_preset("yolo")).shape, (Shape{1, 3, 640, 640}));
  EXPECT_EQ(infer_shape(make_preset("yolo-resize")).shape, (Shape{1, 3, 640, 640}));
  EXPECT_EQ(infer_shape(make_preset("yunet")).shape, (Shape{1, 3, 320, 320}));
  EXPECT_EQ(infer_shape(make_preset("edgeface")).shape, (Shape{1, 3, 112, 112}));
  EXPECT_EQ(infer_shape(make_preset("yolo", 320, 256)).shape, (Shape{1, 3, 256, 320}));
  EXPECT_EQ(output_color_order(make_preset("yolo")), "RGB");
  EXPECT_EQ(output_color_order(make_preset("yunet")), "BGR");
  EXPECT_EQ(output_color_order(make_preset("edgeface")), "RGB");
  EXPECT_NE(error_of([] { make_preset("resnet"); }).find("unknown preset 'resnet'"),
            std::string::npos);
}

TEST(Recipe, AffineOfPresets) {
  AffineMap yolo = arithmetic_affine(make_preset("yolo"), 3);
  EXPECT_DOUBLE_EQ(yolo.scale[0], 1.0 / 255);
  EXPECT_DOUBLE_EQ(yolo.offset[0], 0.0);
  AffineMap edge = arithmetic_affine(make_preset("edgeface"), 3);
  EXPECT_DOUBLE_EQ(edge.scale[1] * 255 + edge.offset[1], 1.0);
  EXPECT_DOUBLE_EQ(edge.offset[1], -1.0);
}

TEST(Recipe, ShapeDependsOnImageWhenNotFixed) {
  json j = {{"preprocessings", {{{"resize", {{"mode", "torchvision"}, {"size", 256}}}}}}};
  Recipe r = recipe_from_json(j, "test");
  EXPECT_EQ(infer_shape(r).shape, (Shape{1, 3, -1, -1}));
  EXPECT_EQ(infer_shape(r, std::array<int, 2>{480, 640}).shape, (Shape{1, 3, 256, 341}));
}

TEST(RecipeJson, RoundTripEveryPresetAndEveryStep) {
  for (const auto& name : preset_names()) {
    Recipe r = make_preset(name);
    Recipe back = recipe_from_json(json::parse(recipe_to_json(r).dump()), name);
    EXPECT_TRUE(same_recipe(r, back)) << recipe_to_json(back).dump();
  }
  json all = {
      {"dtype", "float32"},
      {"layout", "NCHW"},
      {"input_name", "x"},
      {"preprocessings",
       {{{"convertColor", {{"form", "BGR2YCrCb"}}}},
        {{"resize", {{"mode", "torchvision"}, {"size", 256}, {"interpolation", "BICUBIC"}}}},
        {{"centercrop", {{"width", 224}, {"height", 224}}}},
        {{"mul", {{"x", 2}}}},
        {{"add", {{"x", 0.5}}}},
        {{"subtract", {{"x", 1}}}},
        {{"div", {{"x", 255.5}}}},
        {{"normalize", {{"mean", {0.1, 0.2, 0.3}}, {"std", 0.5}}}},
        {{"transpose", {{"axis", {2, 0, 1}}}}},
        {{"expandDim", {{"axis", 0}}}}}}};
  Recipe r = recipe_from_json(all, "all");
  const json written = recipe_to_json(r);
  Recipe back = recipe_from_json(json::parse(written.dump()), "written");
  EXPECT_TRUE(same_recipe(r, back));
  EXPECT_EQ(written["preprocessings"], all["preprocessings"]);  // canonical form is what we read
  EXPECT_EQ(back.input_name, "x");
}

TEST(RecipeJson, DxcomConfigIsARecipeAndRoundTrips) {
  // Seed 003's YuNet config, as its users write it.
  const std::string text = R"({
    "inputs": {"input": [1, 3, 320, 320]},
    "calibration_num": 100,
    "calibration_method": "ema",
    "default_loader": {
      "dataset_path": "./calibration_dataset",
      "file_extensions": ["jpeg", "jpg", "png"],
      "preprocessings": [
        {"resize": {"width": 320, "height": 320}},
        {"transpose": {"axis": [2, 0, 1]}},
        {"expandDim": {"axis": 0}}
      ]
    },
    "quantization_device": "cpu"
  })";
  test::TempDir tmp;
  write_file_atomic(tmp / "cfg.json", text);
  DxcomConfig c = load_dxcom_config(tmp / "cfg.json");
  EXPECT_EQ(c.inputs.size(), 1u);
  EXPECT_EQ(c.inputs[0].first, "input");
  EXPECT_EQ(c.inputs[0].second, (Shape{1, 3, 320, 320}));
  EXPECT_EQ(c.calibration_num, 100);
  EXPECT_EQ(c.dataset_path, "./calibration_dataset");
  EXPECT_EQ(c.recipe.input_name, "input");
  EXPECT_TRUE(same_recipe(c.recipe, load_recipe_file(tmp / "cfg.json")));
  Recipe yunet = make_preset("yunet");
  EXPECT_EQ(steps_to_json(c.recipe.steps), steps_to_json(yunet.steps));
  // write -> read gives the same config, unknown keys kept.
  json written = dxcom_config_to_json(c);
  EXPECT_EQ(written["quantization_device"], "cpu");
  DxcomConfig again = dxcom_config_from_json(json::parse(written.dump()), "again");
  EXPECT_EQ(dxcom_config_to_json(again), written);
  EXPECT_EQ(written, json::parse(text));
}

TEST(RecipeJson, UltralyticsDeepxExportParses) {
  // The list Ultralytics' DeepX exporter writes (div before convertColor, pad_location edge).
  json j = json::parse(R"([
    {"resize": {"mode": "pad", "size": 640, "pad_location": "edge", "pad_value": [114, 114, 114]}},
    {"div": {"x": 255.0}}, {"convertColor": {"form": "BGR2RGB"}},
    {"transpose": {"axis": [2, 0, 1]}}, {"expandDim": {"axis": 0}}])");
  Recipe r = recipe_from_json(j, "deepx");
  EXPECT_EQ(steps_to_json(r.steps), steps_to_json(make_preset("yolo").steps));
}

TEST(RecipeJson, BadRecipesGiveClearErrors) {
  auto err = [](const std::string& text) {
    return error_of([&] { recipe_from_json(parse_json_text(text, "r.json"), "r.json"); });
  };
  EXPECT_NE(err(R"([{"blur": {"k": 3}}])").find("unknown step 'blur'"), std::string::npos);
  EXPECT_NE(err(R"([{"resize": {"width": -3, "height": 10}}])").find("positive"),
            std::string::npos);
  EXPECT_NE(err(R"([{"resize": {"size": -640}}])").find("positive"), std::string::npos);
  EXPECT_NE(err(R"([{"resize": {"width": 3}}])").find("positive"), std::string::npos);
  EXPECT_NE(err(R"([{"resize": {"size": 64, "widht": 3}}])").find("unknown parameter 'widht'"),
            std::string::npos);
  EXPECT_NE(err(R"([{"resize": {"size": 64, "mode": "stretch"}}])").find("unknown mode"),
            std::string::npos);
  EXPECT_NE(err(R"([{"resize": {"size": 64, "interpolation": "BICUBIC"}}])").find("not supported"),
            std::string::npos);
  EXPECT_NE(err(R"([{"convertColor": {"form": "BGR2XYZ"}}])").find("unknown form 'BGR2XYZ'"),
            std::string::npos);
  EXPECT_NE(
      err(R"([{"convertColor": {"form": "BGR2GRAY"}}, {"convertColor": {"form": "BGR2RGB"}}])")
          .find("3-channel"),
      std::string::npos);
  EXPECT_NE(err(R"([{"div": {"x": 0}}])").find("must not be 0"), std::string::npos);
  EXPECT_NE(err(R"([{"transpose": {"axis": [0, 0, 1]}}])").find("permutation"), std::string::npos);
  EXPECT_NE(err(R"([{"transpose": {"axis": [2, 0, 1]}}, {"resize": {"size": 3}}])")
                .find("before transpose"),
            std::string::npos);
  EXPECT_NE(err(R"([{"expandDim": {"axis": 5}}])").find("out of range"), std::string::npos);
  EXPECT_NE(err(R"({"preprocessings": [{"div": {"x": 255}}], "dtype": "uint8"})").find("uint8"),
            std::string::npos);
  EXPECT_NE(err(R"({"preprocessings": [], "layuot": "NCHW"})").find("unknown recipe key 'layuot'"),
            std::string::npos);
  EXPECT_NE(err(R"([{"div": {"x": "255"}}])").find("must be a number"), std::string::npos);
  EXPECT_NE(err(R"([{"div": 255}])").find("parameters must be an object"), std::string::npos);
  EXPECT_NE(err(R"({"inputs": {}})").find("not a recipe"), std::string::npos);
  EXPECT_NE(err(R"([{"div": )").find("invalid JSON"), std::string::npos);
  EXPECT_NE(err(R"([{"blur": {}}])").find("r.json"), std::string::npos);  // names the file
  EXPECT_NE(err(R"([{"div": {"x": 255}}, {"blur": {}}])").find("step 1"), std::string::npos);
}

// A centercrop pads to its size: 1e9 x 1e9 was accepted and allocated at the first image.
TEST(RecipeJson, CenterCropHasResizesSizeBound) {
  const std::string text = R"([{"centercrop": {"width": 1000000000, "height": 8}}])";
  EXPECT_NE(error_of([&] {
              recipe_from_json(parse_json_text(text, "r.json"), "r.json");
            }).find("size above 65536"),
            std::string::npos);
}

TEST(RecipeJson, ResolveRecipe) {
  EXPECT_EQ(resolve_recipe("yolo").name, "yolo");
  EXPECT_NE(error_of([] { resolve_recipe("/no/such/recipe.json"); }).find("neither a preset"),
            std::string::npos);
}

}  // namespace
}  // namespace qcal::preprocess
