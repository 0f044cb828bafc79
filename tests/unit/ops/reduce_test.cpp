// Reductions and ArgMax/ArgMin: keepdims, axes as attribute (opset < 18) or input, non-contiguous
// axes against the reference, noop_with_empty_axes, empty sets, errors.
#include "ops/reduce.hpp"

#include <cmath>

#include "op_test_util.hpp"

namespace qcal::test {
namespace {

TEST(Reduce, MeanKeepdimsAndAttributeAxes) {
  const Tensor x = tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto node = make_node("ReduceMean", 1, 1, 13);
  node.attributes["axes"] = std::vector<std::int64_t>{-1};
  const Tensor y = run1(node, {x});
  EXPECT_EQ(y.shape(), (Shape{2, 1}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{2, 5}));
  node.attributes["keepdims"] = std::int64_t{0};
  node.attributes["axes"] = std::vector<std::int64_t>{0};
  EXPECT_EQ(values_of<float>(run1(node, {x})), (std::vector<float>{2.5f, 3.5f, 4.5f}));
  EXPECT_EQ(run1(make_node("ReduceMax", 1, 1, 13), {x}).shape(), (Shape{1, 1}));  // all axes
}

TEST(Reduce, AxesInputAndNoop) {
  const Tensor x = tensor<float>({2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(values_of<float>(run1(make_node("ReduceSum", 2, 1, 13),
                                  {x, tensor<std::int64_t>({1}, {1})}, 1, {false, true})),
            (std::vector<float>{3, 7}));
  auto noop = make_node("ReduceSum", 2, 1, 13);
  noop.attributes["noop_with_empty_axes"] = std::int64_t{1};
  EXPECT_EQ(values_of<float>(run1(noop, {x, Tensor(DType::kInt64, {0})}, 1, {false, true})),
            (std::vector<float>{1, 2, 3, 4}));
  const Tensor l2 =
      run1(make_node("ReduceL2", 2, 1, 18), {x, tensor<std::int64_t>({1}, {0})}, 1, {false, true});
  EXPECT_FLOAT_EQ(l2.data<float>()[0], std::sqrt(10.0f));
  EXPECT_FLOAT_EQ(l2.data<float>()[1], std::sqrt(20.0f));
  expect_error(
      [&] {
        run1(make_node("ReduceSum", 2, 1, 13), {x, tensor<std::int64_t>({1}, {2})}, 1,
             {false, true});
      },
      {"out of range"});
}

TEST(Reduce, NonContiguousAxesMatchReference) {
  Rng rng(21);
  const Tensor x = random_tensor(rng, {3, 4, 5, 6});
  const char* names[] = {"ReduceSum", "ReduceMean",      "ReduceMax",
                         "ReduceMin", "ReduceProd",      "ReduceL1",
                         "ReduceL2",  "ReduceLogSumExp", "ReduceSumSquare"};
  const ops::ReduceOp kinds[] = {
      ops::ReduceOp::kSum, ops::ReduceOp::kMean,      ops::ReduceOp::kMax,
      ops::ReduceOp::kMin, ops::ReduceOp::kProd,      ops::ReduceOp::kL1,
      ops::ReduceOp::kL2,  ops::ReduceOp::kLogSumExp, ops::ReduceOp::kSumSquare};
  // Axes {1, 3}: gather kept dims (3, 5) first, then reduce 4 * 6 values each.
  std::vector<float> moved(static_cast<std::size_t>(x.numel()));
  std::size_t k = 0;
  for (int a = 0; a < 3; ++a)
    for (int c = 0; c < 5; ++c)
      for (int b = 0; b < 4; ++b)
        for (int d = 0; d < 6; ++d) moved[k++] = x.data<float>()[((a * 4 + b) * 5 + c) * 6 + d];
  for (int i = 0; i < 9; ++i) {
    auto node = make_node(names[i], 1, 1, 13);
    node.attributes["axes"] = std::vector<std::int64_t>{1, -1};
    if (i == 0) node.opset = 11;  // ReduceSum takes attribute axes before opset 13
    const Tensor y1 = run1(node, {x}, 1);
    const Tensor y3 = run1(node, {x}, 3);
    ASSERT_EQ(y1.shape(), (Shape{3, 1, 5, 1}));
    ASSERT_TRUE(same_bytes(y1, y3));
    std::vector<float> ref(15);
    ops::reduce_f32_ref(kinds[i], moved.data(), 15, 24, 1, ref.data());
    for (std::size_t j = 0; j < 15; ++j)
      ASSERT_NEAR(y1.data<float>()[j], ref[j], 1e-5 * std::fabs(ref[j]) + 1e-6) << names[i];
  }
}

TEST(Reduce, EmptySetIdentities) {
  const Tensor x(DType::kFloat32, {2, 0});
  auto node = make_node("ReduceSum", 2, 1, 13);
  EXPECT_EQ(values_of<float>(run1(node, {x, tensor<std::int64_t>({1}, {1})}, 1, {false, true})),
            (std::vector<float>{0, 0}));
  auto prod = make_node("ReduceProd", 1, 1, 13);
  prod.attributes["axes"] = std::vector<std::int64_t>{1};
  EXPECT_EQ(values_of<float>(run1(prod, {x})), (std::vector<float>{1, 1}));
}

TEST(Reduce, ArgMaxTiesAndLastIndex) {
  const Tensor x = tensor<float>({2, 3}, {1, 5, 5, 7, 2, 7});
  auto node = make_node("ArgMax", 1);
  node.attributes["axis"] = std::int64_t{1};
  EXPECT_EQ(values_of<std::int64_t>(run1(node, {x})), (std::vector<std::int64_t>{1, 0}));
  node.attributes["select_last_index"] = std::int64_t{1};
  node.attributes["keepdims"] = std::int64_t{0};
  const Tensor last = run1(node, {x});
  EXPECT_EQ(last.shape(), (Shape{2}));
  EXPECT_EQ(values_of<std::int64_t>(last), (std::vector<std::int64_t>{2, 2}));
  auto argmin = make_node("ArgMin", 1);
  EXPECT_EQ(values_of<std::int64_t>(run1(argmin, {x})), (std::vector<std::int64_t>{0, 1, 0}));
  expect_error([&] { run1(argmin, {Tensor(DType::kFloat32, {0, 2})}); }, {"empty axis"});
}

}  // namespace
}  // namespace qcal::test
