// Pooling: hand-computed MaxPool/AveragePool with pads, ceil_mode and count_include_pad, auto_pad,
// Indices output, global pools, and a seeded sweep against pool_f32_ref.
#include "ops/pool.hpp"

#include "op_test_util.hpp"

namespace qcal::test {
namespace {

ops::NodeDef pool_node(const char* op, std::vector<std::int64_t> kernel,
                       std::vector<std::int64_t> strides, std::vector<std::int64_t> pads) {
  auto node = make_node(op, 1, 1, 12);
  node.attributes["kernel_shape"] = std::move(kernel);
  if (!strides.empty()) node.attributes["strides"] = std::move(strides);
  if (!pads.empty()) node.attributes["pads"] = std::move(pads);
  return node;
}

TEST(Pool, MaxPoolPadsCeilModeAndIndices) {
  const Tensor x = tensor<float>({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto node = pool_node("MaxPool", {2, 2}, {2, 2}, {});
  EXPECT_EQ(values_of<float>(run1(node, {x})), (std::vector<float>{5}));
  node.attributes["ceil_mode"] = std::int64_t{1};
  EXPECT_EQ(values_of<float>(run1(node, {x})), (std::vector<float>{5, 6, 8, 9}));
  node.outputs.push_back("indices");
  const auto run = run_op(node, {x});
  EXPECT_EQ(values_of<std::int64_t>(run.outputs[1]), (std::vector<std::int64_t>{4, 5, 7, 8}));
  // SPPF-style k5 s1 p2 keeps the size.
  auto sppf = pool_node("MaxPool", {5, 5}, {1, 1}, {2, 2, 2, 2});
  const Tensor y = run1(sppf, {x});
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(y.data<float>()[0], 9.0f);
}

TEST(Pool, AveragePoolCountIncludePad) {
  const Tensor x = tensor<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  auto node = pool_node("AveragePool", {2, 2}, {1, 1}, {1, 1, 0, 0});
  // Top-left window holds only x[0,0]; excluded padding divides by 1, included by 4.
  EXPECT_EQ(values_of<float>(run1(node, {x})), (std::vector<float>{1, 1.5f, 2, 2.5f}));
  node.attributes["count_include_pad"] = std::int64_t{1};
  EXPECT_EQ(values_of<float>(run1(node, {x})), (std::vector<float>{0.25f, 0.75f, 1, 2.5f}));
}

TEST(Pool, AutoPadSameUpper) {
  const Tensor x(DType::kFloat32, {1, 2, 5, 7});
  auto node = pool_node("MaxPool", {3, 3}, {2, 2}, {});
  node.attributes["auto_pad"] = std::string("SAME_UPPER");
  EXPECT_EQ(run1(node, {x}).shape(), (Shape{1, 2, 3, 4}));
  node.attributes["auto_pad"] = std::string("VALID");
  EXPECT_EQ(run1(node, {x}).shape(), (Shape{1, 2, 2, 3}));
}

TEST(Pool, SweepMatchesReference) {
  Rng rng(77);
  for (int trial = 0; trial < 30; ++trial) {
    const std::int64_t h = 3 + static_cast<std::int64_t>(rng.next_double() * 12);
    const std::int64_t w = 3 + static_cast<std::int64_t>(rng.next_double() * 12);
    const std::int64_t k = 1 + static_cast<std::int64_t>(rng.next_double() * 3);
    const std::int64_t s = 1 + static_cast<std::int64_t>(rng.next_double() * 2);
    const std::int64_t p = static_cast<std::int64_t>(rng.next_double() * static_cast<double>(k));
    const bool is_max = trial % 2 == 0;
    auto node = pool_node(is_max ? "MaxPool" : "AveragePool", {k, k}, {s, s}, {p, p, p, p});
    node.attributes["ceil_mode"] = std::int64_t{trial % 3 == 0};
    node.attributes["count_include_pad"] = std::int64_t{trial % 4 == 1};
    const Tensor x = random_tensor(rng, {2, 3, h, w});
    const Tensor y = run1(node, {x}, 2);
    ops::PoolAttrs attrs;
    attrs.is_max = is_max;
    attrs.kernel_shape = {k, k};
    attrs.strides = {s, s};
    attrs.pads = {p, p, p, p};
    attrs.ceil_mode = trial % 3 == 0;
    attrs.count_include_pad = trial % 4 == 1;
    const ops::PoolGeometry g = ops::infer_pool(node, attrs, x.shape());
    ASSERT_EQ(y.shape(), ops::pool_output_shape(g));
    std::vector<float> ref(static_cast<std::size_t>(y.numel()));
    ops::pool_f32_ref(attrs, g, x.data<float>(), ref.data());
    for (std::size_t i = 0; i < ref.size(); ++i)
      ASSERT_NEAR(y.data<float>()[i], ref[i], 1e-6) << "trial " << trial;
  }
}

TEST(Pool, GlobalPoolsAndErrors) {
  const Tensor x = tensor<float>({1, 2, 2, 2}, {1, 2, 3, 4, -1, -2, -3, -4});
  EXPECT_EQ(values_of<float>(run1(make_node("GlobalAveragePool", 1), {x})),
            (std::vector<float>{2.5f, -2.5f}));
  const Tensor mx = run1(make_node("GlobalMaxPool", 1), {x});
  EXPECT_EQ(mx.shape(), (Shape{1, 2, 1, 1}));
  EXPECT_EQ(values_of<float>(mx), (std::vector<float>{4, -1}));
  expect_error(
      [&] {
        run1(pool_node("MaxPool", {3, 3}, {}, {}), {Tensor(DType::kFloat32, {1, 1, 2, 2})});
      },
      {"larger than the padded input", "test_MaxPool"});
  expect_error(
      [&] {
        run1(pool_node("MaxPool", {3}, {}, {}), {Tensor(DType::kFloat32, {1, 1, 4, 4})});
      },
      {"does not match kernel_shape"});
}

}  // namespace
}  // namespace qcal::test
