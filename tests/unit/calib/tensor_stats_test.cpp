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
  EXPECT_FLOAT_EQ(r.min, -2.0f);  // -1 + 0.5 * (-3 + 1)
  EXPECT_FLOAT_EQ(r.max, 1.25f);  // 2 + 0.5 * (0.5 - 2)
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
  s.observe("t",
            batch({1.0f, std::numeric_limits<float>::quiet_NaN(), -2.0f,
                   -std::numeric_limits<float>::infinity()})
                .view(),
            0);
  EXPECT_EQ(s.nonfinite(), 2u);
  EXPECT_EQ(s.count(), 2u);
  EXPECT_EQ(s.min(), -2.0f);
  EXPECT_EQ(s.histogram()->total(), 2u);
}

TEST(TensorStats, AllZeroTensorGetsUsableScale) {
  TensorStats s;
  s.observe("zeros", batch(std::vector<float>(1000, 0.0f)).view(), 0);
  s.observe("zeros", batch(std::vector<float>(10, -0.0f)).view(), 1);
  for (Method m :
       {Method::kMinMax, Method::kEma, Method::kPercentile, Method::kEntropy, Method::kMse}) {
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

// The vector paths (SSE2/AVX2/AVX-512, picked at run time) against a plain scalar scan, over
// lengths that exercise the vector body and the scalar tail, with NaN and Inf at every kind of
// position (first element, inside the vector body, in the tail).
TEST(ScanMinMax, MatchesScalarScanAtEveryLengthAndPosition) {
  Rng rng(3);
  for (std::size_t n : {1u, 3u, 15u, 16u, 17u, 31u, 32u, 63u, 64u, 65u, 127u, 200u, 1000u}) {
    std::vector<float> v(n);
    for (auto& x : v) x = static_cast<float>(rng.next_double() * 200.0 - 100.0);
    float lo = v[0], hi = v[0];
    for (float x : v) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    const auto r = scan_min_max(v);
    EXPECT_EQ(r.min, lo) << n;
    EXPECT_EQ(r.max, hi) << n;
    EXPECT_TRUE(r.all_finite) << n;
    for (std::size_t at : {std::size_t{0}, n / 2, n - 1}) {
      for (float bad :
           {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
            -std::numeric_limits<float>::infinity()}) {
        auto w = v;
        w[at] = bad;
        EXPECT_FALSE(scan_min_max(w).all_finite) << n << " at " << at << " value " << bad;
      }
    }
  }
  // Signed zeros: the answer is +0 whatever the order.
  std::vector<float> z(100, -0.0f);
  z[50] = 0.0f;
  const auto r = scan_min_max(z);
  EXPECT_FALSE(std::signbit(r.min));
  EXPECT_FALSE(std::signbit(r.max));
}

// Large tensors are split across threads; the statistics must not depend on the thread count.
TEST(TensorStats, ThreadCountDoesNotChangeResults) {
  Rng rng(5);
  std::vector<float> v((1u << 18) + 77);
  for (auto& x : v) x = static_cast<float>(rng.next_double() * 8.0 - 3.0);
  const Shape shape{static_cast<std::int64_t>(v.size())};
  const TensorView view{DType::kFloat32, shape, v.data()};
  std::vector<TensorStats> runs;
  for (int threads : {1, 2, 3, 7}) {
    CollectOptions o;
    o.threads = threads;
    runs.emplace_back(o);
    runs.back().observe("t", view, 0);
  }
  for (const auto& s : runs) {
    EXPECT_EQ(s.min(), runs[0].min());
    EXPECT_EQ(s.max(), runs[0].max());
    EXPECT_EQ(s.count(), runs[0].count());
    const auto a = s.histogram()->counts();
    const auto b = runs[0].histogram()->counts();
    EXPECT_EQ(std::vector<std::uint64_t>(a.begin(), a.end()),
              std::vector<std::uint64_t>(b.begin(), b.end()));
  }
  // A NaN deep inside one thread's chunk is still found and reported with its element index.
  v[v.size() - 5] = std::numeric_limits<float>::quiet_NaN();
  CollectOptions o;
  o.threads = 2;
  TensorStats s(o);
  try {
    s.observe("t", view, 4);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find(std::to_string(v.size() - 5)), std::string::npos) << e.describe();
  }
}

// Blocks are binned as they are scanned, the histogram growing when a later block holds a larger
// magnitude; the counts must equal binning every value directly at the final range, for any
// thread count, with the growth spread over many blocks, and with an earlier batch's range.
TEST(TensorStats, HistogramGrowingWithinABatchEqualsDirectBinning) {
  Rng rng(9);
  std::vector<float> v(200000);
  // Magnitudes rise through the tensor (many range doublings inside one observe), with signs and
  // exact zeros mixed in.
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double mag = std::ldexp(rng.next_double(), static_cast<int>(i / 9000)) * 1e-3;
    v[i] = i % 17 == 0 ? 0.0f : static_cast<float>(i % 2 ? mag : -mag);
  }
  const Batch small = batch({0.25f, -0.5f, 0.0f});
  const Shape shape{static_cast<std::int64_t>(v.size())};
  for (int threads : {1, 2, 3, 5}) {
    CollectOptions o;
    o.threads = threads;
    TensorStats s(o);
    s.observe("t", small.view(), 0);
    s.observe("t", TensorView{DType::kFloat32, shape, v.data()}, 1);
    const AbsHistogram& h = *s.histogram();
    float absmax = 0;
    for (float x : v) absmax = std::max(absmax, std::fabs(x));
    ASSERT_EQ(h.range_exponent(), range_exponent_for(absmax));
    std::vector<std::uint64_t> direct(static_cast<std::size_t>(h.num_bins()), 0);
    const double width = h.bin_width();
    for (float x : small.values)
      ++direct[static_cast<std::size_t>(std::fabs(static_cast<double>(x)) / width)];
    for (float x : v) ++direct[static_cast<std::size_t>(std::fabs(static_cast<double>(x)) / width)];
    const auto c = h.counts();
    EXPECT_EQ(std::vector<std::uint64_t>(c.begin(), c.end()), direct) << threads << " threads";
  }
}

// A Concat's (or Reshape's) statistics combined from its inputs' equal a direct observation of
// the concatenated values, batch by batch: counts, min/max, the EMA sequence and the histogram,
// including parts whose ranges differ by many doublings, a part repeated, an empty part and
// skipped non-finite values.
TEST(TensorStats, UnionOfPartsEqualsObservingTheConcatenation) {
  Rng rng(21);
  CollectOptions o;
  o.threads = 2;
  o.ignore_nonfinite = true;
  TensorStats a(o), b(o), e(o), direct(o), derived(o);
  for (std::int64_t sample = 0; sample < 4; ++sample) {
    std::vector<float> va(30000 + 1000 * sample), vb(5000);
    for (auto& x : va) x = static_cast<float>(rng.next_normal() * 0.01 * (1 << sample));
    for (auto& x : vb) x = static_cast<float>(rng.next_normal() * 40.0 - 3.0);
    if (sample == 2) vb[17] = std::numeric_limits<float>::infinity();
    const std::vector<float> ve;
    a.observe("a", batch(va).view(), sample);
    b.observe("b", batch(vb).view(), sample);
    e.observe("e", batch(ve).view(), sample);
    // Concat(a, b, a, e)
    std::vector<float> all = va;
    all.insert(all.end(), vb.begin(), vb.end());
    all.insert(all.end(), va.begin(), va.end());
    direct.observe("c", batch(all).view(), sample);
    const TensorStats* parts[] = {&a, &b, &a, &e};
    derived.observe_union("c", parts, sample);
    if (sample == 1) {
      derived.union_histogram(parts);  // at a batch boundary, then again at the end
      EXPECT_EQ(derived.histogram()->total(), direct.histogram()->total());
    }
  }
  const TensorStats* parts[] = {&a, &b, &a, &e};
  derived.union_histogram(parts);
  EXPECT_EQ(derived.count(), direct.count());
  EXPECT_EQ(derived.nonfinite(), direct.nonfinite());
  EXPECT_EQ(derived.nonfinite(), 1u);
  EXPECT_EQ(derived.min(), direct.min());
  EXPECT_EQ(derived.max(), direct.max());
  const auto v = [](std::span<const float> s) { return std::vector<float>(s.begin(), s.end()); };
  EXPECT_EQ(v(derived.batch_mins()), v(direct.batch_mins()));
  EXPECT_EQ(v(derived.batch_maxs()), v(direct.batch_maxs()));
  ASSERT_TRUE(derived.histogram() && direct.histogram());
  EXPECT_EQ(derived.histogram()->range_exponent(), direct.histogram()->range_exponent());
  const auto hd = derived.histogram()->counts();
  const auto hx = direct.histogram()->counts();
  EXPECT_EQ(std::vector<std::uint64_t>(hd.begin(), hd.end()),
            std::vector<std::uint64_t>(hx.begin(), hx.end()));

  // A part that missed the batch is a bug, reported with the tensor's name.
  TensorStats late(o);
  const TensorStats* stale[] = {&a};
  try {
    late.observe_union("c", stale, 9);
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_EQ(err.code(), ErrorCode::kInternal);
    EXPECT_NE(err.describe().find("c"), std::string::npos);
  }
}

}  // namespace
}  // namespace qcal::calib
