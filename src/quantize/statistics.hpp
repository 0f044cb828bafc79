// Statistics collection: every calibration sample through a Session whose observer feeds the
// collectors (min/max from the kernels where they can report it, histograms otherwise), tensors
// derivable from others combined instead of read; or saved statistics merged.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "calib/stats_file.hpp"
#include "calib/tensor_stats.hpp"
#include "core/shard.hpp"
#include "engine/model.hpp"
#include "preprocess/sample_data.hpp"

namespace qcal::quantize {

struct CollectOptions {
  std::int64_t num_samples = 0;  // 0: all
  int threads = 1;
  int num_bins = calib::kDefaultNumBins;
  bool ignore_nonfinite = false;
  bool histogram = true;  // false: min/max only (minmax/ema without --save-stats)
  // Statistics of Concat/Reshape-like outputs combined from their inputs' (DerivedTensor)
  // instead of read; identical results. Off only for tests that compare the two.
  bool derive_unions = true;
  // Min/max the engine's kernels computed while writing (or reading) a tensor replace reading it
  // (engine::MinMaxObserver); identical results. Off only for tests that compare the two.
  bool kernel_scans = true;
  std::string data_recipe;  // what preprocessing produced tensor data (provenance)
  // A map step: only this shard's block of the batches (batch boundaries, in sample order), so
  // the shards' statistics merged in index order are one run's (EMA sequences included).
  std::optional<Shard> shard;
};

using ProgressFn = std::function<void(std::int64_t done, std::int64_t total)>;
// Called after every batch with the samples seen so far and the statistics of that prefix
// (--saturation snapshots prefixes this way, without re-running the model).
using BatchHook = std::function<void(std::int64_t samples, const calib::StatsSet& stats)>;

struct Collection {
  calib::StatsSet stats;
  // Per sample, in order: eval::sample_fingerprint of its input row, and (image data) its file
  // as eval::normal_path writes it; calibration_samples.json lists them.
  std::vector<std::string> sample_fingerprints, sample_files;
  double inference_seconds = 0;  // inside Session::run, excluding observation
  double observe_seconds = 0;    // in the collectors
};

// The samples the model runs on: batches of the model's batch size (1 when dynamic) from the
// first `num_samples` (0: all). Throws naming the data when there is not one batch.
struct BatchPlan {
  std::int64_t batch = 1;
  std::int64_t batches = 0;
};
BatchPlan plan_batches(const engine::Model& model, const preprocess::SampleData& data,
                       std::int64_t num_samples);

// Runs every batch through a Session observing `required` plus the graph's post-fusion float
// tensors. The model must have one input, batched ([batch, row...]).
Collection collect_statistics(std::shared_ptr<const engine::Model> model,
                              const std::vector<std::string>& required,
                              preprocess::SampleData& data, const CollectOptions& options,
                              const ProgressFn& progress = {}, const BatchHook& on_batch = {});

// The data fingerprint of samples with these digests (XXH3-64 of each sample's bytes): the
// XXH3-64 of the digests as little-endian 64-bit words, 16 hex digits. A run and the shards of
// a run merged give the same fingerprint.
std::string data_fingerprint(const std::vector<std::uint64_t>& sample_digests);

// The provenance description of this data (the same string collect_statistics records).
std::string data_description(const preprocess::SampleData& data, const std::string& data_recipe);

// Saved statistics merged; each must come from the model with this fingerprint
// (kInvalidArgument naming the file otherwise). Files of `calibrate --shard` runs must be one
// complete set (every index of one count once, same data); they are merged in shard order
// whatever order they are given in, and the result is one run's statistics, fingerprint
// included (`shard_set` is set to true). Other files merge in the order given, keeping one
// fingerprint each.
calib::StatsSet merge_stats_files(const std::vector<std::filesystem::path>& files,
                                  const std::string& model_fingerprint, const std::string& model,
                                  bool* shard_set = nullptr);

}  // namespace qcal::quantize
