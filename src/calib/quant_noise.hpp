// Quantization noise of a tensor estimated from its |x| histogram: the signal-to-quantization-
// noise ratio that symmetric int8 at a chosen amax gives (rounding inside the range, clipping
// above it), used by the low-SQNR placement rule (docs/quantization.md, "Activations int8
// cannot represent").
#pragma once

#include <cstdint>
#include <span>

#include "calib/tensor_stats.hpp"

namespace qcal::calib {

// Signal and noise power per value (mean x^2 and mean (x - fq(x))^2) for symmetric
// quantization with step amax / levels, saturating at +-amax. Values are taken as uniform
// within each histogram bin, and both integrals are exact for that model (the error of
// rounding to the nearest multiple of the step is integrated piecewise), so a bin much finer
// than the step gives step^2 / 12 and exact zeros in bin 0 cost almost nothing (ReLU outputs).
// Rounding ties are irrelevant under the uniform model (measure zero).
struct QuantNoise {
  double signal = 0.0;     // mean x^2
  double noise = 0.0;      // mean squared error, rounding + clipping
  double clipped = 0.0;    // part of `noise` from values above amax
  double sqnr_db() const;  // 10 log10(signal / noise); +inf when noise is 0
};
QuantNoise histogram_quant_noise(std::span<const std::uint64_t> counts, double bin_width,
                                 double amax, int levels = 127);
// The same on a tensor's statistics (its histogram); nullopt-like NaN when it has none.
double tensor_sqnr_db(const TensorStats& stats, double amax, int levels = 127);

}  // namespace qcal::calib
