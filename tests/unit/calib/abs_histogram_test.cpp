// AbsHistogram: exact binning, power-of-two growth, order/shard/thread independence.
#include "calib/abs_histogram.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "calib/tensor_stats.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

namespace qcal::calib {
namespace {

std::vector<float> heavy_tailed(std::size_t n, std::uint64_t seed, float scale) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) {
    const double g = rng.next_normal();
    x = static_cast<float>(scale * g * g * g);  // heavy tails, both signs, many near zero
  }
  return v;
}

// Direct binning at the final range, written independently of the class (in double).
std::vector<std::uint64_t> direct_bins(const std::vector<float>& values, int bins, int exponent) {
  std::vector<std::uint64_t> counts(static_cast<std::size_t>(bins), 0);
  for (float v : values) {
    const double idx =
        std::floor(std::fabs(static_cast<double>(v)) * bins / std::ldexp(1.0, exponent));
    counts[static_cast<std::size_t>(idx)] += 1;
  }
  return counts;
}

TEST(AbsHistogram, RangeIsSmallestPowerOfTwoAboveAbsmax) {
  EXPECT_EQ(range_exponent_for(1.0f), 1);   // [0, 2)
  EXPECT_EQ(range_exponent_for(0.75f), 0);  // [0, 1)
  EXPECT_EQ(range_exponent_for(0.5f), 0);
  EXPECT_EQ(range_exponent_for(3.0f), 2);
  EXPECT_EQ(range_exponent_for(0.0f), kMinRangeExponent);
  EXPECT_EQ(range_exponent_for(1e-38f), kMinRangeExponent);
}

TEST(AbsHistogram, GrowsAndMatchesDirectBinning) {
  const auto small = heavy_tailed(5000, 1, 0.1f);
  const auto large = heavy_tailed(5000, 2, 10.0f);
  AbsHistogram h(2048);
  for (const auto* batch : {&small, &large}) {
    const auto scan = scan_min_max(*batch);
    h.cover(std::max(-scan.min, scan.max));
    h.add_values(*batch);
  }
  std::vector<float> all = small;
  all.insert(all.end(), large.begin(), large.end());
  const auto expected = direct_bins(all, 2048, h.range_exponent());
  EXPECT_EQ(std::vector<std::uint64_t>(h.counts().begin(), h.counts().end()), expected);
  EXPECT_EQ(h.total(), all.size());
  const auto scan = scan_min_max(all);
  EXPECT_GT(h.range(), std::max(-scan.min, scan.max));
  EXPECT_LE(h.range() / 2, std::max(-scan.min, scan.max));
}

TEST(AbsHistogram, BatchOrderShardingAndThreadsGiveIdenticalCounts) {
  std::vector<std::vector<float>> batches;
  for (std::uint64_t b = 0; b < 12; ++b) {
    batches.push_back(
        heavy_tailed(3000 + 100 * b, 10 + b, static_cast<float>(0.01 * std::pow(3.0, b % 7))));
  }
  auto run = [&](const std::vector<std::size_t>& order, int threads) {
    CollectOptions o;
    o.threads = threads;
    TensorStats s(o);
    for (std::size_t b : order) {
      TensorView view{DType::kFloat32, std::span<const std::int64_t>(), nullptr};
      Shape shape{static_cast<std::int64_t>(batches[b].size())};
      view.shape = shape;
      view.data = batches[b].data();
      s.observe("t", view, static_cast<std::int64_t>(b));
    }
    return s;
  };
  std::vector<std::size_t> forward(12), backward(12);
  for (std::size_t i = 0; i < 12; ++i) forward[i] = i, backward[i] = 11 - i;
  std::vector<std::size_t> shuffled = forward;
  Rng rng(7);
  shuffle(std::span<std::size_t>(shuffled), rng);
  const auto a = run(forward, 1);
  const auto b = run(backward, 1);
  const auto c = run(shuffled, 3);
  ASSERT_TRUE(a.histogram() && b.histogram() && c.histogram());
  auto counts = [](const TensorStats& s) {
    return std::vector<std::uint64_t>(s.histogram()->counts().begin(),
                                      s.histogram()->counts().end());
  };
  EXPECT_EQ(counts(a), counts(b));
  EXPECT_EQ(counts(a), counts(c));
  EXPECT_EQ(a.histogram()->range_exponent(), c.histogram()->range_exponent());
  EXPECT_EQ(a.min(), c.min());
  EXPECT_EQ(a.max(), c.max());

  // Shards merged equal the single run.
  auto shard1 = run({0, 1, 2, 3, 4}, 1);
  auto shard2 = run({5, 6, 7, 8, 9, 10, 11}, 2);
  shard1.merge(shard2);
  EXPECT_EQ(counts(shard1), counts(a));
  EXPECT_EQ(shard1.count(), a.count());
  EXPECT_EQ(std::vector<float>(shard1.batch_maxs().begin(), shard1.batch_maxs().end()),
            std::vector<float>(a.batch_maxs().begin(), a.batch_maxs().end()));
}

TEST(AbsHistogram, ZerosBeforeRangeStayInBinZero) {
  AbsHistogram h(16);
  std::vector<float> zeros(10, 0.0f);
  h.cover(0.0f);
  h.add_values(zeros);
  EXPECT_FALSE(h.has_range());
  std::vector<float> ones{1.0f, -1.5f};
  h.cover(1.5f);
  h.add_values(ones);
  EXPECT_EQ(h.range_exponent(), 1);
  EXPECT_EQ(h.counts()[0], 10u);
  EXPECT_EQ(h.counts()[8], 1u);   // 1.0 * 16 / 2
  EXPECT_EQ(h.counts()[12], 1u);  // 1.5 * 8
}

TEST(AbsHistogram, RejectsBadBinCountsAndStates) {
  EXPECT_THROW(AbsHistogram(1000), Error);
  EXPECT_THROW(AbsHistogram(1), Error);
  EXPECT_THROW(AbsHistogram::from_state(false, 0, {0, 1}), Error);
  EXPECT_THROW(AbsHistogram::from_state(true, 500, {0, 1}), Error);
  AbsHistogram a(16), b(32);
  EXPECT_THROW(a.merge(b), Error);
}

}  // namespace
}  // namespace qcal::calib
