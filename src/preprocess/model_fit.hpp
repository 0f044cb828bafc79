// Fitting a recipe to a model input: presets take the model's size, layout and input name; any
// recipe whose output cannot feed the model is refused, naming both shapes.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "core/tensor.hpp"
#include "preprocess/recipe.hpp"

namespace qcal::preprocess {

// A model input as the model declares it (plain data; the engine reads ONNX).
struct ModelInputInfo {
  std::string name;
  Shape shape;                      // -1 for a dimension the model leaves open
  std::string source;               // e.g. the model file, for messages
  DType dtype = DType::kUndefined;  // kUndefined: not known
};

// "NCHW" or "NHWC" guessed from where a 1- or 3-sized axis sits in a rank-4 input.
std::optional<Layout> guess_layout(const Shape& model_shape);

// preset_or_path: a preset name (built at the model's H x W, in its layout) or a recipe file
// (kept as written). size_wh: --size W H, required when the model's height/width are dynamic.
// Throws kInvalidArgument: dynamic size and no size_wh; size_wh contradicting a static model;
// the recipe's output shape not matching the model input (both shapes named).
Recipe fit_recipe_to_model(const std::string& preset_or_path, const ModelInputInfo& input,
                           std::optional<std::array<int, 2>> size_wh);

// Throws when a recipe's fixed output shape cannot feed `input` (dimensions after the batch axis;
// -1 on either side matches anything).
void check_recipe_feeds(const Recipe& recipe, const ModelInputInfo& input);

// True when `sample` (one preprocessed sample) can feed `model_shape`, ignoring the batch axis.
bool shape_feeds(const Shape& sample, const Shape& model_shape);

}  // namespace qcal::preprocess
