// Fuzzed readers of preprocess/: recipe JSON (any form) and DX-COM configs.
#include <algorithm>
#include <opencv2/core.hpp>

#include "fuzz_readers.hpp"
#include "preprocess/pipeline.hpp"
#include "preprocess/recipe_json.hpp"

namespace qcal::fuzz {
namespace {

// Recipes may ask for images up to 65536 pixels a side (recipe.cpp), gigabytes a sample: the
// fuzz run (2 GiB) preprocesses only those whose every size is at most 1024.
bool affordable(const preprocess::Recipe& recipe) {
  constexpr int kMaxSide = 1024;
  return std::all_of(recipe.steps.begin(), recipe.steps.end(), [](const preprocess::Step& s) {
    return s.size <= kMaxSide && s.width <= kMaxSide && s.height <= kMaxSide;
  });
}

}  // namespace

void run_recipe_json(std::string_view bytes) {
  const InputFile file(bytes, "recipe.json");
  const preprocess::Recipe recipe = preprocess::resolve_recipe(file.path().string());
  // What qcal writes must read back as the same recipe (save_recipe_file, NPU configs).
  const nlohmann::json written = preprocess::recipe_to_json(recipe);
  const preprocess::Recipe again = preprocess::recipe_from_json(written, "written recipe");
  if (preprocess::recipe_to_json(again) != written) {
    fail_check("recipe_json", "a written recipe reads back differently: " + written.dump());
  }
  // pack/check/calibrate then preprocess images with it: a small one, so any size the recipe
  // asks for comes from the recipe alone.
  if (!affordable(recipe)) return;
  run_downstream([&] {
    const preprocess::Pipeline pipeline(recipe);
    cv::Mat image(6, 8, CV_8UC3);
    for (int y = 0; y < image.rows; ++y) {
      for (int x = 0; x < image.cols; ++x) {
        image.at<cv::Vec3b>(y, x) =
            cv::Vec3b(static_cast<std::uint8_t>(8 * x), static_cast<std::uint8_t>(40 * y), 99);
      }
    }
    (void)pipeline.run(image);
  });
}

void run_dxcom_config(std::string_view bytes) {
  const InputFile file(bytes, "config.json");
  const preprocess::DxcomConfig config = preprocess::load_dxcom_config(file.path());
  const nlohmann::json written = preprocess::dxcom_config_to_json(config);
  const auto again = preprocess::dxcom_config_from_json(written, "written config");
  if (preprocess::dxcom_config_to_json(again) != written) {
    fail_check("dxcom_config", "a written config reads back differently: " + written.dump());
  }
}

}  // namespace qcal::fuzz
