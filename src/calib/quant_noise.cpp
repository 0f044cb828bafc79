// Histogram-based estimate of int8 quantization noise (see quant_noise.hpp).
#include "calib/quant_noise.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qcal::calib {

double QuantNoise::sqnr_db() const {
  if (!(noise > 0.0)) return std::numeric_limits<double>::infinity();
  if (!(signal > 0.0)) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

namespace {

// Integral over [lo, hi] of (x - c)^2.
double sq_integral(double lo, double hi, double c) {
  const double a = lo - c, b = hi - c;
  return (b * b * b - a * a * a) / 3.0;
}

// Integral over [lo, hi] (0 <= lo < hi) of (x - fq(x))^2 with fq rounding to the nearest
// multiple of step and saturating at levels * step. Also returns the part above the range.
double error_integral(double lo, double hi, double step, int levels, double* clipped) {
  const double top = levels * step;
  double total = 0.0;
  // Above the largest level every value maps to it (clipping plus the last half step).
  const double sat = (levels + 0.5) * step;
  if (hi > sat) {
    const double s = std::max(lo, sat);
    const double part = sq_integral(s, hi, top);
    total += part;
    *clipped += sq_integral(std::max(lo, top), hi, top);
    hi = s;
    if (hi <= lo) return total;
  } else if (hi > top) {
    *clipped += sq_integral(std::max(lo, top), hi, top);
  }
  // Levels j whose rounding interval [(j - 0.5) step, (j + 0.5) step) meets [lo, hi].
  auto j = static_cast<std::int64_t>(std::floor(lo / step + 0.5));
  const auto j_end = static_cast<std::int64_t>(std::floor(hi / step + 0.5));
  for (; j <= j_end; ++j) {
    const double c = static_cast<double>(j) * step;
    const double a = std::max(lo, c - 0.5 * step), b = std::min(hi, c + 0.5 * step);
    if (b > a) total += sq_integral(a, b, c);
  }
  return total;
}

}  // namespace

QuantNoise histogram_quant_noise(std::span<const std::uint64_t> counts, double bin_width,
                                 double amax, int levels) {
  QuantNoise r;
  if (counts.empty() || !(bin_width > 0.0) || !(amax > 0.0) || levels < 1) return r;
  const double step = amax / levels;
  double total = 0.0;
  double clipped = 0.0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    if (counts[k] == 0) continue;
    const double c = static_cast<double>(counts[k]);
    const double lo = static_cast<double>(k) * bin_width, hi = lo + bin_width;
    total += c;
    // Mean of x^2 over a uniform bin: (hi^3 - lo^3) / (3 (hi - lo)).
    r.signal += c * sq_integral(lo, hi, 0.0) / bin_width;
    double clip_part = 0.0;
    r.noise += c * error_integral(lo, hi, step, levels, &clip_part) / bin_width;
    clipped += c * clip_part / bin_width;
  }
  if (total > 0.0) {
    r.signal /= total;
    r.noise /= total;
    r.clipped = clipped / total;
  }
  return r;
}

double tensor_sqnr_db(const TensorStats& stats, double amax, int levels) {
  const auto& h = stats.histogram();
  if (!h || !h->has_range()) return std::numeric_limits<double>::quiet_NaN();
  return histogram_quant_noise(h->counts(), h->bin_width(), amax, levels).sqnr_db();
}

}  // namespace qcal::calib
