// TensorStats and select_range: streaming min/max/EMA, NaN/Inf handling, degenerate tensors.
#include "calib/tensor_stats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "calib/range_select.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

namespace qcal::calib {
namespace {

struct Batch {
  Shape shape;
  std::vector<float> values;
  TensorView view() const { return {DType::kFloat32, shape, values.data()}; }
};

Batch batch(std::vector<float> v) {
  Batch b;
  b.shape = {static_cast<std::int64_t>(v.size())};
  b.values = std::move(v);
  return b;
}

TEST(TensorStats, MinMaxAndEmaOverBatches) {
  TensorStats s;
  s.observe("t", batch({-1.0f, 2.0f}).view(), 0);
  s.observe("t", batch({-3.0f, 0.5f}).view(), 1);
  EXPECT_EQ(s.min(), -3.0f);
  EXPECT_EQ(s.max(), 2.0f);
  EXPECT_EQ(s.count(), 4u);
  SelectOptions o;
  o.method = Method::kMinMax;
  auto r = select_range(s, o);
  EXPECT_EQ(r.amax, 3.0f);
  o.method = Method::kEma;
  o.ema_momentum = 0.5;
  r = select_range(s, o);
  EXPECT_FLOAT_EQ(r.min, -2.0f);   // -1 + 0.5 * (-3 + 1)
  EXPECT_FLOAT_EQ(r.max, 1.25f);   // 2 + 0.5 * (0.5 - 2)
  EXPECT_FLOAT_EQ(r.amax, 2.0f);
}

TEST(TensorStats, NonFiniteIsReportedWithTensorAndSample) {
  TensorStats s;
  s.observe("conv1", batch({1.0f, 2.0f}).view(), 0);
  try {
    s.observe("conv1", batch({1.0f, std::numeric_limits<float>::quiet_NaN()}).view(), 7);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNumeric);
    const std::string d = e.describe();
    EXPECT_NE(d.find("NaN"), std::string::npos) << d;
    EXPECT_NE(d.find("conv1"), std::string::npos) << d;
    EXPECT_NE(d.find("sample: 7"), std::string::npos) << d;
  }
  try {
    s.observe("conv1", batch({std::numeric_limits<float>::infinity()}).view(), 9);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("Inf"), std::string::npos);
  }
}

TEST(TensorStats, IgnoreNonFiniteSkipsAndCounts) {
  CollectOptions o;
  o.ignore_nonfinite = true;
  TensorStats s(o);
  s.observe("t", batch({1.0f, std::numeric_limits<float>::quiet_NaN(), -2.0f,
                        -std::numeric_limits<float>::infinity()}).view(), 0);
  EXPECT_EQ(s.nonfinite(), 2u);
  EXPECT_EQ(s.count(), 2u);
  EXPECT_EQ(s.min(), -2.0f);
  EXPECT_EQ(s.histogram()->total(), 2u);
}

TEST(TensorStats, AllZeroTensorGetsUsableScale) {
  TensorStats s;
  s.observe("zeros", batch(std::vector<float>(1000, 0.0f)).view(), 0);
  s.observe("zeros", batch(std::vector<float>(10, -0.0f)).view(), 1);
  for (Method m : {Method::kMinMax, Method::kEma, Method::kPercentile, Method::kEntropy,
                   Method::kMse}) {
    SelectOptions o;
    o.method = m;
    const auto r = select_range(s, o);
    EXPECT_EQ(r.amax, 0.0f) << method_name(m);
    const auto q = symmetric_int8(r.amax);
    EXPECT_GT(q.scale, 0.0f);
    EXPECT_TRUE(std::isfinite(0.0f / q.scale));
  }
  EXPECT_FALSE(std::signbit(s.min()));
}

TEST(TensorStats, HistogramMethodsClampToAbsmax) {
  Rng rng(3);
  std::vector<float> v(50000);
  for (auto& x : v) x = static_cast<float>(rng.next_normal());
  TensorStats s;
  s.observe("t", batch(v).view(), 0);
  for (Method m : {Method::kPercentile, Method::kEntropy, Method::kMse}) {
    SelectOptions o;
    o.method = m;
    const auto r = select_range(s, o);
    EXPECT_LE(r.amax, s.absmax()) << method_name(m);
    EXPECT_GT(r.amax, 1.5f) << method_name(m);
    EXPECT_GE(r.min, -r.amax);
    EXPECT_LE(r.max, r.amax);
  }
}

TEST(TensorStats, HistogramMethodWithoutHistogramIsAnError) {
  CollectOptions c;
  c.histogram = false;
  TensorStats s(c);
  s.observe("t", batch({1.0f}).view(), 0);
  SelectOptions o;
  EXPECT_THROW(select_range(s, o), Error);
}

TEST(TensorStats, RejectsNonFloat) {
  TensorStats s;
  std::vector<std::int64_t> v{1, 2};
  Shape shape{2};
  EXPECT_THROW(s.observe("ids", TensorView{DType::kInt64, shape, v.data()}, 0), Error);
}

TEST(ScanMinMax, FindsExtremesAndNonFinite) {
  std::vector<float> v(37);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) - 18.0f;
  auto r = scan_min_max(v);
  EXPECT_EQ(r.min, -18.0f);
  EXPECT_EQ(r.max, 18.0f);
  EXPECT_TRUE(r.all_finite);
  v[36] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(scan_min_max(v).all_finite);
  v[36] = 0;
  v[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(scan_min_max(v).all_finite);
}

}  // namespace
}  // namespace qcal::calib
