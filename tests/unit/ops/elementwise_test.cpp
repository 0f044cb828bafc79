// Elementwise binary/variadic ops, PRelu and Where: hand-computed cases, broadcasting edge cases,
// errors, and a seeded sweep of the fast broadcast kernel against binary_f32_ref.
#include "ops/elementwise.hpp"

#include <cmath>
#include <limits>

#include "op_test_util.hpp"

namespace qcal::test {
namespace {

using ops::BinaryOp;

TEST(Elementwise, AddBroadcastsRowAndColumn) {
  const Tensor a = tensor<float>({2, 1}, {10, 20});
  const Tensor b = tensor<float>({3}, {1, 2, 3});
  const Tensor y = run1(make_node("Add", 2), {a, b});
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{11, 12, 13, 21, 22, 23}));
}

TEST(Elementwise, SubScalarAndEmptyTensor) {
  const Tensor a = tensor<float>({3}, {1, 2, 3});
  EXPECT_EQ(values_of<float>(run1(make_node("Sub", 2), {a, Tensor::scalar<float>(1)})),
            (std::vector<float>{0, 1, 2}));
  const Tensor empty(DType::kFloat32, {0, 3});
  EXPECT_EQ(run1(make_node("Mul", 2), {empty, a}).shape(), (Shape{0, 3}));
}

TEST(Elementwise, IntegerDivisionNeverTraps) {
  const Tensor a = tensor<std::int32_t>({3}, {7, -7, std::numeric_limits<std::int32_t>::min()});
  const Tensor b = tensor<std::int32_t>({3}, {2, 0, -1});
  // Truncation toward zero; x/0 = 0 (ONNX leaves it undefined); INT_MIN/-1 wraps.
  EXPECT_EQ(values_of<std::int32_t>(run1(make_node("Div", 2), {a, b})),
            (std::vector<std::int32_t>{3, 0, std::numeric_limits<std::int32_t>::min()}));
}

TEST(Elementwise, ModSignFollowsDivisorOrDividend) {
  const Tensor a = tensor<std::int64_t>({4}, {-4, 7, -3, 5});
  const Tensor b = tensor<std::int64_t>({4}, {3, -3, 2, 0});
  EXPECT_EQ(values_of<std::int64_t>(run1(make_node("Mod", 2), {a, b})),
            (std::vector<std::int64_t>{2, -2, 1, 0}));
  auto node = make_node("Mod", 2);
  node.attributes["fmod"] = std::int64_t{1};
  EXPECT_EQ(values_of<std::int64_t>(run1(node, {a, b})), (std::vector<std::int64_t>{-1, 1, -1, 0}));
  // Float Mod requires fmod=1.
  expect_error(
      [&] {
        run1(make_node("Mod", 2), {tensor<float>({1}, {1}), tensor<float>({1}, {1})});
      },
      {"fmod=1", "test_Mod"});
}

TEST(Elementwise, PowMixedTypesAndSquare) {
  const Tensor base = tensor<float>({3}, {2, -3, 0.5f});
  EXPECT_EQ(values_of<float>(run1(make_node("Pow", 2), {base, Tensor::scalar<float>(2)})),
            (std::vector<float>{4, 9, 0.25f}));
  EXPECT_EQ(values_of<float>(run1(make_node("Pow", 2), {base, Tensor::scalar<std::int64_t>(3)})),
            (std::vector<float>{8, -27, 0.125f}));
}

TEST(Elementwise, ComparisonsGiveBool) {
  const Tensor a = tensor<std::int64_t>({3}, {1, 2, 3});
  const Tensor b = tensor<std::int64_t>({1}, {2});
  const Tensor eq = run1(make_node("Equal", 2), {a, b});
  EXPECT_EQ(eq.dtype(), DType::kBool);
  EXPECT_EQ(values_of<bool>(eq), (std::vector<bool>{false, true, false}));
  EXPECT_EQ(values_of<bool>(run1(make_node("GreaterOrEqual", 2), {a, b})),
            (std::vector<bool>{false, true, true}));
  EXPECT_EQ(values_of<bool>(run1(make_node("And", 2), {bools({2}, {1, 1}), bools({2}, {0, 1})})),
            (std::vector<bool>{false, true}));
}

TEST(Elementwise, VariadicMeanMaxWithNaN) {
  const Tensor a = tensor<float>({2}, {1, std::nanf("")});
  const Tensor b = tensor<float>({2, 1}, {3, 5});
  const Tensor mean = run1(make_node("Mean", 2), {a, b});
  EXPECT_EQ(mean.shape(), (Shape{2, 2}));
  EXPECT_FLOAT_EQ(mean.data<float>()[0], 2.0f);
  EXPECT_TRUE(std::isnan(mean.data<float>()[1]));
  const Tensor mx = run1(make_node("Max", 3), {a, b, Tensor::scalar<float>(4)});
  EXPECT_EQ(mx.data<float>()[0], 4.0f);
  EXPECT_TRUE(std::isnan(mx.data<float>()[1]));  // NaN propagates like numpy.maximum
  EXPECT_EQ(mx.data<float>()[2], 5.0f);
  EXPECT_EQ(values_of<float>(run1(make_node("Sum", 1), {b})), (std::vector<float>{3, 5}));
}

TEST(Elementwise, PReluPerChannelSlope) {
  const Tensor x = tensor<float>({1, 2, 1, 2}, {-1, 2, -4, 4});
  const Tensor slope = tensor<float>({2, 1, 1}, {0.5f, 0.25f});
  EXPECT_EQ(values_of<float>(run1(make_node("PRelu", 2), {x, slope})),
            (std::vector<float>{-0.5f, 2, -1, 4}));
  expect_error(
      [&] {
        run1(make_node("PRelu", 2),
             {tensor<float>({2}, {1, 2}), tensor<float>({2, 2}, {1, 2, 3, 4})});
      },
      {"does not broadcast"});
}

TEST(Elementwise, WhereBroadcastsAllThree) {
  const Tensor cond = bools({2, 1}, {1, 0});
  const Tensor x = tensor<std::int64_t>({2}, {1, 2});
  const Tensor y = Tensor::scalar<std::int64_t>(-1);
  const Tensor out = run1(make_node("Where", 3), {cond, x, y});
  EXPECT_EQ(out.shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of<std::int64_t>(out), (std::vector<std::int64_t>{1, 2, -1, -1}));
}

TEST(Elementwise, ErrorsNameTheNode) {
  expect_error(
      [&] {
        run1(make_node("Add", 2),
             {tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6}), tensor<float>({2}, {1, 2})});
      },
      {"[2, 3]", "[2]", "do not broadcast", "test_Add"});
  expect_error(
      [&] {
        run1(make_node("Add", 2), {tensor<float>({1}, {1}), tensor<std::int64_t>({1}, {1})});
      },
      {"dtypes differ"});
  expect_error([&] { run1(make_node("Add", 2), {bools({1}, {1}), bools({1}, {1})}); }, {"bool"});
  auto legacy = make_node("Add", 2, 1, 7);
  legacy.attributes["broadcast"] = std::int64_t{1};
  expect_error([&] { ops::make_binary(legacy); }, {"legacy"});
}

// Seeded sweep: random shape pairs with random broadcast dims, every arithmetic op, fast kernel
// against the reference; results must be byte-identical at 1 and 3 threads.
TEST(Elementwise, BroadcastSweepMatchesReference) {
  Rng rng(1234);
  const char* ops_list[] = {"Add", "Sub", "Mul", "Div", "Max", "Min"};
  const BinaryOp kinds[] = {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul,
                            BinaryOp::kDiv, BinaryOp::kMax, BinaryOp::kMin};
  for (int trial = 0; trial < 60; ++trial) {
    const int rank = 1 + static_cast<int>(rng.next_double() * 4);
    Shape out(static_cast<std::size_t>(rank));
    for (auto& d : out)
      d = 1 + static_cast<std::int64_t>(rng.next_double() * (trial % 5 == 0 ? 70 : 9));
    Shape sa = out, sb = out;
    for (int d = 0; d < rank; ++d) {
      if (rng.next_double() < 0.35) sa[static_cast<std::size_t>(d)] = 1;
      if (rng.next_double() < 0.35) sb[static_cast<std::size_t>(d)] = 1;
    }
    if (rng.next_double() < 0.3) sb.erase(sb.begin());  // lower rank operand
    const Tensor a = random_tensor(rng, sa);
    const Tensor b = random_tensor(rng, sb, 0.5, 2.0);
    const int k = trial % 6;
    const Tensor fast1 = run1(make_node(ops_list[k], 2), {a, b}, 1);
    const Tensor fast3 = run1(make_node(ops_list[k], 2), {a, b}, 3);
    std::vector<float> ref(static_cast<std::size_t>(fast1.numel()), std::nanf(""));
    ops::binary_f32_ref(kinds[k], a.data<float>(), a.shape(), b.data<float>(), b.shape(),
                        ref.data(), fast1.shape());
    ASSERT_TRUE(same_bytes(fast1, fast3)) << "thread count changed the result";
    for (std::size_t i = 0; i < ref.size(); ++i) {
      ASSERT_EQ(fast1.data<float>()[i], ref[i])
          << ops_list[k] << " " << shape_to_string(sa) << " " << shape_to_string(sb) << " at " << i;
    }
  }
}

TEST(Elementwise, LargeTensorIsIdenticalAcrossThreadCounts) {
  Rng rng(7);
  const Tensor a = random_tensor(rng, {1, 64, 80, 80});
  const Tensor b = random_tensor(rng, {1, 64, 1, 1});
  EXPECT_TRUE(
      same_bytes(run1(make_node("Mul", 2), {a, b}, 1), run1(make_node("Mul", 2), {a, b}, 4)));
}

}  // namespace
}  // namespace qcal::test
