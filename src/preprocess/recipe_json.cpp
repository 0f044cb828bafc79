// Recipe and DX-COM config JSON: strict parsing (unknown steps and keys are errors naming the
// step), canonical writing, so read -> write -> read gives the same recipe.
#include "preprocess/recipe_json.hpp"

#include <cmath>
#include <set>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/json.hpp"

namespace qcal::preprocess {
namespace {

using json = nlohmann::json;

struct StepContext {
  const std::string& what;
  std::size_t index;
  std::string step;
};

[[noreturn]] void fail(const StepContext& c, const std::string& message) {
  Error e(ErrorCode::kInvalidArgument,
          "recipe step " + std::to_string(c.index) + " (" + c.step + "): " + message);
  e.with("file", c.what);
  throw e;
}

double get_number(const StepContext& c, const json& v, const char* key) {
  if (!v.is_number()) fail(c, std::string(key) + " must be a number, got " + json_excerpt(v));
  const double d = v.get<double>();
  if (!std::isfinite(d)) fail(c, std::string(key) + " must be finite");
  return d;
}

int get_int(const StepContext& c, const json& v, const char* key) {
  const double d = get_number(c, v, key);
  if (d != std::floor(d) || std::fabs(d) > 1e9)
    fail(c, std::string(key) + " must be an integer, got " + json_excerpt(v));
  return static_cast<int>(d);
}

std::vector<double> get_numbers(const StepContext& c, const json& v, const char* key) {
  std::vector<double> out;
  if (v.is_array()) {
    for (const auto& e : v) out.push_back(get_number(c, e, key));
    if (out.empty()) fail(c, std::string(key) + " must not be empty");
  } else {
    out.push_back(get_number(c, v, key));
  }
  return out;
}

std::vector<int> get_ints(const StepContext& c, const json& v, const char* key) {
  std::vector<int> out;
  if (v.is_array()) {
    for (const auto& e : v) out.push_back(get_int(c, e, key));
  } else {
    out.push_back(get_int(c, v, key));
  }
  return out;
}

std::string get_string(const StepContext& c, const json& v, const char* key) {
  if (!v.is_string()) fail(c, std::string(key) + " must be a string, got " + json_excerpt(v));
  return v.get<std::string>();
}

void check_keys(const StepContext& c, const json& params,
                std::initializer_list<const char*> allowed) {
  for (auto it = params.begin(); it != params.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(c, "unknown parameter '" + it.key() + "' (allowed: " + list + ")");
    }
  }
}

Step parse_step(const json& item, std::size_t index, const std::string& what) {
  StepContext c{what, index, "?"};
  if (!item.is_object() || item.size() != 1) {
    fail(c,
         "each step is an object with one key, the step name, e.g. {\"div\": {\"x\": 255}}; got " +
             json_excerpt(item));
  }
  const std::string name = item.begin().key();
  const json& p = item.begin().value();
  c.step = name;
  if (!p.is_object()) fail(c, "parameters must be an object, got " + json_excerpt(p));
  Step s;
  if (name == "convertColor") {
    s.kind = StepKind::kConvertColor;
    check_keys(c, p, {"form"});
    if (!p.contains("form")) fail(c, "needs \"form\"");
    s.form = get_string(c, p["form"], "form");
  } else if (name == "resize") {
    s.kind = StepKind::kResize;
    check_keys(c, p,
               {"mode", "width", "height", "size", "interpolation", "pad_value", "pad_location"});
    const std::string mode = p.contains("mode") ? get_string(c, p["mode"], "mode") : "default";
    if (mode == "default")
      s.mode = ResizeMode::kDefault;
    else if (mode == "torchvision")
      s.mode = ResizeMode::kTorchvision;
    else if (mode == "pad")
      s.mode = ResizeMode::kPad;
    else
      fail(c, "unknown mode '" + mode + "' (default, torchvision, pad)");
    if (p.contains("width")) s.width = get_int(c, p["width"], "width");
    if (p.contains("height")) s.height = get_int(c, p["height"], "height");
    if (p.contains("size")) {
      std::vector<int> size = get_ints(c, p["size"], "size");
      if (size.size() == 1 && !p["size"].is_array()) {
        s.size = size[0];
        if (s.size <= 0) fail(c, "size must be positive, got " + std::to_string(s.size));
      } else if (size.size() == 2) {
        // A [h, w] list is an exact size, as torchvision reads it.
        if (s.width || s.height) fail(c, "give either size or width+height, not both");
        s.height = size[0];
        s.width = size[1];
        if (s.width <= 0 || s.height <= 0)
          fail(c, "size must be positive, got " + json_excerpt(p["size"]));
      } else {
        fail(c, "size must be an integer or [height, width]");
      }
    }
    if (p.contains("interpolation"))
      s.interpolation = get_string(c, p["interpolation"], "interpolation");
    if (p.contains("pad_value")) s.pad_value = get_numbers(c, p["pad_value"], "pad_value");
    if (p.contains("pad_location"))
      s.pad_location = get_string(c, p["pad_location"], "pad_location");
  } else if (name == "centercrop") {
    s.kind = StepKind::kCenterCrop;
    check_keys(c, p, {"width", "height", "size"});
    if (p.contains("size")) s.width = s.height = get_int(c, p["size"], "size");
    if (p.contains("width")) s.width = get_int(c, p["width"], "width");
    if (p.contains("height")) s.height = get_int(c, p["height"], "height");
  } else if (name == "normalize") {
    s.kind = StepKind::kNormalize;
    check_keys(c, p, {"mean", "std"});
    if (!p.contains("mean") || !p.contains("std")) fail(c, "needs mean and std");
    s.mean = get_numbers(c, p["mean"], "mean");
    s.std = get_numbers(c, p["std"], "std");
  } else if (name == "mul" || name == "add" || name == "subtract" || name == "div") {
    s.kind = name == "mul"        ? StepKind::kMul
             : name == "add"      ? StepKind::kAdd
             : name == "subtract" ? StepKind::kSubtract
                                  : StepKind::kDiv;
    check_keys(c, p, {"x"});
    if (!p.contains("x")) fail(c, "needs \"x\"");
    s.x = get_number(c, p["x"], "x");
  } else if (name == "transpose") {
    s.kind = StepKind::kTranspose;
    check_keys(c, p, {"axis"});
    if (!p.contains("axis") || !p["axis"].is_array())
      fail(c, "needs \"axis\": a list such as [2, 0, 1]");
    s.axis = get_ints(c, p["axis"], "axis");
  } else if (name == "expandDim") {
    s.kind = StepKind::kExpandDim;
    check_keys(c, p, {"axis"});
    if (!p.contains("axis")) fail(c, "needs \"axis\"");
    s.axis = get_ints(c, p["axis"], "axis");
  } else {
    fail(c, "unknown step '" + name +
                "' (known: convertColor, resize, centercrop, normalize, mul, add, subtract, div, "
                "transpose, expandDim)");
  }
  return s;
}

json number_json(double v) {
  // Integral values are written as integers (DX-COM's examples do), others as doubles.
  if (v == std::floor(v) && std::fabs(v) < 1e15) return json(static_cast<std::int64_t>(v));
  return json(v);
}

json numbers_json(const std::vector<double>& v) {
  json a = json::array();
  for (double d : v) a.push_back(number_json(d));
  return a;
}

json step_to_json(const Step& s) {
  json p = json::object();
  switch (s.kind) {
    case StepKind::kConvertColor:
      p["form"] = s.form;
      break;
    case StepKind::kResize:
      if (s.mode != ResizeMode::kDefault)
        p["mode"] = s.mode == ResizeMode::kPad ? "pad" : "torchvision";
      if (s.size > 0) {
        p["size"] = s.size;
      } else {
        p["width"] = s.width;
        p["height"] = s.height;
      }
      if (!s.interpolation.empty()) p["interpolation"] = s.interpolation;
      if (!s.pad_location.empty()) p["pad_location"] = s.pad_location;
      if (!s.pad_value.empty()) p["pad_value"] = numbers_json(s.pad_value);
      break;
    case StepKind::kCenterCrop:
      p["width"] = s.width;
      p["height"] = s.height;
      break;
    case StepKind::kNormalize:
      p["mean"] = s.mean.size() == 1 ? number_json(s.mean[0]) : numbers_json(s.mean);
      p["std"] = s.std.size() == 1 ? number_json(s.std[0]) : numbers_json(s.std);
      break;
    case StepKind::kMul:
    case StepKind::kAdd:
    case StepKind::kSubtract:
    case StepKind::kDiv:
      p["x"] = number_json(s.x);
      break;
    case StepKind::kTranspose:
      p["axis"] = s.axis;
      break;
    case StepKind::kExpandDim:
      p["axis"] = s.axis.size() == 1 ? json(s.axis[0]) : json(s.axis);
      break;
  }
  json item = json::object();
  item[step_kind_name(s.kind)] = p;
  return item;
}

void apply_recipe_extras(Recipe& r, const json& j, const std::string& what) {
  auto bad = [&](const std::string& m) {
    Error e(ErrorCode::kInvalidArgument, m);
    e.with("file", what);
    throw e;
  };
  if (j.contains("dtype")) {
    if (!j["dtype"].is_string()) bad("dtype must be a string");
    const std::string d = j["dtype"].get<std::string>();
    if (d == "float32")
      r.dtype = DType::kFloat32;
    else if (d == "uint8")
      r.dtype = DType::kUInt8;
    else
      bad("dtype '" + d + "' not supported (float32, uint8)");
  }
  if (j.contains("layout")) {
    const std::string l = j["layout"].is_string() ? j["layout"].get<std::string>() : "";
    if (l == "NCHW")
      r.layout = Layout::kNCHW;
    else if (l == "NHWC")
      r.layout = Layout::kNHWC;
    else
      bad("layout must be \"NCHW\" or \"NHWC\", got " + json_excerpt(j["layout"]));
  }
  if (j.contains("input_name")) {
    if (!j["input_name"].is_string()) bad("input_name must be a string");
    r.input_name = j["input_name"].get<std::string>();
  }
  if (j.contains("name") && j["name"].is_string()) r.name = j["name"].get<std::string>();
}

std::vector<Step> parse_steps(const json& list, const std::string& what) {
  if (!list.is_array()) {
    Error e(ErrorCode::kFormat, "preprocessings must be a list of steps");
    e.with("file", what);
    throw e;
  }
  std::vector<Step> steps;
  for (std::size_t i = 0; i < list.size(); ++i) steps.push_back(parse_step(list[i], i, what));
  return steps;
}

void validate_named(const Recipe& r, const std::string& what) {
  try {
    validate_recipe(r);
  } catch (Error& e) {
    e.with("file", what);
    throw;
  }
}

}  // namespace

json parse_json_text(const std::string& text, const std::string& what) {
  return parse_json(text, what);
}

bool is_dxcom_config(const json& j) {
  return j.is_object() && j.contains("default_loader") && j["default_loader"].is_object();
}

json steps_to_json(const std::vector<Step>& steps) {
  json a = json::array();
  for (const auto& s : steps) a.push_back(step_to_json(s));
  return a;
}

Recipe recipe_from_json(const json& j, const std::string& what) {
  Recipe r;
  if (j.is_array()) {
    r.steps = parse_steps(j, what);
  } else if (is_dxcom_config(j)) {
    DxcomConfig cfg = dxcom_config_from_json(j, what);
    return cfg.recipe;
  } else if (j.is_object() && j.contains("preprocessings")) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      static const std::set<std::string> kKnownKeys = {"preprocessings", "dtype", "layout",
                                                       "input_name", "name"};
      if (!kKnownKeys.count(it.key())) {
        Error e(ErrorCode::kInvalidArgument,
                "unknown recipe key '" + it.key() +
                    "' (preprocessings, dtype, layout, input_name, name)");
        e.with("file", what);
        throw e;
      }
    }
    r.steps = parse_steps(j["preprocessings"], what);
    apply_recipe_extras(r, j, what);
  } else {
    Error e(ErrorCode::kFormat,
            "not a recipe: expected a list of steps, {\"preprocessings\": [...]}, or a DX-COM "
            "config with default_loader");
    e.with("file", what);
    throw e;
  }
  validate_named(r, what);
  return r;
}

json recipe_to_json(const Recipe& r) {
  json j = json::object();
  if (!r.name.empty()) j["name"] = r.name;
  if (!r.input_name.empty()) j["input_name"] = r.input_name;
  j["dtype"] = std::string(dtype_name(r.dtype));
  if (r.layout) j["layout"] = layout_name(*r.layout);
  j["preprocessings"] = steps_to_json(r.steps);
  return j;
}

Recipe load_recipe_file(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  return recipe_from_json(parse_json_text(text, path.string()), path.string());
}

void save_recipe_file(const std::filesystem::path& path, const Recipe& recipe) {
  write_file_atomic(path, recipe_to_json(recipe).dump(2) + "\n");
}

Recipe resolve_recipe(const std::string& preset_or_path) {
  if (is_preset_name(preset_or_path)) return make_preset(preset_or_path);
  std::error_code ec;
  if (std::filesystem::is_regular_file(preset_or_path, ec)) return load_recipe_file(preset_or_path);
  std::string known;
  for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error(ErrorCode::kInvalidArgument, "--recipe '" + preset_or_path +
                                               "' is neither a preset (" + known +
                                               ") nor an existing recipe .json file");
}

DxcomConfig dxcom_config_from_json(const json& j, const std::string& what) {
  auto bad = [&](const std::string& m) {
    Error e(ErrorCode::kFormat, "DX-COM config: " + m);
    e.with("file", what);
    throw e;
  };
  if (!is_dxcom_config(j)) bad("no default_loader object");
  DxcomConfig c;
  if (j.contains("inputs")) {
    if (!j["inputs"].is_object()) bad("inputs must be an object {name: [1, C, H, W]}");
    for (auto it = j["inputs"].begin(); it != j["inputs"].end(); ++it) {
      Shape shape;
      if (!it.value().is_array()) bad("inputs." + it.key() + " must be a list of dimensions");
      for (const auto& d : it.value()) {
        if (!d.is_number_integer())
          bad("inputs." + it.key() + " has a non-integer dimension " + json_excerpt(d));
        shape.push_back(d.get<std::int64_t>());
      }
      c.inputs.emplace_back(it.key(), shape);
    }
  }
  if (j.contains("calibration_num")) {
    if (!j["calibration_num"].is_number_integer() ||
        j["calibration_num"].get<std::int64_t>() <= 0) {
      bad("calibration_num must be a positive integer, got " + json_excerpt(j["calibration_num"]));
    }
    c.calibration_num = static_cast<int>(j["calibration_num"].get<std::int64_t>());
  }
  if (j.contains("calibration_method")) {
    if (!j["calibration_method"].is_string()) bad("calibration_method must be a string");
    c.calibration_method = j["calibration_method"].get<std::string>();
  }
  const json& dl = j["default_loader"];
  if (dl.contains("dataset_path")) {
    if (!dl["dataset_path"].is_string()) bad("default_loader.dataset_path must be a string");
    c.dataset_path = dl["dataset_path"].get<std::string>();
  }
  if (dl.contains("file_extensions")) {
    if (!dl["file_extensions"].is_array()) bad("default_loader.file_extensions must be a list");
    for (const auto& e : dl["file_extensions"]) {
      if (!e.is_string())
        bad("default_loader.file_extensions has a non-string entry " + json_excerpt(e));
      c.file_extensions.push_back(e.get<std::string>());
    }
  }
  if (!dl.contains("preprocessings")) bad("default_loader has no preprocessings");
  c.recipe.steps = parse_steps(dl["preprocessings"], what);
  if (j.contains("qcal") && j["qcal"].is_object()) apply_recipe_extras(c.recipe, j["qcal"], what);
  if (c.recipe.input_name.empty() && c.inputs.size() == 1) c.recipe.input_name = c.inputs[0].first;
  validate_named(c.recipe, what);
  for (auto it = j.begin(); it != j.end(); ++it) {
    static const std::set<std::string> kOwnKeys = {"inputs", "calibration_num",
                                                   "calibration_method", "default_loader"};
    if (!kOwnKeys.count(it.key())) c.extra[it.key()] = it.value();
  }
  return c;
}

json dxcom_config_to_json(const DxcomConfig& c) {
  json j = json::object();
  json inputs = json::object();
  for (const auto& [name, shape] : c.inputs) inputs[name] = shape;
  j["inputs"] = inputs;
  j["calibration_num"] = c.calibration_num;
  j["calibration_method"] = c.calibration_method;
  json dl = json::object();
  dl["dataset_path"] = c.dataset_path;
  dl["file_extensions"] = c.file_extensions;
  dl["preprocessings"] = steps_to_json(c.recipe.steps);
  j["default_loader"] = dl;
  for (auto it = c.extra.begin(); it != c.extra.end(); ++it) j[it.key()] = it.value();
  return j;
}

DxcomConfig load_dxcom_config(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  return dxcom_config_from_json(parse_json_text(text, path.string()), path.string());
}

}  // namespace qcal::preprocess
