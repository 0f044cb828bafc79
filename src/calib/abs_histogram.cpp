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
  if (num_bins < 2 || !std::has_single_bit(static_cast<unsigned>(num_bins)) || num_bins > (1 << 20)) {
    throw_invalid("histogram bin count must be a power of two between 2 and 1048576, got " +
                  std::to_string(num_bins));
  }
  counts_.assign(static_cast<std::size_t>(num_bins), 0);
  log2_bins_ = std::countr_zero(static_cast<unsigned>(num_bins));
}

double AbsHistogram::range() const {
  return has_range_ ? std::ldexp(1.0, range_exponent_) : 0.0;
}

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
  // bin = floor(|x| * 2^(log2_bins - range_exponent)). The factor is a power of two, so the
  // product is exact and the truncating conversion is floor for non-negative values.
  const float factor = std::ldexp(1.0f, log2_bins_ - range_exponent_);
  const std::uint32_t last = static_cast<std::uint32_t>(counts_.size() - 1);
  // Four sub-histograms break the store-to-load dependency when neighbouring values fall into
  // the same bin (typical for activations), roughly doubling throughput.
  constexpr std::size_t kBlock = 4096;
  std::vector<std::uint32_t> sub(counts_.size() * 4, 0);
  const float* data = values.data();
  std::size_t size = values.size();
  std::size_t i = 0;
  while (i < size) {
    const std::size_t end = std::min(size, i + kBlock * 64);  // < 2^32 per sub-bin
    std::size_t j = i;
#if defined(__SSE2__)
    // Index computation four at a time: |x| by clearing the sign bit, exact power-of-two
    // scaling, truncating conversion. |x| < range() guarantees indices below num_bins.
    const __m128 sign_mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    const __m128 vfactor = _mm_set1_ps(factor);
    alignas(16) std::int32_t idx[8];
    for (; j + 8 <= end; j += 8) {
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
    for (; j + 4 <= end; j += 4) {
      const auto b0 = std::min(static_cast<std::uint32_t>(std::fabs(data[j]) * factor), last);
      const auto b1 = std::min(static_cast<std::uint32_t>(std::fabs(data[j + 1]) * factor), last);
      const auto b2 = std::min(static_cast<std::uint32_t>(std::fabs(data[j + 2]) * factor), last);
      const auto b3 = std::min(static_cast<std::uint32_t>(std::fabs(data[j + 3]) * factor), last);
      ++sub[b0 * 4];
      ++sub[b1 * 4 + 1];
      ++sub[b2 * 4 + 2];
      ++sub[b3 * 4 + 3];
    }
    for (; j < end; ++j) {
      ++sub[std::min(static_cast<std::uint32_t>(std::fabs(data[j]) * factor), last) * 4];
    }
    for (std::size_t b = 0; b < counts_.size(); ++b) {
      counts_[b] += std::uint64_t{sub[b * 4]} + sub[b * 4 + 1] + sub[b * 4 + 2] + sub[b * 4 + 3];
      sub[b * 4] = sub[b * 4 + 1] = sub[b * 4 + 2] = sub[b * 4 + 3] = 0;
    }
    i = end;
  }
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
  AbsHistogram rhs = other;
  const int exponent = std::max(has_range_ ? range_exponent_ : other.range_exponent_,
                                other.range_exponent_);
  grow_to(exponent);
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
