// Small statistics for profiling runs: percentiles, medians, rank correlation.
#pragma once

#include <optional>
#include <vector>

namespace qcal::plan {

// Percentile p in [0, 100] by linear interpolation between closest ranks (Hyndman & Fan type 7,
// numpy's default): h = (n - 1) * p / 100, result = x[floor h] + (h - floor h) * (x[floor h + 1] -
// x[floor h]) on the sorted values. With few runs p99 is close to the maximum. Empty -> nullopt.
std::optional<double> percentile(std::vector<double> values, double p);
// The same on values already sorted ascending (no copy).
std::optional<double> percentile_sorted(const std::vector<double>& sorted, double p);
inline std::optional<double> median(std::vector<double> values) {
  return percentile(std::move(values), 50.0);
}

// Spearman's rank correlation (Pearson correlation of ranks, ties get their average rank).
// nullopt when fewer than 3 pairs or either variable is constant.
std::optional<double> spearman(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace qcal::plan
