// QuantizeLinear/DequantizeLinear (round half to even, saturation, uint8 default, per-axis) and
// TopK (ties keep the lower index, smallest, errors).
#include <cmath>

#include "op_test_util.hpp"
#include "ops/qdq.hpp"

namespace qcal::test {
namespace {

TEST(Qdq, QuantizeRoundsHalfToEvenAndSaturates) {
  const Tensor x = tensor<float>({7}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 1000, -1000});
  const Tensor y = run1(make_node("QuantizeLinear", 3, 1, 13),
                        {x, Tensor::scalar<float>(1), Tensor::scalar<std::int8_t>(0)});
  EXPECT_EQ(y.dtype(), DType::kInt8);
  EXPECT_EQ(values_of<std::int8_t>(y), (std::vector<std::int8_t>{0, 2, 2, 0, -2, 127, -128}));
  // No zero point: uint8 with zero point 0.
  const Tensor u = run1(make_node("QuantizeLinear", 2, 1, 13), {x, Tensor::scalar<float>(2)});
  EXPECT_EQ(u.dtype(), DType::kUInt8);
  EXPECT_EQ(values_of<std::uint8_t>(u), (std::vector<std::uint8_t>{0, 1, 1, 0, 0, 255, 0}));
  // Matches the hand-rolled reference on a sweep.
  Rng rng(2);
  const Tensor r = random_tensor(rng, {4096}, -3, 3);
  const Tensor q = run1(make_node("QuantizeLinear", 3, 1, 13),
                        {r, Tensor::scalar<float>(0.02f), Tensor::scalar<std::uint8_t>(128)});
  std::vector<std::int32_t> ref(4096);
  ops::quantize_linear_f32_ref(r.data<float>(), 4096, 0.02f, 128, 0, 255, ref.data());
  for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(q.data<std::uint8_t>()[i], ref[i]);
}

TEST(Qdq, PerAxisRoundTrip) {
  const Tensor w = tensor<float>({2, 3}, {0.1f, -0.2f, 0.3f, 10, -20, 30});
  auto q = make_node("QuantizeLinear", 3, 1, 13);
  q.attributes["axis"] = std::int64_t{0};
  const Tensor scales = tensor<float>({2}, {0.1f, 10});
  const Tensor zps = tensor<std::int8_t>({2}, {0, 1});
  const Tensor qw = run1(q, {w, scales, zps});
  EXPECT_EQ(values_of<std::int8_t>(qw), (std::vector<std::int8_t>{1, -2, 3, 2, -1, 4}));
  auto dq = make_node("DequantizeLinear", 3, 1, 13);
  dq.attributes["axis"] = std::int64_t{0};
  const Tensor back = run1(dq, {qw, scales, zps});
  for (int i = 0; i < 6; ++i)
    EXPECT_NEAR(back.data<float>()[i], w.data<float>()[i],
                1e-6 * (1 + std::fabs(w.data<float>()[i])));
  expect_error(
      [&] {
        run1(q, {w, tensor<float>({3}, {1, 1, 1}), Tensor()});
      },
      {"per-axis scale has 3 values, axis 0 has 2"});
  expect_error(
      [&] {
        run1(dq, {qw, scales, tensor<std::uint8_t>({2}, {0, 0})});
      },
      {"x_zero_point"});
}

TEST(TopK, TiesSmallestAndErrors) {
  const Tensor x = tensor<float>({2, 4}, {3, 1, 3, 2, 0, 5, 5, 1});
  const auto run =
      run_op(make_node("TopK", 2, 2, 11), {x, tensor<std::int64_t>({1}, {2})}, 1, {false, true});
  EXPECT_EQ(values_of<float>(run.outputs[0]), (std::vector<float>{3, 3, 5, 5}));
  EXPECT_EQ(values_of<std::int64_t>(run.outputs[1]), (std::vector<std::int64_t>{0, 2, 1, 2}));
  auto smallest = make_node("TopK", 2, 2, 11);
  smallest.attributes["largest"] = std::int64_t{0};
  smallest.attributes["axis"] = std::int64_t{0};
  const auto s = run_op(smallest, {x, tensor<std::int64_t>({1}, {1})});
  EXPECT_EQ(values_of<float>(s.outputs[0]), (std::vector<float>{0, 1, 3, 1}));
  EXPECT_EQ(values_of<std::int64_t>(s.outputs[1]), (std::vector<std::int64_t>{1, 0, 0, 1}));
  expect_error(
      [&] {
        run_op(make_node("TopK", 2, 2, 11), {x, tensor<std::int64_t>({1}, {5})}, 1, {false, true});
      },
      {"K=5", "test_TopK"});
}

}  // namespace
}  // namespace qcal::test
