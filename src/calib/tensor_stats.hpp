// Per-tensor activation statistics gathered in one streaming pass: running min/max, the
// per-batch min/max sequence (for EMA), non-finite counts and a histogram of |x|.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "calib/abs_histogram.hpp"
#include "core/minmax_scan.hpp"
#include "core/tensor.hpp"

namespace qcal::calib {

struct CollectOptions {
  bool histogram = true;  // off for minmax/ema runs that do not save stats (saves one pass)
  int num_bins = kDefaultNumBins;
  bool ignore_nonfinite = false;  // false: NaN/Inf stop the run with kNumeric
  int threads = 1;  // for large tensors (0: OpenMP's current count); results do not depend on it
};

// Everything the range selectors need for one tensor. All state merges exactly:
// counts add, min/max combine, batch sequences concatenate, histograms merge (see
// AbsHistogram), so shard-then-merge equals one run over all the data.
//
// EMA keeps the per-batch min/max sequence (8 bytes per batch) instead of a running average:
// the average is then computed at selection time, with any momentum, and merging shards in
// order reproduces one sequential run bit for bit.
class TensorStats {
 public:
  explicit TensorStats(const CollectOptions& options = {});

  // Observes one batch of this tensor. `sample` is the index of the batch's first sample, for
  // error messages. Throws kNumeric naming tensor and sample on NaN/Inf unless ignored (then
  // the non-finite values are skipped and counted), kUnsupported for non-float32 data.
  // `known`, when given, is the view's scan computed by whoever wrote the values (the engine's
  // kernels, engine::MinMaxObserver): without a histogram and with all values finite it is used
  // instead of reading the view (the same statistics: min/max are order-free, zeros canonical);
  // otherwise the view is read as usual.
  void observe(const std::string& tensor_name, const TensorView& view, std::int64_t sample,
               const MinMaxScan* known = nullptr);
  void merge(const TensorStats& other);

  // A tensor whose values are exactly the values of `parts` together (the output of a Concat of
  // them, or of a Reshape/Transpose of one) gets the statistics a direct observation would give,
  // without reading its values: observe_union() after each batch the parts were observed in
  // (same `sample`) adds the batch's count, min/max and EMA entry; union_histogram() sets the
  // |x| histogram to the parts' merged histograms (exact: see AbsHistogram::merge), and is
  // idempotent, so it can be called at any batch boundary. A part repeated counts twice, as a
  // Concat of a tensor with itself does. Throws kInternal if a part missed the batch.
  void observe_union(const std::string& tensor_name, std::span<const TensorStats* const> parts,
                     std::int64_t sample);
  void union_histogram(std::span<const TensorStats* const> parts);

  std::uint64_t count() const { return count_; }          // finite values seen
  std::uint64_t nonfinite() const { return nonfinite_; }  // skipped NaN/Inf
  bool empty() const { return count_ == 0; }
  float min() const { return min_; }  // +0 when empty
  float max() const { return max_; }
  float absmax() const { return std::max(-min_, max_); }
  std::span<const float> batch_mins() const { return batch_mins_; }
  std::span<const float> batch_maxs() const { return batch_maxs_; }
  const std::optional<AbsHistogram>& histogram() const { return histogram_; }

  // For the stats file reader.
  static TensorStats from_state(std::uint64_t count, std::uint64_t nonfinite, float min, float max,
                                std::vector<float> batch_mins, std::vector<float> batch_maxs,
                                std::optional<AbsHistogram> histogram);

 private:
  // Folds one batch's finite min, max and value count into the running state.
  void add_batch(float lo, float hi, std::uint64_t count);

  CollectOptions options_;
  std::uint64_t count_ = 0;
  std::uint64_t nonfinite_ = 0;
  float min_ = 0.0f;
  float max_ = 0.0f;
  std::vector<float> batch_mins_;
  std::vector<float> batch_maxs_;
  std::optional<AbsHistogram> histogram_;
  // The latest observe(): which batch, and its share (for observe_union of a tensor built from
  // this one).
  std::int64_t last_sample_ = -1;
  bool last_present_ = false;  // false: the batch was empty or entirely non-finite
  float last_min_ = 0.0f;
  float last_max_ = 0.0f;
  std::uint64_t last_count_ = 0;
  std::uint64_t last_nonfinite_ = 0;
};

// The scan (core/minmax_scan.hpp), under the names calibration code and tests use.
using qcal::MinMaxScan;
using qcal::scan_min_max;

}  // namespace qcal::calib
