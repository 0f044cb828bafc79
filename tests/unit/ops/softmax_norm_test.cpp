// Softmax/LogSoftmax (axis semantics before and after opset 13, non-innermost axis as in YOLOv8's
// DFL head) and BatchNormalization / InstanceNormalization / LayerNormalization against references.
#include <cmath>

#include "op_test_util.hpp"
#include "ops/normalization.hpp"
#include "ops/softmax.hpp"

namespace qcal::test {
namespace {

TEST(Softmax, InnerAndOuterAxesMatchReference) {
  Rng rng(4);
  const Tensor x = random_tensor(rng, {2, 16, 4, 33}, -8.0, 8.0);
  for (std::int64_t axis : {1, -1}) {
    for (const char* op : {"Softmax", "LogSoftmax"}) {
      auto node = make_node(op, 1, 1, 13);
      node.attributes["axis"] = axis;
      const Tensor y1 = run1(node, {x}, 1);
      const Tensor y3 = run1(node, {x}, 3);
      for (std::int64_t i = 0; i < y1.numel(); ++i) {
        ASSERT_EQ(y1.data<float>()[i], y3.data<float>()[i])
            << op << " axis " << axis << " at " << i;
      }
      const std::int64_t outer = axis == 1 ? 2 : 2 * 16 * 4, reduce = axis == 1 ? 16 : 33,
                         inner = axis == 1 ? 4 * 33 : 1;
      std::vector<float> ref(static_cast<std::size_t>(x.numel()));
      ops::softmax_f32_ref(std::string(op) == "LogSoftmax", x.data<float>(), outer, reduce, inner,
                           ref.data());
      for (std::size_t i = 0; i < ref.size(); ++i) {
        ASSERT_NEAR(y1.data<float>()[i], ref[i], 2e-6 * std::fabs(ref[i]) + 1e-6)
            << op << " axis " << axis;
      }
    }
  }
}

TEST(Softmax, Opset11CoercesTo2D) {
  const Tensor x = tensor<float>({1, 2, 2}, {0, 0, 0, 0});
  auto node = make_node("Softmax", 1, 1, 11);  // default axis 1: normalise over the last 4 values
  EXPECT_EQ(values_of<float>(run1(node, {x})), (std::vector<float>{0.25f, 0.25f, 0.25f, 0.25f}));
  auto node13 = make_node("Softmax", 1, 1, 13);  // default axis -1: pairs
  EXPECT_EQ(values_of<float>(run1(node13, {x})), (std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f}));
  node13.attributes["axis"] = std::int64_t{3};
  expect_error([&] { run1(node13, {x}); }, {"out of range", "test_Softmax"});
}

TEST(Normalization, BatchNormMatchesReference) {
  Rng rng(8);
  const Tensor x = random_tensor(rng, {2, 3, 4, 5});
  const Tensor scale = random_tensor(rng, {3}), bias = random_tensor(rng, {3}),
               mean = random_tensor(rng, {3});
  const Tensor var = random_tensor(rng, {3}, 0.1, 2.0);
  const Tensor y = run1(make_node("BatchNormalization", 5, 1, 15), {x, scale, bias, mean, var}, 2);
  std::vector<float> ref(static_cast<std::size_t>(x.numel()));
  ops::batch_normalization_f32_ref(x.data<float>(), x.shape(), scale.data<float>(),
                                   bias.data<float>(), mean.data<float>(), var.data<float>(), 1e-5f,
                                   ref.data());
  for (std::size_t i = 0; i < ref.size(); ++i)
    ASSERT_NEAR(y.data<float>()[i], ref[i], 1e-5 * (1 + std::fabs(ref[i])));
  auto training = make_node("BatchNormalization", 5, 1, 15);
  training.attributes["training_mode"] = std::int64_t{1};
  expect_error([&] { run1(training, {x, scale, bias, mean, var}); }, {"training mode"});
  expect_error(
      [&] {
        run1(make_node("BatchNormalization", 5, 1, 15),
             {x, scale, bias, mean, tensor<float>({2}, {1, 1})});
      },
      {"must have shape [3]"});
}

TEST(Normalization, LayerNormWithStatsOutputs) {
  Rng rng(12);
  const Tensor x = random_tensor(rng, {3, 4, 8});
  const Tensor scale = random_tensor(rng, {8}), bias = random_tensor(rng, {8});
  auto node = make_node("LayerNormalization", 3, 3, 17);
  const auto run = run_op(node, {x, scale, bias}, 2);
  ASSERT_EQ(run.outputs[1].shape(), (Shape{3, 4, 1}));
  std::vector<float> ref(static_cast<std::size_t>(x.numel()));
  ops::layer_normalization_f32_ref(x.data<float>(), 12, 8, scale.data<float>(), bias.data<float>(),
                                   1e-5f, ref.data());
  for (std::size_t i = 0; i < ref.size(); ++i)
    ASSERT_NEAR(run.outputs[0].data<float>()[i], ref[i], 1e-5);
  double mean0 = 0;
  for (int i = 0; i < 8; ++i) mean0 += x.data<float>()[i];
  EXPECT_NEAR(run.outputs[1].data<float>()[0], mean0 / 8, 1e-6);
  // Axis -2 normalises [4, 8] blocks; Scale broadcasts from [8].
  node.attributes["axis"] = std::int64_t{-2};
  EXPECT_EQ(run_op(node, {x, scale, Tensor()}).outputs[0].shape(), (Shape{3, 4, 8}));
  expect_error([&] { run_op(node, {x, random_tensor(rng, {5}), Tensor()}); }, {"do not broadcast"});
}

TEST(Normalization, InstanceNorm) {
  const Tensor x = tensor<float>({1, 2, 2}, {1, 3, 5, 5});
  const Tensor y = run1(make_node("InstanceNormalization", 3, 1, 6),
                        {x, tensor<float>({2}, {1, 1}), tensor<float>({2}, {0, 7})});
  EXPECT_NEAR(y.data<float>()[0], -1.0f, 1e-4);
  EXPECT_NEAR(y.data<float>()[1], 1.0f, 1e-4);
  EXPECT_EQ(y.data<float>()[2], 7.0f);  // zero variance: centred values are 0
}

}  // namespace
}  // namespace qcal::test
