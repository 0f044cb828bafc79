// The `qcal calibrate` pipeline: one run context (the model read and parsed once, the data
// opened once), statistics collected through the engine's observer (or merged from saved
// shards), ranges selected, the placement and dominant-noise rules, the accuracy work, and the
// QDQ ONNX model, TensorRT calibration cache, ranges.json (and optionally the statistics file
// and report.html) written all together.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "calib/range_select.hpp"
#include "calib/stats_file.hpp"
#include "export/qdq_writer.hpp"
#include "export/trt_cache.hpp"
#include "preprocess/sample_data.hpp"
#include "quantize/bias_correction.hpp"
#include "quantize/dominant_noise.hpp"
#include "quantize/equalize.hpp"
#include "quantize/model_context.hpp"
#include "quantize/statistics.hpp"

namespace qcal::quantize {

// Accuracy work during calibrate (docs/quantization.md, "Accuracy during calibration"): all of
// it evaluates on `eval_data` (at most eval_samples samples) in qcal's engine.
struct AccuracyOptions {
  std::optional<preprocess::DataRequest> eval_data;  // none: no evaluation data
  std::filesystem::path labels;    // for map50-95: YOLO labels folder or COCO .json
  std::size_t eval_samples = 8;    // bounds every evaluation (sensitivity runs per tensor)
  std::string metric = "cosine";   // cosine | map50-95
  bool sensitivity = false;        // rank the quantized tensors (sensitivity.json)
  std::optional<double> max_drop;  // automatic mixed precision within this budget (pp)
  bool saturation = false;         // ranges and accuracy as the calibration set grows
  bool report = true;              // report.html
  std::size_t thumbnails = 4;
  bool eval_data_is_calibration_data = false;  // derived from --data (noted in the outputs)
};

// Validates metric and budget (kInvalidArgument naming the option).
void validate(const AccuracyOptions& options);
// True when any of the accuracy features needs evaluation data.
bool needs_eval_data(const AccuracyOptions& options);

struct CalibrateOptions {
  std::filesystem::path out_dir;
  calib::SelectOptions select;
  bool per_channel = true;
  std::vector<std::string> exclude;
  std::int64_t num_samples = 0;  // 0: all
  int threads = 1;
  bool ignore_nonfinite = false;
  exporter::ActivationType activations = exporter::ActivationType::kInt8Symmetric;
  int trt_version = exporter::kDefaultTrtVersion;
  int num_bins = calib::kDefaultNumBins;
  std::filesystem::path save_stats;               // empty: none
  std::vector<std::filesystem::path> from_stats;  // non-empty: merge these, run no model
  // A map step (`--shard`): collect this shard's block of the samples into save_stats and write
  // nothing else. The reduce is `--from-stats` of every shard's file, with `--data` the same data
  // (for the dominant-noise probes and evaluation): its outputs are one run's, byte for byte.
  std::optional<Shard> shard;
  std::string data_recipe;  // what preprocessing produced tensor data (provenance)
  AccuracyOptions accuracy;
  bool share_concat_scale = true;  // range rules (export/range_rules.hpp)
  bool keep_probability_range = true;
  bool keep_output_layers_float = true;   // placement rule 1b (export/qdq_placement.hpp)
  bool fuse_residual_add = true;          // placement rule 2b (export/qdq_placement.hpp)
  DominantNoiseOptions dominant_noise;    // placement rule 1c (quantize/dominant_noise.hpp)
  BiasCorrectionOptions bias_correction;  // quantize/bias_correction.hpp
  EqualizeOptions equalize;               // quantize/equalize.hpp
  bool derive_unions = true;              // statistics.hpp
  bool kernel_scans = true;               // statistics.hpp
};

// What the user asked for, before the data's defaults (a DX-COM config's calibration_num and
// calibration_method) and the evaluation-data rule are applied.
struct CalibrateRequest {
  std::filesystem::path model;
  std::optional<preprocess::DataRequest> data;  // none with from_stats
  CalibrateOptions options;
  bool method_given = false;  // --method was given (a DX-COM config's method applies otherwise)
  // Opens the calibration data instead of `data` (the public API's arrays and streams), given
  // the model's inputs; `data_description` names it in the reproduce command.
  std::function<std::unique_ptr<preprocess::SampleData>(
      const std::vector<preprocess::ModelInputInfo>&)>
      open_data;
  std::string data_description;
};

struct CalibrateReport {
  std::filesystem::path model;  // the user's model file
  std::filesystem::path qdq_model;
  std::filesystem::path cache;
  std::filesystem::path ranges;
  std::filesystem::path stats;            // empty when not saved
  std::filesystem::path equalized_model;  // <model>.equalized.onnx with --equalize, else empty
  // calibration_samples.json (eval's overlap check); empty with --from-stats (no samples seen).
  std::filesystem::path calibration_samples;
  std::vector<std::string> sample_fingerprints, sample_files;
  std::int64_t samples = 0;
  std::size_t tensors = 0;           // tensors with statistics
  std::size_t activation_pairs = 0;  // Q/DQ pairs on activations
  std::size_t weights = 0;           // int8 weight initializers
  std::vector<std::string> float_nodes;
  std::vector<std::string> warnings;
  std::size_t range_rule_changes = 0;  // ranges adjusted by the graph rules (in ranges.json)
  // The dominant-noise rule: tensors kept float (largest share first) and the whole measurement
  // (ranges.json's "dominant_noise"); null when it did not run.
  std::vector<TensorNoise> dominant_noise;
  nlohmann::json dominant_noise_json;
  // Weight-side algorithms that ran (ranges.json's "algorithms": bias_correction, ...); null
  // when none did.
  nlohmann::json algorithms_json;
  std::size_t bias_corrected_layers = 0;
  std::size_t equalized_pairs = 0;
  double bias_correction_seconds = 0;
  double inference_seconds = 0;  // time inside Session::run excluding observation
  double observe_seconds = 0;    // time in the collectors
  double total_seconds = 0;
  // Accuracy work (empty when not asked for).
  std::filesystem::path report_html, sensitivity_json, mixed_precision_json, exclude_list,
      saturation_json;
  std::vector<std::string> accuracy_lines;  // human summary (metric before/after, float tensors)
  nlohmann::json accuracy_json;             // the same for --json
  CalibrateOptions options;                 // the options the run used (defaults applied)
  std::string command;                      // a command line that reproduces the run
};

// Before any work (run_calibrate calls it first): the output folder can be written and no
// output is, or lies inside, an input (core/output_paths.hpp). Throws naming both paths.
void check_calibrate_paths(const CalibrateRequest& request);

// The whole run from a request: reads and parses the model once, opens the data once (a
// preset fitted to the model's input), applies the data's defaults and the evaluation-data
// rule (the calibration data evaluates when no --eval-data is given and it can), upgrades the
// opset in memory when Q/DQ needs it, then calibrate() below.
CalibrateReport run_calibrate(const CalibrateRequest& request, const ProgressFn& progress = {});

// The pipeline on a prepared model (prepare_for_qdq done) and data (null only with
// options.from_stats). All outputs are built in memory first, then written under temporary
// names and renamed, so an error leaves no output files behind. `command` is recorded in the
// report.
CalibrateReport calibrate(const ModelContext& model, preprocess::SampleData* data,
                          const CalibrateOptions& options, const std::string& command,
                          const ProgressFn& progress = {});

// The activations the QDQ plan quantizes for these options (calibrate() observes them besides
// the fused graph's tensors; benchmarks pass them to collect_statistics the same way).
std::vector<std::string> quantized_activations(const ModelContext& model,
                                               const CalibrateOptions& options);

// The command line that reproduces a resolved request: every option that changed the result.
std::string reproduce_command(const CalibrateRequest& resolved);

// The run's summary as `qcal calibrate --json` prints it (also the API's CalibrateResult::json).
std::string summary_json(const CalibrateReport& report);

}  // namespace qcal::quantize
