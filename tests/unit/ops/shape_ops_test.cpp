// Shape ops: Reshape (0, -1, allowzero, data-dependent shape), Flatten, Squeeze/Unsqueeze
// (attribute and input forms), Shape/Size (values known at plan time), Expand, ConstantOfShape,
// Range, Constant.
#include "ops/shape_ops.hpp"

#include "op_test_util.hpp"

namespace qcal::test {
namespace {

TEST(ShapeOps, ReshapeCopiesZeroAndInfersMinusOne) {
  const Tensor x(DType::kFloat32, {2, 3, 4});
  const auto run =
      run_op(make_node("Reshape", 2), {x, tensor<std::int64_t>({2}, {0, -1})}, 1, {false, true});
  EXPECT_EQ(run.infos[0].shape, (Shape{2, 12}));
  EXPECT_EQ(run.outputs[0].shape(), (Shape{2, 12}));
  // Shape not constant: the output shape is only known at run time.
  const auto dyn = run_op(make_node("Reshape", 2), {x, tensor<std::int64_t>({3}, {4, -1, 2})});
  EXPECT_EQ(dyn.infos[0].shape, (Shape{-1, -1, -1}));
  EXPECT_EQ(dyn.outputs[0].shape(), (Shape{4, 3, 2}));
  // allowzero=1: 0 is a real zero dim.
  auto node = make_node("Reshape", 2, 1, 14);
  node.attributes["allowzero"] = std::int64_t{1};
  const Tensor empty(DType::kFloat32, {0, 3});
  EXPECT_EQ(run1(node, {empty, tensor<std::int64_t>({2}, {3, 0})}, 1, {false, true}).shape(),
            (Shape{3, 0}));
  expect_error(
      [&] {
        run1(make_node("Reshape", 2), {x, tensor<std::int64_t>({2}, {5, -1})}, 1, {false, true});
      },
      {"cannot reshape", "[2, 3, 4]", "test_Reshape"});
  expect_error(
      [&] {
        run1(make_node("Reshape", 2), {x, tensor<std::int64_t>({2}, {-1, -1})}, 1, {false, true});
      },
      {"more than one -1"});
}

TEST(ShapeOps, ReshapeKeepsValues) {
  const Tensor x = tensor<float>({2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(values_of<float>(run1(make_node("Reshape", 2), {x, tensor<std::int64_t>({1}, {4})}, 1,
                                  {false, true})),
            (std::vector<float>{1, 2, 3, 4}));
}

TEST(ShapeOps, FlattenAndSqueezeUnsqueeze) {
  const Tensor x(DType::kFloat32, {2, 1, 3, 1});
  auto flatten = make_node("Flatten", 1);
  flatten.attributes["axis"] = std::int64_t{-1};
  EXPECT_EQ(run1(flatten, {x}).shape(), (Shape{6, 1}));
  flatten.attributes["axis"] = std::int64_t{0};
  EXPECT_EQ(run1(flatten, {x}).shape(), (Shape{1, 6}));
  EXPECT_EQ(run1(make_node("Squeeze", 1), {x}).shape(), (Shape{2, 3}));
  auto sq11 = make_node("Squeeze", 1, 1, 11);
  sq11.attributes["axes"] = std::vector<std::int64_t>{-1};
  EXPECT_EQ(run1(sq11, {x}).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(
      run1(make_node("Squeeze", 2, 1, 13), {x, tensor<std::int64_t>({1}, {1})}, 1, {false, true})
          .shape(),
      (Shape{2, 3, 1}));
  expect_error(
      [&] {
        run1(make_node("Squeeze", 2, 1, 13), {x, tensor<std::int64_t>({1}, {0})}, 1, {false, true});
      },
      {"cannot squeeze axis 0"});
  EXPECT_EQ(
      run1(make_node("Unsqueeze", 2, 1, 13),
           {Tensor(DType::kFloat32, {3}), tensor<std::int64_t>({2}, {0, -1})}, 1, {false, true})
          .shape(),
      (Shape{1, 3, 1}));
  auto unsq = make_node("Unsqueeze", 1, 1, 11);
  unsq.attributes["axes"] = std::vector<std::int64_t>{1, 1};
  expect_error([&] { run1(unsq, {Tensor(DType::kFloat32, {3})}); }, {"repeats axis"});
}

TEST(ShapeOps, ShapeAndSizeAreKnownAtPlanTime) {
  const Tensor x(DType::kFloat32, {1, 3, 8, 8});
  const auto run = run_op(make_node("Shape", 1), {x});
  ASSERT_NE(run.infos[0].value, nullptr);
  EXPECT_EQ(values_of<std::int64_t>(*run.infos[0].value), (std::vector<std::int64_t>{1, 3, 8, 8}));
  auto sliced = make_node("Shape", 1, 1, 15);
  sliced.attributes["start"] = std::int64_t{-2};
  EXPECT_EQ(values_of<std::int64_t>(run1(sliced, {x})), (std::vector<std::int64_t>{8, 8}));
  sliced.attributes["end"] = std::int64_t{-10};  // clamps to 0: empty
  EXPECT_EQ(run1(sliced, {x}).shape(), (Shape{0}));
  const auto size = run_op(make_node("Size", 1), {x});
  EXPECT_EQ(*size.infos[0].value->data<std::int64_t>(), 192);
  EXPECT_EQ(*size.outputs[0].data<std::int64_t>(), 192);
}

TEST(ShapeOps, ExpandIsBidirectional) {
  const Tensor x = tensor<float>({3, 1}, {1, 2, 3});
  const Tensor y =
      run1(make_node("Expand", 2), {x, tensor<std::int64_t>({3}, {2, 1, 2})}, 1, {false, true});
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
  expect_error(
      [&] {
        run1(make_node("Expand", 2), {x, tensor<std::int64_t>({2}, {2, 1})}, 1, {false, true});
      },
      {"do not broadcast"});
}

TEST(ShapeOps, ConstantOfShapeRangeConstant) {
  auto node = make_node("ConstantOfShape", 1, 1, 9);
  node.attributes["value"] = Tensor::from_values<std::int64_t>({1}, std::vector<std::int64_t>{7});
  const auto run = run_op(node, {tensor<std::int64_t>({2}, {2, 2})}, 1, {true});
  EXPECT_EQ(values_of<std::int64_t>(run.outputs[0]), (std::vector<std::int64_t>{7, 7, 7, 7}));
  ASSERT_NE(run.infos[0].value, nullptr);
  EXPECT_EQ(values_of<float>(
                run1(make_node("ConstantOfShape", 1, 1, 9), {tensor<std::int64_t>({1}, {2})})),
            (std::vector<float>{0, 0}));
  EXPECT_EQ(values_of<float>(run1(make_node("Range", 3, 1, 11),
                                  {Tensor::scalar<float>(1), Tensor::scalar<float>(2),
                                   Tensor::scalar<float>(0.25f)})),
            (std::vector<float>{1, 1.25f, 1.5f, 1.75f}));
  EXPECT_EQ(values_of<std::int32_t>(
                run1(make_node("Range", 3, 1, 11),
                     {Tensor::scalar<std::int32_t>(10), Tensor::scalar<std::int32_t>(4),
                      Tensor::scalar<std::int32_t>(-3)})),
            (std::vector<std::int32_t>{10, 7}));
  EXPECT_EQ(run1(make_node("Range", 3, 1, 11),
                 {Tensor::scalar<std::int64_t>(5), Tensor::scalar<std::int64_t>(1),
                  Tensor::scalar<std::int64_t>(1)})
                .numel(),
            0);
  expect_error(
      [&] {
        run1(make_node("Range", 3, 1, 11),
             {Tensor::scalar<float>(0), Tensor::scalar<float>(1), Tensor::scalar<float>(0)});
      },
      {"non-zero delta"});
  auto constant = make_node("Constant", 0, 1, 13);
  constant.attributes["value_ints"] = std::vector<std::int64_t>{4, 5};
  const auto c = run_op(constant, {});
  EXPECT_EQ(values_of<std::int64_t>(*c.infos[0].value), (std::vector<std::int64_t>{4, 5}));
  auto two = constant;
  two.attributes["value_float"] = 1.0f;
  expect_error([&] { ops::make_constant(two); }, {"exactly one"});
}

}  // namespace
}  // namespace qcal::test
