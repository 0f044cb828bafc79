// Session tests: running, input validation, the observer (all tensors or a chosen set).
#include "engine/session.hpp"

#include <cstring>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "onnx_builder.hpp"
#include "test_support.hpp"

namespace qcal::engine {
namespace {

std::shared_ptr<const Model> chain_model() {
  test::OnnxBuilder b;
  b.input("x", {-1, 2});
  b.output("z", {-1, 2});
  b.node("Identity", {"x"}, {"y"});
  b.node("Identity", {"y"}, {"z"});
  return std::make_shared<const Model>(Model::load_from_bytes(b.bytes(), {}));
}

TEST(Session, RunsAndReturnsOwnedOutputs) {
  Session s(chain_model());
  const std::vector<float> v{1, 2, 3, 4};
  const Tensor x = Tensor::from_values<float>({2, 2}, v);
  auto out = s.run(std::vector<Tensor>{x});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(out[0].data<float>()[3], 4.f);
  EXPECT_NE(out[0].raw_data(), x.raw_data());  // the caller's, not a view of the input
}

TEST(Session, ObserverSeesEveryTensorOrAChosenSet) {
  Session s(chain_model());
  std::vector<std::string> seen;
  s.set_observer([&](const std::string& name, const TensorView& v) {
    seen.push_back(name);
    EXPECT_EQ(v.numel(), 6);
  });
  s.run(std::vector<Tensor>{Tensor(DType::kFloat32, {3, 2})});
  EXPECT_EQ(seen, (std::vector<std::string>{"x", "y", "z"}));
  seen.clear();
  s.set_observer([&](const std::string& name, const TensorView&) { seen.push_back(name); },
                 std::vector<std::string>{"y"});
  s.run(std::vector<Tensor>{Tensor(DType::kFloat32, {3, 2})});
  EXPECT_EQ(seen, (std::vector<std::string>{"y"}));
  EXPECT_THROW(s.set_observer([](const std::string&, const TensorView&) {},
                              std::vector<std::string>{"nope"}),
               Error);
}

TEST(Session, InputShapeOrDtypeMismatchNamesTheTensor) {
  Session s(chain_model());
  try {
    s.run(std::vector<Tensor>{Tensor(DType::kFloat32, {3, 5})});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("tensor: x"), std::string::npos) << e.describe();
    EXPECT_NE(e.describe().find("[3, 5]"), std::string::npos) << e.describe();
  }
  EXPECT_THROW(s.run(std::vector<Tensor>{Tensor(DType::kInt64, {3, 2})}), Error);
  EXPECT_THROW(s.run(std::vector<Tensor>{}), Error);
  std::map<std::string, Tensor> named{{"x", Tensor(DType::kFloat32, {1, 2})},
                                      {"extra", Tensor(DType::kFloat32, {1})}};
  EXPECT_THROW(s.run(named), Error);
}

}  // namespace
}  // namespace qcal::engine

namespace qcal::engine {
namespace {

// Conv -> BatchNormalization -> SiLU (Sigmoid, Mul): the fused run (BN folded, SiLU as a oneDNN
// post-op) must match the unfused one (observer on all tensors) and hide only the fused
// intermediates.
TEST(Session, FusionMatchesUnfusedAndRespectsTheObserver) {
  test::OnnxBuilder b;
  b.input("x", {1, 3, 9, 9});
  b.output("y", {1, 4, 9, 9});
  Rng rng(5);
  const auto fill = [&](std::int64_t n, float lo, float hi) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& f : v) f = lo + (hi - lo) * static_cast<float>(rng.next_double());
    return v;
  };
  b.initializer("w", {4, 3, 3, 3}, fill(108, -1, 1));
  b.initializer("gamma", {4}, fill(4, 0.5f, 1.5f));
  b.initializer("beta", {4}, fill(4, -0.5f, 0.5f));
  b.initializer("mean", {4}, fill(4, -0.2f, 0.2f));
  b.initializer("var", {4}, fill(4, 0.5f, 2.f));
  auto* conv = b.node("Conv", {"x", "w"}, {"c"}, "conv");
  test::OnnxBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
  b.node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"n"}, "bn");
  b.node("Sigmoid", {"n"}, {"s"}, "sig");
  b.node("Mul", {"n", "s"}, {"y"}, "mul");
  auto model = std::make_shared<const Model>(Model::load_from_bytes(b.bytes(), {}));
  const std::vector<float> xv = fill(243, -1, 1);
  const std::vector<Tensor> in{Tensor::from_values<float>({1, 3, 9, 9}, xv)};

  Session fused(model);
  EXPECT_EQ(fused.tensor_names(std::vector<Shape>{{1, 3, 9, 9}}),
            (std::vector<std::string>{"x", "y"}));
  const Tensor yf = fused.run(in)[0];

  Session unfused(model);
  std::vector<std::string> seen;
  unfused.set_observer([&](const std::string& name, const TensorView&) { seen.push_back(name); });
  const Tensor yu = unfused.run(in)[0];
  EXPECT_EQ(seen, (std::vector<std::string>{"x", "c", "n", "s", "y"}));
  for (std::int64_t i = 0; i < yf.numel(); ++i) {
    ASSERT_NEAR(yf.data<float>()[i], yu.data<float>()[i], 1e-5f) << i;
  }
  // Watching the BN output keeps it: the Conv+BN fold still happens, the SiLU fusion not.
  Session partial(model);
  partial.set_observer([](const std::string&, const TensorView&) {}, std::vector<std::string>{"n"});
  EXPECT_EQ(partial.tensor_names(std::vector<Shape>{{1, 3, 9, 9}}),
            (std::vector<std::string>{"x", "n", "s", "y"}));

  // Watching, on an already planned fused session, tensors it materialises keeps its graph (and
  // plans); watching one that fusion removed rebuilds it. Both see what they ask, same outputs.
  std::vector<std::string> seen_fused;
  fused.set_observer(
      [&](const std::string& name, const TensorView&) { seen_fused.push_back(name); },
      std::vector<std::string>{"x", "y"});
  const Tensor y_watched = fused.run(in)[0];
  EXPECT_EQ(seen_fused, (std::vector<std::string>{"x", "y"}));
  seen_fused.clear();
  fused.set_observer(
      [&](const std::string& name, const TensorView&) { seen_fused.push_back(name); },
      std::vector<std::string>{"s"});
  const Tensor y_rebuilt = fused.run(in)[0];
  EXPECT_EQ(seen_fused, (std::vector<std::string>{"s"}));
  for (std::int64_t i = 0; i < yf.numel(); ++i) {
    ASSERT_EQ(yf.data<float>()[i], y_watched.data<float>()[i]) << i;
    ASSERT_NEAR(yf.data<float>()[i], y_rebuilt.data<float>()[i], 1e-5f) << i;
  }
  // Back to the fused graph's own tensors after a rebuild that watched "s": rebuilt again, so
  // the SiLU fusion returns and "s" is gone.
  fused.set_observer([](const std::string&, const TensorView&) {}, std::vector<std::string>{"y"});
  EXPECT_EQ(fused.tensor_names(std::vector<Shape>{{1, 3, 9, 9}}),
            (std::vector<std::string>{"x", "y"}));
}

TEST(Session, OutputsDoNotDependOnThreadCount) {
  test::OnnxBuilder b;
  b.input("x", {1, 16, 20, 20});
  b.output("y", {1, 32, 20, 20});
  Rng rng(9);
  std::vector<float> w(32 * 16 * 9);
  for (auto& f : w) f = static_cast<float>(rng.next_double() - 0.5);
  b.initializer("w", {32, 16, 3, 3}, w);
  auto* conv = b.node("Conv", {"x", "w"}, {"y"}, "conv");
  test::OnnxBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
  auto model = std::make_shared<const Model>(Model::load_from_bytes(b.bytes(), {}));
  std::vector<float> xv(16 * 400);
  for (auto& f : xv) f = static_cast<float>(rng.next_double());
  const std::vector<Tensor> in{Tensor::from_values<float>({1, 16, 20, 20}, xv)};
  Session one(model, {.num_threads = 1});
  Session two(model, {.num_threads = 2});
  const Tensor a = one.run(in)[0];
  const Tensor c = two.run(in)[0];
  ASSERT_EQ(a.nbytes(), c.nbytes());
  EXPECT_EQ(std::memcmp(a.raw_data(), c.raw_data(), a.nbytes()), 0);
}

// PP-OCR style: Conv -> Mul(k) -> Add(k) -> Paddle HardSwish (x * Clip(x + 3, 0, 6) / 6) ->
// Conv (1x1) -> depthwise Conv. Fused, the elementwise chain becomes post-ops and the three
// Convs one ConvChain (blocked layout kept between them); the result must match the unfused
// run, be the same bytes at 1 and 2 threads, and watching an intermediate must keep it.
TEST(Session, PostOpChainsAndConvChainsMatchUnfused) {
  test::OnnxBuilder b;
  b.input("x", {1, 3, 10, 10});
  b.output("y", {1, 8, 10, 10});
  Rng rng(11);
  const auto fill = [&](std::int64_t n) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& f : v) f = static_cast<float>(rng.next_double() - 0.5);
    return v;
  };
  b.initializer("w1", {8, 3, 3, 3}, fill(216));
  b.initializer("b1", {8}, fill(8));
  b.initializer("w2", {8, 8, 1, 1}, fill(64));
  b.initializer("w3", {8, 1, 3, 3}, fill(72));
  b.initializer("k_mul", {1}, {1.5f});
  b.initializer("k_add", {1}, {0.25f});
  b.initializer("three", {1}, {3.f});
  b.initializer("zero", {}, {0.f});
  b.initializer("six", {}, {6.f});
  b.initializer("six_div", {1}, {6.f});
  auto* c1 = b.node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1");
  test::OnnxBuilder::attr_ints(c1, "pads", {1, 1, 1, 1});
  b.node("Mul", {"k_mul", "c1"}, {"m"}, "mul");
  b.node("Add", {"m", "k_add"}, {"a"}, "add");
  b.node("Add", {"a", "three"}, {"a3"}, "add3");
  b.node("Clip", {"a3", "zero", "six"}, {"cl"}, "clip");
  b.node("Mul", {"a", "cl"}, {"hm"}, "hmul");
  b.node("Div", {"hm", "six_div"}, {"h"}, "hdiv");
  b.node("Conv", {"h", "w2"}, {"c2"}, "conv2");
  auto* c3 = b.node("Conv", {"c2", "w3"}, {"y"}, "conv3");
  test::OnnxBuilder::attr_ints(c3, "pads", {1, 1, 1, 1});
  test::OnnxBuilder::attr_int(c3, "group", 8);
  auto model = std::make_shared<const Model>(Model::load_from_bytes(b.bytes(), {}));
  const std::vector<Tensor> in{Tensor::from_values<float>({1, 3, 10, 10}, fill(300))};
  const std::vector<Shape> shapes{{1, 3, 10, 10}};

  Session fused(model, {.num_threads = 1, .profile = true});
  EXPECT_EQ(fused.tensor_names(shapes), (std::vector<std::string>{"x", "y"}));
  const Tensor y1 = fused.run(in)[0];
  ASSERT_EQ(fused.profile().size(), 1u);
  EXPECT_EQ(fused.profile()[0].op_type, "ConvChain");
  Session fused2(model, {.num_threads = 2});
  const Tensor y2 = fused2.run(in)[0];
  EXPECT_EQ(std::memcmp(y1.raw_data(), y2.raw_data(), y1.nbytes()), 0);

  Session unfused(model, {.fuse = false});
  const Tensor yu = unfused.run(in)[0];
  for (std::int64_t i = 0; i < y1.numel(); ++i) {
    ASSERT_NEAR(y1.data<float>()[i], yu.data<float>()[i], 1e-5f) << i;
  }
  // Watching the HardSwish output stops the post-op chain there and splits the ConvChain.
  Session partial(model);
  partial.set_observer([](const std::string&, const TensorView&) {}, std::vector<std::string>{"h"});
  EXPECT_EQ(partial.tensor_names(shapes), (std::vector<std::string>{"x", "h", "y"}));
  const Tensor yp = partial.run(in)[0];
  for (std::int64_t i = 0; i < y1.numel(); ++i) {
    ASSERT_NEAR(yp.data<float>()[i], yu.data<float>()[i], 1e-5f) << i;
  }

  // observe_in_chains: watching "h" and "c2" keeps the ConvChain; the observer gets both (in
  // oneDNN's element order, or reordered where the blocked layout pads 8 channels) with the
  // values the split graph produces, and the output is the unwatched chain's, byte for byte.
  std::map<std::string, std::vector<float>> split_values, chain_values;
  const auto collect = [](std::map<std::string, std::vector<float>>& into) {
    return [&into](const std::string& name, const TensorView& v) {
      const auto values = v.values<float>();
      into[name].assign(values.begin(), values.end());
      std::sort(into[name].begin(), into[name].end());
    };
  };
  Session split(model, {.num_threads = 1});
  split.set_observer(collect(split_values), std::vector<std::string>{"h", "c2"});
  split.run(in);
  Session chained(model, {.num_threads = 1, .profile = true, .observe_in_chains = true});
  chained.set_observer(collect(chain_values), std::vector<std::string>{"h", "c2"});
  EXPECT_EQ(chained.tensor_names(shapes), (std::vector<std::string>{"x", "y"}));
  const Tensor yc = chained.run(in)[0];
  ASSERT_EQ(chained.profile().size(), 1u);
  EXPECT_EQ(chained.profile()[0].op_type, "ConvChain");
  EXPECT_EQ(std::memcmp(y1.raw_data(), yc.raw_data(), y1.nbytes()), 0);
  ASSERT_EQ(chain_values.size(), 2u);
  for (const auto& name : {"h", "c2"}) {
    const auto& a = chain_values[name];
    const auto& e = split_values[name];
    ASSERT_EQ(a.size(), e.size()) << name;
    ASSERT_EQ(a.size(), 8u * 10 * 10) << name;
    for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], e[i], 1e-5f) << name << " " << i;
  }
}

}  // namespace
}  // namespace qcal::engine
