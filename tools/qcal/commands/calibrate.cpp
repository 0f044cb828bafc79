// `qcal calibrate`: options into a quantize::CalibrateRequest, the run, and its summary. The
// data, the DX-COM config's defaults and the evaluation-data rule are the library's
// (quantize/calibrate.hpp, preprocess/sample_data.hpp).
#include "quantize/calibrate.hpp"

#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands/commands.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "preprocess/sample_data.hpp"

namespace qcal::cli {
namespace {

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
  std::vector<int> size;
  std::string activations = "int8";
  int trt_version = exporter::kDefaultTrtVersion;
  int num_bins = calib::kDefaultNumBins;
  std::string save_stats;
  std::vector<std::string> from_stats;
  std::string shard;
  bool ignore_nonfinite = false;
  // Accuracy work.
  bool sensitivity = false;
  double max_drop = 0.0;
  bool max_drop_given = false;
  bool method_given = false;
  std::string metric = "cosine";
  std::string eval_data;
  std::string labels;
  std::size_t eval_samples = 8;
  bool saturation = false;
  bool no_report = false;
  bool separate_concat_scales = false;
  bool quantize_output_layers = false;
  bool quantize_residual_inputs = false;
  std::string dominant_noise = "1";
  std::size_t dominant_noise_samples = 2;
  bool bias_correction = false;
  bool equalize = false;
  std::size_t bias_correction_samples = quantize::BiasCorrectionOptions{}.samples;
  int bias_correction_passes = quantize::BiasCorrectionOptions{}.passes;
};

// --dominant-noise: an output SQNR gain in dB, or "off".
quantize::DominantNoiseOptions parse_dominant_noise(const std::string& value, std::size_t samples) {
  quantize::DominantNoiseOptions d;
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
  quantize::validate(d);
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

exporter::ActivationType parse_activations(const std::string& value) {
  if (value == "int8" || value == "int8-symmetric") return exporter::ActivationType::kInt8Symmetric;
  if (value == "uint8-asymmetric" || value == "uint8") {
    return exporter::ActivationType::kUInt8Asymmetric;
  }
  throw_invalid("--activations must be int8 or uint8-asymmetric, got " + value);
}

void fill_method(const CalibrateCli& o, quantize::CalibrateOptions& options) {
  options.select.method = calib::parse_method(o.method);
  options.select.percentile = o.percentile;
  options.select.entropy_floor = o.entropy_floor;
  options.select.ema_momentum = o.ema_momentum;
  options.num_bins = o.num_bins;
  options.ignore_nonfinite = o.ignore_nonfinite;
  options.num_samples = o.num_samples;
}

void fill_placement(const CalibrateCli& o, quantize::CalibrateOptions& options) {
  options.per_channel = !o.per_tensor;
  options.share_concat_scale = !o.separate_concat_scales;
  options.keep_output_layers_float = !o.quantize_output_layers;
  options.fuse_residual_add = !o.quantize_residual_inputs;
  options.dominant_noise = parse_dominant_noise(o.dominant_noise, o.dominant_noise_samples);
  options.bias_correction.enabled = o.bias_correction;
  options.bias_correction.samples = o.bias_correction_samples;
  options.bias_correction.passes = o.bias_correction_passes;
  options.equalize.enabled = o.equalize;
  options.exclude = expand_excludes(o.exclude);
  options.activations = parse_activations(o.activations);
  options.trt_version = o.trt_version;
}

void fill_accuracy(const CalibrateCli& o, quantize::AccuracyOptions& acc) {
  acc.sensitivity = o.sensitivity;
  if (o.max_drop_given) acc.max_drop = o.max_drop;
  acc.metric = o.metric;
  acc.labels = o.labels;
  acc.eval_samples = o.eval_samples;
  acc.saturation = o.saturation;
  acc.report = !o.no_report;
  if (!o.eval_data.empty()) {
    preprocess::DataRequest r;
    r.data = o.eval_data;
    // Images evaluate with the calibration recipe, also with --from-stats (no --data).
    if (!preprocess::is_tensor_data(r.data)) r.recipe = o.recipe;
    r.size_wh = parse_size_wh(o.size);
    acc.eval_data = r;
  }
}

quantize::CalibrateRequest make_request(const CalibrateCli& o) {
  quantize::CalibrateRequest r;
  r.model = o.model;
  r.method_given = o.method_given;
  auto& options = r.options;
  options.out_dir = o.out_dir;
  options.threads = resolve_threads(o.common.threads);
  fill_method(o, options);
  fill_placement(o, options);
  options.save_stats = o.save_stats;
  for (const auto& s : o.from_stats) options.from_stats.emplace_back(s);
  options.shard = resolve_shard(o.shard, o.common.quiet);
  if (options.out_dir.empty() && !options.shard) {
    throw_invalid("an output folder is required (-o OUT_DIR)");
  }
  fill_accuracy(o, options.accuracy);
  if (!o.data.empty()) {
    preprocess::DataRequest d;
    d.data = o.data;
    d.recipe = o.recipe;
    d.size_wh = parse_size_wh(o.size);
    r.data = d;
  }
  return r;
}

void print_json(const quantize::CalibrateReport& report) {
  std::cout << quantize::summary_json(report) << "\n";
}

// What to run next: measure the INT8 model on held-out data (unless this run already did),
// then build the deployment engine (docs/deploy.md has the other runtimes).
void print_next_steps(const quantize::CalibrateReport& report) {
  std::cout << "next:\n";
  if (report.report_html.empty()) {
    std::cout << "  qcal eval " << report.model.string() << " " << report.qdq_model.string()
              << " --data HELD_OUT_DATA  # what INT8 costs, on data calibration never saw\n";
  }
  std::cout << "  trtexec --onnx=" << report.qdq_model.string()
            << " --int8 --fp16 --saveEngine=model.plan  # TensorRT; others: docs/deploy.md\n";
}

void print_summary(const quantize::CalibrateReport& report) {
  std::cout << "calibrated " << report.tensors << " tensors on " << report.samples << " samples ("
            << calib::method_name(report.options.select.method) << ")\n"
            << "  " << report.qdq_model.string() << "  (" << report.activation_pairs
            << " Q/DQ pairs, " << report.weights << " int8 weights, " << report.float_nodes.size()
            << " quantizable nodes kept float)\n"
            << "  " << report.cache.string() << "\n"
            << "  " << report.ranges.string() << "  (" << report.range_rule_changes
            << " ranges set by graph rules: shared Concat scales, full-range probabilities)\n";
  if (!report.stats.empty()) std::cout << "  " << report.stats.string() << "\n";
  if (!report.equalized_model.empty()) {
    std::cout << "  " << report.equalized_model.string() << "  (" << report.equalized_pairs
              << " layer pairs equalized; the cache and ranges.json belong to this model)\n";
  }
  if (report.bias_corrected_layers > 0) {
    std::cout << "  bias correction: " << report.bias_corrected_layers
              << " layers corrected (per-layer shifts in ranges.json)\n";
  }
  for (const auto& p : {report.sensitivity_json, report.mixed_precision_json, report.exclude_list,
                        report.saturation_json, report.report_html}) {
    if (!p.empty()) std::cout << "  " << p.string() << "\n";
  }
  for (const auto& line : report.accuracy_lines) std::cout << line << "\n";
  print_next_steps(report);
}

int run_calibrate(const CalibrateCli& o) {
  const quantize::CalibrateRequest request = make_request(o);
  const bool show_progress = !o.common.quiet && stderr_is_tty();
  auto progress = [&](std::int64_t done, std::int64_t total) {
    if (show_progress) std::cerr << "\rcalibrating " << done << "/" << total << std::flush;
  };
  const auto report = quantize::run_calibrate(request, progress);
  if (show_progress) std::cerr << "\n";
  if (!o.common.quiet) {
    for (const auto& w : report.warnings) std::cerr << "qcal: warning: " << w << "\n";
  }
  if (o.common.json) {
    print_json(report);
  } else if (request.options.shard) {
    std::cout << "collected statistics of " << report.tensors << " tensors on " << report.samples
              << " samples (" << describe(*request.options.shard) << ")\n  "
              << report.stats.string()
              << "\nreduce: qcal calibrate MODEL --from-stats EVERY_SHARD.qcs --data DATA -o OUT\n";
  } else {
    print_summary(report);
  }
  return kExitOk;
}

// Range selection and statistics options.
CLI::Option* add_method_options(CLI::App* cmd, CalibrateCli& o) {
  auto* method =
      cmd->add_option("--method,-m", o.method, "entropy | minmax | ema | percentile | mse")
          ->capture_default_str();
  cmd->add_option("--entropy-floor", o.entropy_floor,
                  "Entropy never clips more than (100 - P) percent of |x| (0: TensorRT's "
                  "thresholds exactly)")
      ->capture_default_str();
  cmd->add_option("--percentile", o.percentile, "Percent of |x| kept by --method percentile")
      ->capture_default_str();
  cmd->add_option("--ema-momentum", o.ema_momentum, "Averaging constant for --method ema")
      ->capture_default_str();
  cmd->add_option("--num-bins", o.num_bins, "Histogram bins (power of two)")->capture_default_str();
  cmd->add_option("--save-stats", o.save_stats, "Also save the statistics (.qcs)");
  cmd->add_option("--from-stats", o.from_stats,
                  "Merge saved statistics (shards, in order; --shard files in shard order, with "
                  "--data their data) instead of running the model")
      ->check(CLI::ExistingFile);
  add_shard_option(cmd, o.shard,
                   "calibration batches: collect only their statistics into --save-stats");
  cmd->add_flag("--ignore-nonfinite", o.ignore_nonfinite,
                "Skip NaN/Inf activations instead of stopping");
  return method;
}

// Where Q/DQ goes and what it holds.
void add_placement_options(CLI::App* cmd, CalibrateCli& o) {
  auto* pc = cmd->add_flag("--per-channel", o.per_channel, "Per-output-channel weights (default)");
  cmd->add_flag("--per-tensor", o.per_tensor, "One scale per weight tensor")->excludes(pc);
  cmd->add_flag("--separate-concat-scales", o.separate_concat_scales,
                "Give each Concat input its own scale (default: one shared scale, as TensorRT "
                "needs to run Concat as a copy)");
  cmd->add_flag("--quantize-output-layers", o.quantize_output_layers,
                "Quantize the layers that produce the outputs too (default: compute ops with no "
                "int8 compute op downstream, e.g. a detector's final box/class convs, and linear "
                "layers feeding only them stay float)");
  cmd->add_flag("--quantize-residual-inputs", o.quantize_residual_inputs,
                "Quantize both inputs of a residual Add (default: an input that comes straight "
                "from an int8 Conv/Gemm stays float, as TensorRT fuses the Add into that layer)");
  cmd->add_option("--dominant-noise", o.dominant_noise,
                  "Keep float an activation whose int8 rounding makes so much of the output "
                  "quantization noise that keeping it float lifts the output SQNR by at least DB "
                  "dB, measured on a few calibration samples ('off': all int8)")
      ->capture_default_str();
  cmd->add_option("--dominant-noise-samples", o.dominant_noise_samples,
                  "Calibration samples the dominant-noise rule measures on")
      ->capture_default_str()
      ->check(positive_number());
  cmd->add_flag("--bias-correction", o.bias_correction,
                "Fold the per-channel mean error that weight and input quantization cause into "
                "each quantized layer's bias, measured on calibration samples");
  cmd->add_option("--bias-correction-samples", o.bias_correction_samples,
                  "Calibration samples bias correction measures on")
      ->capture_default_str()
      ->check(positive_number());
  cmd->add_option("--bias-correction-passes", o.bias_correction_passes,
                  "Passes over those samples (1 to 8; see docs/quantization.md)")
      ->capture_default_str();
  cmd->add_flag("--equalize", o.equalize,
                "Cross-layer equalization: balance the weight ranges of Conv/Gemm pairs joined "
                "through ReLU/LeakyReLU/PReLU (or nothing) before calibrating; writes "
                "<model>.equalized.onnx, which the cache and ranges.json then refer to");
  cmd->add_option("--exclude", o.exclude, "Node name or regex kept in float (repeatable)");
  cmd->add_option("--activations", o.activations, "int8 (symmetric) | uint8-asymmetric")
      ->capture_default_str();
  cmd->add_option("--trt-version", o.trt_version,
                  "TensorRT version in the cache header (8601 = 8.6.1, 100300 = 10.3.0)")
      ->capture_default_str();
}

// Sensitivity, mixed precision, saturation and the report.
CLI::Option* add_accuracy_options(CLI::App* cmd, CalibrateCli& o) {
  cmd->add_flag("--sensitivity", o.sensitivity,
                "Rank the quantized tensors by how much quantizing each alone changes the outputs "
                "(sensitivity.json, report)");
  auto* max_drop = cmd->add_option("--max-drop", o.max_drop,
                                   "Automatic mixed precision: keep the most sensitive tensors "
                                   "float until the --metric drop is at most this (pp)");
  cmd->add_option("--metric", o.metric, "Accuracy metric: cosine (worst output) | map50-95 (YOLO)")
      ->capture_default_str();
  cmd->add_option("--eval-data", o.eval_data,
                  "Evaluation samples (.npy/.npz, or images with --recipe); default: the "
                  "calibration data");
  cmd->add_option("--labels", o.labels,
                  "With --metric map50-95: YOLO labels folder or COCO .json (default: against "
                  "the FP32 model's detections)");
  cmd->add_option("--eval-num-samples,--eval-samples", o.eval_samples,
                  "Evaluate on at most N samples (sensitivity runs the model N x tensors times)")
      ->capture_default_str();
  cmd->add_flag("--saturation", o.saturation,
                "Ranges and accuracy as the calibration set grows (10, 25, 50, 100, ...)");
  cmd->add_flag("--no-report", o.no_report, "Do not write report.html");
  return max_drop;
}

}  // namespace

Runner register_calibrate(CLI::App& app) {
  auto o = std::make_shared<CalibrateCli>();
  auto* cmd = app.add_subcommand(
      "calibrate", "Activation ranges -> QDQ ONNX model, TensorRT calibration cache, ranges.json");
  cmd->add_option("model", o->model, "ONNX model")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data,-d", o->data,
                  "Samples: .npy/.npz (qcal pack), an image folder, image or list file (with "
                  "--recipe), or a DX-COM JSON config");
  cmd->add_option("-o,--output,--out", o->out_dir, "Output folder (not with --shard)");
  cmd->add_option("--num-samples,-n", o->num_samples, "Use at most N samples (0 = all)")
      ->check(non_negative_number());
  cmd->add_option("--recipe", o->recipe,
                  "Preprocessing for image data: a preset (fitted to the model input) or a "
                  "recipe .json");
  add_size_option(cmd, o->size);
  auto* method = add_method_options(cmd, *o);
  add_placement_options(cmd, *o);
  auto* max_drop = add_accuracy_options(cmd, *o);
  add_threads_flag(cmd, o->common);
  add_json_flag(cmd, o->common);
  add_quiet_flag(cmd, o->common);
  return [o, method, max_drop] {
    o->max_drop_given = max_drop->count() > 0;
    o->method_given = method->count() > 0;
    return run_calibrate(*o);
  };
}

}  // namespace qcal::cli
