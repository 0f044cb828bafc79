// Preprocessing recipes as plain data: an ordered list of DX-COM-style steps plus the output
// dtype and layout, the built-in presets (yolo, yolo-resize, yunet, edgeface), validation and
// static shape inference.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace qcal::preprocess {

enum class StepKind {
  kConvertColor,
  kResize,
  kCenterCrop,
  kNormalize,
  kMul,
  kAdd,
  kSubtract,
  kDiv,
  kTranspose,
  kExpandDim,
};

// DX-COM's resize modes: "default" = cv::resize, "torchvision" = PIL's antialiased resample,
// "pad" = Ultralytics letterbox.
enum class ResizeMode { kDefault, kTorchvision, kPad };

struct Step {
  StepKind kind = StepKind::kConvertColor;

  // convertColor: the DX-COM form name as written ("BGR2RGB", "BGR2GRAY", ...).
  std::string form;

  // resize / centercrop. width/height in pixels (0 = not given). For resize, `size` > 0 means the
  // recipe said "size": in default and pad modes a square size x size, in torchvision mode the
  // short side (the long side follows the aspect ratio, as torchvision.transforms.Resize does).
  ResizeMode mode = ResizeMode::kDefault;
  int width = 0;
  int height = 0;
  int size = 0;
  std::string interpolation;      // as written, upper case; empty = the mode's default
  std::vector<double> pad_value;  // pad mode; empty = 114 per channel
  std::string pad_location;       // pad mode; empty = "edge" (centred, Ultralytics rounding)

  // normalize: per-channel or one value (size 1) applied to all channels.
  std::vector<double> mean;
  std::vector<double> std;

  // mul/add/subtract/div: the scalar operand "x".
  double x = 0.0;

  // transpose: the permutation; expandDim: one axis (numpy semantics, negative allowed).
  std::vector<int> axis;
};

enum class Layout { kNCHW, kNHWC };

struct Recipe {
  std::string name;  // preset name, or empty for a recipe read from JSON
  std::vector<Step> steps;
  // Output element type: float32, or uint8 when the recipe has no arithmetic step.
  DType dtype = DType::kFloat32;
  // Applied only when the steps contain no transpose/expandDim (DX-COM recipes spell them out):
  // NCHW appends transpose [2,0,1] + expandDim 0, NHWC appends expandDim 0.
  std::optional<Layout> layout;
  // The model input this recipe feeds, when known (from a preset, a DX-COM config or a model).
  std::string input_name;
};

const char* step_kind_name(StepKind kind);  // DX-COM spelling: "convertColor", "resize", ...
const char* layout_name(Layout layout);     // "NCHW" / "NHWC"

// Built-in presets. width/height 0 = the preset's default size (yolo 640, yunet 320, edgeface
// 112). Throws kInvalidArgument for an unknown name (listing the known ones).
Recipe make_preset(const std::string& name, int width = 0, int height = 0);
const std::vector<std::string>& preset_names();
bool is_preset_name(const std::string& name);

// The channel order the recipe feeds the model, given images decoded as BGR by OpenCV:
// "BGR", "RGB", "GRAY", or the last non-swap conversion's target ("YCrCb", "HSV", ...).
std::string output_color_order(const Recipe& recipe);

// Static output shape of one sample: dimensions that depend on the image size are -1 unless
// image_hw gives the source size. Validates every step (throws kInvalidArgument naming the
// step index and what is wrong): unknown forms, non-positive sizes, bad axes, steps out of
// order (image steps after transpose), dtype uint8 with arithmetic.
struct ShapeInfo {
  Shape shape;            // e.g. [1, 3, 640, 640]
  int channel_axis = -1;  // index of the channel dimension in shape
  int height_axis = -1;
  int width_axis = -1;
  int channels = 3;
};
ShapeInfo infer_shape(const Recipe& recipe, std::optional<std::array<int, 2>> image_hw = {});
void validate_recipe(const Recipe& recipe);

// Per-channel affine map value = scale[c] * pixel + offset[c] implemented by the arithmetic steps
// (in double precision; for statistics, ranges and visualisation, not for the tensors).
struct AffineMap {
  std::vector<double> scale;
  std::vector<double> offset;
};
AffineMap arithmetic_affine(const Recipe& recipe, int channels);

}  // namespace qcal::preprocess
