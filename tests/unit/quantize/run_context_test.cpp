// One run context: a calibrate run parses the model file once (plus once for an opset-upgraded
// model and once per evaluated QDQ candidate), keeps the upgraded model in memory (no temporary
// file), and names the user's file and the options really used in every output.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "engine/model.hpp"
#include "quantize/calibrate.hpp"
#include "test_support.hpp"
#include "unit/engine/onnx_builder.hpp"

namespace qcal::quantize {
namespace {

// X [1, 3, 8, 8] -> Conv 3x3 -> Relu -> Conv 1x1 -> Y, at `opset`.
std::string conv_model(int opset) {
  test::OnnxBuilder b(opset);
  b.input("X", {1, 3, 8, 8});
  Rng rng(5);
  std::vector<float> w1(8 * 3 * 9), w2(4 * 8);
  for (auto& v : w1) v = static_cast<float>(rng.next_normal() * 0.3);
  for (auto& v : w2) v = static_cast<float>(rng.next_normal() * 0.3);
  b.initializer("W1", {8, 3, 3, 3}, w1);
  b.initializer("W2", {4, 8, 1, 1}, w2);
  b.attr_ints(b.node("Conv", {"X", "W1"}, {"c1"}, "conv1"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"}, "relu");
  b.node("Conv", {"r1", "W2"}, {"c2"}, "conv2");
  b.node("Relu", {"c2"}, {"Y"}, "relu2");
  b.output("Y", {1, 4, 8, 8});
  return b.bytes();
}

class RunContext : public ::testing::Test {
 protected:
  void SetUp() override {
    Tensor x(DType::kFloat32, {6, 3, 8, 8});
    Rng rng(9);
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      x.data<float>()[i] = static_cast<float>(rng.next_normal());
    }
    write_npy(dir_.path() / "data.npy", x);
    // Temporary files of the run go here, so the test sees any.
    tmp_ = dir_.path() / "tmp";
    std::filesystem::create_directories(tmp_);
    old_tmp_ = getenv("TMPDIR") ? getenv("TMPDIR") : "";
    setenv("TMPDIR", tmp_.c_str(), 1);
  }
  void TearDown() override {
    if (old_tmp_.empty()) {
      unsetenv("TMPDIR");
    } else {
      setenv("TMPDIR", old_tmp_.c_str(), 1);
    }
  }
  CalibrateRequest request(const std::string& model_name, int opset) {
    const auto model = dir_.path() / model_name;
    write_file_atomic(model, conv_model(opset));
    CalibrateRequest r;
    r.model = model;
    r.data = preprocess::data_request(dir_.path() / "data.npy");
    r.options.out_dir = dir_.path() / "out";
    r.options.threads = 1;
    return r;
  }
  std::uint64_t parses_of(const CalibrateRequest& r) {
    const std::uint64_t before = engine::Model::parse_count();
    (void)run_calibrate(r);
    return engine::Model::parse_count() - before;
  }

  test::TempDir dir_;
  std::filesystem::path tmp_;
  std::string old_tmp_;
};

TEST_F(RunContext, ParsesTheModelOnce) {
  EXPECT_EQ(parses_of(request("m13.onnx", 13)), 1u);
  // --sensitivity evaluates the default QDQ model once: one more parse, of that model.
  CalibrateRequest r = request("m13.onnx", 13);
  r.options.accuracy.sensitivity = true;
  EXPECT_EQ(parses_of(r), 2u);
}

TEST_F(RunContext, BelowOpset13TheUpgradeStaysInMemoryAndOutputsNameTheUsersFile) {
  CalibrateRequest r = request("user_model.onnx", 11);
  r.options.select.method = calib::Method::kEma;
  r.method_given = true;
  r.options.accuracy.sensitivity = true;
  const std::uint64_t before = engine::Model::parse_count();
  const CalibrateReport report = run_calibrate(r);
  // The file, the upgraded model, the evaluated QDQ candidate.
  EXPECT_EQ(engine::Model::parse_count() - before, 3u);
  EXPECT_TRUE(std::filesystem::is_empty(tmp_)) << "a temporary file was written";
  const std::string user = (dir_.path() / "user_model.onnx").string();
  const auto sens = nlohmann::json::parse(read_file(report.sensitivity_json));
  EXPECT_EQ(sens["model"], user);
  const std::string html = read_file(report.report_html);
  EXPECT_NE(html.find("qcal calibrate: user_model.onnx"), std::string::npos);
  EXPECT_NE(html.find(user), std::string::npos);
  EXPECT_EQ(html.find("opset13"), std::string::npos);
  EXPECT_NE(report.command.find("--method ema"), std::string::npos) << report.command;
  EXPECT_NE(html.find("--method ema"), std::string::npos);
  const auto ranges = nlohmann::json::parse(read_file(report.ranges));
  EXPECT_EQ(ranges.dump().find("opset13"), std::string::npos);
  EXPECT_EQ(report.qdq_model.filename(), "user_model.qdq.onnx");
}

TEST_F(RunContext, TheReproductionCommandCarriesEveryOptionThatChangedTheResult) {
  CalibrateRequest r = request("m.onnx", 13);
  r.options.num_samples = 4;
  r.options.per_channel = false;
  r.options.select.method = calib::Method::kPercentile;
  r.options.select.percentile = 99.9;
  r.options.dominant_noise.enabled = false;
  r.options.exclude = {"conv2"};
  const CalibrateReport report = run_calibrate(r);
  for (const char* part : {" -n 4", " --per-tensor", " --method percentile", " --percentile 99.9",
                           " --dominant-noise off", " --exclude 'conv2'", " --data "}) {
    EXPECT_NE(report.command.find(part), std::string::npos) << part << " in " << report.command;
  }
  EXPECT_EQ(report.samples, 4);
}

}  // namespace
}  // namespace qcal::quantize
