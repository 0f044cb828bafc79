// `qcal calibrate`: flags into the public API's options (qcal::calibrate, include/qcal), the run,
// and its summary. The data, the DX-COM config's defaults and the evaluation-data rule are the
// library's (quantize/calibrate.hpp, preprocess/sample_data.hpp).
#include "qcal/calibrate.hpp"

#include <iostream>

#include "calib/abs_histogram.hpp"
#include "commands/commands.hpp"
#include "export/trt_cache.hpp"

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
};

// The flags as the public API's options (include/qcal/calibrate.hpp): the same names, and the
// same parsing for the CLI, Python and C++ consumers.
qcal::CalibrateOptions api_options(const CalibrateCli& o) {
  qcal::CalibrateOptions a;
  a.recipe = o.recipe;
  a.size = o.size;
  a.num_samples = o.num_samples;
  if (o.method_given) a.method = o.method;
  a.percentile = o.percentile;
  a.entropy_floor = o.entropy_floor;
  a.ema_momentum = o.ema_momentum;
  a.num_bins = o.num_bins;
  a.save_stats = o.save_stats;
  a.from_stats = o.from_stats;
  a.ignore_nonfinite = o.ignore_nonfinite;
  a.per_tensor = o.per_tensor;
  a.separate_concat_scales = o.separate_concat_scales;
  a.quantize_output_layers = o.quantize_output_layers;
  a.quantize_residual_inputs = o.quantize_residual_inputs;
  a.dominant_noise = o.dominant_noise;
  a.dominant_noise_samples = o.dominant_noise_samples;
  a.exclude = o.exclude;
  a.activations = o.activations;
  a.trt_version = o.trt_version;
  a.sensitivity = o.sensitivity;
  if (o.max_drop_given) a.max_drop = o.max_drop;
  a.metric = o.metric;
  a.eval_data = o.eval_data;
  a.labels = o.labels;
  a.eval_samples = o.eval_samples;
  a.saturation = o.saturation;
  a.no_report = o.no_report;
  a.threads = o.common.threads;
  return a;
}

// What to run next: measure the INT8 model on held-out data (unless this run already did),
// then build the deployment engine (docs/deploy.md has the other runtimes).
void print_next_steps(const std::string& model, const qcal::CalibrateResult& result) {
  std::cout << "next:\n";
  if (result.report.empty()) {
    std::cout << "  qcal eval " << model << " " << result.qdq_model
              << " --data HELD_OUT_DATA  # what INT8 costs, on data calibration never saw\n";
  }
  std::cout << "  trtexec --onnx=" << result.qdq_model
            << " --int8 --fp16 --saveEngine=model.plan  # TensorRT; others: docs/deploy.md\n";
}

void print_summary(const std::string& model, const qcal::CalibrateResult& result) {
  std::cout << "calibrated " << result.tensors << " tensors on " << result.samples << " samples ("
            << result.method << ")\n"
            << "  " << result.qdq_model << "  (" << result.qdq_pairs << " Q/DQ pairs, "
            << result.int8_weights << " int8 weights, " << result.float_nodes.size()
            << " quantizable nodes kept float)\n"
            << "  " << result.calibration_cache << "\n"
            << "  " << result.ranges_json << "  (" << result.range_rule_changes
            << " ranges set by graph rules: shared Concat scales, full-range probabilities)\n";
  if (!result.stats.empty()) std::cout << "  " << result.stats << "\n";
  for (const auto& p : {result.sensitivity, result.mixed_precision, result.exclude_list,
                        result.saturation, result.report}) {
    if (!p.empty()) std::cout << "  " << p << "\n";
  }
  for (const auto& line : result.accuracy_lines) std::cout << line << "\n";
  print_next_steps(model, result);
}

int run_calibrate(const CalibrateCli& o) {
  const bool show_progress = !o.common.quiet && stderr_is_tty();
  qcal::Control control;
  control.progress = [&](std::string_view, std::int64_t done, std::int64_t total) {
    if (show_progress) std::cerr << "\rcalibrating " << done << "/" << total << std::flush;
  };
  const auto result =
      qcal::calibrate(o.model, qcal::Data::path(o.data), o.out_dir, api_options(o), control);
  if (show_progress) std::cerr << "\n";
  if (!o.common.quiet) {
    for (const auto& w : result.warnings) std::cerr << "qcal: warning: " << w << "\n";
  }
  if (o.common.json) {
    std::cout << result.json << "\n";
  } else {
    print_summary(o.model, result);
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
                  "Merge saved statistics (shards, in order) instead of running the model")
      ->check(CLI::ExistingFile);
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
      ->check(CLI::PositiveNumber);
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
  cmd->add_option("--eval-samples", o.eval_samples,
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
  cmd->add_option("-o,--out", o->out_dir, "Output folder")->required();
  cmd->add_option("--num-samples,-n", o->num_samples, "Use at most N samples (0 = all)")
      ->check(CLI::NonNegativeNumber);
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
