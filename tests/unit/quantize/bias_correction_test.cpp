// Bias correction on small generated models: the bias edit adds exactly the shift (Conv without
// bias, Gemm, MatMul through an Add that keeps the output name); calibrate --bias-correction
// makes the QDQ model's per-channel output means those of the FP32 model, where plain rounding
// leaves a known mean shift; the result is the same bytes at any thread count.
#include "quantize/bias_correction.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "engine/model.hpp"
#include "engine/session.hpp"
#include "export/weight_edit.hpp"
#include "quantize/calibrate.hpp"
#include "test_support.hpp"
#include "unit/engine/onnx_builder.hpp"

namespace qcal::quantize {
namespace {

std::vector<float> normal_values(std::size_t n, std::uint64_t seed, double scale) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.next_normal() * scale);
  return v;
}

// X [1, 3, 8, 8] -> Conv 3x3 (no bias) -> Relu -> Conv 1x1 (bias) -> Y [1, 4, 8, 8].
std::string two_conv_model() {
  test::OnnxBuilder b(13);
  b.input("X", {1, 3, 8, 8});
  b.initializer("W1", {8, 3, 3, 3}, normal_values(8 * 27, 5, 0.3));
  b.initializer("W2", {4, 8, 1, 1}, normal_values(32, 6, 0.3));
  b.initializer("B2", {4}, {0.1f, -0.2f, 0.3f, 0.0f});
  b.attr_ints(b.node("Conv", {"X", "W1"}, {"c1"}, "conv1"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"}, "relu");
  b.node("Conv", {"r1", "W2", "B2"}, {"Y"}, "conv2");
  b.output("Y", {1, 4, 8, 8});
  return b.bytes();
}

Tensor run_one(const std::string& bytes, const Tensor& x) {
  engine::Session s(std::make_shared<const engine::Model>(
      engine::Model::load_from_bytes(bytes, std::filesystem::path{})));
  std::vector<Tensor> in;
  in.push_back(x.clone());
  return std::move(s.run(in)[0]);
}

Tensor random_tensor(Shape shape, std::uint64_t seed, double offset) {
  Tensor x(DType::kFloat32, std::move(shape));
  Rng rng(seed);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    x.data<float>()[i] = static_cast<float>(rng.next_normal() + offset);
  }
  return x;
}

TEST(WeightEdit, ShiftsAddToConvGemmAndMatMulOutputs) {
  test::OnnxBuilder b(13);
  b.input("X", {2, 3});
  b.initializer("Wg", {4, 3}, normal_values(12, 1, 1.0));
  b.initializer("Wm", {4, 5}, normal_values(20, 2, 1.0));
  auto* gemm = b.node("Gemm", {"X", "Wg"}, {"g"}, "gemm");
  test::OnnxBuilder::attr_int(gemm, "transB", 1);
  test::OnnxBuilder::attr_float(gemm, "beta", 0.5f);
  b.node("MatMul", {"g", "Wm"}, {"Y"}, "matmul");
  b.output("Y", {2, 5});
  const std::string bytes = b.bytes();
  const Tensor x = random_tensor({2, 3}, 3, 0.0);
  // Gemm gets C (no C before); MatMul an Add. The Gemm shift propagates through Wm: measure the
  // MatMul shift alone first.
  const std::vector<double> mm_shift = {1.0, -2.0, 0.5, 0.25, 3.0};
  const std::string edited = exporter::edit_float_model(bytes, "m", {}, {{"matmul", mm_shift}});
  const Tensor before = run_one(bytes, x), after = run_one(edited, x);
  for (std::int64_t r = 0; r < 2; ++r) {
    for (std::int64_t c = 0; c < 5; ++c) {
      EXPECT_NEAR(after.data<float>()[r * 5 + c] - before.data<float>()[r * 5 + c],
                  mm_shift[static_cast<std::size_t>(c)], 1e-5);
    }
  }
  // The Add took over the name "Y"; a second edit of the Gemm (beta 0.5: C = shift / beta).
  const std::string both =
      exporter::edit_float_model(edited, "m", {}, {{"gemm", {1.0, 0.0, 0.0, 0.0}}});
  const Tensor moved = run_one(both, x);
  const auto wm = normal_values(20, 2, 1.0);  // row 0 of Wm is what a unit g[0] adds
  for (std::int64_t c = 0; c < 5; ++c) {
    EXPECT_NEAR(moved.data<float>()[c] - after.data<float>()[c], wm[static_cast<std::size_t>(c)],
                1e-5);
  }
  EXPECT_THROW(exporter::edit_float_model(bytes, "m", {}, {{"nope", {1.0}}}), Error);
}

TEST(WeightEdit, ConvWithoutBiasGetsOne) {
  test::OnnxBuilder b(13);
  b.input("X", {1, 2, 3, 3});
  b.initializer("W", {2, 2, 1, 1}, {1, 0, 0, 1});
  b.node("Conv", {"X", "W"}, {"Y"}, "conv");
  b.output("Y", {1, 2, 3, 3});
  const std::string edited =
      exporter::edit_float_model(b.bytes(), "m", {}, {{"conv", {2.0, -1.0}}});
  const Tensor x = random_tensor({1, 2, 3, 3}, 4, 0.0);
  const Tensor y = run_one(edited, x);
  for (std::int64_t i = 0; i < 18; ++i) {
    EXPECT_FLOAT_EQ(y.data<float>()[i], x.data<float>()[i] + (i < 9 ? 2.0f : -1.0f));
  }
}

class BiasCorrectionRun : public ::testing::Test {
 protected:
  void SetUp() override {
    // Inputs with a mean of 1: weight rounding then shifts every channel's mean.
    write_npy(dir_.path() / "data.npy", random_tensor({6, 3, 8, 8}, 9, 1.0));
    write_file_atomic(dir_.path() / "m.onnx", two_conv_model());
  }
  CalibrateRequest request(bool correct, int threads, const std::string& out) {
    CalibrateRequest r;
    r.model = dir_.path() / "m.onnx";
    r.data = preprocess::data_request(dir_.path() / "data.npy");
    r.options.out_dir = dir_.path() / out;
    r.options.threads = threads;
    r.options.keep_output_layers_float = false;  // conv2 makes the output: quantize it too
    r.options.dominant_noise.enabled = false;
    r.options.accuracy.report = false;
    r.options.bias_correction.enabled = correct;
    r.options.bias_correction.samples = 6;
    return r;
  }
  // Per-channel mean of Y over the six samples.
  std::vector<double> channel_means(const std::string& bytes) {
    const Tensor data = read_npy(dir_.path() / "data.npy");
    std::vector<double> mean(4, 0.0);
    for (std::int64_t s = 0; s < 6; ++s) {
      Tensor x(DType::kFloat32, {1, 3, 8, 8});
      std::copy_n(data.data<float>() + s * 192, 192, x.data<float>());
      const Tensor y = run_one(bytes, x);
      for (std::int64_t i = 0; i < 256; ++i)
        mean[static_cast<std::size_t>(i / 64)] += y.data<float>()[i];
    }
    for (auto& m : mean) m /= 6.0 * 64.0;
    return mean;
  }
  std::string read(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
  }
  test::TempDir dir_;
};

TEST_F(BiasCorrectionRun, QdqChannelMeansMatchFp32) {
  const auto plain = run_calibrate(request(false, 1, "plain"));
  const auto corrected = run_calibrate(request(true, 1, "bc"));
  ASSERT_EQ(corrected.bias_corrected_layers, 2u);
  const auto fp32 = channel_means(two_conv_model());
  const auto q0 = channel_means(read(plain.qdq_model));
  const auto q1 = channel_means(read(corrected.qdq_model));
  double before = 0, after = 0;
  for (std::size_t c = 0; c < 4; ++c) {
    before = std::max(before, std::fabs(q0[c] - fp32[c]));
    after = std::max(after, std::fabs(q1[c] - fp32[c]));
  }
  EXPECT_GT(before, 1e-3);        // rounding shifts the means
  EXPECT_LT(after, before / 50);  // corrected: the FP32 means, to float rounding
  EXPECT_LT(after, 1e-5);
  // ranges.json says it ran, per layer.
  const auto j = nlohmann::json::parse(read(corrected.ranges));
  const auto& layers = j.at("algorithms").at("bias_correction").at("layers");
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].at("node"), "conv1");
  EXPECT_EQ(layers[1].at("shift").size(), 4u);
  EXPECT_LT(layers[1].at("mean_abs_error_after").get<double>(),
            layers[1].at("mean_abs_error_before").get<double>());
  EXPECT_FALSE(nlohmann::json::parse(read(plain.ranges)).contains("algorithms"));
}

TEST_F(BiasCorrectionRun, SameBytesAtAnyThreadCount) {
  const auto one = run_calibrate(request(true, 1, "t1"));
  const auto two = run_calibrate(request(true, 2, "t2"));
  EXPECT_EQ(read(one.qdq_model), read(two.qdq_model));
}

TEST(BiasCorrection, ValidatesOptions) {
  BiasCorrectionOptions o;
  o.samples = 0;
  EXPECT_THROW(validate(o), Error);
}

}  // namespace
}  // namespace qcal::quantize
