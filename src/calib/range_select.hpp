// Range selectors: pure functions from collected statistics to a clipping threshold (amax) and
// range, plus the int8/uint8 quantization parameters derived from them.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "calib/tensor_stats.hpp"

namespace qcal::calib {

enum class Method { kMinMax, kEma, kPercentile, kEntropy, kMse };

std::string_view method_name(Method method);  // "minmax", "ema", "percentile", "entropy", "mse"
Method parse_method(std::string_view name);   // throws kInvalidArgument listing the choices
bool method_needs_histogram(Method method);

struct SelectOptions {
  Method method = Method::kEntropy;
  double percentile = 99.99;     // percent of |x| kept, (0, 100]
  double ema_momentum = 0.01;    // ORT's averaging constant c in new = old + c * (batch - old)
  int num_quantized_bins = 128;  // KL target levels: 2^(8-1) for signed int8
  int start_bin = 128;           // first KL candidate, as TensorRT and pytorch-quantization
  // Entropy never clips more than (100 - entropy_floor) percent of |x|: amax is at least the
  // entropy_floor percentile. 0 disables the floor (the reference's thresholds exactly). Why:
  // on SiLU networks the |x| histogram has a spike at SiLU's minimum (0.278) and KL then clips
  // a few percent of the values, the rare large activations that carry detections (yolov8n:
  // mAP50-95 against FP32 detections 0.51 without the floor). See docs/quantization.md.
  double entropy_floor = 99.99;
};
void validate(const SelectOptions& options);  // throws kInvalidArgument

// The selected range of one tensor: amax is the symmetric clipping threshold (what TensorRT
// stores); [min, max] is the observed range clipped to [-amax, amax] (for asymmetric uint8).
struct Range {
  float min = 0.0f;
  float max = 0.0f;
  float amax = 0.0f;
};

// Selects the range of one tensor. Histogram methods trim the histogram after its last
// non-empty bin first (our power-of-two range ends above absmax; the references histogram
// [0, absmax]) and clamp amax to the observed absmax. Throws kInvalidArgument when a
// histogram method is asked of statistics collected without histograms.
Range select_range(const TensorStats& stats, const SelectOptions& options);

// Selects every tensor's range, tensors spread over `threads` (each result depends only on its
// own statistics, so the output is the same for any thread count). Name order.
std::map<std::string, Range> select_ranges(const std::map<std::string, TensorStats>& tensors,
                                           const SelectOptions& options, int threads);

// --- Pure histogram selectors. counts[k] holds |x| in [k * bin_width, (k + 1) * bin_width). ---

// TensorRT EntropyCalibration2 as in NVIDIA's public reference (pytorch-quantization
// calib/histogram.py `_compute_amax_entropy`): bins[0] is set to bins[1] (damps the zero spike
// of ReLU outputs); for each candidate i in [start_bin, n] the reference P is bins[0:i] with
// the outlier mass sum(bins[i:]) added to P[i-1]; Q spreads bins[0:i] over num_quantized_bins
// levels (level of bin k is floor(k * levels / i)) evenly across each level's non-empty bins;
// KL(P || Q) after normalising both; the LAST minimum wins; amax = i * bin_width (the bin
// edge, as that reference returns; ncnn and the GTC slides quote (i + 0.5) * bin_width).
// Returns n * bin_width when n < start_bin.
double select_amax_entropy(std::span<const std::uint64_t> counts, double bin_width,
                           int num_quantized_bins = 128, int start_bin = 128);
// Smallest upper bin edge (k + 1) * bin_width whose cumulative fraction reaches percentile/100
// (pytorch-quantization's `_compute_amax_percentile`: searchsorted on the CDF).
double select_amax_percentile(std::span<const std::uint64_t> counts, double bin_width,
                              double percentile);
// Bin edge i * bin_width (i in [1, n]) minimising sum_k counts[k] * (x_k - fq(x_k))^2 with x_k
// the bin centre and fq symmetric int8 fake quantisation (scale amax/127, round half to even,
// saturate at 127). The first minimum wins.
double select_amax_mse(std::span<const std::uint64_t> counts, double bin_width);

// KL divergence of candidate i (exposed for tests; +inf when Q is zero where P is not).
double entropy_divergence(std::span<const std::uint64_t> counts, int i, int num_quantized_bins);

// ORT moving average over a batch sequence: first batch initialises, then
// value += momentum * (batch - value), in double.
double moving_average(std::span<const float> batch_values, double momentum);

// --- Quantization parameters (ONNX QuantizeLinear: y = saturate(round_half_even(x / scale) + zp)).

struct QuantParams {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};
// Smallest amax used: below it (or for all-zero / non-finite input) the tensor gets amax 1.0,
// so every scale is a usable positive normal float and x / scale never overflows.
inline constexpr float kMinAmax = 1e-12f;
float usable_amax(float amax);
// Symmetric int8: scale = amax / 127, zero point 0 (what TensorRT requires).
QuantParams symmetric_int8(float amax);
// Asymmetric uint8 over [min(lo, 0), max(hi, 0)] (the range must contain 0 so padding and ReLU
// zeros are exact): scale = (hi - lo) / 255, zero point round_half_even(-lo / scale) in [0, 255].
QuantParams asymmetric_uint8(float lo, float hi);

}  // namespace qcal::calib
