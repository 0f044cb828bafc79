// TensorStats: streaming observation (min/max scan, non-finite check, |x| histogram), merging.
#include "calib/tensor_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/error.hpp"

namespace qcal::calib {
namespace {

// Below this many elements a tensor is processed by one thread (thread start-up dominates).
constexpr std::size_t kParallelMinElements = std::size_t{1} << 18;

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

MinMaxScan scan_min_max(std::span<const float> values) {
  MinMaxScan r;
  if (values.empty()) return r;
  const float* data = values.data();
  const std::size_t n = values.size();
  std::size_t i = 0;
  float lo = data[0], hi = data[0];
  bool finite = true;
#if defined(__SSE2__)
  // minps/maxps, four vectors in flight; x * 0 is NaN exactly when x is NaN or Inf, so one
  // extra accumulator detects non-finite data. (The compiler does not vectorise the scalar
  // min/max without -ffinite-math-only, which IEEE NaN handling forbids here.)
  if (n >= 16) {
    __m128 vlo[4], vhi[4], poison[4];
    const __m128 zero = _mm_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      vlo[k] = vhi[k] = _mm_set1_ps(data[0]);
      poison[k] = zero;
    }
    for (; i + 16 <= n; i += 16) {
      for (int k = 0; k < 4; ++k) {
        const __m128 v = _mm_loadu_ps(data + i + 4 * k);
        vlo[k] = _mm_min_ps(vlo[k], v);
        vhi[k] = _mm_max_ps(vhi[k], v);
        poison[k] = _mm_add_ps(poison[k], _mm_mul_ps(v, zero));
      }
    }
    float buf_lo[16], buf_hi[16], buf_p[16];
    for (int k = 0; k < 4; ++k) {
      _mm_storeu_ps(buf_lo + 4 * k, vlo[k]);
      _mm_storeu_ps(buf_hi + 4 * k, vhi[k]);
      _mm_storeu_ps(buf_p + 4 * k, poison[k]);
    }
    for (int k = 0; k < 16; ++k) {
      lo = std::min(lo, buf_lo[k]);
      hi = std::max(hi, buf_hi[k]);
      finite = finite && buf_p[k] == 0.0f;
    }
  }
#endif
  float poison_tail = 0.0f;
  for (; i < n; ++i) {
    const float v = data[i];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    poison_tail += v * 0.0f;
  }
  r.all_finite = finite && poison_tail == 0.0f && std::isfinite(data[0]);
  r.min = canonical_zero(lo);
  r.max = canonical_zero(hi);
  return r;
}

TensorStats::TensorStats(const CollectOptions& options) : options_(options) {
  if (options_.histogram) histogram_.emplace(options_.num_bins);
}

void TensorStats::observe(const std::string& tensor_name, const TensorView& view,
                          std::int64_t sample) {
  if (view.dtype != DType::kFloat32) {
    Error e(ErrorCode::kUnsupported, "calibration observes float32 tensors only, got " +
                                         std::string(dtype_name(view.dtype)));
    e.with("tensor", tensor_name);
    throw e;
  }
  const std::span<const float> values = view.values<float>();
  if (values.empty()) return;
  const int threads = std::max(1, options_.threads);
  const bool parallel = threads > 1 && values.size() >= kParallelMinElements;

  // Pass 1: min, max, finiteness. Chunk results combine with min/max, which is exact and
  // order-independent, so the thread count cannot change the answer.
  MinMaxScan scan;
  if (parallel) {
    const std::size_t chunks = static_cast<std::size_t>(threads);
    std::vector<MinMaxScan> parts(chunks);
    const std::size_t step = (values.size() + chunks - 1) / chunks;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::size_t c = 0; c < chunks; ++c) {
      const std::size_t begin = std::min(values.size(), c * step);
      const std::size_t end = std::min(values.size(), begin + step);
      parts[c] = scan_min_max(values.subspan(begin, end - begin));
    }
    bool first = true;
    for (std::size_t c = 0; c < chunks; ++c) {
      // An empty tail chunk reports 0/0; skipping it keeps it from widening the range.
      if (std::min(values.size(), c * step) >= values.size()) continue;
      scan.all_finite = scan.all_finite && parts[c].all_finite;
      if (first) {
        scan.min = parts[c].min;
        scan.max = parts[c].max;
        first = false;
      } else {
        scan.min = std::min(scan.min, parts[c].min);
        scan.max = std::max(scan.max, parts[c].max);
      }
    }
  } else {
    scan = scan_min_max(values);
  }

  std::uint64_t skipped = 0;
  if (!scan.all_finite) {
    if (!options_.ignore_nonfinite) {
      const std::int64_t at = first_nonfinite(values);
      const float bad = values[static_cast<std::size_t>(at)];
      Error e(ErrorCode::kNumeric,
              std::string("activation contains ") + (std::isnan(bad) ? "NaN" : "Inf") +
                  " (pass --ignore-nonfinite to skip such values)");
      e.with("tensor", tensor_name)
          .with("sample", std::to_string(sample))
          .with("element", std::to_string(at));
      throw e;
    }
    scan = scan_finite_only(values, skipped);
    nonfinite_ += skipped;
    if (skipped == values.size()) return;  // nothing finite in this batch
  }

  if (count_ == 0) {
    min_ = scan.min;
    max_ = scan.max;
  } else {
    min_ = std::min(min_, scan.min);
    max_ = std::max(max_, scan.max);
  }
  count_ += values.size() - skipped;
  batch_mins_.push_back(scan.min);
  batch_maxs_.push_back(scan.max);

  if (!histogram_) return;
  AbsHistogram& hist = *histogram_;
  hist.cover(std::max(-scan.min, scan.max));
  if (skipped != 0) {
    std::vector<float> finite;
    finite.reserve(values.size() - skipped);
    for (float v : values) {
      if (std::isfinite(v)) finite.push_back(v);
    }
    hist.add_values(finite);
    return;
  }
  if (!parallel) {
    hist.add_values(values);
    return;
  }
  // Per-chunk histograms share the range, so their integer counts add exactly.
  const std::size_t chunks = static_cast<std::size_t>(threads);
  const std::size_t step = (values.size() + chunks - 1) / chunks;
  std::vector<AbsHistogram> parts;
  parts.reserve(chunks);
  for (std::size_t c = 0; c < chunks; ++c) {
    parts.push_back(AbsHistogram::from_state(hist.has_range(), hist.range_exponent(),
                                             std::vector<std::uint64_t>(hist.counts().size())));
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::size_t c = 0; c < chunks; ++c) {
    const std::size_t begin = std::min(values.size(), c * step);
    const std::size_t end = std::min(values.size(), begin + step);
    parts[c].add_values(values.subspan(begin, end - begin));
  }
  for (const auto& p : parts) hist.merge(p);
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
  if (batch_mins.size() != batch_maxs.size()) throw_format("batch min/max sequences differ in length");
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
