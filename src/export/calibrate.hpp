// The `qcal calibrate` pipeline: stream samples through the engine with an observer that feeds
// the collectors (or merge saved statistics), select ranges, and write the QDQ ONNX model,
// the TensorRT calibration cache, ranges.json and optionally the statistics file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "calib/range_select.hpp"
#include "calib/stats_file.hpp"
#include "core/tensor.hpp"
#include "export/dominant_noise.hpp"
#include "export/qdq_writer.hpp"
#include "export/trt_cache.hpp"

namespace qcal::engine {
class Model;
}

namespace qcal::exporter {

// Where calibration samples come from. Samples are rows: read(first, count) returns a tensor
// [count, row_shape...]. Implementations stream (only the requested rows are in memory).
class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual std::int64_t size() const = 0;
  virtual Shape row_shape() const = 0;
  virtual DType dtype() const = 0;
  virtual Tensor read(std::int64_t first, std::int64_t count) = 0;
  // Names sample i in error messages (a file name, or "row i of data.npy").
  virtual std::string sample_name(std::int64_t index) const = 0;
  virtual std::string description() const = 0;
  virtual bool synthetic() const { return false; }
};

// .npy (streamed by rows) or .npz (the member named input_name, or the only member).
std::unique_ptr<SampleSource> open_array_source(const std::filesystem::path& path,
                                                const std::string& input_name);

// Accuracy work during calibrate (docs/quantization.md, "Accuracy during calibration"): all of
// it evaluates on `eval_data` (at most eval_samples samples) in qcal's engine.
struct AccuracyOptions {
  std::filesystem::path eval_data;  // .npy/.npz or images (with eval_recipe); empty: none
  std::string eval_recipe;
  std::filesystem::path labels;    // for map50-95: YOLO labels folder or COCO .json
  std::size_t eval_samples = 8;    // bounds every evaluation (sensitivity runs per tensor)
  std::string metric = "cosine";   // cosine | map50-95
  bool sensitivity = false;        // rank the quantized tensors (sensitivity.json)
  std::optional<double> max_drop;  // automatic mixed precision within this budget (pp)
  bool saturation = false;         // ranges and accuracy as the calibration set grows
  bool report = true;              // report.html
  std::string command_line;        // shown in the report
  std::size_t thumbnails = 4;
  bool eval_data_is_calibration_data = false;  // derived from --data (noted in the outputs)
};

// Validates metric and budget (kInvalidArgument naming the option).
void validate(const AccuracyOptions& options);
// True when any of the accuracy features needs evaluation data.
bool needs_eval_data(const AccuracyOptions& options);

struct CalibrateOptions {
  std::filesystem::path model_path;
  std::filesystem::path out_dir;
  calib::SelectOptions select;
  bool per_channel = true;
  std::vector<std::string> exclude;
  std::int64_t num_samples = 0;  // 0: all
  int threads = 1;
  bool ignore_nonfinite = false;
  ActivationType activations = ActivationType::kInt8Symmetric;
  int trt_version = kDefaultTrtVersion;
  int num_bins = calib::kDefaultNumBins;
  std::filesystem::path save_stats;               // empty: none
  std::vector<std::filesystem::path> from_stats;  // non-empty: merge these, run no model
  std::string recipe_description;                 // what preprocessing produced the samples
  AccuracyOptions accuracy;
  // Called after every batch with the samples seen so far and the statistics of that prefix
  // (calibrate --saturation snapshots prefixes this way, without re-running the model).
  std::function<void(std::int64_t samples, const calib::StatsSet& stats)> on_batch;
  bool share_concat_scale = true;  // range rules (export/range_rules.hpp)
  bool keep_probability_range = true;
  bool keep_output_layers_float = true;  // placement rule 1b (export/qdq_placement.hpp)
  bool fuse_residual_add = true;         // placement rule 2b (export/qdq_placement.hpp)
  DominantNoiseOptions dominant_noise;   // placement rule 1c (export/dominant_noise.hpp)
  // Statistics of Concat/Reshape-like outputs combined from their inputs' (see DerivedTensor)
  // instead of read; identical results. Off only for tests that compare the two.
  bool derive_unions = true;
  // Min/max the engine's kernels computed while writing (or reading) a tensor replace reading it
  // (engine::MinMaxObserver; min/max-only collection); identical results. Off only for tests
  // that compare the two.
  bool kernel_scans = true;
};

struct CalibrateReport {
  std::filesystem::path qdq_model;
  std::filesystem::path cache;
  std::filesystem::path ranges;
  std::filesystem::path stats;  // empty when not saved
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
  double inference_seconds = 0;  // time inside Session::run excluding observation
  double observe_seconds = 0;    // time in the collectors
  double total_seconds = 0;
  // Accuracy work (empty when not asked for).
  std::filesystem::path report_html, sensitivity_json, mixed_precision_json, exclude_list,
      saturation_json;
  std::vector<std::string> accuracy_lines;  // human summary (metric before/after, float tensors)
  nlohmann::json accuracy_json;             // the same for --json
};

using ProgressFn = std::function<void(std::int64_t done, std::int64_t total)>;

// Runs the pipeline. `source` may be null only with options.from_stats. All outputs are built
// in memory first and then written under temporary names and renamed, so an error leaves no
// output files behind.
CalibrateReport calibrate(const CalibrateOptions& options, SampleSource* source,
                          const ProgressFn& progress = {});

// An observed tensor whose values are exactly the values of other observed tensors together:
// the output of a Concat of them, or of an op that only moves values (Reshape, Flatten,
// Squeeze, Unsqueeze, Transpose, Identity). collect_statistics() combines its statistics from
// theirs (calib::StatsSet::observe_union, exact) instead of reading it: on yolov8n about a third
// of the observed values (C2f and head Concats, the head's Reshapes, the DFL Transpose).
struct DerivedTensor {
  std::string name;
  std::vector<std::string> parts;
};
// For a model file's nodes and the set of observed tensor names: the derivable ones, in an
// order where every part is observed directly or derived earlier.
std::vector<DerivedTensor> derived_tensors(const std::filesystem::path& model_path,
                                           const std::vector<std::string>& observed);
std::vector<DerivedTensor> derived_tensors(const engine::Model& model,
                                           const std::vector<std::string>& observed);

// The activations the QDQ plan quantizes for these options (calibrate() observes them besides
// the fused graph's tensors; benchmarks pass them to collect_statistics the same way).
std::vector<std::string> quantized_activations(const CalibrateOptions& options);

// Collection alone (used by calibrate() and benchmarks): runs every sample through a Session
// observing the tensors in `observe` plus the graph's post-fusion float tensors.
calib::StatsSet collect_statistics(const std::filesystem::path& model_path,
                                   const std::vector<std::string>& required_tensors,
                                   SampleSource& source, const CalibrateOptions& options,
                                   const ProgressFn& progress, double* inference_seconds,
                                   double* observe_seconds);

}  // namespace qcal::exporter
