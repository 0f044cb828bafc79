// TensorStats: streaming observation (min/max scan, non-finite check, |x| histogram), merging.
#include "calib/tensor_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#if defined(__x86_64__) || defined(__SSE2__)
#include <immintrin.h>
#endif

#include <omp.h>

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

// Scalar min/max over [i, n) folded into lo/hi; `nan` records any NaN (comparisons with NaN are
// false, so NaN never enters lo/hi here). Infinities enter lo/hi and are detected from them.
void scan_tail(const float* data, std::size_t i, std::size_t n, float& lo, float& hi, bool& nan) {
  for (; i < n; ++i) {
    const float v = data[i];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    nan = nan || v != v;
  }
}

// The vector paths: min/max lanes plus an "unordered" (NaN) flag, several vectors in flight so
// the loop runs at load throughput. min/max are exact, so lane order and width cannot change the
// answer (zeros are canonicalised by the caller). The compiler does not vectorise the scalar
// min/max without -ffinite-math-only, which IEEE NaN handling forbids, hence intrinsics; the
// widest ISA the CPU has is picked at run time.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"))) std::size_t scan_avx512(const float* data, std::size_t n,
                                                            float& lo, float& hi, bool& nan) {
  std::size_t i = 0;
  if (n < 64) return 0;
  __m512 vlo[4], vhi[4];
  __mmask16 unord = 0;
  for (int k = 0; k < 4; ++k) vlo[k] = vhi[k] = _mm512_set1_ps(data[0]);
  for (; i + 64 <= n; i += 64) {
    for (int k = 0; k < 4; ++k) {
      const __m512 v = _mm512_loadu_ps(data + i + 16 * k);
      vlo[k] = _mm512_mask_min_ps(vlo[k], 0xFFFF, vlo[k], v);
      vhi[k] = _mm512_mask_max_ps(vhi[k], 0xFFFF, vhi[k], v);
      unord = static_cast<__mmask16>(unord | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q));
    }
  }
  // The masked forms with an all-ones mask: GCC 12's unmasked ones read an "undefined" vector
  // that -Wmaybe-uninitialized flags.
  alignas(64) float bl[64], bh[64];
  for (int k = 0; k < 4; ++k) {
    _mm512_store_ps(bl + 16 * k, vlo[k]);
    _mm512_store_ps(bh + 16 * k, vhi[k]);
  }
  for (int k = 0; k < 64; ++k) {
    lo = bl[k] < lo ? bl[k] : lo;
    hi = bh[k] > hi ? bh[k] : hi;
  }
  nan = nan || unord != 0;
  return i;
}

__attribute__((target("avx2"))) std::size_t scan_avx2(const float* data, std::size_t n, float& lo,
                                                       float& hi, bool& nan) {
  std::size_t i = 0;
  if (n < 32) return 0;
  __m256 vlo[4], vhi[4], unord[4];
  for (int k = 0; k < 4; ++k) {
    vlo[k] = vhi[k] = _mm256_set1_ps(data[0]);
    unord[k] = _mm256_setzero_ps();
  }
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      const __m256 v = _mm256_loadu_ps(data + i + 8 * k);
      vlo[k] = _mm256_min_ps(vlo[k], v);
      vhi[k] = _mm256_max_ps(vhi[k], v);
      unord[k] = _mm256_or_ps(unord[k], _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
  }
  const __m256 l = _mm256_min_ps(_mm256_min_ps(vlo[0], vlo[1]), _mm256_min_ps(vlo[2], vlo[3]));
  const __m256 h = _mm256_max_ps(_mm256_max_ps(vhi[0], vhi[1]), _mm256_max_ps(vhi[2], vhi[3]));
  const __m256 u = _mm256_or_ps(_mm256_or_ps(unord[0], unord[1]), _mm256_or_ps(unord[2], unord[3]));
  alignas(32) float bl[8], bh[8];
  _mm256_store_ps(bl, l);
  _mm256_store_ps(bh, h);
  for (int k = 0; k < 8; ++k) {
    lo = bl[k] < lo ? bl[k] : lo;
    hi = bh[k] > hi ? bh[k] : hi;
  }
  nan = nan || _mm256_movemask_ps(u) != 0;
  return i;
}
#endif

#if defined(__SSE2__)
std::size_t scan_sse2(const float* data, std::size_t n, float& lo, float& hi, bool& nan) {
  std::size_t i = 0;
  if (n < 16) return 0;
  __m128 vlo[4], vhi[4], unord[4];
  for (int k = 0; k < 4; ++k) {
    vlo[k] = vhi[k] = _mm_set1_ps(data[0]);
    unord[k] = _mm_setzero_ps();
  }
  for (; i + 16 <= n; i += 16) {
    for (int k = 0; k < 4; ++k) {
      const __m128 v = _mm_loadu_ps(data + i + 4 * k);
      vlo[k] = _mm_min_ps(vlo[k], v);
      vhi[k] = _mm_max_ps(vhi[k], v);
      unord[k] = _mm_or_ps(unord[k], _mm_cmpunord_ps(v, v));
    }
  }
  const __m128 l = _mm_min_ps(_mm_min_ps(vlo[0], vlo[1]), _mm_min_ps(vlo[2], vlo[3]));
  const __m128 h = _mm_max_ps(_mm_max_ps(vhi[0], vhi[1]), _mm_max_ps(vhi[2], vhi[3]));
  const __m128 u = _mm_or_ps(_mm_or_ps(unord[0], unord[1]), _mm_or_ps(unord[2], unord[3]));
  alignas(16) float bl[4], bh[4];
  _mm_store_ps(bl, l);
  _mm_store_ps(bh, h);
  for (int k = 0; k < 4; ++k) {
    lo = bl[k] < lo ? bl[k] : lo;
    hi = bh[k] > hi ? bh[k] : hi;
  }
  nan = nan || _mm_movemask_ps(u) != 0;
  return i;
}
#endif

using ScanFn = std::size_t (*)(const float*, std::size_t, float&, float&, bool&);

ScanFn pick_scan() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return scan_avx512;
  if (__builtin_cpu_supports("avx2")) return scan_avx2;
#endif
#if defined(__SSE2__)
  return scan_sse2;
#else
  return nullptr;
#endif
}

}  // namespace

MinMaxScan scan_min_max(std::span<const float> values) {
  MinMaxScan r;
  if (values.empty()) return r;
  static const ScanFn scan = pick_scan();
  const float* data = values.data();
  const std::size_t n = values.size();
  // data[0] seeds lo/hi; if it is NaN the vector path or the tail sees it again.
  float lo = data[0], hi = data[0];
  bool nan = data[0] != data[0];
  const std::size_t done = scan ? scan(data, n, lo, hi, nan) : 0;
  scan_tail(data, done, n, lo, hi, nan);
  // Without NaN, min/max include every value, so Inf shows in them.
  r.all_finite = !nan && std::isfinite(lo) && std::isfinite(hi);
  r.min = canonical_zero(lo);
  r.max = canonical_zero(hi);
  return r;
}

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
                          std::int64_t sample) {
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
      Error e(ErrorCode::kInternal, "a tensor's statistics are derived from a tensor that was not observed in this batch");
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
