// `qcal calibrate`: options and data-source wiring for exporter::calibrate (activation ranges,
// QDQ ONNX model, TensorRT calibration cache, ranges.json, statistics files).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <cstring>
#include <map>

#include "commands/commands.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "engine/model.hpp"
#include "export/calibrate.hpp"
#include "preprocess/pipeline.hpp"
#include "preprocess/recipe_json.hpp"

namespace qcal::cli {
namespace {

// Images preprocessed on the fly, one at a time, in the listed (sorted) order.
class ImageSource final : public exporter::SampleSource {
 public:
  ImageSource(std::vector<std::filesystem::path> files, preprocess::Recipe recipe,
              std::string description)
      : files_(std::move(files)), pipeline_(std::move(recipe)), description_(std::move(description)) {
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
                "preprocessed image has shape " + shape_to_string(t.shape()) + ", expected rows of " +
                    shape_to_string(row_shape_) + " (add a resize step to the recipe)");
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
      Error e(ErrorCode::kInvalidArgument, "the recipe must produce one sample with a leading batch "
                                           "dimension of 1 (expandDim), got " + shape_to_string(s));
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
  bool separate_concat_scales = false;
};

std::unique_ptr<exporter::SampleSource> open_source(const CalibrateCli& o,
                                                    const std::string& input_name,
                                                    exporter::CalibrateOptions& options,
                                                    bool method_given) {
  const std::filesystem::path data(o.data);
  const std::string ext = extension_lower(data);
  if (ext == "npy" || ext == "npz") {
    if (!o.recipe.empty()) throw_invalid("--recipe applies to images; " + o.data + " is already preprocessed");
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
      std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
    }
    std::vector<std::string_view> exts(exts_store.begin(), exts_store.end());
    if (exts.empty()) exts.assign(kImageExtensions.begin(), kImageExtensions.end());
    if (options.num_samples == 0) options.num_samples = config.calibration_num;
    if (!method_given) options.select.method = calib::parse_method(config.calibration_method);
    options.recipe_description = "DX-COM config " + data.string();
    return std::make_unique<ImageSource>(list_files(root, exts), config.recipe, root.string());
  }
  if (o.recipe.empty()) {
    throw_invalid("--data " + o.data + " is not .npy/.npz/DX-COM .json: images need --recipe "
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
  options.exclude = o.exclude;
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
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "calibrated " << report.tensors << " tensors on " << report.samples
              << " samples (" << calib::method_name(options.select.method) << ")\n"
              << "  " << report.qdq_model.string() << "  (" << report.activation_pairs
              << " Q/DQ pairs, " << report.weights << " int8 weights, "
              << report.float_nodes.size() << " quantizable nodes kept float)\n"
              << "  " << report.cache.string() << "\n"
              << "  " << report.ranges.string() << "  (" << report.range_rule_changes
              << " ranges set by graph rules: shared Concat scales, full-range probabilities)\n";
    if (!report.stats.empty()) std::cout << "  " << report.stats.string() << "\n";
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
  auto* method = cmd->add_option("--method,-m", o->method, "entropy | minmax | ema | percentile | mse")
                     ->capture_default_str();
  cmd->add_option("--entropy-floor", o->entropy_floor,
                  "Entropy never clips more than (100 - P) percent of |x| (0: TensorRT's thresholds exactly)")
      ->capture_default_str();
  cmd->add_option("--percentile", o->percentile, "Percent of |x| kept by --method percentile")
      ->capture_default_str();
  cmd->add_option("--ema-momentum", o->ema_momentum, "Averaging constant for --method ema")
      ->capture_default_str();
  auto* pc = cmd->add_flag("--per-channel", o->per_channel, "Per-output-channel weights (default)");
  cmd->add_flag("--per-tensor", o->per_tensor, "One scale per weight tensor")->excludes(pc);
  cmd->add_flag("--separate-concat-scales", o->separate_concat_scales,
                "Give each Concat input its own scale (default: one shared scale, as TensorRT needs to run Concat as a copy)");
  cmd->add_option("--exclude", o->exclude, "Node name or regex kept in float (repeatable)");
  cmd->add_option("--num-samples,-n", o->num_samples, "Use at most N samples (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--recipe", o->recipe, "Preprocessing preset or recipe .json for image data");
  cmd->add_option("--activations", o->activations, "int8 (symmetric) | uint8-asymmetric")
      ->capture_default_str();
  cmd->add_option("--trt-version", o->trt_version,
                  "TensorRT version in the cache header (8601 = 8.6.1, 100300 = 10.3.0)")
      ->capture_default_str();
  cmd->add_option("--num-bins", o->num_bins, "Histogram bins (power of two)")->capture_default_str();
  cmd->add_option("--save-stats", o->save_stats, "Also save the statistics (.qcs)");
  cmd->add_option("--from-stats", o->from_stats,
                  "Merge saved statistics (shards, in order) instead of running the model")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--ignore-nonfinite", o->ignore_nonfinite, "Skip NaN/Inf activations instead of stopping");
  add_threads_flag(cmd, o->common);
  add_json_flag(cmd, o->common);
  add_quiet_flag(cmd, o->common);
  return [o, method] { return run_calibrate(*o, method->count() > 0); };
}

}  // namespace qcal::cli
