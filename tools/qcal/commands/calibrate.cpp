// `qcal calibrate`: options and data-source wiring for exporter::calibrate (activation ranges,
// QDQ ONNX model, TensorRT calibration cache, ranges.json, statistics files).
#include "export/calibrate.hpp"

#include <algorithm>
#include <cstring>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands/commands.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "engine/model.hpp"
#include "preprocess/pipeline.hpp"
#include "preprocess/recipe_json.hpp"

namespace qcal::cli {
namespace {

// Images preprocessed on the fly, one at a time, in the listed (sorted) order.
class ImageSource final : public exporter::SampleSource {
 public:
  ImageSource(std::vector<std::filesystem::path> files, preprocess::Recipe recipe,
              std::string description)
      : files_(std::move(files)),
        pipeline_(std::move(recipe)),
        description_(std::move(description)) {
    if (files_.empty()) {
      Error e(ErrorCode::kInvalidArgument, "no images found");
      e.with("data", description_);
      throw e;
    }
    const Tensor first = load(0);
    row_shape_ = row_of(first.shape(), 0);
    dtype_ = first.dtype();
  }
  std::int64_t size() const override { return static_cast<std::int64_t>(files_.size()); }
  Shape row_shape() const override { return row_shape_; }
  DType dtype() const override { return dtype_; }
  Tensor read(std::int64_t first, std::int64_t count) override {
    Shape shape = row_shape_;
    shape.insert(shape.begin(), count);
    Tensor out(dtype_, shape);
    const std::size_t row_bytes = out.nbytes() / static_cast<std::size_t>(count);
    for (std::int64_t k = 0; k < count; ++k) {
      const Tensor t = load(first + k);
      if (row_of(t.shape(), first + k) != row_shape_) {
        Error e(ErrorCode::kInvalidArgument,
                "preprocessed image has shape " + shape_to_string(t.shape()) +
                    ", expected rows of " + shape_to_string(row_shape_) +
                    " (add a resize step to the recipe)");
        e.with("image", files_[static_cast<std::size_t>(first + k)].string());
        throw e;
      }
      std::memcpy(static_cast<std::byte*>(out.raw_data()) + row_bytes * static_cast<std::size_t>(k),
                  t.raw_data(), row_bytes);
    }
    return out;
  }
  std::string sample_name(std::int64_t index) const override {
    return files_[static_cast<std::size_t>(index)].string();
  }
  std::string description() const override { return description_; }

 private:
  Tensor load(std::int64_t index) const {
    try {
      return pipeline_.run(preprocess::decode_image(files_[static_cast<std::size_t>(index)]));
    } catch (Error& e) {
      e.with("image", files_[static_cast<std::size_t>(index)].string());
      throw;
    }
  }
  // A recipe output [1, C, H, W] is one sample of row [C, H, W].
  Shape row_of(const Shape& s, std::int64_t index) const {
    if (s.empty() || s[0] != 1) {
      Error e(ErrorCode::kInvalidArgument,
              "the recipe must produce one sample with a leading batch "
              "dimension of 1 (expandDim), got " +
                  shape_to_string(s));
      e.with("image", files_[static_cast<std::size_t>(index)].string());
      throw e;
    }
    return Shape(s.begin() + 1, s.end());
  }

  std::vector<std::filesystem::path> files_;
  preprocess::Pipeline pipeline_;
  std::string description_;
  Shape row_shape_;
  DType dtype_ = DType::kUndefined;
};

struct CalibrateCli {
  CommonOptions common;
  std::string model;
  std::string data;
  std::string out_dir;
  std::string method = "entropy";
  double percentile = 99.99;
  double entropy_floor = 99.99;
  double ema_momentum = 0.01;
  bool per_tensor = false;
  bool per_channel = false;
  std::vector<std::string> exclude;
  std::int64_t num_samples = 0;
  std::string recipe;
  std::string activations = "int8";
  int trt_version = exporter::kDefaultTrtVersion;
  int num_bins = calib::kDefaultNumBins;
  std::string save_stats;
  std::vector<std::string> from_stats;
  bool ignore_nonfinite = false;
  // Accuracy work.
  bool sensitivity = false;
  double max_drop = 0.0;
  bool max_drop_given = false;
  std::string metric = "cosine";
  std::string eval_data;
  std::string labels;
  std::size_t eval_samples = 8;
  bool saturation = false;
  bool no_report = false;
  std::string command_line;
  bool separate_concat_scales = false;
  bool quantize_output_layers = false;
  bool quantize_residual_inputs = false;
  std::string dominant_noise = "1";
  std::size_t dominant_noise_samples = 2;
};

// --dominant-noise: an output SQNR gain in dB, or "off".
exporter::DominantNoiseOptions parse_dominant_noise(const std::string& value, std::size_t samples) {
  exporter::DominantNoiseOptions d;
  d.samples = samples;
  if (value == "off") {
    d.enabled = false;
    return d;
  }
  std::size_t used = 0;
  double gain = 0.0;
  try {
    gain = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || value.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "--dominant-noise must be an output SQNR gain in dB in (0, 60] or 'off', got '" +
                    value + "'");
  }
  d.gain_db = gain;
  exporter::validate(d);
  return d;
}

// --exclude values: a node name, a regex, or @FILE with one per line ('#' starts a comment).
std::vector<std::string> expand_excludes(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    if (v.size() < 2 || v[0] != '@') {
      out.push_back(v);
      continue;
    }
    const std::filesystem::path file = v.substr(1);
    if (!std::filesystem::is_regular_file(file)) {
      Error e(ErrorCode::kIo, "--exclude @FILE: no such file (one node name or regex per line)");
      e.with("file", file.string());
      throw e;
    }
    std::istringstream in(read_file(file));
    std::string line;
    while (std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
        line.pop_back();
      std::size_t b = 0;
      while (b < line.size() && (line[b] == ' ' || line[b] == '\t')) ++b;
      line.erase(0, b);
      if (line.empty() || line[0] == '#') continue;
      out.push_back(line);
    }
  }
  return out;
}

std::unique_ptr<exporter::SampleSource> open_source(const CalibrateCli& o,
                                                    const std::string& input_name,
                                                    exporter::CalibrateOptions& options,
                                                    bool method_given) {
  const std::filesystem::path data(o.data);
  const std::string ext = extension_lower(data);
  if (ext == "npy" || ext == "npz") {
    if (!o.recipe.empty())
      throw_invalid("--recipe applies to images; " + o.data + " is already preprocessed");
    return exporter::open_array_source(data, input_name);
  }
  if (ext == "json" && o.recipe.empty()) {
    // A DX-COM config: its dataset folder, extensions, preprocessing and defaults.
    const auto config = preprocess::load_dxcom_config(data);
    std::filesystem::path root = config.dataset_path;
    if (root.is_relative()) root = data.parent_path() / root;
    std::vector<std::string> exts_store = config.file_extensions;
    for (auto& e : exts_store) {
      if (!e.empty() && e[0] == '.') e.erase(0, 1);
      std::transform(e.begin(), e.end(), e.begin(),
                     [](unsigned char c) { return std::tolower(c); });
    }
    std::vector<std::string_view> exts(exts_store.begin(), exts_store.end());
    if (exts.empty()) exts.assign(kImageExtensions.begin(), kImageExtensions.end());
    if (options.num_samples == 0) options.num_samples = config.calibration_num;
    if (!method_given) options.select.method = calib::parse_method(config.calibration_method);
    options.recipe_description = "DX-COM config " + data.string();
    return std::make_unique<ImageSource>(list_files(root, exts), config.recipe, root.string());
  }
  if (o.recipe.empty()) {
    throw_invalid("--data " + o.data +
                  " is not .npy/.npz/DX-COM .json: images need --recipe "
                  "(a preset such as yolo, or a recipe .json)");
  }
  auto recipe = preprocess::resolve_recipe(o.recipe);
  options.recipe_description = o.recipe;
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(data)) {
    files = list_files(data, kImageExtensions);
  } else {
    files = read_list_file(data, data.parent_path());
  }
  return std::make_unique<ImageSource>(std::move(files), std::move(recipe), data.string());
}

int run_calibrate(CalibrateCli& o, bool method_given) {
  exporter::CalibrateOptions options;
  options.model_path = o.model;
  options.out_dir = o.out_dir;
  options.select.method = calib::parse_method(o.method);
  options.select.percentile = o.percentile;
  options.select.entropy_floor = o.entropy_floor;
  options.select.ema_momentum = o.ema_momentum;
  options.per_channel = !o.per_tensor;
  options.share_concat_scale = !o.separate_concat_scales;
  options.keep_output_layers_float = !o.quantize_output_layers;
  options.fuse_residual_add = !o.quantize_residual_inputs;
  options.dominant_noise = parse_dominant_noise(o.dominant_noise, o.dominant_noise_samples);
  options.exclude = expand_excludes(o.exclude);
  options.num_samples = o.num_samples;
  options.threads = resolve_threads(o.common.threads);
  options.ignore_nonfinite = o.ignore_nonfinite;
  if (o.activations == "int8" || o.activations == "int8-symmetric") {
    options.activations = exporter::ActivationType::kInt8Symmetric;
  } else if (o.activations == "uint8-asymmetric" || o.activations == "uint8") {
    options.activations = exporter::ActivationType::kUInt8Asymmetric;
  } else {
    throw_invalid("--activations must be int8 or uint8-asymmetric, got " + o.activations);
  }
  options.trt_version = o.trt_version;
  options.num_bins = o.num_bins;
  options.save_stats = o.save_stats;
  for (const auto& s : o.from_stats) options.from_stats.emplace_back(s);

  auto& acc = options.accuracy;
  acc.sensitivity = o.sensitivity;
  if (o.max_drop_given) acc.max_drop = o.max_drop;
  acc.metric = o.metric;
  acc.labels = o.labels;
  acc.eval_samples = o.eval_samples;
  acc.saturation = o.saturation;
  acc.report = !o.no_report;
  acc.command_line = o.command_line;
  exporter::validate(acc);
  // Evaluation data: --eval-data, else the calibration data itself when it is tensors or an
  // image folder/list with --recipe (the report's thumbnails come from it too).
  if (!o.eval_data.empty()) {
    acc.eval_data = o.eval_data;
    const std::string ext = extension_lower(o.eval_data);
    if (ext != "npy" && ext != "npz") acc.eval_recipe = o.recipe;
  } else if (!o.data.empty()) {
    const std::string ext = extension_lower(o.data);
    if (ext == "npy" || ext == "npz" ||
        (!o.recipe.empty() && std::filesystem::is_directory(o.data))) {
      acc.eval_data = o.data;
      acc.eval_recipe = o.recipe;
      acc.eval_data_is_calibration_data = true;
    }
  }
  if (exporter::needs_eval_data(acc) && acc.eval_data.empty()) {
    throw_invalid(std::string(o.max_drop_given ? "--max-drop"
                              : o.saturation   ? "--saturation"
                                               : "--sensitivity") +
                  " evaluates the quantized model and needs evaluation data: give --eval-data "
                  "(.npy/.npz, or images with --recipe); it cannot be derived from " +
                  (o.data.empty() ? std::string("--from-stats") : "the DX-COM config " + o.data));
  }

  std::unique_ptr<exporter::SampleSource> source;
  if (options.from_stats.empty()) {
    if (o.data.empty()) throw_invalid("calibrate needs --data or --from-stats");
    // The model's input name picks the .npz member.
    const auto model = engine::Model::load(o.model, engine::LoadOptions{.check_ops = false});
    const std::string input_name = model.inputs().empty() ? "" : model.inputs()[0].name;
    source = open_source(o, input_name, options, method_given);
  } else if (!o.data.empty()) {
    throw_invalid("--data and --from-stats exclude each other");
  }
  const bool show_progress = !o.common.quiet && stderr_is_tty();
  auto progress = [&](std::int64_t done, std::int64_t total) {
    if (show_progress) std::cerr << "\rcalibrating " << done << "/" << total << std::flush;
  };
  const auto report = exporter::calibrate(options, source.get(), progress);
  if (show_progress) std::cerr << "\n";
  if (!o.common.quiet) {
    for (const auto& w : report.warnings) std::cerr << "qcal: warning: " << w << "\n";
  }
  if (o.common.json) {
    nlohmann::json j;
    j["qdq_model"] = report.qdq_model.string();
    j["calibration_cache"] = report.cache.string();
    j["ranges"] = report.ranges.string();
    j["stats"] = report.stats.string();
    j["samples"] = report.samples;
    j["tensors"] = report.tensors;
    j["qdq_pairs"] = report.activation_pairs;
    j["int8_weights"] = report.weights;
    j["float_nodes"] = report.float_nodes;
    j["range_rule_changes"] = report.range_rule_changes;
    j["warnings"] = report.warnings;
    j["method"] = std::string(calib::method_name(options.select.method));
    j["report"] = report.report_html.string();
    if (!report.sensitivity_json.empty()) j["sensitivity"] = report.sensitivity_json.string();
    if (!report.mixed_precision_json.empty()) {
      j["mixed_precision_json"] = report.mixed_precision_json.string();
      j["exclude_list"] = report.exclude_list.string();
    }
    if (!report.saturation_json.empty()) j["saturation_json"] = report.saturation_json.string();
    if (!report.accuracy_json.is_null()) j["accuracy"] = report.accuracy_json;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "calibrated " << report.tensors << " tensors on " << report.samples << " samples ("
              << calib::method_name(options.select.method) << ")\n"
              << "  " << report.qdq_model.string() << "  (" << report.activation_pairs
              << " Q/DQ pairs, " << report.weights << " int8 weights, " << report.float_nodes.size()
              << " quantizable nodes kept float)\n"
              << "  " << report.cache.string() << "\n"
              << "  " << report.ranges.string() << "  (" << report.range_rule_changes
              << " ranges set by graph rules: shared Concat scales, full-range probabilities)\n";
    if (!report.stats.empty()) std::cout << "  " << report.stats.string() << "\n";
    for (const auto& p : {report.sensitivity_json, report.mixed_precision_json, report.exclude_list,
                          report.saturation_json, report.report_html}) {
      if (!p.empty()) std::cout << "  " << p.string() << "\n";
    }
    for (const auto& line : report.accuracy_lines) std::cout << line << "\n";
  }
  return kExitOk;
}

}  // namespace

Runner register_calibrate(CLI::App& app) {
  auto o = std::make_shared<CalibrateCli>();
  auto* cmd = app.add_subcommand(
      "calibrate", "Activation ranges -> QDQ ONNX model, TensorRT calibration cache, ranges.json");
  cmd->add_option("model", o->model, "ONNX model")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data,-d", o->data,
                  "Samples: .npy/.npz (qcal pack), an image folder or list file (with --recipe), "
                  "or a DX-COM JSON config");
  cmd->add_option("-o,--out", o->out_dir, "Output folder")->required();
  auto* method =
      cmd->add_option("--method,-m", o->method, "entropy | minmax | ema | percentile | mse")
          ->capture_default_str();
  cmd->add_option("--entropy-floor", o->entropy_floor,
                  "Entropy never clips more than (100 - P) percent of |x| (0: TensorRT's "
                  "thresholds exactly)")
      ->capture_default_str();
  cmd->add_option("--percentile", o->percentile, "Percent of |x| kept by --method percentile")
      ->capture_default_str();
  cmd->add_option("--ema-momentum", o->ema_momentum, "Averaging constant for --method ema")
      ->capture_default_str();
  auto* pc = cmd->add_flag("--per-channel", o->per_channel, "Per-output-channel weights (default)");
  cmd->add_flag("--per-tensor", o->per_tensor, "One scale per weight tensor")->excludes(pc);
  cmd->add_flag("--separate-concat-scales", o->separate_concat_scales,
                "Give each Concat input its own scale (default: one shared scale, as TensorRT "
                "needs to run Concat as a copy)");
  cmd->add_flag("--quantize-output-layers", o->quantize_output_layers,
                "Quantize the layers that produce the outputs too (default: compute ops with no "
                "int8 compute op downstream, e.g. a detector's final box/class convs, and linear "
                "layers feeding only them stay float)");
  cmd->add_flag("--quantize-residual-inputs", o->quantize_residual_inputs,
                "Quantize both inputs of a residual Add (default: an input that comes straight "
                "from an int8 Conv/Gemm stays float, as TensorRT fuses the Add into that layer)");
  cmd->add_option(
         "--dominant-noise", o->dominant_noise,
         "Keep float an activation whose int8 rounding makes so much of the output quantization "
         "noise that keeping it float lifts the output SQNR by at least DB dB, measured on a few "
         "calibration samples ('off': all int8)")
      ->capture_default_str();
  cmd->add_option("--dominant-noise-samples", o->dominant_noise_samples,
                  "Calibration samples the dominant-noise rule measures on")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--exclude", o->exclude, "Node name or regex kept in float (repeatable)");
  cmd->add_option("--num-samples,-n", o->num_samples, "Use at most N samples (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--recipe", o->recipe, "Preprocessing preset or recipe .json for image data");
  cmd->add_option("--activations", o->activations, "int8 (symmetric) | uint8-asymmetric")
      ->capture_default_str();
  cmd->add_option("--trt-version", o->trt_version,
                  "TensorRT version in the cache header (8601 = 8.6.1, 100300 = 10.3.0)")
      ->capture_default_str();
  cmd->add_option("--num-bins", o->num_bins, "Histogram bins (power of two)")
      ->capture_default_str();
  cmd->add_option("--save-stats", o->save_stats, "Also save the statistics (.qcs)");
  cmd->add_option("--from-stats", o->from_stats,
                  "Merge saved statistics (shards, in order) instead of running the model")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--ignore-nonfinite", o->ignore_nonfinite,
                "Skip NaN/Inf activations instead of stopping");
  cmd->add_flag("--sensitivity", o->sensitivity,
                "Rank the quantized tensors by how much quantizing each alone changes the outputs "
                "(sensitivity.json, report)");
  auto* max_drop = cmd->add_option("--max-drop", o->max_drop,
                                   "Automatic mixed precision: keep the most sensitive tensors "
                                   "float until the --metric drop is at most this (pp)");
  cmd->add_option("--metric", o->metric, "Accuracy metric: cosine (worst output) | map50-95 (YOLO)")
      ->capture_default_str();
  cmd->add_option("--eval-data", o->eval_data,
                  "Evaluation samples (.npy/.npz, or images with --recipe); default: the "
                  "calibration data");
  cmd->add_option("--labels", o->labels,
                  "With --metric map50-95: YOLO labels folder or COCO .json (default: against "
                  "the FP32 model's detections)");
  cmd->add_option("--eval-samples", o->eval_samples,
                  "Evaluate on at most N samples (sensitivity runs the model N x tensors times)")
      ->capture_default_str();
  cmd->add_flag("--saturation", o->saturation,
                "Ranges and accuracy as the calibration set grows (10, 25, 50, 100, ...)");
  cmd->add_flag("--no-report", o->no_report, "Do not write report.html");
  add_threads_flag(cmd, o->common);
  add_json_flag(cmd, o->common);
  add_quiet_flag(cmd, o->common);
  return [o, method, max_drop] {
    o->max_drop_given = max_drop->count() > 0;
    o->command_line = "qcal calibrate " + o->model;
    if (!o->data.empty()) o->command_line += " --data " + o->data;
    if (!o->recipe.empty()) o->command_line += " --recipe " + o->recipe;
    o->command_line += " --method " + o->method;
    if (o->sensitivity) o->command_line += " --sensitivity";
    if (o->max_drop_given) {
      std::ostringstream d;
      d << o->max_drop;
      o->command_line += " --max-drop " + d.str() + " --metric " + o->metric;
    }
    if (o->saturation) o->command_line += " --saturation";
    if (!o->eval_data.empty()) o->command_line += " --eval-data " + o->eval_data;
    return run_calibrate(*o, method->count() > 0);
  };
}

}  // namespace qcal::cli
