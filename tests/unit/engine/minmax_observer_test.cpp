// MinMaxObserver: the scans the elementwise kernels hand over equal scan_min_max() of the
// observed values exactly (any thread count, broadcast paths, NaN/Inf), a convolution's output
// is scanned by the Sigmoid that reads it, the tensors no kernel scans come with nullptr, and
// every watched tensor is reported exactly once, as the plain observer reports them.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "core/minmax_scan.hpp"
#include "core/rng.hpp"
#include "engine/session.hpp"
#include "onnx_builder.hpp"

namespace qcal::engine {
namespace {

std::vector<float> uniform(std::int64_t n, float lo, float hi, Rng& rng) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& f : v) f = lo + (hi - lo) * static_cast<float>(rng.next_double());
  return v;
}

// x -> Conv = c -> Sigmoid = s; m = Mul(c, s) (a SiLU); r = Relu(m); a = Add(r, bias[1,8,1,1])
// (broadcast rows); x -> Conv = d -> MaxPool = p; sd = Mul(s, d) (d read as the second input);
// sum = Sum(r, d, s) (variadic: the last pass scans); sl = Slice(m) (channels 1..4, a strided
// copy); tr = Transpose(a) to NHWC.
std::shared_ptr<const Model> silu_model() {
  test::OnnxBuilder b;
  b.input("x", {1, 4, 64, 64});
  Rng rng(11);
  b.initializer("w1", {8, 4, 3, 3}, uniform(8 * 4 * 9, -0.5f, 0.5f, rng));
  b.initializer("w2", {8, 4, 1, 1}, uniform(8 * 4, -0.5f, 0.5f, rng));
  b.initializer("bias", {1, 8, 1, 1}, uniform(8, -2.0f, 2.0f, rng));
  test::OnnxBuilder::attr_ints(b.node("Conv", {"x", "w1"}, {"c"}, "conv1"), "pads", {1, 1, 1, 1});
  b.node("Sigmoid", {"c"}, {"s"}, "sig");
  b.node("Mul", {"c", "s"}, {"m"}, "silu");
  b.node("Relu", {"m"}, {"r"}, "relu");
  b.node("Add", {"r", "bias"}, {"a"}, "add");
  b.node("Conv", {"x", "w2"}, {"d"}, "conv2");
  auto* pool = b.node("MaxPool", {"d"}, {"p"}, "pool");
  test::OnnxBuilder::attr_ints(pool, "kernel_shape", {2, 2});
  test::OnnxBuilder::attr_ints(pool, "strides", {2, 2});
  b.node("Mul", {"s", "d"}, {"sd"}, "mul2");
  b.node("Sum", {"r", "d", "s"}, {"sum"}, "sum");
  b.initializer_i64("starts", {1}, {1});
  b.initializer_i64("ends", {1}, {5});
  b.initializer_i64("axes", {1}, {1});
  b.node("Slice", {"m", "starts", "ends", "axes"}, {"sl"}, "slice");
  test::OnnxBuilder::attr_ints(b.node("Transpose", {"a"}, {"tr"}, "transpose"), "perm",
                               {0, 2, 3, 1});
  for (const char* o : {"p", "sd", "sum", "sl", "tr"}) b.output(o);
  return std::make_shared<const Model>(Model::load_from_bytes(b.bytes(), {}));
}

struct Seen {
  std::vector<std::string> order;
  std::map<std::string, std::optional<MinMaxScan>> scans;  // what the observer was handed
  std::map<std::string, MinMaxScan> direct;                // scan_min_max of the view
};

Seen observe_minmax(Session& s, const Tensor& x,
                    std::optional<std::vector<std::string>> names = std::nullopt) {
  Seen seen;
  s.set_minmax_observer(
      [&](const std::string& name, const TensorView& v, const MinMaxScan* minmax) {
        seen.order.push_back(name);
        seen.scans[name] = minmax ? std::optional<MinMaxScan>(*minmax) : std::nullopt;
        seen.direct[name] = scan_min_max(v.values<float>());
      },
      std::move(names));
  s.run(std::vector<Tensor>{x});
  return seen;
}

// Bitwise: the handed scan is the one a read would give (when all finite; otherwise only the flag
// counts, min/max then being unspecified).
void expect_same_scan(const MinMaxScan& handed, const MinMaxScan& direct, const std::string& name) {
  EXPECT_EQ(handed.all_finite, direct.all_finite) << name;
  if (!direct.all_finite) return;
  EXPECT_EQ(std::bit_cast<std::uint32_t>(handed.min), std::bit_cast<std::uint32_t>(direct.min))
      << name;
  EXPECT_EQ(std::bit_cast<std::uint32_t>(handed.max), std::bit_cast<std::uint32_t>(direct.max))
      << name;
}

Tensor silu_input(Rng& rng) {
  return Tensor::from_values<float>({1, 4, 64, 64}, uniform(4 * 64 * 64, -3.0f, 3.0f, rng));
}

TEST(MinMaxObserver, KernelScansEqualReadingTheTensorAtAnyThreadCount) {
  const auto model = silu_model();
  Rng rng(4);
  const Tensor x = silu_input(rng);
  for (int threads : {1, 2, 3}) {
    Session plain(model, {.num_threads = threads});
    std::vector<std::string> plain_order;
    plain.set_observer(
        [&](const std::string& name, const TensorView&) { plain_order.push_back(name); });
    plain.run(std::vector<Tensor>{x});

    Session s(model, {.num_threads = threads});
    const Seen seen = observe_minmax(s, x);
    // The same tensors, each once.
    EXPECT_EQ(std::multiset<std::string>(seen.order.begin(), seen.order.end()),
              std::multiset<std::string>(plain_order.begin(), plain_order.end()));
    // Scanned by kernels: c (by the Sigmoid reading it), s (sigmoid_f32 of c's min and max: the
    // kernel is monotone), m, r, a (broadcast Add), sd, sum, sl, tr.
    for (const char* t : {"c", "s", "m", "r", "a", "sd", "sum", "sl", "tr"}) {
      ASSERT_TRUE(seen.scans.at(t).has_value()) << t << " at " << threads << " threads";
      expect_same_scan(*seen.scans.at(t), seen.direct.at(t), t);
    }
    // Not scanned: the graph input, a conv output whose readers do not scan it as their first
    // input (MaxPool, Mul's second input, Sum), the pool's output.
    for (const char* t : {"x", "d", "p"}) EXPECT_FALSE(seen.scans.at(t).has_value()) << t;
    // c is reported after the Sigmoid that scanned it (so after s's producer ran), the others as
    // the plain observer orders them.
    const auto pos = [&](const std::string& n) {
      return std::find(seen.order.begin(), seen.order.end(), n) - seen.order.begin();
    };
    EXPECT_LT(pos("x"), pos("c"));
    EXPECT_EQ(pos("c") + 1, pos("s"));
  }
}

TEST(MinMaxObserver, ChosenSet) {
  const auto model = silu_model();
  Rng rng(6);
  const Tensor x = silu_input(rng);
  Session s(model, {.num_threads = 2});
  const Seen seen = observe_minmax(s, x, std::vector<std::string>{"c", "r"});
  EXPECT_EQ(seen.order, (std::vector<std::string>{"c", "r"}));
  for (const char* t : {"c", "r"}) {
    ASSERT_TRUE(seen.scans.at(t).has_value()) << t;
    expect_same_scan(*seen.scans.at(t), seen.direct.at(t), t);
  }
}

TEST(MinMaxObserver, NegativeZerosAreCanonicalAsWhenRead) {
  // n = Neg(Relu(x)) holds -0 wherever x <= 0 and negatives elsewhere: its max is -0, which a
  // read reports as +0; so must the kernel's scan, whichever block or chunk saw it first.
  test::OnnxBuilder b;
  b.input("x", {1, 1, 256, 256});
  b.node("Relu", {"x"}, {"r"}, "relu");
  b.node("Neg", {"r"}, {"n"}, "neg");
  b.output("n");
  const auto model = std::make_shared<const Model>(Model::load_from_bytes(b.bytes(), {}));
  Rng rng(12);
  const Tensor x =
      Tensor::from_values<float>({1, 1, 256, 256}, uniform(256 * 256, -1.0f, 1.0f, rng));
  for (int threads : {1, 2}) {
    Session s(model, {.num_threads = threads});
    const Seen seen = observe_minmax(s, x);
    ASSERT_TRUE(seen.scans.at("n").has_value());
    expect_same_scan(*seen.scans.at("n"), seen.direct.at("n"), "n");
    EXPECT_EQ(std::bit_cast<std::uint32_t>(seen.scans.at("n")->max), 0u);  // +0
    ASSERT_TRUE(seen.scans.at("r").has_value());
    expect_same_scan(*seen.scans.at("r"), seen.direct.at("r"), "r");
  }
}

TEST(MinMaxObserver, NanAndInfAreFlaggedNotHidden) {
  const auto model = silu_model();
  for (const float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    Rng rng(7);
    Tensor x = silu_input(rng);
    x.data<float>()[4 * 64 * 64 - 70] = bad;  // near the end: the last block of the last chunk
    for (int threads : {1, 2}) {
      Session s(model, {.num_threads = threads});
      const Seen seen = observe_minmax(s, x);
      // The Sigmoid derives its output's range from its input's only when that is all finite;
      // otherwise s comes unscanned and is read.
      EXPECT_FALSE(seen.scans.at("s").has_value());
      for (const char* t : {"c", "m", "r", "a", "sd", "sum", "sl", "tr"}) {
        ASSERT_TRUE(seen.scans.at(t).has_value()) << t;
        expect_same_scan(*seen.scans.at(t), seen.direct.at(t), t);
      }
      EXPECT_FALSE(seen.scans.at("c")->all_finite);
      EXPECT_FALSE(seen.scans.at("m")->all_finite);
    }
  }
}

TEST(MinMaxObserver, PlainObserverStillSeesExecutionOrderWithoutScans) {
  const auto model = silu_model();
  Rng rng(8);
  const Tensor x = silu_input(rng);
  Session s(model, {.num_threads = 2});
  std::vector<std::string> order;
  s.set_observer([&](const std::string& name, const TensorView&) { order.push_back(name); });
  s.run(std::vector<Tensor>{x});
  EXPECT_EQ(order, (std::vector<std::string>{"x", "c", "s", "m", "r", "a", "d", "p", "sd", "sum",
                                             "sl", "tr"}));
}

}  // namespace
}  // namespace qcal::engine
