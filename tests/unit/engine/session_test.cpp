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
  EXPECT_EQ(fused.tensor_names(std::vector<Shape>{{1, 3, 9, 9}}), (std::vector<std::string>{"x", "y"}));
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

}  // namespace
}  // namespace qcal::engine
