// AbsHistogram: power-of-two range growth, exact pairwise bin merging, fast |x| binning.
#include "calib/abs_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/error.hpp"

namespace qcal::calib {

int range_exponent_for(float absmax) {
  if (!(absmax > 0.0f)) return kMinRangeExponent;
  int exponent = 0;
  // frexp: absmax = m * 2^exponent with m in [0.5, 1), so 2^exponent > absmax strictly.
  std::frexp(absmax, &exponent);
  return std::max(exponent, kMinRangeExponent);
}

AbsHistogram::AbsHistogram(int num_bins) {
  if (num_bins < 2 || !std::has_single_bit(static_cast<unsigned>(num_bins)) ||
      num_bins > (1 << 20)) {
    throw_invalid("histogram bin count must be a power of two between 2 and 1048576, got " +
                  std::to_string(num_bins));
  }
  counts_.assign(static_cast<std::size_t>(num_bins), 0);
  log2_bins_ = std::countr_zero(static_cast<unsigned>(num_bins));
}

double AbsHistogram::range() const { return has_range_ ? std::ldexp(1.0, range_exponent_) : 0.0; }

std::uint64_t AbsHistogram::total() const {
  return std::accumulate(counts_.begin(), counts_.end(), std::uint64_t{0});
}

void AbsHistogram::grow_to(int exponent) {
  if (!has_range_) {
    // Only zeros so far: they sit in bin 0 whatever the range.
    has_range_ = true;
    range_exponent_ = exponent;
    return;
  }
  if (exponent <= range_exponent_) return;
  const int shift = exponent - range_exponent_;
  const std::size_t n = counts_.size();
  if (shift >= log2_bins_) {
    const std::uint64_t all = total();
    std::fill(counts_.begin(), counts_.end(), 0);
    counts_[0] = all;
  } else {
    const std::size_t factor = std::size_t{1} << shift;
    for (std::size_t out = 0; out < n / factor; ++out) {
      std::uint64_t sum = 0;
      for (std::size_t k = 0; k < factor; ++k) sum += counts_[out * factor + k];
      counts_[out] = sum;
    }
    std::fill(counts_.begin() + static_cast<std::ptrdiff_t>(n / factor), counts_.end(), 0);
  }
  range_exponent_ = exponent;
}

void AbsHistogram::cover(float absmax) {
  if (!(absmax > 0.0f)) return;  // zeros fit any range
  const int exponent = range_exponent_for(absmax);
  if (!has_range_ || exponent > range_exponent_) grow_to(exponent);
}

void AbsHistogram::add_values(std::span<const float> values) {
  if (!has_range_) {
    // Only zeros can be added before a range exists (cover() was called with absmax 0).
    counts_[0] += values.size();
    return;
  }
  AbsBinner binner(*this);
  // The range already covers the values (callers cover() first): absmax 0 grows nothing.
  binner.add(values, 0.0f);
}

namespace {

// Per-thread sub-histogram scratch for AbsBinner, kept zeroed between uses so a binner costs no
// allocation; a second binner alive on the same thread gets its own buffer.
struct BinnerScratch {
  std::vector<std::uint32_t> counts;
  bool busy = false;
};
thread_local BinnerScratch tls_scratch;

// Below this many values a block is counted straight into the 64-bit bins: flushing the
// sub-histograms (up to 4 x num_bins reads) would cost more than the dependency chains it saves.
constexpr std::size_t kDirectMax = 2048;
// Flush before any 32-bit sub-counter could overflow.
constexpr std::size_t kMaxPending = std::size_t{1} << 31;

}  // namespace

AbsBinner::AbsBinner(AbsHistogram& hist) : hist_(hist), sub_(nullptr) {}

void AbsBinner::flush() {
  if (pending_ == 0) return;
  std::uint64_t* counts = hist_.counts_.data();
  for (std::size_t b = 0; b < flush_bins_; ++b) {
    std::uint32_t* s = sub_ + 4 * b;
    counts[b] += std::uint64_t{s[0]} + s[1] + s[2] + s[3];
    s[0] = s[1] = s[2] = s[3] = 0;
  }
  pending_ = 0;
  flush_bins_ = 0;
}

void AbsBinner::add(std::span<const float> values, float absmax) {
  if (values.empty()) return;
  AbsHistogram& h = hist_;
  if (absmax > 0.0f && (!h.has_range_ || range_exponent_for(absmax) > h.range_exponent_)) {
    flush();  // growing merges the 64-bit bins, so pending counts must be in them first
    h.cover(absmax);
  }
  if (!h.has_range_) {
    h.counts_[0] += values.size();  // only zeros so far
    return;
  }
  // bin = floor(|x| * 2^(log2_bins - range_exponent)). The factor is a power of two, so the
  // product is exact and the truncating conversion is floor for non-negative values.
  const float factor = std::ldexp(1.0f, h.log2_bins_ - h.range_exponent_);
  const std::uint32_t last = static_cast<std::uint32_t>(h.counts_.size() - 1);
  const float* data = values.data();
  const std::size_t size = values.size();
  if (size <= kDirectMax) {
    std::uint64_t* counts = h.counts_.data();
    for (std::size_t j = 0; j < size; ++j) {
      ++counts[std::min(static_cast<std::uint32_t>(std::fabs(data[j]) * factor), last)];
    }
    return;
  }
  if (sub_ == nullptr) {
    BinnerScratch* scratch = &tls_scratch;
    if (scratch->busy) {
      owned_.assign(h.counts_.size() * 4, 0);
      sub_ = owned_.data();
    } else {
      scratch->busy = true;
      owns_tls_ = true;
      if (scratch->counts.size() < h.counts_.size() * 4)
        scratch->counts.assign(h.counts_.size() * 4, 0);
      sub_ = scratch->counts.data();
    }
  }
  if (pending_ + size > kMaxPending) flush();
  pending_ += size;
  // Bins touched: up to the bin of absmax (the whole range when the caller gave none).
  const std::size_t top =
      absmax > 0.0f ? std::min<std::size_t>(static_cast<std::uint32_t>(absmax * factor), last) + 1
                    : h.counts_.size();
  flush_bins_ = std::max(flush_bins_, top);
  std::uint32_t* sub = sub_;
  std::size_t j = 0;
#if defined(__SSE2__)
  // Index computation four at a time: |x| by clearing the sign bit, exact power-of-two
  // scaling, truncating conversion. |x| < range() guarantees indices below num_bins.
  const __m128 sign_mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
  const __m128 vfactor = _mm_set1_ps(factor);
  alignas(16) std::int32_t idx[8];
  for (; j + 8 <= size; j += 8) {
    const __m128 a = _mm_and_ps(_mm_loadu_ps(data + j), sign_mask);
    const __m128 b = _mm_and_ps(_mm_loadu_ps(data + j + 4), sign_mask);
    _mm_store_si128(reinterpret_cast<__m128i*>(idx), _mm_cvttps_epi32(_mm_mul_ps(a, vfactor)));
    _mm_store_si128(reinterpret_cast<__m128i*>(idx + 4), _mm_cvttps_epi32(_mm_mul_ps(b, vfactor)));
    ++sub[static_cast<std::uint32_t>(idx[0]) * 4];
    ++sub[static_cast<std::uint32_t>(idx[1]) * 4 + 1];
    ++sub[static_cast<std::uint32_t>(idx[2]) * 4 + 2];
    ++sub[static_cast<std::uint32_t>(idx[3]) * 4 + 3];
    ++sub[static_cast<std::uint32_t>(idx[4]) * 4];
    ++sub[static_cast<std::uint32_t>(idx[5]) * 4 + 1];
    ++sub[static_cast<std::uint32_t>(idx[6]) * 4 + 2];
    ++sub[static_cast<std::uint32_t>(idx[7]) * 4 + 3];
  }
#endif
  for (; j < size; ++j) {
    ++sub[std::min(static_cast<std::uint32_t>(std::fabs(data[j]) * factor), last) * 4];
  }
}

AbsBinner::~AbsBinner() {
  flush();
  if (owns_tls_) tls_scratch.busy = false;
}

void AbsHistogram::merge(const AbsHistogram& other) {
  if (other.num_bins() != num_bins()) {
    throw_invalid("cannot merge histograms with " + std::to_string(num_bins()) + " and " +
                  std::to_string(other.num_bins()) + " bins");
  }
  if (!other.has_range_) {
    counts_[0] += other.counts_[0];
    return;
  }
  const int exponent =
      std::max(has_range_ ? range_exponent_ : other.range_exponent_, other.range_exponent_);
  grow_to(exponent);
  if (other.range_exponent_ == exponent) {
    for (std::size_t b = 0; b < counts_.size(); ++b) counts_[b] += other.counts_[b];
    return;
  }
  AbsHistogram rhs = other;
  rhs.grow_to(exponent);
  for (std::size_t b = 0; b < counts_.size(); ++b) counts_[b] += rhs.counts_[b];
}

AbsHistogram AbsHistogram::from_state(bool has_range, int range_exponent,
                                      std::vector<std::uint64_t> counts) {
  AbsHistogram h(static_cast<int>(counts.size()));
  if (range_exponent < kMinRangeExponent || range_exponent > 128) {
    throw_format("histogram range exponent out of bounds: " + std::to_string(range_exponent));
  }
  if (!has_range && std::any_of(counts.begin() + 1, counts.end(), [](auto c) { return c != 0; })) {
    throw_format("histogram without a range has counts outside bin 0");
  }
  h.counts_ = std::move(counts);
  h.has_range_ = has_range;
  h.range_exponent_ = has_range ? range_exponent : kMinRangeExponent;
  return h;
}

}  // namespace qcal::calib
