// Paired image bootstrap of the mAP50-95 drop, re-accumulating stored per-image matches.
#include "eval/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace qcal::eval {
namespace {

// One resample's drop in points (NaN when either mAP is undefined on it).
double resample_drop(const MapMatches& fp32, const MapMatches& int8, std::uint64_t seed,
                     std::vector<std::uint32_t>& counts) {
  const std::size_t n = fp32.num_images();
  std::fill(counts.begin(), counts.end(), 0U);
  Rng rng(seed);
  for (std::size_t k = 0; k < n; ++k) ++counts[static_cast<std::size_t>(rng.next_below(n))];
  const double a = fp32.accumulate(counts).map50_95;
  const double b = int8.accumulate(counts).map50_95;
  return (a - b) * 100.0;
}

int resolve_threads(int threads, int resamples) {
  int t = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(t, 1, std::max(1, resamples));
}

// Every resample's drop, indexed by resample; threads take interleaved resamples and each
// writes only its own slots.
std::vector<double> resampled_drops(const MapMatches& fp32, const MapMatches& int8,
                                    const BootstrapOptions& o) {
  Rng master(o.seed);
  std::vector<std::uint64_t> seeds(static_cast<std::size_t>(o.resamples));
  for (auto& s : seeds) s = master.next_u64();
  std::vector<double> drops(seeds.size());
  const int nthreads = resolve_threads(o.threads, o.resamples);
  auto work = [&](int first) {
    std::vector<std::uint32_t> counts(fp32.num_images());
    for (std::size_t b = static_cast<std::size_t>(first); b < seeds.size();
         b += static_cast<std::size_t>(nthreads)) {
      drops[b] = resample_drop(fp32, int8, seeds[b], counts);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < nthreads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  return drops;
}

}  // namespace

double sorted_quantile(std::span<const double> sorted, double q) {
  if (sorted.empty()) throw_invalid("quantile of no values");
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

std::optional<DropInterval> bootstrap_map_drop(const MapMatches& fp32, const MapMatches& int8,
                                               const BootstrapOptions& options) {
  if (fp32.num_images() != int8.num_images()) {
    throw Error(ErrorCode::kInvalidArgument,
                "paired bootstrap needs the same images for both models: FP32 has " +
                    std::to_string(fp32.num_images()) + ", INT8 " +
                    std::to_string(int8.num_images()));
  }
  if (options.resamples < 1) throw_invalid("bootstrap resamples must be at least 1");
  if (!(options.lower_quantile >= 0 && options.lower_quantile <= options.upper_quantile &&
        options.upper_quantile <= 1)) {
    throw_invalid("bootstrap quantiles must satisfy 0 <= lower <= upper <= 1");
  }
  if (fp32.num_images() == 0) return std::nullopt;
  const double full = (fp32.accumulate().map50_95 - int8.accumulate().map50_95) * 100.0;
  if (std::isnan(full)) return std::nullopt;
  std::vector<double> drops = resampled_drops(fp32, int8, options);
  std::erase_if(drops, [](double d) { return std::isnan(d); });
  if (drops.empty()) return std::nullopt;
  std::sort(drops.begin(), drops.end());
  DropInterval r;
  r.drop_pp = full;
  r.lower_quantile = options.lower_quantile;
  r.upper_quantile = options.upper_quantile;
  r.lower_pp = sorted_quantile(drops, options.lower_quantile);
  r.upper_pp = sorted_quantile(drops, options.upper_quantile);
  r.resamples = options.resamples;
  r.used = static_cast<int>(drops.size());
  return r;
}

}  // namespace qcal::eval
