// qcal::calibrate: activation ranges -> QDQ ONNX model, TensorRT calibration cache, ranges.json,
// as `qcal calibrate` does. Options are named as the CLI's long flags (--per-tensor ->
// per_tensor) with the CLI's defaults.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "qcal/array.hpp"
#include "qcal/data.hpp"

namespace qcal {

struct CalibrateOptions {
  // The data.
  std::string recipe;     // --recipe: preset (yolo, yunet, edgeface) or recipe .json, for images
  std::vector<int> size;  // --size W H: presets on a model with a dynamic size
  std::int64_t num_samples = 0;  // -n/--num-samples: at most N samples (0: all)
  // Range selection and statistics.
  std::optional<std::string> method;  // entropy (default) | minmax | ema | percentile | mse
  double percentile = 99.99;
  double entropy_floor = 99.99;
  double ema_momentum = 0.01;
  int num_bins = 2048;
  std::string save_stats;               // also save the statistics (.qcs)
  std::vector<std::string> from_stats;  // merge saved statistics instead of running the model
  bool ignore_nonfinite = false;
  // Placement.
  bool per_channel = false;  // the default; excludes per_tensor
  bool per_tensor = false;
  bool separate_concat_scales = false;
  bool quantize_output_layers = false;
  bool quantize_residual_inputs = false;
  std::string dominant_noise = "1";  // output SQNR gain in dB, or "off"
  std::size_t dominant_noise_samples = 2;
  std::vector<std::string> exclude;  // node names, regexes, or @FILE
  std::string activations = "int8";  // int8 | uint8-asymmetric
  int trt_version = 100300;
  // Accuracy work.
  bool sensitivity = false;
  std::optional<double> max_drop;
  std::string metric = "cosine";  // cosine | map50-95
  std::string eval_data;          // default: the calibration data when it is files
  std::string labels;
  std::size_t eval_samples = 8;
  bool saturation = false;
  bool no_report = false;
  int threads = 0;  // -j/--threads (0: all cores)
};

// One tensor's calibrated range and int8 parameters (ranges.json's range_min, range_max,
// scale, zero_point); qdq: whether the QDQ model quantizes it.
struct TensorRange {
  double min = 0, max = 0, scale = 0;
  std::int64_t zero_point = 0;
  bool qdq = false;
};

struct CalibrateResult {
  std::string qdq_model, calibration_cache, ranges_json;
  std::string stats, report, sensitivity, mixed_precision, exclude_list, saturation;  // or empty
  std::map<std::string, TensorRange> ranges;
  std::int64_t samples = 0;
  std::size_t tensors = 0, qdq_pairs = 0, int8_weights = 0;
  std::size_t range_rule_changes = 0;  // ranges set by the graph rules (shared Concat scales...)
  std::vector<std::string> float_nodes, warnings;
  std::vector<std::string> accuracy_lines;  // the accuracy summary the CLI prints
  std::string method;
  std::string command;  // the `qcal calibrate` command line that reproduces the run
  std::string json;     // the summary `qcal calibrate --json` prints
};

// Calibrates `model` on `data` into the folder `output`. Throws qcal::Error naming the file,
// sample, option or tensor at fault; on error (or cancellation) no output file is written.
CalibrateResult calibrate(const std::string& model, const Data& data, const std::string& output,
                          const CalibrateOptions& options = {}, const Control& control = {});

}  // namespace qcal
