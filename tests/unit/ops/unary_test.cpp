// Unary ops, activations and Cast: hand-computed values, the polynomial Sigmoid against the
// double-precision reference, opset differences (Clip attributes vs inputs), Cast edge cases.
#include "ops/unary.hpp"

#include <cmath>
#include <limits>

#include "op_test_util.hpp"

namespace qcal::test {
namespace {

TEST(Unary, SigmoidMatchesReferenceWithinFewUlps) {
  Rng rng(42);
  const Tensor x = random_tensor(rng, {100000}, -30.0, 30.0);
  const Tensor y = run1(make_node("Sigmoid", 1), {x}, 2);
  ops::UnaryAttrs attrs;
  attrs.op = ops::UnaryOp::kSigmoid;
  std::vector<float> ref(100000);
  ops::unary_f32_ref(attrs, x.data<float>(), ref.data(), 100000);
  for (std::size_t i = 0; i < ref.size(); ++i) {
    ASSERT_NEAR(y.data<float>()[i], ref[i], 4e-7 * ref[i] + 1e-38) << x.data<float>()[i];
  }
  // Extremes and NaN.
  const Tensor e =
      run1(make_node("Sigmoid", 1), {tensor<float>({3}, {-1000, 1000, std::nanf("")})});
  EXPECT_LT(e.data<float>()[0], 1e-30f);
  EXPECT_EQ(e.data<float>()[1], 1.0f);
  EXPECT_TRUE(std::isnan(e.data<float>()[2]));
}

TEST(Unary, ExpPolyIsAccurate) {
  for (float x = -80.0f; x < 80.0f; x += 0.37f) {
    const double want = std::exp(static_cast<double>(x));
    ASSERT_NEAR(ops::exp_poly_f32(x), want, 3e-7 * want) << x;
  }
}

TEST(Unary, Activations) {
  const Tensor x = tensor<float>({5}, {-4, -1, 0, 1, 4});
  EXPECT_EQ(values_of<float>(run1(make_node("Relu", 1), {x})), (std::vector<float>{0, 0, 0, 1, 4}));
  const std::vector<float> hard_swish = values_of<float>(run1(make_node("HardSwish", 1), {x}));
  const float want[] = {0, -1.0f / 3.0f, 0, 2.0f / 3.0f, 4};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(hard_swish[static_cast<std::size_t>(i)], want[i], 1e-6f);
  auto hs = make_node("HardSigmoid", 1);
  hs.attributes["alpha"] = 0.25f;
  EXPECT_EQ(values_of<float>(run1(hs, {x})), (std::vector<float>{0, 0.25f, 0.5f, 0.75f, 1}));
  auto leaky = make_node("LeakyRelu", 1);
  EXPECT_FLOAT_EQ(run1(leaky, {x}).data<float>()[0], -0.04f);
  const Tensor gelu = run1(make_node("Gelu", 1, 1, 20), {x});
  EXPECT_NEAR(gelu.data<float>()[3], 0.8413447f, 1e-6);
  EXPECT_EQ(values_of<float>(run1(make_node("Sign", 1), {x})),
            (std::vector<float>{-1, -1, 0, 1, 1}));
}

TEST(Unary, RoundHalfToEven) {
  const Tensor x = tensor<float>({6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f});
  EXPECT_EQ(values_of<float>(run1(make_node("Round", 1), {x})),
            (std::vector<float>{0, 2, 2, -0.0f, -2, 2}));
}

TEST(Unary, ClipAttributesBeforeOpset11InputsAfter) {
  const Tensor x = tensor<float>({4}, {-2, 0.5f, 3, 7});
  auto old = make_node("Clip", 1, 1, 6);
  old.attributes["min"] = 0.0f;
  old.attributes["max"] = 6.0f;
  EXPECT_EQ(values_of<float>(run1(old, {x})), (std::vector<float>{0, 0.5f, 3, 6}));
  // Opset 13: min and max inputs, each optional.
  EXPECT_EQ(values_of<float>(run1(make_node("Clip", 3, 1, 13),
                                  {x, Tensor::scalar<float>(0), Tensor::scalar<float>(6)})),
            (std::vector<float>{0, 0.5f, 3, 6}));
  EXPECT_EQ(
      values_of<float>(run1(make_node("Clip", 3, 1, 13), {x, Tensor(), Tensor::scalar<float>(1)})),
      (std::vector<float>{-2, 0.5f, 1, 1}));
  // min > max: every output is max.
  EXPECT_EQ(values_of<float>(run1(make_node("Clip", 3, 1, 13),
                                  {x, Tensor::scalar<float>(5), Tensor::scalar<float>(1)})),
            (std::vector<float>{1, 1, 1, 1}));
  // Integer Clip (opset 12+).
  EXPECT_EQ(values_of<std::int32_t>(
                run1(make_node("Clip", 3, 1, 13), {tensor<std::int32_t>({3}, {-5, 2, 9}),
                                                   Tensor::scalar<std::int32_t>(0), Tensor()})),
            (std::vector<std::int32_t>{0, 2, 9}));
  expect_error(
      [&] {
        run1(make_node("Clip", 3, 1, 13), {x, tensor<float>({2}, {0, 1}), Tensor()});
      },
      {"scalar"});
}

TEST(Unary, CastSaturatesAndMapsNaNToZero) {
  auto cast = make_node("Cast", 1, 1, 13);
  cast.attributes["to"] = std::int64_t{3};  // INT8
  const Tensor x = tensor<float>({5}, {1.9f, -1.9f, 300.0f, -300.0f, std::nanf("")});
  EXPECT_EQ(values_of<std::int8_t>(run1(cast, {x})),
            (std::vector<std::int8_t>{1, -1, 127, -128, 0}));
  cast.attributes["to"] = std::int64_t{9};  // BOOL
  EXPECT_EQ(values_of<bool>(run1(cast, {tensor<float>({2}, {0, 0.1f})})),
            (std::vector<bool>{false, true}));
  cast.attributes["to"] = std::int64_t{1};
  EXPECT_EQ(values_of<float>(run1(cast, {tensor<std::int64_t>({2}, {-3, 1 << 20})})),
            (std::vector<float>{-3, 1 << 20}));
  cast.attributes["to"] = std::int64_t{10};  // FLOAT16
  expect_error([&] { ops::make_unary(cast); }, {"data type 10", "test_Cast"});
}

TEST(Unary, CastLikeTakesTheTargetsDtype) {
  const Tensor y = run1(make_node("CastLike", 2, 1, 15),
                        {tensor<float>({2}, {1.5f, -2.5f}), Tensor::scalar<std::int32_t>(0)});
  EXPECT_EQ(y.dtype(), DType::kInt32);
  EXPECT_EQ(values_of<std::int32_t>(y), (std::vector<std::int32_t>{1, -2}));
}

TEST(Unary, IntegerAbsNegAndDtypeErrors) {
  const Tensor x = tensor<std::int64_t>({2}, {-3, 4});
  EXPECT_EQ(values_of<std::int64_t>(run1(make_node("Abs", 1), {x})),
            (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(values_of<std::int64_t>(run1(make_node("Neg", 1), {x})),
            (std::vector<std::int64_t>{3, -4}));
  expect_error([&] { run1(make_node("Sqrt", 1), {x}); }, {"int64", "float32"});
  EXPECT_EQ(values_of<bool>(run1(make_node("Not", 1), {bools({2}, {1, 0})})),
            (std::vector<bool>{false, true}));
}

}  // namespace
}  // namespace qcal::test
