// Tensor comparison metrics against hand-computed values, zero and identical inputs, errors.
#include "eval/tensor_metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace qcal::eval {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(TensorMetrics, HandComputed) {
  const std::vector<float> x = {3, 4}, y = {3, 3};
  const TensorComparison c = compare_tensors(x, y);
  // <x,y> = 21, |x| = 5, |y| = sqrt(18); noise = [0, 1].
  EXPECT_NEAR(c.cosine, 21.0 / (5.0 * std::sqrt(18.0)), 1e-15);
  EXPECT_NEAR(c.sqnr_db, 20.0 * std::log10(5.0 / 1.0), 1e-12);
  EXPECT_DOUBLE_EQ(c.max_abs_error, 1.0);
  EXPECT_DOUBLE_EQ(c.mean_abs_error, 0.5);
  EXPECT_EQ(c.elements, 2);
  EXPECT_EQ(c.samples, 1);
}

TEST(TensorMetrics, OrthogonalAndOpposite) {
  const std::vector<float> a = {1, 0}, b = {0, 1};
  EXPECT_DOUBLE_EQ(cosine_similarity(a, b), 0.0);
  EXPECT_NEAR(sqnr_db(a, b), 10.0 * std::log10(0.5), 1e-12);
  const std::vector<float> p = {1, 2}, q = {-1, -2};
  EXPECT_DOUBLE_EQ(cosine_similarity(p, q), -1.0);
  EXPECT_NEAR(sqnr_db(p, q), 10.0 * std::log10(5.0 / 20.0), 1e-12);
  EXPECT_DOUBLE_EQ(max_abs_error(p, q), 4.0);
}

TEST(TensorMetrics, IdenticalInputs) {
  const std::vector<float> x = {0.5f, -2.0f, 7.25f};
  const TensorComparison c = compare_tensors(x, x);
  EXPECT_DOUBLE_EQ(c.cosine, 1.0);
  EXPECT_EQ(c.sqnr_db, kInf);
  EXPECT_EQ(c.max_abs_error, 0.0);
  // Exactly 1 (not 1 - ulp) for any identical vectors, so "FP32 vs itself" reads 1.
  Rng rng(7);
  std::vector<float> v(10007);
  for (float& f : v) f = static_cast<float>(rng.next_normal() * 3.0);
  TensorComparator comp;
  comp.add(v, v);
  comp.add(x, x);
  EXPECT_EQ(comp.result().cosine, 1.0);
  EXPECT_EQ(comp.result().min_sample_cosine, 1.0);
}

TEST(TensorMetrics, ZeroVectors) {
  const std::vector<float> zero = {0, 0, 0}, x = {1, 2, 2};
  // Both zero: identical.
  EXPECT_DOUBLE_EQ(cosine_similarity(zero, zero), 1.0);
  EXPECT_EQ(sqnr_db(zero, zero), kInf);
  // Reference zero, test not: no signal, all noise.
  EXPECT_DOUBLE_EQ(cosine_similarity(zero, x), 0.0);
  EXPECT_EQ(sqnr_db(zero, x), -kInf);
  // Test zero, reference not: noise power equals signal power, 0 dB.
  EXPECT_DOUBLE_EQ(cosine_similarity(x, zero), 0.0);
  EXPECT_DOUBLE_EQ(sqnr_db(x, zero), 0.0);
  EXPECT_DOUBLE_EQ(max_abs_error(x, zero), 2.0);
}

TEST(TensorMetrics, Float64AccumulationDoesNotOverflow) {
  // Squares of 1e30 overflow float32 (max ~3.4e38); float64 sums keep them.
  const std::vector<float> x = {1e30f, 1e30f}, y = {1e30f, 0.0f};
  EXPECT_NEAR(cosine_similarity(x, y), 1.0 / std::sqrt(2.0), 1e-7);
  EXPECT_NEAR(sqnr_db(x, y), 10.0 * std::log10(2.0), 1e-6);
}

TEST(TensorMetrics, SetIsConcatenationAndTracksWorstSample) {
  TensorComparator comp;
  const std::vector<float> x1 = {1, 0}, y1 = {1, 0};  // identical
  const std::vector<float> x2 = {0, 1}, y2 = {1, 1};  // cos 1/sqrt2
  comp.add(x1, y1);
  comp.add(x2, y2);
  const TensorComparison c = comp.result();
  const std::vector<float> xc = {1, 0, 0, 1}, yc = {1, 0, 1, 1};
  EXPECT_DOUBLE_EQ(c.cosine, cosine_similarity(xc, yc));
  EXPECT_DOUBLE_EQ(c.sqnr_db, sqnr_db(xc, yc));
  EXPECT_NEAR(c.min_sample_cosine, 1.0 / std::sqrt(2.0), 1e-15);
  EXPECT_DOUBLE_EQ(c.min_sample_sqnr_db, 0.0);  // |x2| = 1, |x2 - y2| = 1
  EXPECT_EQ(c.samples, 2);
  EXPECT_EQ(c.elements, 4);
}

TEST(TensorMetrics, Errors) {
  const std::vector<float> a = {1, 2}, b = {1, 2, 3};
  try {
    (void)compare_tensors(a, b);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  const std::vector<float> nan = {1, std::numeric_limits<float>::quiet_NaN()};
  try {
    (void)compare_tensors(a, nan);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNumeric);
    EXPECT_NE(e.message().find("element 1"), std::string::npos);
  }
}

}  // namespace
}  // namespace qcal::eval
