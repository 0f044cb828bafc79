// A calibration run's statistics for every observed tensor, what they were gathered on, and the
// versioned binary stats file (.qcs) that lets shards be merged and ranges re-selected later.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "calib/tensor_stats.hpp"

namespace qcal::calib {

// 64-bit FNV-1a, printed as 16 hex digits: the model fingerprint (not cryptographic; it detects
// mix-ups, not tampering). Data fingerprints are XXH3-64 (calibrate.cpp), which is ~10x faster.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed = 0xcbf29ce484222325ULL);
std::string hex64(std::uint64_t value);

// What the statistics were collected on.
struct StatsProvenance {
  std::string model_fingerprint;               // fingerprint of the ONNX file's bytes
  std::uint64_t samples = 0;                   // samples observed (all shards)
  std::vector<std::string> data_fingerprints;  // one per shard, in merge order
  std::string data_description;                // e.g. the data path(s) or recipe name
  bool synthetic = false;                      // any shard used generated data
  // XXH3-64 of each sample's bytes, in sample order (version 2 files): a run's data
  // fingerprint is computed from these (quantize/statistics.hpp), so shards of one run merged
  // give the fingerprint of the whole run.
  std::vector<std::uint64_t> sample_digests;
  // A `calibrate --shard I/N` map step's statistics: shard_index of shard_count (0: not a shard).
  std::uint32_t shard_index = 0;
  std::uint32_t shard_count = 0;
};

class StatsSet {
 public:
  explicit StatsSet(CollectOptions options = {});

  const CollectOptions& options() const { return options_; }
  StatsProvenance& provenance() { return provenance_; }
  const StatsProvenance& provenance() const { return provenance_; }

  // Registers a tensor up front; observe() of a registered tensor inserts nothing, so different
  // registered tensors may be observed from different threads. observe() of an unregistered
  // tensor registers it (single-threaded use).
  void add_tensor(const std::string& name);
  bool has_tensor(const std::string& name) const { return tensors_.count(name) != 0; }
  // `known`: the view's min/max scan when the caller has it (TensorStats::observe).
  void observe(const std::string& name, const TensorView& view, std::int64_t sample,
               const MinMaxScan* known = nullptr);
  // `name` holds exactly the values of the `parts` tensors together (TensorStats::observe_union):
  // after each batch, observe_union(); before the statistics are read, union_histogram(). Parts
  // never observed (not float32) leave `name` out, as observing it would; some observed and
  // some not is a kInternal error.
  void observe_union(const std::string& name, const std::vector<std::string>& parts,
                     std::int64_t sample);
  void union_histogram(const std::string& name, const std::vector<std::string>& parts);
  // Appends another shard: same model fingerprint, bin count and tensor set are required.
  // Fingerprints and sample digests are concatenated; shard index/count are left as they are.
  void merge(const StatsSet& other);

  // Tensors in byte-wise name order (std::map), so writers emit a stable order.
  const std::map<std::string, TensorStats>& tensors() const { return tensors_; }
  const TensorStats& at(const std::string& name) const;

  // Stats file: "QCALSTAT" magic, format version, provenance, per-tensor state, CRC-32.
  void save(const std::filesystem::path& path) const;  // atomic
  static StatsSet load(const std::filesystem::path& path);
  std::string serialize() const;
  static StatsSet deserialize(std::string_view bytes, const std::string& what);

 private:
  CollectOptions options_;
  StatsProvenance provenance_;
  std::map<std::string, TensorStats> tensors_;
};

// Version 2 added the sample digests and the shard index/count; version 1 files still load.
inline constexpr std::uint32_t kStatsFormatVersion = 2;

}  // namespace qcal::calib
