// The calibrate pipeline: statistics, ranges, the placement and dominant-noise rules, the
// accuracy work, and all-or-nothing output writing.
#include "quantize/calibrate.hpp"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/output_paths.hpp"
#include "eval/overlap.hpp"
#include "export/qdq_builder.hpp"
#include "export/ranges_json.hpp"
#include "quantize/accuracy.hpp"
#include "quantize/noise_rule.hpp"
#include "quantize/saturation.hpp"

namespace qcal::quantize {
namespace {

using Clock = std::chrono::steady_clock;

exporter::PlacementOptions placement_options(const CalibrateOptions& options) {
  exporter::PlacementOptions placement;
  placement.per_channel = options.per_channel;
  placement.exclude = options.exclude;
  placement.keep_output_layers_float = options.keep_output_layers_float;
  placement.fuse_residual_add = options.fuse_residual_add;
  return placement;
}

exporter::RangeRuleOptions range_rule_options(const CalibrateOptions& options) {
  exporter::RangeRuleOptions rules;
  rules.share_concat_scale = options.share_concat_scale;
  rules.keep_probability_range = options.keep_probability_range;
  return rules;
}

exporter::QdqBuilder make_builder(const ModelContext& model, const CalibrateOptions& options) {
  return exporter::QdqBuilder(model.bytes, model.graph, model.path.string(),
                              placement_options(options), options.activations,
                              range_rule_options(options));
}

CollectOptions collect_options(const CalibrateOptions& o) {
  CollectOptions c;
  c.num_samples = o.num_samples;
  c.threads = o.threads;
  c.num_bins = o.num_bins;
  c.ignore_nonfinite = o.ignore_nonfinite;
  // Histograms always (stats files re-select with any method; ratio in bench/), except for
  // minmax/ema without --save-stats: one pass fewer.
  c.histogram = calib::method_needs_histogram(o.select.method) || !o.save_stats.empty();
  c.derive_unions = o.derive_unions;
  c.kernel_scans = o.kernel_scans;
  c.data_recipe = o.data_recipe;
  c.shard = o.shard;
  return c;
}

// --data with --from-stats: the reduce of `--shard` statistics, with the data they were
// collected on (for the dominant-noise probes and evaluation); refused for other statistics,
// another data set or another sample count.
void check_reduce_data(const ModelContext& model, const preprocess::SampleData& data,
                       const CalibrateOptions& options, const calib::StatsSet& stats,
                       bool shard_set) {
  if (!shard_set) {
    throw_invalid(
        "--data and --from-stats exclude each other, except when the statistics are the files "
        "of a `calibrate --shard` run over that data (the reduce step)");
  }
  const auto& prov = stats.provenance();
  const std::string description = data_description(data, options.data_recipe);
  if (prov.data_description != description) {
    throw Error(ErrorCode::kInvalidArgument, "the --shard statistics were collected on " +
                                                 prov.data_description + ", not on this --data")
        .with("data", description);
  }
  const BatchPlan plan = plan_batches(*model.model, data, options.num_samples);
  const auto samples = static_cast<std::uint64_t>(plan.batches * plan.batch);
  if (prov.samples != samples) {
    throw Error(ErrorCode::kInvalidArgument,
                "the --shard statistics hold " + std::to_string(prov.samples) +
                    " samples, this --data and -n make " + std::to_string(samples))
        .with("data", description);
  }
}

// Statistics from the data (with --saturation's prefix snapshots) or merged from saved shards.
calib::StatsSet statistics(const ModelContext& model, preprocess::SampleData* data,
                           const CalibrateOptions& options, const exporter::QdqBuilder& builder,
                           const ProgressFn& progress, StatsPrefixes& prefixes,
                           CalibrateReport& report) {
  if (options.accuracy.saturation && !options.from_stats.empty()) {
    throw_invalid("--saturation needs the calibration data (--data), not --from-stats");
  }
  if (!options.from_stats.empty()) {
    bool shard_set = false;
    auto merged =
        merge_stats_files(options.from_stats, model.fingerprint, model.path.string(), &shard_set);
    if (data) check_reduce_data(model, *data, options, merged, shard_set);
    return merged;
  }
  if (!data) throw_invalid("calibrate needs data (--data) or statistics (--from-stats)");
  BatchHook on_batch;
  if (options.accuracy.saturation) {
    if (data->streamed()) {
      throw_invalid("--saturation needs data of known size (an array or files), not a stream");
    }
    std::int64_t total = data->size();
    if (options.num_samples > 0) total = std::min(total, options.num_samples);
    on_batch = saturation_snapshots(total, prefixes);
  }
  Collection c = collect_statistics(model.model, builder.planned_activations(), *data,
                                    collect_options(options), progress, on_batch);
  report.inference_seconds = c.inference_seconds;
  report.observe_seconds = c.observe_seconds;
  report.sample_fingerprints = std::move(c.sample_fingerprints);
  report.sample_files = std::move(c.sample_files);
  c.stats.provenance().model_fingerprint = model.fingerprint;
  return std::move(c.stats);
}

std::string ranges_json(const ModelContext& model, const CalibrateOptions& options,
                        const calib::StatsSet& stats, const exporter::QdqBuild& build,
                        const CalibrateReport& report) {
  exporter::RangesJsonInput rj;
  // The ranges are those of the equalized model when there is one: compilers take it with them.
  rj.model_path =
      report.equalized_model.empty() ? model.path.string() : report.equalized_model.string();
  rj.stats = &stats;
  rj.select = options.select;
  rj.ranges = &build.ranges;
  rj.uint8_activations = options.activations == exporter::ActivationType::kUInt8Asymmetric;
  rj.qdq_tensors = build.qdq_tensors;
  rj.float_nodes = build.plan.float_nodes;
  rj.rule_changes = &build.rule_changes;
  rj.dominant_noise = &report.dominant_noise_json;
  rj.algorithms = &report.algorithms_json;
  return exporter::format_ranges_json(rj);
}

// The cache encodes the QDQ model's decision: exactly the activations with a Q/DQ pair, so
// TensorRT's implicit mode runs the layers qcal keeps float in higher precision (no scale).
std::string trt_cache(const CalibrateOptions& options, const exporter::QdqBuild& build) {
  std::vector<exporter::TrtCacheEntry> entries;
  for (const auto& name : build.qdq_tensors) entries.push_back({name, build.ranges.at(name).amax});
  const auto algorithm = options.select.method == calib::Method::kMinMax
                             ? exporter::TrtAlgorithm::kMinMaxCalibration
                             : exporter::TrtAlgorithm::kEntropyCalibration2;
  return exporter::format_trt_cache(entries, algorithm, options.trt_version);
}

// Everything is in memory: each file is written under a temporary name, then all are renamed
// together (commit_together: a signal leaves either all new files or all previous ones).
void write_outputs(const StagedFiles& files) {
  std::vector<std::unique_ptr<AtomicFile>> staged;
  std::vector<AtomicFile*> all;
  for (const auto& [path, bytes] : files) {
    staged.push_back(std::make_unique<AtomicFile>(path));
    staged.back()->write(bytes);
    all.push_back(staged.back().get());
  }
  commit_together(all);
}

void record_build(const exporter::QdqBuild& build, CalibrateReport& report) {
  report.range_rule_changes = build.rule_changes.size();
  report.activation_pairs = build.qdq.activation_pairs;
  report.weights = build.qdq.weights;
  report.float_nodes = build.plan.float_nodes;
  // A range with nothing to measure (the tensor was all zeros, or entirely NaN/Inf and ignored
  // under --ignore-nonfinite) gets usable_amax's placeholder 1.0: say which, never silently.
  std::vector<std::string> placeholder;
  for (const auto& name : build.qdq_tensors) {
    const float amax = build.ranges.at(name).amax;
    if (!std::isfinite(amax) || !(amax > 0.0f)) placeholder.push_back(name);
  }
  if (placeholder.empty()) return;
  std::string names;
  for (std::size_t i = 0; i < placeholder.size() && i < 10; ++i) {
    names += (i ? ", " : "") + placeholder[i];
  }
  if (placeholder.size() > 10) names += ", ... (" + std::to_string(placeholder.size()) + " in all)";
  report.warnings.push_back(std::to_string(placeholder.size()) +
                            " quantized tensor(s) had no finite non-zero value in the calibration "
                            "data (all zeros, or all NaN/Inf): they get the placeholder range "
                            "amax 1.0: " +
                            names);
}

// Bias correction on the default build: the corrected float model becomes the one Q/DQ goes
// into (the FP32 reference stays `model`). Later builds (mixed precision) keep the corrections.
ModelContext bias_corrected_context(const ModelContext& model, preprocess::SampleData* data,
                                    const CalibrateOptions& options,
                                    const exporter::QdqBuild& build, CalibrateReport& report) {
  if (!data)
    throw_invalid("--bias-correction needs the calibration data (--data), not --from-stats");
  const BiasCorrection bc = correct_biases(model, build, *data, options.num_samples,
                                           options.bias_correction, options.threads);
  report.algorithms_json["bias_correction"] = bias_correction_json(bc);
  report.bias_corrected_layers = bc.layers.size();
  report.bias_correction_seconds = bc.seconds;
  return derive_context(model, bc.model_bytes);
}

// The model calibrated: the user's, or with --equalize the equalized one (its own fingerprint,
// so saved statistics of one never merge into a run of the other), written beside the QDQ model.
ModelContext equalized_context(const ModelContext& model, const CalibrateOptions& options,
                               CalibrateReport& report, StagedFiles& files) {
  const Equalization eq =
      equalize_model(model.bytes, model.graph, model.path.string(), options.equalize);
  ModelContext equalized = derive_context(model, eq.model_bytes);
  equalized.fingerprint = calib::hex64(calib::fnv1a64(eq.model_bytes));
  report.algorithms_json["equalization"] = equalization_json(eq);
  report.equalized_pairs = eq.pairs.size();
  report.equalized_model = options.out_dir / (model.path.stem().string() + ".equalized.onnx");
  files.emplace_back(report.equalized_model, eq.model_bytes);
  return equalized;
}

// The map step: this shard's statistics into options.save_stats, nothing else.
void check_shard_options(const CalibrateOptions& options, const preprocess::SampleData* data) {
  if (options.save_stats.empty()) {
    throw_invalid("--shard collects one block of the statistics: give --save-stats FILE");
  }
  if (!data || !options.from_stats.empty()) {
    throw_invalid("--shard needs --data (the reduce step is --from-stats of every shard's file)");
  }
  const AccuracyOptions& a = options.accuracy;
  if (a.sensitivity || a.max_drop || a.saturation) {
    throw_invalid(
        "--shard only collects statistics: give --sensitivity and --max-drop to the reduce step "
        "(--from-stats ... --data); --saturation needs one run over the data");
  }
}

CalibrateReport collect_shard(const ModelContext& model, preprocess::SampleData* data,
                              const CalibrateOptions& options, CalibrateReport report,
                              const ProgressFn& progress) {
  check_shard_options(options, data);
  const exporter::QdqBuilder builder = make_builder(model, options);
  Collection c = collect_statistics(model.model, builder.planned_activations(), *data,
                                    collect_options(options), progress);
  c.stats.provenance().model_fingerprint = model.fingerprint;
  report.inference_seconds = c.inference_seconds;
  report.observe_seconds = c.observe_seconds;
  report.samples = static_cast<std::int64_t>(c.stats.provenance().samples);
  report.tensors = c.stats.tensors().size();
  report.stats = options.save_stats;
  write_file_atomic(report.stats, c.stats.serialize());
  return report;
}

}  // namespace

std::vector<std::string> quantized_activations(const ModelContext& model,
                                               const CalibrateOptions& options) {
  return make_builder(model, options).planned_activations();
}

CalibrateReport calibrate(const ModelContext& user_model, preprocess::SampleData* data,
                          const CalibrateOptions& options, const std::string& command,
                          const ProgressFn& progress) {
  const auto start = Clock::now();
  calib::validate(options.select);
  exporter::validate_trt_version(options.trt_version);
  validate(options.accuracy);
  validate(options.bias_correction);
  CalibrateReport report;
  report.model = user_model.path;
  report.options = options;
  report.command = command;
  report.warnings = user_model.warnings;
  StagedFiles files;
  std::optional<ModelContext> equalized;
  if (options.equalize.enabled) equalized = equalized_context(user_model, options, report, files);
  const ModelContext& model = equalized ? *equalized : user_model;
  // A map step collects on the model one run calibrates (the equalized one with --equalize).
  if (options.shard) return collect_shard(model, data, options, std::move(report), progress);
  exporter::QdqBuilder builder = make_builder(model, options);
  StatsPrefixes prefixes;
  const calib::StatsSet stats =
      statistics(model, data, options, builder, progress, prefixes, report);
  report.samples = static_cast<std::int64_t>(stats.provenance().samples);
  report.tensors = stats.tensors().size();

  // The method's ranges; the builder applies the range rules for each candidate plan.
  const auto raw_ranges = calib::select_ranges(stats.tensors(), options.select, options.threads);
  exporter::QdqBuild default_build = builder.build({}, stats.tensors(), raw_ranges);
  // Rule 1c: an activation whose rounding alone makes most of the output noise stays float (its
  // consumers, as --exclude would). Every later build (mixed precision) starts from it.
  if (options.dominant_noise.enabled && !default_build.qdq_tensors.empty() &&
      apply_dominant_noise_rule(model, options, data, default_build, builder, report)) {
    default_build = builder.build({}, stats.tensors(), raw_ranges);
  }
  std::optional<ModelContext> corrected;
  std::optional<exporter::QdqBuilder> corrected_builder;
  if (options.bias_correction.enabled && !default_build.qdq_tensors.empty()) {
    corrected = bias_corrected_context(model, data, options, default_build, report);
    corrected_builder.emplace(make_builder(*corrected, options));
    corrected_builder->keep_float(builder.kept_float());
    default_build = corrected_builder->build({}, stats.tensors(), raw_ranges);
  }
  const exporter::QdqBuilder& final_builder = corrected_builder ? *corrected_builder : builder;
  report.warnings.insert(report.warnings.end(), default_build.warnings.begin(),
                         default_build.warnings.end());

  if (options.accuracy.saturation) prefixes.emplace_back(report.samples, stats);
  AccuracyInputs acc_in{&model,      &options,       &final_builder, &stats,
                        &raw_ranges, &default_build, &prefixes,      &report};
  AccuracyOutputs acc = run_accuracy(acc_in);
  const exporter::QdqBuild& final_build = acc.final_build ? *acc.final_build : default_build;
  record_build(final_build, report);

  create_output_dir(options.out_dir);
  if (!options.save_stats.empty()) create_output_dir(options.save_stats.parent_path());
  report.qdq_model = options.out_dir / (model.path.stem().string() + ".qdq.onnx");
  report.cache = options.out_dir / "calibration.cache";
  report.ranges = options.out_dir / "ranges.json";
  files.insert(files.end(),
               {{report.qdq_model, final_build.qdq.model_bytes},
                {report.cache, trt_cache(options, final_build)},
                {report.ranges, ranges_json(model, options, stats, final_build, report)}});
  if (!options.save_stats.empty()) {
    report.stats = options.save_stats;
    files.emplace_back(report.stats, stats.serialize());
  }
  const auto samples_file = options.out_dir / eval::kCalibrationSamplesName;
  if (!report.sample_fingerprints.empty()) {
    report.calibration_samples = samples_file;
    files.emplace_back(samples_file, eval::format_calibration_samples(
                                         stats.provenance().data_description,
                                         report.sample_fingerprints, report.sample_files));
  } else {
    std::filesystem::remove(samples_file);  // a previous run's list would describe other data
  }
  files.insert(files.end(), acc.files.begin(), acc.files.end());
  write_outputs(files);
  report.total_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

std::string summary_json(const CalibrateReport& report) {
  nlohmann::json j;
  j["model"] = report.model.string();
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
  j["method"] = std::string(calib::method_name(report.options.select.method));
  j["command"] = report.command;
  j["report"] = report.report_html.string();
  if (!report.sensitivity_json.empty()) j["sensitivity"] = report.sensitivity_json.string();
  if (!report.mixed_precision_json.empty()) {
    j["mixed_precision_json"] = report.mixed_precision_json.string();
    j["exclude_list"] = report.exclude_list.string();
  }
  if (!report.saturation_json.empty()) j["saturation_json"] = report.saturation_json.string();
  if (!report.accuracy_json.is_null()) j["accuracy"] = report.accuracy_json;
  if (!report.equalized_model.empty()) {
    j["equalized_model"] = report.equalized_model.string();
    j["equalized_pairs"] = report.equalized_pairs;
  }
  if (report.bias_corrected_layers > 0) {
    j["bias_corrected_layers"] = report.bias_corrected_layers;
    j["bias_correction_seconds"] = report.bias_correction_seconds;
  }
  return j.dump(2);
}

}  // namespace qcal::quantize
