// Histogram-based int8 noise estimate: the textbook step^2/12 on fine bins, clipping power,
// exact zeros costing nothing, and a heavy-tailed histogram scoring below a benign one.
#include "calib/quant_noise.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace qcal::calib {
namespace {

TEST(QuantNoise, FineUniformHistogramGivesStepSquaredOverTwelve) {
  // |x| uniform on [0, 1) in 4096 bins, amax 1: noise step^2 / 12 with step 1/127, signal 1/3,
  // SQNR 10 log10(4 * 127^2) = 48.1 dB (the 8-bit textbook figure for a full-scale uniform).
  std::vector<std::uint64_t> c(4096, 10);
  const auto n = histogram_quant_noise(c, 1.0 / 4096, 1.0);
  const double step = 1.0 / 127;
  EXPECT_NEAR(n.noise, step * step / 12, 1e-3 * step * step / 12);
  EXPECT_NEAR(n.signal, 1.0 / 3, 1e-6);
  EXPECT_DOUBLE_EQ(n.clipped, 0.0);
  EXPECT_NEAR(n.sqnr_db(), 10 * std::log10(4.0 * 127 * 127), 0.01);
}

TEST(QuantNoise, ClippingAddsTheSquaredExcess) {
  // Half the values uniform on [0, 1), half on [3, 4); amax 1: the upper half is clipped to 1,
  // mean squared excess over [3, 4) is ((3^3 - 2^3) / 3) = 19/3, weighted by 1/2.
  std::vector<std::uint64_t> c(4096, 0);
  for (int k = 0; k < 1024; ++k) c[k] = 1;
  for (int k = 3072; k < 4096; ++k) c[k] = 1;
  const auto n = histogram_quant_noise(c, 4.0 / 4096, 1.0);
  EXPECT_NEAR(n.clipped, 0.5 * 19.0 / 3.0, 1e-6);
  EXPECT_GT(n.noise, n.clipped);
  EXPECT_LT(n.sqnr_db(), 10.0);
}

TEST(QuantNoise, ExactZerosCostAlmostNothing) {
  // A ReLU-like tensor: 90% zeros (bin 0, far narrower than a step) and the rest uniform. The
  // zeros add signal 0 and noise ~0 (bin 0 is 1/31 of a step: w^2/3 per value), so the SQNR
  // stays within 0.2 dB of the dense tensor's; charging step^2/12 to every value would cost 10 dB.
  std::vector<std::uint64_t> dense(4096, 1), sparse(4096, 1);
  sparse[0] = 9 * 4096;
  const double a = histogram_quant_noise(dense, 1.0 / 4096, 1.0).sqnr_db();
  const double b = histogram_quant_noise(sparse, 1.0 / 4096, 1.0).sqnr_db();
  EXPECT_NEAR(a, b, 0.2);
}

TEST(QuantNoise, HeavyTailScoresBelowABenignTensor) {
  // Same bulk (|x| mostly below 1); the heavy-tailed tensor has rare values up to 60 that set
  // its amax, so its step is 60x larger relative to the bulk.
  std::vector<std::uint64_t> benign(2048, 0), heavy(2048, 0);
  const double w = 64.0 / 2048;
  for (int k = 0; k < 32; ++k) benign[k] = heavy[k] = 1000;
  for (int k = 32; k < 1920; k += 64) heavy[k] = 1;
  const double s_benign = histogram_quant_noise(benign, w, 1.0).sqnr_db();
  const double s_heavy = histogram_quant_noise(heavy, w, 60.0).sqnr_db();
  EXPECT_GT(s_benign, 40.0);
  EXPECT_LT(s_heavy, s_benign - 20.0);
}

TEST(QuantNoise, DegenerateInputs) {
  std::vector<std::uint64_t> none(16, 0), some(16, 1);
  EXPECT_TRUE(std::isinf(histogram_quant_noise(none, 0.1, 1.0).sqnr_db()));
  EXPECT_DOUBLE_EQ(histogram_quant_noise(some, 0.1, 0.0).noise, 0.0);
  EXPECT_TRUE(std::isnan(tensor_sqnr_db(TensorStats{}, 1.0)));
}

}  // namespace
}  // namespace qcal::calib
