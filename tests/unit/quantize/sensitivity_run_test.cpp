// measure_sensitivity on a small model built in memory: fake quantization in place through the
// engine observer gives exactly the outputs computed by hand, the caller's inputs are not
// touched, the along-model error matches, and activation scales are read back from a QDQ model.
#include "quantize/sensitivity_run.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "../engine/onnx_builder.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "engine/model.hpp"
#include "eval/tensor_metrics.hpp"
#include "test_support.hpp"

namespace qcal::quantize {

using eval::TensorComparator;
using eval::TensorSensitivity;
namespace {

std::shared_ptr<const engine::Model> load(const std::filesystem::path& p) {
  return std::make_shared<const engine::Model>(engine::Model::load(p));
}

// y = (x * 2 + 0.3) * 1.5: tensors x (input), t1 = x * 2, t2 = t1 + 0.3, y.
std::string small_model() {
  test::OnnxBuilder b;
  b.input("x", {1, 6});
  b.output("y", {1, 6});
  b.initializer("two", {}, {2.0f});
  b.initializer("c", {}, {0.3f});
  b.initializer("k", {}, {1.5f});
  b.node("Mul", {"x", "two"}, {"t1"}, "mul");
  b.node("Add", {"t1", "c"}, {"t2"}, "add");
  b.node("Mul", {"t2", "k"}, {"y"}, "scale");
  return b.bytes();
}

std::vector<float> forward(std::vector<float> x, const std::map<std::string, ActivationQuant>& q) {
  auto fq = [&](const char* name, std::vector<float>& v) {
    auto it = q.find(name);
    if (it != q.end()) fake_quantize(v, it->second);
  };
  fq("x", x);
  std::vector<float> t1(x.size()), t2(x.size()), y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) t1[i] = x[i] * 2.0f;
  fq("t1", t1);
  for (std::size_t i = 0; i < x.size(); ++i) t2[i] = t1[i] + 0.3f;
  fq("t2", t2);
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = t2[i] * 1.5f;
  return y;
}

TEST(FakeQuantize, RoundsHalfToEvenAndSaturates) {
  std::vector<float> v = {0.25f, 0.75f, -0.25f, 100.0f, -100.0f, 0.1f};
  fake_quantize(v, {.scale = 0.5f, .zero_point = 0, .qmin = -128, .qmax = 127});
  // 0.5 -> 0, 1.5 -> 2, -0.5 -> -0 (half to even), saturation at +-127/-128 steps.
  EXPECT_EQ(v[0], 0.0f);
  EXPECT_EQ(v[1], 1.0f);
  EXPECT_EQ(v[2], 0.0f);
  EXPECT_EQ(v[3], 63.5f);
  EXPECT_EQ(v[4], -64.0f);
  EXPECT_EQ(v[5], 0.0f);
  std::vector<float> u = {-1.0f, 0.0f, 3.0f};
  fake_quantize(u, {.scale = 0.01f, .zero_point = 50, .qmin = 0, .qmax = 255});
  EXPECT_NEAR(u[0], -0.5f, 1e-6);  // clamps at q = 0, i.e. (0 - 50) * 0.01
  EXPECT_EQ(u[1], 0.0f);
  EXPECT_NEAR(u[2], 2.05f, 1e-6);  // clamps at 255
}

TEST(MeasureSensitivity, MatchesHandComputedOutputsAndLeavesInputsAlone) {
  test::TempDir dir;
  const auto path = dir / "m.onnx";
  write_file_atomic(path, small_model());
  const std::map<std::string, ActivationQuant> quant = {
      {"x", {.scale = 0.05f}}, {"t1", {.scale = 0.3f}}, {"t2", {.scale = 0.02f}}};
  std::vector<std::vector<Tensor>> samples;
  std::vector<std::vector<float>> raw = {{0.11f, -0.52f, 0.93f, 0.4f, -0.07f, 1.2f},
                                         {0.5f, 0.25f, -1.0f, 0.77f, 0.01f, -0.3f}};
  for (const auto& r : raw) {
    samples.push_back({Tensor::from_values<float>({1, 6}, std::span<const float>(r))});
  }
  SensitivityRunOptions one_thread;
  one_thread.threads = 1;
  const auto run = measure_sensitivity(load(path), quant, samples, one_thread);
  ASSERT_EQ(run.tensors.size(), 3u);
  EXPECT_EQ(run.samples, 2u);
  EXPECT_EQ(run.runs, 2u * (3 + 2));
  for (std::size_t s = 0; s < raw.size(); ++s) {
    const auto v = samples[s][0].values<float>();
    EXPECT_EQ(std::vector<float>(v.begin(), v.end()), raw[s]) << "inputs were modified";
  }
  for (const auto& t : run.tensors) {
    TensorComparator out;
    for (const auto& r : raw) {
      const auto ref = forward(r, {});
      const auto test = forward(r, {{t.tensor, quant.at(t.tensor)}});
      out.add(ref, test);
    }
    EXPECT_NEAR(t.output_sqnr_db, out.result().sqnr_db, 1e-6) << t.tensor;
    EXPECT_NEAR(t.output_cosine, out.result().cosine, 1e-9) << t.tensor;
  }
  // Along the fully quantized model: t2 there vs t2 in FP32.
  TensorComparator along, all;
  for (const auto& r : raw) {
    std::vector<float> x = r, xq = r;
    fake_quantize(xq, quant.at("x"));
    std::vector<float> ref(6), test(6);
    for (int i = 0; i < 6; ++i) {
      ref[i] = x[i] * 2.0f + 0.3f;
      float t1 = xq[i] * 2.0f;
      std::vector<float> one = {t1};
      fake_quantize(one, quant.at("t1"));
      test[i] = one[0] + 0.3f;
    }
    fake_quantize(test, quant.at("t2"));
    along.add(ref, test);
    all.add(forward(r, {}), forward(r, quant));
  }
  const auto t2 = std::find_if(run.tensors.begin(), run.tensors.end(),
                               [](const TensorSensitivity& t) { return t.tensor == "t2"; });
  EXPECT_NEAR(t2->along_sqnr_db, along.result().sqnr_db, 1e-6);
  EXPECT_NEAR(run.all_output_sqnr_db, all.result().sqnr_db, 1e-6);
  // t1 has the coarsest scale: it ranks most sensitive.
  EXPECT_EQ(rank_sensitivity(run.tensors)[0].result.tensor, "t1");
}

TEST(MeasureSensitivity, UnknownTensorsAreSkippedAndNoSamplesIsAnError) {
  test::TempDir dir;
  const auto path = dir / "m.onnx";
  write_file_atomic(path, small_model());
  std::vector<float> r(6, 0.5f);
  std::vector<std::vector<Tensor>> samples = {
      {Tensor::from_values<float>({1, 6}, std::span<const float>(r))}};
  const auto run =
      measure_sensitivity(load(path), {{"nope", {}}, {"t1", {.scale = 0.1f}}}, samples, {});
  ASSERT_EQ(run.tensors.size(), 1u);
  EXPECT_EQ(run.skipped, std::vector<std::string>{"nope"});
  EXPECT_THROW(measure_sensitivity(load(path), {{"t1", {}}}, {}, {}), Error);
}

TEST(ActivationQuantFromQdq, ReadsScalarActivationQuantizeLinear) {
  test::OnnxBuilder b;
  b.input("x", {1, 4});
  b.output("y", {1, 4});
  b.initializer("s", {}, {0.25f});
  auto* zp = b.graph().add_initializer();
  zp->set_name("z");
  zp->set_data_type(onnx::TensorProto::INT8);
  zp->add_int32_data(0);
  auto* uzp = b.graph().add_initializer();
  uzp->set_name("uz");
  uzp->set_data_type(onnx::TensorProto::UINT8);
  uzp->add_int32_data(7);
  b.initializer("w", {1, 4}, {1, 2, 3, 4});
  b.node("QuantizeLinear", {"x", "s", "z"}, {"xq"}, "q1");
  b.node("DequantizeLinear", {"xq", "s", "z"}, {"xd"}, "d1");
  b.node("QuantizeLinear", {"w", "s", "z"}, {"wq"}, "qw");  // a weight: not an activation
  b.node("DequantizeLinear", {"wq", "s", "z"}, {"wd"}, "dw");
  b.node("Add", {"xd", "wd"}, {"a"}, "add");
  b.node("QuantizeLinear", {"a", "s", "uz"}, {"aq"}, "q2");
  b.node("DequantizeLinear", {"aq", "s", "uz"}, {"y"}, "d2");
  const auto m =
      engine::Model::load_from_bytes(b.bytes(), {}, engine::LoadOptions{.check_ops = false});
  const auto q = activation_quant_from_qdq(m);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q.at("x").scale, 0.25f);
  EXPECT_EQ(q.at("x").qmin, -128);
  EXPECT_EQ(q.at("a").zero_point, 7);
  EXPECT_EQ(q.at("a").qmin, 0);
  EXPECT_EQ(q.at("a").qmax, 255);
}

// A one-class YOLO head [1, 5, 6] (more anchors than rows, so not read as transposed): anchor 0
// holds a box at (cx0, 50) 20x20 with score s0, anchor 1 a far box with score s1, the other
// anchors score 0. Rows: cx, cy, w, h, class 0.
Tensor yolo_head(float cx0, float s0, float s1) {
  std::vector<float> v(5 * 6, 0.0f);
  const float col0[5] = {cx0, 50, 20, 20, s0}, col1[5] = {200, 200, 20, 20, s1};
  for (int r = 0; r < 5; ++r) {
    v[static_cast<std::size_t>(r * 6)] = col0[r];
    v[static_cast<std::size_t>(r * 6 + 1)] = col1[r];
  }
  return Tensor::from_values<float>({1, 5, 6}, std::span<const float>(v));
}

TEST(TaskDropScorer, YoloMapAgainstFp32DetectionsAndWorstCosine) {
  TaskDropScorer map(TaskDropScorer::Kind::kYoloMap);
  const std::vector<Tensor> ref = {yolo_head(50, 0.9f, 0.8f)};
  map.add("same", 0, ref, {yolo_head(50, 0.9f, 0.8f)});
  map.add("moved", 0, ref, {yolo_head(58, 0.9f, 0.8f)});  // IoU 12*20/(2*400-240) = 0.43
  map.add("", 0, ref, {yolo_head(50, 0.85f, 0.8f)});
  EXPECT_EQ(map.drop("same"), 0.0);
  // The moved box (score 0.9, IoU 0.43) is a false positive ranked first, then the far box is a
  // true positive: precision 0.5 up to recall 0.5, so 51 of the 101 recall points read 0.5 at
  // every IoU threshold: AP = 25.5 / 101.
  EXPECT_NEAR(map.drop("moved"), (1.0 - 25.5 / 101.0) * 100.0, 1e-9);
  EXPECT_EQ(map.drop(""), 0.0);  // scores changed, ranks and boxes did not
  EXPECT_TRUE(std::isnan(map.drop("never added")));

  TaskDropScorer cos(TaskDropScorer::Kind::kWorstCosine);
  const std::vector<float> a = {1, 0, 0}, b = {1, 1, 0};
  const std::vector<Tensor> r2 = {Tensor::from_values<float>({3}, std::span<const float>(a)),
                                  Tensor::from_values<float>({3}, std::span<const float>(a))};
  const std::vector<Tensor> t2 = {Tensor::from_values<float>({3}, std::span<const float>(a)),
                                  Tensor::from_values<float>({3}, std::span<const float>(b))};
  cos.add("t", 0, r2, t2);
  EXPECT_NEAR(cos.drop("t"), (1.0 - 1.0 / std::sqrt(2.0)) * 100.0, 1e-9);
}

}  // namespace
}  // namespace qcal::quantize
