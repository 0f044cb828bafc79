// Percentiles (type 7) and Spearman correlation against hand-computed values.
#include "plan/stats.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace qcal::plan {
namespace {

TEST(Stats, PercentileInterpolatesBetweenClosestRanks) {
  std::vector<double> v = {4, 1, 3, 2, 5};  // sorted 1..5
  EXPECT_DOUBLE_EQ(*percentile(v, 50), 3.0);
  EXPECT_DOUBLE_EQ(*percentile(v, 90), 4.6);  // h = 3.6
  EXPECT_DOUBLE_EQ(*percentile(v, 99), 4.96);
  EXPECT_DOUBLE_EQ(*percentile(v, 0), 1.0);
  EXPECT_DOUBLE_EQ(*percentile(v, 100), 5.0);
  EXPECT_DOUBLE_EQ(*median({1, 2, 3, 4}), 2.5);
  EXPECT_DOUBLE_EQ(*median({7}), 7.0);
  EXPECT_FALSE(median({}));
}

TEST(Stats, SpearmanHandlesTiesAndConstants) {
  EXPECT_DOUBLE_EQ(*spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(*spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  // Monotone but not linear: rank correlation is still 1.
  EXPECT_DOUBLE_EQ(*spearman({1, 2, 3, 4, 5}, {1, 1.1, 5, 50, 500}), 1.0);
  // Ties: ranks x = 1, 2.5, 2.5, 4 vs y = 1..4 -> rho = 4.5 / sqrt(4.5 * 5).
  EXPECT_NEAR(*spearman({1, 2, 2, 3}, {1, 2, 3, 4}), 4.5 / std::sqrt(4.5 * 5.0), 1e-12);
  EXPECT_FALSE(spearman({1, 1, 1}, {1, 2, 3}));
  EXPECT_FALSE(spearman({1, 2}, {1, 2}));
}

}  // namespace
}  // namespace qcal::plan
