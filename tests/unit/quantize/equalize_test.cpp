// Cross-layer equalization on small generated models: the pairs found (through PReLU, ReLU,
// LeakyReLU, depthwise convs and Gemm) and where chains stop (Clip, a tensor with two readers);
// the equalized model computes the same outputs; paired channel ranges end equal; PReLU
// slopes stay as they are (PReLU is positively homogeneous per channel).
#include "quantize/equalize.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.hpp"
#include "engine/model.hpp"
#include "engine/session.hpp"
#include "export/qdq_writer.hpp"
#include "export/weight_edit.hpp"
#include "unit/engine/onnx_builder.hpp"

namespace qcal::quantize {
namespace {

// Normal values whose output channel c (of `channels`, `slab` values each) is scaled by 4^(c % 5
// - 2): ranges far apart, which equalization balances.
std::vector<float> unbalanced(std::size_t channels, std::size_t slab, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(channels * slab);
  for (std::size_t c = 0; c < channels; ++c) {
    const double scale = std::pow(4.0, static_cast<double>(c % 5) - 2.0);
    for (std::size_t i = 0; i < slab; ++i) {
      v[c * slab + i] = static_cast<float>(rng.next_normal() * scale);
    }
  }
  return v;
}

// X -> Conv 3x3 -> PReLU -> depthwise Conv 3x3 -> Relu -> Conv 1x1 -> Y.
std::string conv_chain() {
  test::OnnxBuilder b(13);
  b.input("X", {1, 3, 8, 8});
  b.initializer("W1", {8, 3, 3, 3}, unbalanced(8, 27, 1));
  b.initializer("B1", {8}, unbalanced(8, 1, 2));
  b.initializer("slope", {8, 1, 1}, {0.1f, 0.2f, 0.3f, 0.25f, 0.05f, 0.5f, 0.15f, 0.35f});
  b.initializer("W2", {8, 1, 3, 3}, unbalanced(8, 9, 3));
  b.initializer("B2", {8}, unbalanced(8, 1, 4));
  b.initializer("W3", {4, 8, 1, 1}, unbalanced(4, 8, 5));
  auto* c1 = b.node("Conv", {"X", "W1", "B1"}, {"c1"}, "conv1");
  test::OnnxBuilder::attr_ints(c1, "pads", {1, 1, 1, 1});
  b.node("PRelu", {"c1", "slope"}, {"p1"}, "prelu");
  auto* dw = b.node("Conv", {"p1", "W2", "B2"}, {"c2"}, "dw");
  test::OnnxBuilder::attr_ints(dw, "pads", {1, 1, 1, 1});
  test::OnnxBuilder::attr_int(dw, "group", 8);
  b.node("Relu", {"c2"}, {"r2"}, "relu");
  b.node("Conv", {"r2", "W3"}, {"Y"}, "conv3");
  b.output("Y", {1, 4, 8, 8});
  return b.bytes();
}

// X -> Gemm (transB) -> LeakyRelu -> Gemm -> Y.
std::string gemm_chain() {
  test::OnnxBuilder b(13);
  b.input("X", {2, 6});
  b.initializer("Wa", {5, 6}, unbalanced(5, 6, 7));
  b.initializer("Ca", {5}, unbalanced(5, 1, 8));
  b.initializer("Wb", {5, 3}, unbalanced(5, 3, 9));
  test::OnnxBuilder::attr_int(b.node("Gemm", {"X", "Wa", "Ca"}, {"a"}, "gemm_a"), "transB", 1);
  test::OnnxBuilder::attr_float(b.node("LeakyRelu", {"a"}, {"l"}, "leaky"), "alpha", 0.1f);
  b.node("Gemm", {"l", "Wb"}, {"Y"}, "gemm_b");
  b.output("Y", {2, 3});
  return b.bytes();
}

Tensor run_model(const std::string& bytes, const Tensor& x) {
  engine::Session s(std::make_shared<const engine::Model>(
      engine::Model::load_from_bytes(bytes, std::filesystem::path{})));
  std::vector<Tensor> in;
  in.push_back(x.clone());
  return std::move(s.run(in)[0]);
}

double relative_l2(const Tensor& a, const Tensor& b) {
  double d = 0, r = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    const double x = a.data<float>()[i], y = b.data<float>()[i];
    d += (x - y) * (x - y);
    r += x * x;
  }
  return std::sqrt(d / r);
}

void expect_same_outputs(const std::string& a, const std::string& b, Shape shape) {
  Tensor x(DType::kFloat32, std::move(shape));
  Rng rng(11);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    x.data<float>()[i] = static_cast<float>(rng.next_normal());
  }
  EXPECT_LT(relative_l2(run_model(a, x), run_model(b, x)), 1e-5);
}

float channel_absmax(const std::vector<float>& v, std::size_t begin, std::size_t count,
                     std::size_t stride) {
  float m = 0;
  for (std::size_t i = 0; i < count; ++i) m = std::max(m, std::fabs(v[begin + i * stride]));
  return m;
}

TEST(Equalize, ConvChainThroughPReluAndDepthwise) {
  const std::string bytes = conv_chain();
  const auto graph = exporter::read_graph_view(bytes, "m");
  const auto pairs = equalize_pairs(graph);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].activation, "PRelu");
  EXPECT_EQ(pairs[1].activation, "Relu");
  const Equalization eq = equalize_model(bytes, graph, "m", {});
  ASSERT_EQ(eq.pairs.size(), 2u);
  EXPECT_LT(eq.sweeps, EqualizeOptions{}.max_sweeps);  // converged
  expect_same_outputs(bytes, eq.model_bytes, {1, 3, 8, 8});
  const auto t = exporter::read_float_constants(eq.model_bytes, "m", {"W1", "W2", "W3", "slope"});
  for (std::size_t c = 0; c < 8; ++c) {
    // conv1's output channel c and the depthwise channel c; the depthwise channel and conv3's
    // input channel c (stride 8 in W3 [4, 8]).
    const float r1 = channel_absmax(t.at("W1").values, c * 27, 27, 1);
    const float r2 = channel_absmax(t.at("W2").values, c * 9, 9, 1);
    const float r3 = channel_absmax(t.at("W3").values, c, 4, 8);
    EXPECT_NEAR(r1 / r2, 1.0, 1e-3) << "channel " << c;
    EXPECT_NEAR(r2 / r3, 1.0, 1e-3) << "channel " << c;
  }
  EXPECT_GT(eq.pairs[0].range_ratio_before, 100.0);
  EXPECT_LT(eq.pairs[0].range_ratio_after, eq.pairs[0].range_ratio_before / 4);
  EXPECT_EQ(t.at("slope").values,
            (std::vector<float>{0.1f, 0.2f, 0.3f, 0.25f, 0.05f, 0.5f, 0.15f, 0.35f}));
}

TEST(Equalize, GemmChainThroughLeakyRelu) {
  const std::string bytes = gemm_chain();
  const auto graph = exporter::read_graph_view(bytes, "m");
  const Equalization eq = equalize_model(bytes, graph, "m", {});
  ASSERT_EQ(eq.pairs.size(), 1u);
  EXPECT_EQ(eq.pairs[0].activation, "LeakyRelu");
  expect_same_outputs(bytes, eq.model_bytes, {2, 6});
  const auto t = exporter::read_float_constants(eq.model_bytes, "m", {"Wa", "Wb"});
  for (std::size_t c = 0; c < 5; ++c) {
    EXPECT_NEAR(channel_absmax(t.at("Wa").values, c * 6, 6, 1) /
                    channel_absmax(t.at("Wb").values, c * 3, 3, 1),
                1.0, 1e-3);
  }
}

TEST(Equalize, ClipAndSharedTensorsStopChains) {
  test::OnnxBuilder b(13);
  b.input("X", {1, 3, 4, 4});
  b.initializer("W1", {3, 3, 1, 1}, unbalanced(3, 3, 1));
  b.initializer("W2", {3, 3, 1, 1}, unbalanced(3, 3, 2));
  b.initializer("W3", {3, 3, 1, 1}, unbalanced(3, 3, 3));
  b.initializer("W4", {3, 3, 1, 1}, unbalanced(3, 3, 4));
  b.initializer("lo", {}, {0.0f});
  b.initializer("hi", {}, {6.0f});
  b.node("Conv", {"X", "W1"}, {"a"}, "c1");
  b.node("Clip", {"a", "lo", "hi"}, {"b"}, "relu6");  // a bound: not scale-invariant
  b.node("Conv", {"b", "W2"}, {"c"}, "c2");
  b.node("Relu", {"c"}, {"d"}, "relu");
  b.node("Conv", {"d", "W3"}, {"e"}, "c3");
  b.node("Conv", {"d", "W4"}, {"f"}, "c4");  // d has two readers
  b.node("Add", {"e", "f"}, {"Y"}, "add");
  b.output("Y", {1, 3, 4, 4});
  const std::string bytes = b.bytes();
  const auto graph = exporter::read_graph_view(bytes, "m");
  EXPECT_TRUE(equalize_pairs(graph).empty());
  EXPECT_EQ(equalize_model(bytes, graph, "m", {}).model_bytes.size(), bytes.size());
}

}  // namespace
}  // namespace qcal::quantize
