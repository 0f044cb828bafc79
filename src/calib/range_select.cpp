// Range selectors (minmax, EMA, percentile, TensorRT entropy, MSE) and quantization parameters.
#include "calib/range_select.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.hpp"

namespace qcal::calib {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Bins as the reference sees them: doubles (exact for counts below 2^53), bins[0] = bins[1].
std::vector<double> reference_bins(std::span<const std::uint64_t> counts) {
  std::vector<double> bins(counts.begin(), counts.end());
  if (bins.size() >= 2) bins[0] = bins[1];
  return bins;
}

// Level of bin k for candidate i: numpy's digitize(k, linspace(0, i, levels + 1)) - 1. The
// linspace edges are L * (i / levels) exactly (levels is a power of two), so this is
// floor(k * levels / i) in integers.
std::size_t level_of(std::size_t k, std::size_t i, std::size_t levels) { return k * levels / i; }

// Direct per-element KL, in the reference's order of operations (used to settle near-ties).
double divergence_direct(const std::vector<double>& bins, std::size_t i, std::size_t levels) {
  std::vector<double> level_sum(levels, 0.0);
  std::vector<double> level_nnz(levels, 0.0);
  for (std::size_t k = 0; k < i; ++k) {
    if (bins[k] == 0.0) continue;
    level_sum[level_of(k, i, levels)] += bins[k];
    level_nnz[level_of(k, i, levels)] += 1.0;
  }
  double outliers = 0.0;
  for (std::size_t k = i; k < bins.size(); ++k) outliers += bins[k];
  double sum_p = 0.0;
  double sum_q = 0.0;
  for (std::size_t k = 0; k < i; ++k) {
    sum_p += bins[k];
    if (bins[k] != 0.0)
      sum_q += level_sum[level_of(k, i, levels)] / level_nnz[level_of(k, i, levels)];
  }
  sum_p += outliers;
  if (sum_p == 0.0 || sum_q == 0.0) return kInf;
  double kl = 0.0;
  for (std::size_t k = 0; k < i; ++k) {
    const double p = bins[k] + (k + 1 == i ? outliers : 0.0);
    if (p == 0.0) continue;
    if (bins[k] == 0.0) return kInf;  // Q is zero where P is not
    const double q = level_sum[level_of(k, i, levels)] / level_nnz[level_of(k, i, levels)];
    const double pn = p / sum_p;
    const double qn = q / sum_q;
    kl += pn * std::log(pn / qn);
  }
  return kl;
}

void require_histogram(std::span<const std::uint64_t> counts, double bin_width) {
  if (counts.empty()) throw_invalid("histogram has no bins");
  if (!(bin_width > 0.0) || !std::isfinite(bin_width)) {
    throw_invalid("histogram bin width must be positive and finite");
  }
}

}  // namespace

std::string_view method_name(Method method) {
  switch (method) {
    case Method::kMinMax:
      return "minmax";
    case Method::kEma:
      return "ema";
    case Method::kPercentile:
      return "percentile";
    case Method::kEntropy:
      return "entropy";
    case Method::kMse:
      return "mse";
  }
  return "?";
}

Method parse_method(std::string_view name) {
  for (Method m :
       {Method::kEntropy, Method::kMinMax, Method::kEma, Method::kPercentile, Method::kMse}) {
    if (method_name(m) == name) return m;
  }
  throw_invalid("unknown calibration method '" + std::string(name) +
                "' (expected entropy, minmax, ema, percentile or mse)");
}

bool method_needs_histogram(Method method) {
  return method == Method::kPercentile || method == Method::kEntropy || method == Method::kMse;
}

void validate(const SelectOptions& options) {
  if (!(options.percentile > 0.0 && options.percentile <= 100.0)) {
    throw_invalid("--percentile must be in (0, 100], got " + std::to_string(options.percentile));
  }
  if (!(options.ema_momentum > 0.0 && options.ema_momentum <= 1.0)) {
    throw_invalid("--ema-momentum must be in (0, 1], got " + std::to_string(options.ema_momentum));
  }
  if (!(options.entropy_floor >= 0.0 && options.entropy_floor <= 100.0)) {
    throw_invalid("--entropy-floor must be in [0, 100] (0: off), got " +
                  std::to_string(options.entropy_floor));
  }
  if (options.num_quantized_bins < 2 || options.start_bin < options.num_quantized_bins) {
    throw_invalid("entropy needs num_quantized_bins >= 2 and start_bin >= num_quantized_bins");
  }
}

double entropy_divergence(std::span<const std::uint64_t> counts, int i, int num_quantized_bins) {
  const auto bins = reference_bins(counts);
  if (i < 1 || static_cast<std::size_t>(i) > bins.size() || i < num_quantized_bins) {
    throw_invalid("entropy candidate out of range");
  }
  return divergence_direct(bins, static_cast<std::size_t>(i),
                           static_cast<std::size_t>(num_quantized_bins));
}

double select_amax_entropy(std::span<const std::uint64_t> counts, double bin_width,
                           int num_quantized_bins, int start_bin) {
  require_histogram(counts, bin_width);
  const std::size_t n = counts.size();
  const std::size_t levels = static_cast<std::size_t>(num_quantized_bins);
  const std::size_t start = static_cast<std::size_t>(std::max(start_bin, num_quantized_bins));
  if (n < start) return static_cast<double>(n) * bin_width;
  const auto bins = reference_bins(counts);

  // Prefix sums make each candidate O(levels): with C = log(sum_p) - log(sum_q),
  //   KL = (1/sum_p) * sum_k p_k (log p_k - C - log q_k),
  // q_k is constant per level and sum_k p_k log p_k per level comes from a prefix sum. Counts
  // are integers below 2^53, so the sums of counts are exact.
  std::vector<double> cum(n + 1, 0.0), cum_plogp(n + 1, 0.0), cum_nnz(n + 1, 0.0);
  for (std::size_t k = 0; k < n; ++k) {
    cum[k + 1] = cum[k] + bins[k];
    cum_plogp[k + 1] = cum_plogp[k] + (bins[k] > 0.0 ? bins[k] * std::log(bins[k]) : 0.0);
    cum_nnz[k + 1] = cum_nnz[k] + (bins[k] > 0.0 ? 1.0 : 0.0);
  }
  const double total = cum[n];
  if (total == 0.0) return static_cast<double>(n) * bin_width;
  const double log_total = std::log(total);

  std::vector<double> divergences(n + 1, kInf);
  for (std::size_t i = start; i <= n; ++i) {
    const double outliers = total - cum[i];
    const double sum_q = cum[i];
    if (sum_q == 0.0) continue;
    if (outliers > 0.0 && bins[i - 1] == 0.0) continue;  // P > 0 where Q == 0: infinite
    const double c = log_total - std::log(sum_q);
    double acc = 0.0;
    double log_q_last = 0.0;
    for (std::size_t level = 0; level < levels; ++level) {
      const std::size_t lo = (level * i + levels - 1) / levels;
      const std::size_t hi = std::min(i, ((level + 1) * i + levels - 1) / levels);
      const double nnz = cum_nnz[hi] - cum_nnz[lo];
      if (nnz == 0.0) continue;
      const double s = cum[hi] - cum[lo];
      const double log_q = std::log(s / nnz);
      acc += (cum_plogp[hi] - cum_plogp[lo]) - s * (c + log_q);
      if (hi == i) log_q_last = log_q;
    }
    if (outliers > 0.0) {
      // P[i-1] carries the outliers: swap its term for the augmented one.
      const double b = bins[i - 1];
      const double p = b + outliers;
      acc += p * (std::log(p) - c - log_q_last) - b * (std::log(b) - c - log_q_last);
    }
    divergences[i] = acc / total;
  }
  double best = kInf;
  for (std::size_t i = start; i <= n; ++i) best = std::min(best, divergences[i]);
  if (!std::isfinite(best)) return static_cast<double>(n) * bin_width;
  // The prefix-sum form differs from the direct sum by rounding only; candidates within that
  // noise of the minimum are re-evaluated directly, and the last minimum wins as in the
  // reference (`last_argmin`).
  const double tolerance = 1e-9 * std::fabs(best) + 1e-12;
  std::size_t chosen = 0;
  double chosen_kl = kInf;
  for (std::size_t i = start; i <= n; ++i) {
    if (!(divergences[i] <= best + tolerance)) continue;
    const double kl = divergence_direct(bins, i, levels);
    if (kl <= chosen_kl) {
      chosen_kl = kl;
      chosen = i;
    }
  }
  return static_cast<double>(chosen) * bin_width;
}

double select_amax_percentile(std::span<const std::uint64_t> counts, double bin_width,
                              double percentile) {
  require_histogram(counts, bin_width);
  std::uint64_t total = 0;
  for (auto c : counts) total += c;
  if (total == 0) return static_cast<double>(counts.size()) * bin_width;
  const double target = percentile / 100.0;
  std::uint64_t cum = 0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    cum += counts[k];
    if (static_cast<double>(cum) / static_cast<double>(total) >= target) {
      return static_cast<double>(k + 1) * bin_width;
    }
  }
  return static_cast<double>(counts.size()) * bin_width;
}

double select_amax_mse(std::span<const std::uint64_t> counts, double bin_width) {
  require_histogram(counts, bin_width);
  std::vector<std::pair<double, double>> centres;  // (x, count) of non-empty bins
  for (std::size_t k = 0; k < counts.size(); ++k) {
    if (counts[k] != 0) {
      centres.emplace_back((static_cast<double>(k) + 0.5) * bin_width,
                           static_cast<double>(counts[k]));
    }
  }
  if (centres.empty()) return static_cast<double>(counts.size()) * bin_width;
  double best = kInf;
  std::size_t best_i = counts.size();
  for (std::size_t i = 1; i <= counts.size(); ++i) {
    const double amax = static_cast<double>(i) * bin_width;
    const double scale = amax / 127.0;
    double err = 0.0;
    for (const auto& [x, c] : centres) {
      // nearbyint rounds half to even in the default rounding mode, as QuantizeLinear does.
      const double q = std::min(std::nearbyint(x / scale), 127.0) * scale;
      err += c * (x - q) * (x - q);
    }
    if (err < best) {
      best = err;
      best_i = i;
    }
  }
  return static_cast<double>(best_i) * bin_width;
}

double moving_average(std::span<const float> batch_values, double momentum) {
  if (batch_values.empty()) return 0.0;
  double value = batch_values[0];
  for (std::size_t b = 1; b < batch_values.size(); ++b) {
    value += momentum * (static_cast<double>(batch_values[b]) - value);
  }
  return value;
}

Range select_range(const TensorStats& stats, const SelectOptions& options) {
  Range r;
  if (stats.empty()) return r;  // amax 0: usable_amax() turns it into a safe scale
  switch (options.method) {
    case Method::kMinMax:
      r.min = stats.min();
      r.max = stats.max();
      r.amax = stats.absmax();
      return r;
    case Method::kEma:
      r.min = static_cast<float>(moving_average(stats.batch_mins(), options.ema_momentum));
      r.max = static_cast<float>(moving_average(stats.batch_maxs(), options.ema_momentum));
      r.amax = std::max(-r.min, r.max);
      return r;
    case Method::kPercentile:
    case Method::kEntropy:
    case Method::kMse:
      break;
  }
  if (!stats.histogram()) {
    throw_invalid(std::string("method '") + std::string(method_name(options.method)) +
                  "' needs histograms, but these statistics were collected without them");
  }
  const AbsHistogram& hist = *stats.histogram();
  auto counts = hist.counts();
  std::size_t used = counts.size();
  while (used > 1 && counts[used - 1] == 0) --used;
  counts = counts.first(used);
  double amax = 0.0;
  if (hist.has_range()) {
    const double width = hist.bin_width();
    if (options.method == Method::kPercentile) {
      amax = select_amax_percentile(counts, width, options.percentile);
    } else if (options.method == Method::kEntropy) {
      amax = select_amax_entropy(counts, width, options.num_quantized_bins, options.start_bin);
      if (options.entropy_floor > 0.0) {
        amax = std::max(amax, select_amax_percentile(counts, width, options.entropy_floor));
      }
    } else {
      amax = select_amax_mse(counts, width);
    }
  }
  r.amax = static_cast<float>(std::min(amax, static_cast<double>(stats.absmax())));
  r.min = std::max(stats.min(), -r.amax);
  r.max = std::min(stats.max(), r.amax);
  return r;
}

std::map<std::string, Range> select_ranges(const std::map<std::string, TensorStats>& tensors,
                                           const SelectOptions& options, int threads) {
  std::vector<const std::pair<const std::string, TensorStats>*> items;
  for (const auto& item : tensors) items.push_back(&item);
  std::vector<Range> ranges(items.size());
  std::vector<std::string> errors(items.size());
  const auto n = static_cast<std::ptrdiff_t>(items.size());
#pragma omp parallel for num_threads(std::max(1, threads)) schedule(dynamic)
  for (std::ptrdiff_t k = 0; k < n; ++k) {
    try {
      ranges[static_cast<std::size_t>(k)] =
          select_range(items[static_cast<std::size_t>(k)]->second, options);
    } catch (const Error& e) {
      errors[static_cast<std::size_t>(k)] = e.message();  // exceptions must not leave the region
    }
  }
  std::map<std::string, Range> out;
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (!errors[k].empty()) {
      Error e(ErrorCode::kInvalidArgument, errors[k]);
      e.with("tensor", items[k]->first);
      throw e;
    }
    out.emplace(items[k]->first, ranges[k]);
  }
  return out;
}

float usable_amax(float amax) {
  if (!std::isfinite(amax) || !(amax > 0.0f)) return 1.0f;  // all-zero tensor: any scale is exact
  return std::max(amax, kMinAmax);
}

QuantParams symmetric_int8(float amax) {
  QuantParams q;
  q.scale = usable_amax(amax) / 127.0f;
  q.zero_point = 0;
  return q;
}

QuantParams asymmetric_uint8(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  QuantParams q;
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi - lo < kMinAmax) {
    q.scale = 1.0f / 255.0f;  // degenerate (all zero): any positive scale is exact for zeros
    q.zero_point = 0;
    return q;
  }
  q.scale = (hi - lo) / 255.0f;
  const double zp = std::nearbyint(static_cast<double>(-lo) / q.scale);
  q.zero_point = static_cast<std::int32_t>(std::clamp(zp, 0.0, 255.0));
  return q;
}

}  // namespace qcal::calib
