// Range selectors: known optima on synthetic histograms, and agreement with an independent
// numpy reimplementation of the public reference algorithms (reference_selectors.py).
#include "calib/range_select.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "test_support.hpp"

namespace qcal::calib {
namespace {

using Counts = std::vector<std::uint64_t>;

Counts histogram_of(const std::vector<double>& abs_values, std::size_t bins, double width) {
  Counts c(bins, 0);
  for (double v : abs_values) {
    const auto k = static_cast<std::size_t>(std::floor(v / width));
    c[std::min(k, bins - 1)] += 1;
  }
  return c;
}

// Synthetic histograms of the shapes activations take.
std::vector<Counts> synthetic_histograms() {
  std::vector<Counts> out;
  Rng rng(2024);
  auto draw = [&](std::size_t n, auto f) {
    std::vector<double> v(n);
    for (auto& x : v) x = f();
    return v;
  };
  // Gaussian |x| over [0, 4.5 sigma]
  out.push_back(
      histogram_of(draw(200000, [&] { return std::fabs(rng.next_normal()); }), 2048, 4.6 / 2048));
  // Laplacian with a long tail
  out.push_back(histogram_of(draw(200000, [&] { return -std::log(1.0 - rng.next_double()); }), 2048,
                             14.0 / 2048));
  // ReLU-like: half zeros plus a half-normal
  out.push_back(histogram_of(draw(100000,
                                  [&] {
                                    const double g = rng.next_normal();
                                    return g > 0 ? g : 0.0;
                                  }),
                             1024, 4.5 / 1024));
  // Bulk plus a few far outliers (clipping should win)
  {
    auto v = draw(100000, [&] { return std::fabs(rng.next_normal()) * 0.1; });
    for (int k = 0; k < 20; ++k) v.push_back(3.9 + 0.001 * k);
    out.push_back(histogram_of(v, 2048, 4.0 / 2048));
  }
  // Sparse: many empty bins
  {
    Counts c(600, 0);
    for (std::size_t k = 0; k < 600; k += 7) c[k] = 1 + rng.next_below(50);
    c[599] = 3;
    out.push_back(c);
  }
  return out;
}

TEST(Percentile, KnownOptimumOnUniformHistogram) {
  Counts c(2048, 0);
  for (std::size_t k = 0; k < 1000; ++k) c[k] = 10;  // 10000 values uniform over 1000 bins
  EXPECT_DOUBLE_EQ(select_amax_percentile(c, 0.5, 99.99), 1000 * 0.5);
  EXPECT_DOUBLE_EQ(select_amax_percentile(c, 0.5, 99.0), 990 * 0.5);
  EXPECT_DOUBLE_EQ(select_amax_percentile(c, 0.5, 50.0), 500 * 0.5);
  EXPECT_DOUBLE_EQ(select_amax_percentile(c, 0.5, 100.0), 1000 * 0.5);
}

TEST(Entropy, KnownOptimumOnUniformHistogramIsItsEnd) {
  // Uniform counts: at i = 1000 both P and Q are flat, KL is exactly 0; every smaller i folds
  // outliers into the last bin (KL > 0). Trimmed at 1000 bins, i = 1000 is the optimum.
  Counts c(1000, 5);
  EXPECT_DOUBLE_EQ(entropy_divergence(c, 1000, 128), 0.0);
  EXPECT_GT(entropy_divergence(c, 900, 128), 0.0);
  EXPECT_DOUBLE_EQ(select_amax_entropy(c, 0.25), 1000 * 0.25);
}

TEST(Entropy, ClipsFarOutliers) {
  const auto hists = synthetic_histograms();
  const double width = 4.0 / 2048;
  const double amax = select_amax_entropy(hists[3], width);
  EXPECT_LT(amax, 1.0);  // the bulk is |N(0, 0.1)|; outliers at 3.9 are clipped
  EXPECT_GT(amax, 0.2);
}

TEST(Entropy, ShortHistogramKeepsFullRange) {
  Counts c(100, 1);
  EXPECT_DOUBLE_EQ(select_amax_entropy(c, 1.0), 100.0);
}

TEST(Mse, SingleSpikeIsNotClipped) {
  Counts c(256, 0);
  c[200] = 1000;  // all mass at 200.5
  const double amax = select_amax_mse(c, 1.0);
  EXPECT_GE(amax, 200.5 - 1.0);  // clipping far below would cost (200.5 - amax)^2
  const double scale = amax / 127;
  const double q = std::min(std::nearbyint(200.5 / scale), 127.0) * scale;
  EXPECT_LT(std::fabs(q - 200.5), 0.8);
}

TEST(Mse, ClipsALoneFarOutlierButKeepsAHeavyOne) {
  // 10^6 values uniform over bins [0, 1000) and one value in the last bin: unclipped, the
  // rounding error is about N * (2048 / 127)^2 / 12 = 2.2e7; clipping at ~1000 costs
  // N * (1000 / 127)^2 / 12 + 1048^2 = 6.3e6. Clipping wins.
  Counts c(2048, 0);
  for (std::size_t k = 0; k < 1000; ++k) c[k] = 1000;
  c[2047] = 1;
  const double amax = select_amax_mse(c, 1.0);
  EXPECT_LT(amax, 1100.0);
  EXPECT_GT(amax, 900.0);
  // With 10^5 values out there, clipping them costs far more: the full range is kept.
  c[2047] = 100000;
  EXPECT_GT(select_amax_mse(c, 1.0), 2000.0);
}

TEST(Selectors, MatchNumpyReferenceOnSyntheticHistograms) {
  test::TempDir dir;
  const auto hists = synthetic_histograms();
  std::string cmd = test::system_python() + " " + QCAL_SOURCE_DIR +
                    "/tests/unit/calib/reference_selectors.py " + (dir / "out.json").string();
  for (std::size_t h = 0; h < hists.size(); ++h) {
    const auto path = dir / ("h" + std::to_string(h) + ".npy");
    write_npy(path, Tensor::from_values<std::uint64_t>({static_cast<std::int64_t>(hists[h].size())},
                                                       hists[h]));
    cmd += " " + path.string();
  }
  const auto r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(dir / "out.json");
  const auto ref = nlohmann::json::parse(in);
  ASSERT_EQ(ref.size(), hists.size());
  for (std::size_t h = 0; h < hists.size(); ++h) {
    SCOPED_TRACE("histogram " + std::to_string(h));
    // Bin width 1 in the reference, so thresholds are bin indices.
    EXPECT_EQ(select_amax_entropy(hists[h], 1.0), ref[h]["entropy"].get<double>());
    EXPECT_EQ(select_amax_percentile(hists[h], 1.0, 99.99),
              ref[h]["percentile_99_99"].get<double>());
    EXPECT_EQ(select_amax_percentile(hists[h], 1.0, 99.0), ref[h]["percentile_99"].get<double>());
    EXPECT_EQ(select_amax_mse(hists[h], 1.0), ref[h]["mse"].get<double>());
  }
}

TEST(MovingAverage, FollowsOrtSemantics) {
  const std::vector<float> seq{1.0f, 3.0f, 3.0f};
  // 1 -> 1 + 0.5 * (3 - 1) = 2 -> 2 + 0.5 * (3 - 2) = 2.5
  EXPECT_DOUBLE_EQ(moving_average(seq, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(moving_average(std::vector<float>{4.0f}, 0.01), 4.0);
  EXPECT_NEAR(moving_average(std::vector<float>{0.0f, 1.0f}, 0.01), 0.01, 1e-12);
}

TEST(QuantParams, DegenerateAndRegular) {
  EXPECT_FLOAT_EQ(symmetric_int8(0.0f).scale, 1.0f / 127.0f);  // all-zero tensor
  EXPECT_GT(symmetric_int8(1e-30f).scale, 0.0f);
  EXPECT_TRUE(std::isfinite(1.0f / symmetric_int8(1e-30f).scale));
  EXPECT_FLOAT_EQ(symmetric_int8(2.54f).scale, 0.02f);
  EXPECT_EQ(symmetric_int8(2.54f).zero_point, 0);
  const auto u = asymmetric_uint8(-1.0f, 3.0f);
  EXPECT_FLOAT_EQ(u.scale, 4.0f / 255.0f);
  EXPECT_EQ(u.zero_point, 64);                     // round(63.75)
  const auto relu = asymmetric_uint8(0.5f, 2.0f);  // range widened to include 0
  EXPECT_EQ(relu.zero_point, 0);
  EXPECT_GT(asymmetric_uint8(0.0f, 0.0f).scale, 0.0f);
}

TEST(Methods, ParseAndValidate) {
  EXPECT_EQ(parse_method("entropy"), Method::kEntropy);
  EXPECT_EQ(parse_method("ema"), Method::kEma);
  EXPECT_THROW(parse_method("kl"), Error);
  SelectOptions o;
  o.percentile = 0;
  EXPECT_THROW(validate(o), Error);
  o = {};
  o.ema_momentum = 1.5;
  EXPECT_THROW(validate(o), Error);
  o = {};
  o.entropy_floor = 101;
  EXPECT_THROW(validate(o), Error);
  o.entropy_floor = -1;
  EXPECT_THROW(validate(o), Error);
}

// SiLU of a mixture: 95% of pre-activations N(-1.5, 1) (the negative lobe piles |x| up below
// 0.28) and 5% exponential with mean 2 (the rare large activations). TensorRT's KL clips over
// 1% of the values here; the floor keeps at least 99.99% of |x| unclipped, and 0 restores the
// reference threshold exactly.
TEST(Entropy, FloorBoundsTheClippedFractionOnSiluActivations) {
  Rng rng(7);
  std::vector<float> values(400000);
  for (std::size_t k = 0; k < values.size(); ++k) {
    const double x =
        k < 380000 ? -1.5 + rng.next_normal() : -2.0 * std::log(1.0 - rng.next_double());
    values[k] = static_cast<float>(x / (1.0 + std::exp(-x)));
  }
  CollectOptions c;
  c.histogram = true;
  TensorStats stats(c);
  const std::int64_t shape[1] = {static_cast<std::int64_t>(values.size())};
  stats.observe("silu", TensorView{DType::kFloat32, shape, values.data()}, 0);
  auto clipped_fraction = [&](float amax) {
    std::size_t n = 0;
    for (float v : values) n += std::fabs(v) > amax;
    return static_cast<double>(n) / static_cast<double>(values.size());
  };
  SelectOptions pure;
  pure.entropy_floor = 0;
  const Range r_pure = select_range(stats, pure);
  const auto& h = *stats.histogram();
  auto counts = h.counts();
  std::size_t used = counts.size();
  while (used > 1 && counts[used - 1] == 0) --used;
  EXPECT_EQ(r_pure.amax,
            static_cast<float>(select_amax_entropy(counts.first(used), h.bin_width())));
  EXPECT_GT(clipped_fraction(r_pure.amax), 0.005);  // KL alone clips about 1% here

  const Range r_floor = select_range(stats, SelectOptions{});  // default floor 99.99
  EXPECT_GE(r_floor.amax, r_pure.amax);
  EXPECT_LE(clipped_fraction(r_floor.amax), 0.0001 + 1e-9);
  EXPECT_LE(r_floor.amax, stats.absmax());
}

}  // namespace
}  // namespace qcal::calib
