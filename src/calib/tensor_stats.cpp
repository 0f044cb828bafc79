// TensorStats: streaming observation (min/max scan, non-finite check, |x| histogram), merging.
#include "calib/tensor_stats.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace qcal::calib {
namespace {

// Below this many elements a tensor is processed by one thread (starting the parallel region
// costs more than it saves): min/max runs at ~0.05 ns per value, binning at ~0.5.
constexpr std::size_t kParallelMinElements = std::size_t{1} << 16;
constexpr std::size_t kParallelMinElementsHist = std::size_t{1} << 14;

float canonical_zero(float v) { return v == 0.0f ? 0.0f : v; }

// Scans finite values only (for --ignore-nonfinite), counting the others.
MinMaxScan scan_finite_only(std::span<const float> values, std::uint64_t& nonfinite) {
  MinMaxScan r;
  bool any = false;
  for (float v : values) {
    if (!std::isfinite(v)) {
      ++nonfinite;
      continue;
    }
    if (!any) {
      r.min = r.max = v;
      any = true;
    } else {
      r.min = std::min(r.min, v);
      r.max = std::max(r.max, v);
    }
  }
  r.min = canonical_zero(r.min);
  r.max = canonical_zero(r.max);
  return r;
}

std::int64_t first_nonfinite(std::span<const float> values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) return static_cast<std::int64_t>(i);
  }
  return -1;
}

}  // namespace

namespace {

// One chunk's share of an observation.
struct ChunkResult {
  MinMaxScan scan;
  std::optional<AbsHistogram> hist;  // only when collecting histograms
};

// Values per block in scan_chunk: 32 KiB, so the block is still in L1/L2 when it is binned
// right after its min/max scan.
constexpr std::size_t kBlock = 8192;

// Min/max/finiteness of a chunk and, when r.hist is set, its |x| histogram in the same pass:
// each block is scanned, the histogram grows to cover the block's absmax (exact, see
// AbsHistogram) and the block is binned. Stops binning at the first non-finite block (the
// caller then discards the histogram).
void scan_chunk(std::span<const float> values, ChunkResult& r) {
  if (!r.hist) {
    r.scan = scan_min_max(values);
    return;
  }
  AbsBinner binner(*r.hist);
  bool first = true;
  for (std::size_t i = 0; i < values.size(); i += kBlock) {
    const auto block = values.subspan(i, std::min(kBlock, values.size() - i));
    const MinMaxScan s = scan_min_max(block);
    if (!s.all_finite) {
      r.scan.all_finite = false;
      return;
    }
    if (first) {
      r.scan.min = s.min;
      r.scan.max = s.max;
      first = false;
    } else {
      r.scan.min = std::min(r.scan.min, s.min);
      r.scan.max = std::max(r.scan.max, s.max);
    }
    binner.add(block, std::max(-s.min, s.max));
  }
}

}  // namespace

TensorStats::TensorStats(const CollectOptions& options) : options_(options) {
  if (options_.histogram) histogram_.emplace(options_.num_bins);
}

void TensorStats::observe(const std::string& tensor_name, const TensorView& view,
                          std::int64_t sample, const MinMaxScan* known) {
  if (view.dtype != DType::kFloat32) {
    Error e(ErrorCode::kUnsupported, "calibration observes float32 tensors only, got " +
                                         std::string(dtype_name(view.dtype)));
    e.with("tensor", tensor_name);
    throw e;
  }
  const std::span<const float> values = view.values<float>();
  last_sample_ = sample;
  last_present_ = false;
  last_count_ = 0;
  last_nonfinite_ = 0;
  if (values.empty()) return;
  const bool want_hist = histogram_.has_value();
  if (known && known->all_finite && !want_hist) {
    // Exactly what the scan below would find (the same values' min/max, zeros as +0); a batch
    // with NaN/Inf is read below for its error or its finite-only range.
    add_batch(known->min, known->max, values.size());
    return;
  }
  int threads = options_.threads > 0 ? options_.threads : omp_get_max_threads();
  // Splitting pays off sooner when every value is binned (~10x the cost of min/max).
  const std::size_t min_parallel = want_hist ? kParallelMinElementsHist : kParallelMinElements;
  if (values.size() < min_parallel) threads = 1;
  const std::size_t chunks = static_cast<std::size_t>(std::max(1, threads));
  const std::size_t step = (values.size() + chunks - 1) / chunks;

  // One pass per chunk: min, max, finiteness and, when collecting, the chunk's |x| histogram
  // (binned block by block while the block is in cache; see scan_chunk). Chunk results combine
  // exactly: min/max are order-free and histogram counts are integers merged in chunk order,
  // so the thread count cannot change the answer.
  std::vector<ChunkResult> parts(chunks);
  if (want_hist) {
    for (auto& p : parts) p.hist.emplace(histogram_->num_bins());
  }
  if (chunks == 1) {
    scan_chunk(values, parts[0]);
  } else {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::size_t c = 0; c < chunks; ++c) {
      const std::size_t begin = std::min(values.size(), c * step);
      const std::size_t end = std::min(values.size(), begin + step);
      scan_chunk(values.subspan(begin, end - begin), parts[c]);
    }
  }
  MinMaxScan scan;
  bool first = true;
  for (std::size_t c = 0; c < chunks; ++c) {
    // An empty tail chunk reports 0/0; skipping it keeps it from widening the range.
    if (std::min(values.size(), c * step) >= values.size()) continue;
    scan.all_finite = scan.all_finite && parts[c].scan.all_finite;
    if (first) {
      scan.min = parts[c].scan.min;
      scan.max = parts[c].scan.max;
      first = false;
    } else {
      scan.min = std::min(scan.min, parts[c].scan.min);
      scan.max = std::max(scan.max, parts[c].scan.max);
    }
  }

  std::uint64_t skipped = 0;
  if (!scan.all_finite) {
    // The chunk histograms stop at the first non-finite block; they are dropped here.
    if (!options_.ignore_nonfinite) {
      const std::int64_t at = first_nonfinite(values);
      const float bad = values[static_cast<std::size_t>(at)];
      Error e(ErrorCode::kNumeric, std::string("activation contains ") +
                                       (std::isnan(bad) ? "NaN" : "Inf") +
                                       " (pass --ignore-nonfinite to skip such values)");
      e.with("tensor", tensor_name)
          .with("sample", std::to_string(sample))
          .with("element", std::to_string(at));
      throw e;
    }
    scan = scan_finite_only(values, skipped);
    nonfinite_ += skipped;
    last_nonfinite_ = skipped;
    if (skipped == values.size()) return;  // nothing finite in this batch
  }

  add_batch(scan.min, scan.max, values.size() - skipped);

  if (!histogram_) return;
  AbsHistogram& hist = *histogram_;
  if (skipped != 0) {
    hist.cover(std::max(-scan.min, scan.max));
    std::vector<float> finite;
    finite.reserve(values.size() - skipped);
    for (float v : values) {
      if (std::isfinite(v)) finite.push_back(v);
    }
    hist.add_values(finite);
    return;
  }
  // Merging grows hist to the largest chunk range, which is the range covering the batch's
  // absmax: the same counts as binning the whole batch at that range.
  for (const auto& p : parts) hist.merge(*p.hist);
}

void TensorStats::observe_union(const std::string& tensor_name,
                                std::span<const TensorStats* const> parts, std::int64_t sample) {
  bool present = false;
  float lo = 0.0f, hi = 0.0f;
  std::uint64_t count = 0, nonfinite = 0;
  for (const TensorStats* p : parts) {
    if (p->last_sample_ != sample) {
      Error e(
          ErrorCode::kInternal,
          "a tensor's statistics are derived from a tensor that was not observed in this batch");
      e.with("tensor", tensor_name).with("sample", std::to_string(sample));
      throw e;
    }
    count += p->last_count_;
    nonfinite += p->last_nonfinite_;
    if (!p->last_present_) continue;
    lo = present ? std::min(lo, p->last_min_) : p->last_min_;
    hi = present ? std::max(hi, p->last_max_) : p->last_max_;
    present = true;
  }
  last_sample_ = sample;
  last_present_ = present;
  last_count_ = count;
  last_nonfinite_ = nonfinite;
  nonfinite_ += nonfinite;
  if (present) add_batch(lo, hi, count);  // the updates observe() makes for such a batch
}

void TensorStats::add_batch(float lo, float hi, std::uint64_t count) {
  if (count_ == 0) {
    min_ = lo;
    max_ = hi;
  } else {
    min_ = std::min(min_, lo);
    max_ = std::max(max_, hi);
  }
  count_ += count;
  batch_mins_.push_back(lo);
  batch_maxs_.push_back(hi);
  last_present_ = true;
  last_min_ = lo;
  last_max_ = hi;
  last_count_ = count;
}

void TensorStats::union_histogram(std::span<const TensorStats* const> parts) {
  if (!histogram_) return;
  AbsHistogram merged(histogram_->num_bins());
  for (const TensorStats* p : parts) {
    if (p->histogram_) merged.merge(*p->histogram_);
  }
  *histogram_ = std::move(merged);
}

void TensorStats::merge(const TensorStats& other) {
  if (other.count_ != 0) {
    if (count_ == 0) {
      min_ = other.min_;
      max_ = other.max_;
    } else {
      min_ = std::min(min_, other.min_);
      max_ = std::max(max_, other.max_);
    }
  }
  count_ += other.count_;
  nonfinite_ += other.nonfinite_;
  batch_mins_.insert(batch_mins_.end(), other.batch_mins_.begin(), other.batch_mins_.end());
  batch_maxs_.insert(batch_maxs_.end(), other.batch_maxs_.begin(), other.batch_maxs_.end());
  if (histogram_ && other.histogram_) {
    histogram_->merge(*other.histogram_);
  } else if (histogram_ && !other.histogram_ && other.count_ != 0) {
    histogram_.reset();  // a shard without a histogram leaves the merged histogram incomplete
  }
}

TensorStats TensorStats::from_state(std::uint64_t count, std::uint64_t nonfinite, float min,
                                    float max, std::vector<float> batch_mins,
                                    std::vector<float> batch_maxs,
                                    std::optional<AbsHistogram> histogram) {
  if (batch_mins.size() != batch_maxs.size())
    throw_format("batch min/max sequences differ in length");
  if (!std::isfinite(min) || !std::isfinite(max) || min > max) {
    throw_format("tensor statistics have an invalid range");
  }
  CollectOptions options;
  options.histogram = false;
  TensorStats s(options);
  s.options_.histogram = histogram.has_value();
  if (histogram) s.options_.num_bins = histogram->num_bins();
  s.count_ = count;
  s.nonfinite_ = nonfinite;
  s.min_ = min;
  s.max_ = max;
  s.batch_mins_ = std::move(batch_mins);
  s.batch_maxs_ = std::move(batch_maxs);
  s.histogram_ = std::move(histogram);
  return s;
}

}  // namespace qcal::calib
