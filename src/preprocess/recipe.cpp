// Recipe presets, validation and static shape inference (no OpenCV here: plain data only).
#include "preprocess/recipe.hpp"

#include <algorithm>
#include <cctype>
#include <numeric>

#include "core/error.hpp"

namespace qcal::preprocess {
namespace {

struct ColorForm {
  const char* name;
  int in_channels;
  int out_channels;
  bool is_swap;        // a pure channel permutation (BGR<->RGB)
  const char* target;  // colour space after the conversion
};

// The convertColor forms DX-COM documents (v2.x). All read 3-channel images.
constexpr ColorForm kColorForms[] = {
    {"BGR2RGB", 3, 3, true, "RGB"},      {"RGB2BGR", 3, 3, true, "BGR"},
    {"BGR2GRAY", 3, 1, false, "GRAY"},   {"RGB2GRAY", 3, 1, false, "GRAY"},
    {"BGR2YCrCb", 3, 3, false, "YCrCb"}, {"RGB2YCrCb", 3, 3, false, "YCrCb"},
    {"BGR2YUV", 3, 3, false, "YUV"},     {"RGB2YUV", 3, 3, false, "YUV"},
    {"BGR2HSV", 3, 3, false, "HSV"},     {"RGB2HSV", 3, 3, false, "HSV"},
    {"BGR2LAB", 3, 3, false, "LAB"},     {"RGB2LAB", 3, 3, false, "LAB"},
};

const ColorForm* find_form(const std::string& form) {
  for (const auto& f : kColorForms) {
    if (form == f.name) return &f;
  }
  return nullptr;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

[[noreturn]] void step_error(std::size_t index, const Step& step, const std::string& message) {
  Error e(ErrorCode::kInvalidArgument, std::string("recipe step ") + std::to_string(index) + " (" +
                                           step_kind_name(step.kind) + "): " + message);
  throw e;
}

Step resize_step(ResizeMode mode, int width, int height) {
  Step s;
  s.kind = StepKind::kResize;
  s.mode = mode;
  s.width = width;
  s.height = height;
  return s;
}

Step scalar_step(StepKind kind, double x) {
  Step s;
  s.kind = kind;
  s.x = x;
  return s;
}

Step color_step(const char* form) {
  Step s;
  s.kind = StepKind::kConvertColor;
  s.form = form;
  return s;
}

void append_nchw(std::vector<Step>& steps) {
  Step t;
  t.kind = StepKind::kTranspose;
  t.axis = {2, 0, 1};
  steps.push_back(t);
  Step e;
  e.kind = StepKind::kExpandDim;
  e.axis = {0};
  steps.push_back(e);
}

}  // namespace

const char* step_kind_name(StepKind kind) {
  switch (kind) {
    case StepKind::kConvertColor:
      return "convertColor";
    case StepKind::kResize:
      return "resize";
    case StepKind::kCenterCrop:
      return "centercrop";
    case StepKind::kNormalize:
      return "normalize";
    case StepKind::kMul:
      return "mul";
    case StepKind::kAdd:
      return "add";
    case StepKind::kSubtract:
      return "subtract";
    case StepKind::kDiv:
      return "div";
    case StepKind::kTranspose:
      return "transpose";
    case StepKind::kExpandDim:
      return "expandDim";
  }
  return "?";
}

const char* layout_name(Layout layout) { return layout == Layout::kNCHW ? "NCHW" : "NHWC"; }

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> kNames = {"yolo", "yolo-resize", "yunet", "edgeface"};
  return kNames;
}

bool is_preset_name(const std::string& name) {
  const auto& n = preset_names();
  return std::find(n.begin(), n.end(), name) != n.end();
}

Recipe make_preset(const std::string& name, int width, int height) {
  if (width < 0 || height < 0 || (width == 0) != (height == 0)) {
    throw Error(ErrorCode::kInvalidArgument,
                "preset '" + name + "': size must be two positive numbers, got " +
                    std::to_string(width) + "x" + std::to_string(height));
  }
  Recipe r;
  r.name = name;
  if (name == "yolo") {
    // Ultralytics' own DX-COM export writes exactly this list (ultralytics/engine exporter,
    // deepx.py): letterbox (pad 114, centred), /255, BGR->RGB, HWC->CHW, batch axis.
    Step pad = resize_step(ResizeMode::kPad, width ? width : 640, height ? height : 640);
    if (pad.width == pad.height) {
      pad.size = pad.width;
      pad.width = pad.height = 0;
    }
    pad.pad_location = "edge";
    pad.pad_value = {114, 114, 114};
    r.steps = {pad, scalar_step(StepKind::kDiv, 255.0), color_step("BGR2RGB")};
    append_nchw(r.steps);
    r.input_name = "images";
  } else if (name == "yolo-resize") {
    // Seed 000: cv2.resize to the model size (INTER_LINEAR), BGR->RGB, /255, CHW, batch axis.
    r.steps = {resize_step(ResizeMode::kDefault, width ? width : 640, height ? height : 640),
               color_step("BGR2RGB"), scalar_step(StepKind::kDiv, 255.0)};
    append_nchw(r.steps);
    r.input_name = "images";
  } else if (name == "yunet") {
    // Seed 003: YuNet takes BGR 0..255, no normalisation.
    r.steps = {resize_step(ResizeMode::kDefault, width ? width : 320, height ? height : 320)};
    append_nchw(r.steps);
    r.input_name = "input";
  } else if (name == "edgeface") {
    // Seed 003: BGR->RGB, resize 112, /255, (x-0.5)/0.5 -> values in -1..1.
    Step norm;
    norm.kind = StepKind::kNormalize;
    norm.mean = {0.5, 0.5, 0.5};
    norm.std = {0.5, 0.5, 0.5};
    r.steps = {color_step("BGR2RGB"),
               resize_step(ResizeMode::kDefault, width ? width : 112, height ? height : 112),
               scalar_step(StepKind::kDiv, 255.0), norm};
    append_nchw(r.steps);
    r.input_name = "input";
  } else {
    std::string known;
    for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error(ErrorCode::kInvalidArgument, "unknown preset '" + name + "' (known: " + known +
                                                 "; or give a recipe .json file)");
  }
  return r;
}

std::string output_color_order(const Recipe& recipe) {
  std::string order = "BGR";  // OpenCV decodes colour images as BGR
  for (const auto& s : recipe.steps) {
    if (s.kind != StepKind::kConvertColor) continue;
    const ColorForm* f = find_form(s.form);
    if (!f) continue;
    if (f->is_swap) {
      if (order == "BGR")
        order = "RGB";
      else if (order == "RGB")
        order = "BGR";
    } else {
      order = f->target;
    }
  }
  return order;
}

namespace {

// Resize output size for a known (or unknown, -1) input size.
std::array<std::int64_t, 2> resize_out_hw(const Step& s, std::int64_t h, std::int64_t w) {
  if (s.size > 0) {
    if (s.mode != ResizeMode::kTorchvision) return {s.size, s.size};
    if (h < 0 || w < 0) return {-1, -1};
    // torchvision.transforms.Resize(int): the short side becomes `size`, the long side
    // int(size * long / short) (truncation, as torchvision computes it).
    if (h <= w)
      return {s.size, static_cast<std::int64_t>(static_cast<double>(s.size) *
                                                static_cast<double>(w) / static_cast<double>(h))};
    return {static_cast<std::int64_t>(static_cast<double>(s.size) * static_cast<double>(h) /
                                      static_cast<double>(w)),
            s.size};
  }
  return {s.height, s.width};
}

// convertColor: the form must exist and take the image's channel count.
void apply_convert_color(std::size_t i, const Step& s, int& channels) {
  const ColorForm* f = find_form(s.form);
  if (!f) {
    std::string known;
    for (const auto& c : kColorForms) known += (known.empty() ? "" : ", ") + std::string(c.name);
    step_error(i, s, "unknown form '" + s.form + "' (known: " + known + ")");
  }
  if (channels != f->in_channels) {
    step_error(i, s,
               s.form + " needs a " + std::to_string(f->in_channels) +
                   "-channel image, this one has " + std::to_string(channels));
  }
  channels = f->out_channels;
}

// resize: its sizes, interpolation and padding options for its mode.
void check_resize(std::size_t i, const Step& s, int channels, bool is_float) {
  const bool has_wh = s.width != 0 || s.height != 0;
  if (s.size != 0 && has_wh) step_error(i, s, "give either size or width+height, not both");
  if (s.size == 0 && !has_wh) step_error(i, s, "needs size or width+height");
  if (s.size < 0 || (has_wh && (s.width <= 0 || s.height <= 0))) {
    step_error(i, s,
               "sizes must be positive, got size " + std::to_string(s.size) + ", width " +
                   std::to_string(s.width) + ", height " + std::to_string(s.height));
  }
  if (s.size > 65536 || s.width > 65536 || s.height > 65536) step_error(i, s, "size above 65536");
  const std::string interp = upper(s.interpolation);
  if (s.mode == ResizeMode::kTorchvision) {
    if (is_float)
      step_error(i, s,
                 "torchvision mode resizes 8-bit images (PIL); put it before arithmetic steps");
    if (!(interp.empty() || interp == "BILINEAR" || interp == "BICUBIC" || interp == "LANCZOS" ||
          interp == "BOX" || interp == "HAMMING")) {
      step_error(i, s,
                 "interpolation '" + s.interpolation +
                     "' not supported in torchvision mode (BILINEAR, BICUBIC, LANCZOS, BOX, "
                     "HAMMING)");
    }
  } else {
    if (!(interp.empty() || interp == "LINEAR" || interp == "NEAREST" || interp == "CUBIC" ||
          interp == "AREA" || interp == "LANCZOS4")) {
      step_error(i, s,
                 "interpolation '" + s.interpolation +
                     "' not supported (LINEAR, NEAREST, CUBIC, AREA, LANCZOS4)");
    }
  }
  if (s.mode == ResizeMode::kPad) {
    if (!s.pad_value.empty() && s.pad_value.size() != 1 &&
        s.pad_value.size() != static_cast<std::size_t>(channels)) {
      step_error(i, s, "pad_value needs 1 or " + std::to_string(channels) + " values");
    }
    const std::string loc = upper(s.pad_location);
    if (!(loc.empty() || loc == "EDGE" || loc == "CENTER" || loc == "CORNER")) {
      step_error(i, s,
                 "pad_location '" + s.pad_location +
                     "' not supported (edge or center: centred; corner: pad right/bottom)");
    }
  } else if (!s.pad_value.empty() || !s.pad_location.empty()) {
    step_error(i, s, "pad_value/pad_location need mode \"pad\"");
  }
}

void check_normalize(std::size_t i, const Step& s, int channels, bool layout_started) {
  auto ok_size = [&](std::size_t n) { return n == 1 || n == static_cast<std::size_t>(channels); };
  if (s.mean.empty() || s.std.empty()) step_error(i, s, "needs mean and std");
  if (!ok_size(s.mean.size()) || !ok_size(s.std.size())) {
    step_error(i, s, "mean and std need 1 or " + std::to_string(channels) + " values");
  }
  if (layout_started && (s.mean.size() > 1 || s.std.size() > 1)) {
    step_error(i, s,
               "per-channel normalize after transpose/expandDim broadcasts over the wrong "
               "axis; move it before them");
  }
  for (double v : s.std) {
    if (v == 0.0) step_error(i, s, "std must not be 0");
  }
}

// transpose: a permutation of the current axes.
void apply_transpose(std::size_t i, const Step& s, std::vector<int>& labels) {
  std::vector<int> sorted = s.axis;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> want(labels.size());
  std::iota(want.begin(), want.end(), 0);
  if (sorted != want) {
    step_error(i, s,
               "axis must be a permutation of 0.." + std::to_string(labels.size() - 1) +
                   " for a rank-" + std::to_string(labels.size()) + " tensor");
  }
  std::vector<int> next(labels.size());
  for (std::size_t k = 0; k < labels.size(); ++k)
    next[k] = labels[static_cast<std::size_t>(s.axis[k])];
  labels = next;
}

// expandDim: one axis in [-(rank + 1), rank].
void apply_expand_dim(std::size_t i, const Step& s, std::vector<int>& labels) {
  if (s.axis.size() != 1) step_error(i, s, "needs one axis");
  const int rank = static_cast<int>(labels.size());
  int a = s.axis[0];
  if (a < -(rank + 1) || a > rank) {
    step_error(i, s,
               "axis " + std::to_string(a) + " out of range for a rank-" + std::to_string(rank) +
                   " tensor");
  }
  if (a < 0) a += rank + 1;
  labels.insert(labels.begin() + a, -1);
}

// The output shape from the axis labels (0 = H, 1 = W, 2 = C, -1 = an inserted unit axis).
ShapeInfo shape_from_labels(const std::vector<int>& labels, std::int64_t h, std::int64_t w,
                            int channels) {
  ShapeInfo info;
  info.channels = channels;
  for (std::size_t k = 0; k < labels.size(); ++k) {
    switch (labels[k]) {
      case 0:
        info.shape.push_back(h);
        info.height_axis = static_cast<int>(k);
        break;
      case 1:
        info.shape.push_back(w);
        info.width_axis = static_cast<int>(k);
        break;
      case 2:
        info.shape.push_back(channels);
        info.channel_axis = static_cast<int>(k);
        break;
      default:
        info.shape.push_back(1);
        break;
    }
  }
  return info;
}

// A recipe's declared layout must be what its own transpose/expandDim steps give.
void check_declared_layout(const Recipe& recipe, const ShapeInfo& info) {
  if (!recipe.layout) return;
  const bool nchw = info.shape.size() == 4 && info.channel_axis == 1 && info.height_axis == 2;
  const bool nhwc = info.shape.size() == 4 && info.channel_axis == 3 && info.height_axis == 1;
  if ((*recipe.layout == Layout::kNCHW && !nchw) || (*recipe.layout == Layout::kNHWC && !nhwc)) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("recipe says layout ") + layout_name(*recipe.layout) +
                    " but its transpose/expandDim steps give " + shape_to_string(info.shape));
  }
}

}  // namespace

ShapeInfo infer_shape(const Recipe& recipe, std::optional<std::array<int, 2>> image_hw) {
  // Logical axes while the image is HWC: 0 = H, 1 = W, 2 = C; a transposed/expanded tensor is a
  // list of such labels, -1 for an inserted unit axis.
  std::int64_t h = image_hw ? (*image_hw)[0] : -1;
  std::int64_t w = image_hw ? (*image_hw)[1] : -1;
  int channels = 3;
  bool is_float = false;
  bool layout_started = false;
  std::vector<int> labels = {0, 1, 2};

  std::vector<Step> steps = recipe.steps;
  const bool has_layout = std::any_of(steps.begin(), steps.end(), [](const Step& s) {
    return s.kind == StepKind::kTranspose || s.kind == StepKind::kExpandDim;
  });
  if (!has_layout) {
    if (recipe.layout.value_or(Layout::kNCHW) == Layout::kNCHW) {
      append_nchw(steps);
    } else {
      Step e;
      e.kind = StepKind::kExpandDim;
      e.axis = {0};
      steps.push_back(e);
    }
  }

  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    const bool image_step = s.kind == StepKind::kConvertColor || s.kind == StepKind::kResize ||
                            s.kind == StepKind::kCenterCrop;
    if (image_step && layout_started) {
      step_error(
          i, s,
          "image steps must come before transpose/expandDim (DX-COM applies them to an HWC image)");
    }
    switch (s.kind) {
      case StepKind::kConvertColor: {
        apply_convert_color(i, s, channels);
        break;
      }
      case StepKind::kResize: {
        check_resize(i, s, channels, is_float);
        auto hw = resize_out_hw(s, h, w);
        h = hw[0];
        w = hw[1];
        break;
      }
      case StepKind::kCenterCrop:
        if (s.width <= 0 || s.height <= 0) {
          step_error(i, s,
                     "width and height must be positive, got " + std::to_string(s.width) + "x" +
                         std::to_string(s.height));
        }
        // The bound resize has: a crop pads to its size, so 1e9 would be a 1e18-pixel image.
        if (s.width > 65536 || s.height > 65536) step_error(i, s, "size above 65536");
        h = s.height;
        w = s.width;
        break;
      case StepKind::kNormalize: {
        check_normalize(i, s, channels, layout_started);
        is_float = true;
        break;
      }
      case StepKind::kDiv:
        if (s.x == 0.0) step_error(i, s, "x must not be 0");
        is_float = true;
        break;
      case StepKind::kMul:
      case StepKind::kAdd:
      case StepKind::kSubtract:
        is_float = true;
        break;
      case StepKind::kTranspose: {
        apply_transpose(i, s, labels);
        layout_started = true;
        break;
      }
      case StepKind::kExpandDim: {
        apply_expand_dim(i, s, labels);
        layout_started = true;
        break;
      }
    }
  }
  if (recipe.dtype != DType::kFloat32 && recipe.dtype != DType::kUInt8) {
    throw Error(ErrorCode::kInvalidArgument, "recipe dtype must be float32 or uint8, got " +
                                                 std::string(dtype_name(recipe.dtype)));
  }
  if (recipe.dtype == DType::kUInt8 && is_float) {
    throw Error(ErrorCode::kInvalidArgument,
                "recipe dtype uint8 cannot hold the result of arithmetic steps; use float32");
  }

  ShapeInfo info = shape_from_labels(labels, h, w, channels);
  if (has_layout) check_declared_layout(recipe, info);
  return info;
}

void validate_recipe(const Recipe& recipe) { (void)infer_shape(recipe); }

AffineMap arithmetic_affine(const Recipe& recipe, int channels) {
  const auto n = static_cast<std::size_t>(channels);
  AffineMap m{std::vector<double>(n, 1.0), std::vector<double>(n, 0.0)};
  auto at = [](const std::vector<double>& v, std::size_t c) { return v.size() == 1 ? v[0] : v[c]; };
  for (const auto& s : recipe.steps) {
    for (std::size_t c = 0; c < n; ++c) {
      switch (s.kind) {
        case StepKind::kMul:
          m.scale[c] *= s.x;
          m.offset[c] *= s.x;
          break;
        case StepKind::kDiv:
          m.scale[c] /= s.x;
          m.offset[c] /= s.x;
          break;
        case StepKind::kAdd:
          m.offset[c] += s.x;
          break;
        case StepKind::kSubtract:
          m.offset[c] -= s.x;
          break;
        case StepKind::kNormalize:
          m.scale[c] /= at(s.std, c);
          m.offset[c] = (m.offset[c] - at(s.mean, c)) / at(s.std, c);
          break;
        default:
          break;
      }
    }
    // A BGR<->RGB swap after arithmetic reorders per-channel parameters.
    if (s.kind == StepKind::kConvertColor && n == 3) {
      const ColorForm* f = find_form(s.form);
      if (f && f->is_swap) {
        std::swap(m.scale[0], m.scale[2]);
        std::swap(m.offset[0], m.offset[2]);
      }
    }
  }
  return m;
}

}  // namespace qcal::preprocess
