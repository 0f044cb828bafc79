// Session tests: running, input validation, the observer (all tensors or a chosen set).
#include "engine/session.hpp"

#include "core/error.hpp"
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
