// Recipe <-> model input compatibility.
#include "preprocess/model_fit.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "preprocess/recipe_json.hpp"

namespace qcal::preprocess {
namespace {

bool is_channel_count(std::int64_t d) { return d == 1 || d == 3; }

Shape without_batch(const Shape& s) {
  // A leading axis of 1 (or the model's batch axis) is the batch.
  return s.size() > 1 ? Shape(s.begin() + 1, s.end()) : s;
}

}  // namespace

std::optional<Layout> guess_layout(const Shape& s) {
  if (s.size() != 4) return std::nullopt;
  if (is_channel_count(s[1])) return Layout::kNCHW;
  if (is_channel_count(s[3])) return Layout::kNHWC;
  return std::nullopt;
}

bool shape_feeds(const Shape& sample, const Shape& model_shape) {
  const Shape a = without_batch(sample.size() == model_shape.size() ? sample : [&] {
    Shape s = sample;
    s.insert(s.begin(), 1);
    return s;
  }());
  const Shape b = without_batch(model_shape);
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] >= 0 && b[i] >= 0 && a[i] != b[i]) return false;
  }
  return true;
}

void check_recipe_feeds(const Recipe& recipe, const ModelInputInfo& input) {
  const ShapeInfo info = infer_shape(recipe);
  if (!shape_feeds(info.shape, input.shape)) {
    std::string hint;
    if (info.shape.size() == 4 && input.shape.size() == 4) {
      const auto rl = info.channel_axis == 1 ? "NCHW" : info.channel_axis == 3 ? "NHWC" : "";
      const auto ml = guess_layout(input.shape);
      if (ml && *rl && std::string(rl) != layout_name(*ml)) {
        hint = std::string(" (layout: the recipe gives ") + rl + ", the model takes " +
               layout_name(*ml) + ")";
      }
    }
    Error e(ErrorCode::kInvalidArgument,
            "recipe" + (recipe.name.empty() ? std::string() : " '" + recipe.name + "'") +
                " produces " + shape_to_string(info.shape) + " but model input '" + input.name +
                "' needs " + shape_to_string(input.shape) + hint + " (-1: any size)");
    if (!input.source.empty()) e.with("model", input.source);
    throw e;
  }
}

Recipe fit_recipe_to_model(const std::string& preset_or_path, const ModelInputInfo& input,
                           std::optional<std::array<int, 2>> size_wh) {
  auto fail = [&](const std::string& m) -> Error {
    Error e(ErrorCode::kInvalidArgument, m);
    if (!input.source.empty()) e.with("model", input.source);
    return e;
  };
  Recipe recipe;
  if (is_preset_name(preset_or_path)) {
    const std::optional<Layout> layout = guess_layout(input.shape);
    if (!layout) {
      throw fail("model input '" + input.name + "' has shape " + shape_to_string(input.shape) +
                 ", not an image tensor [N, C, H, W] or [N, H, W, C] with C = 1 or 3");
    }
    const std::int64_t h = *layout == Layout::kNCHW ? input.shape[2] : input.shape[1];
    const std::int64_t w = *layout == Layout::kNCHW ? input.shape[3] : input.shape[2];
    int width = 0;
    int height = 0;
    if (h > 0 && w > 0) {
      if (h > 65536 || w > 65536)
        throw fail("model input '" + input.name + "' is larger than 65536 pixels");
      width = static_cast<int>(w);
      height = static_cast<int>(h);
      if (size_wh && ((*size_wh)[0] != width || (*size_wh)[1] != height)) {
        throw fail("--size " + std::to_string((*size_wh)[0]) + " " + std::to_string((*size_wh)[1]) +
                   " contradicts model input '" + input.name + "' " + shape_to_string(input.shape));
      }
    } else if (size_wh) {
      width = (*size_wh)[0];
      height = (*size_wh)[1];
    } else {
      throw fail("model input '" + input.name + "' has a dynamic size " +
                 shape_to_string(input.shape) +
                 " (-1 = dynamic); give the calibration size with --size W H");
    }
    recipe = make_preset(preset_or_path, width, height);
    if (*layout == Layout::kNHWC) {
      recipe.steps.erase(
          std::remove_if(recipe.steps.begin(), recipe.steps.end(),
                         [](const Step& s) { return s.kind == StepKind::kTranspose; }),
          recipe.steps.end());
    }
  } else {
    if (size_wh) throw fail("--size applies to presets; a recipe file sets its own sizes");
    recipe = resolve_recipe(preset_or_path);
  }
  recipe.input_name = input.name;
  check_recipe_feeds(recipe, input);
  return recipe;
}

}  // namespace qcal::preprocess
