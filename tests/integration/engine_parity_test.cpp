// Parity with ONNX Runtime 1.30 (tools/ort/ort_run.js) on real models and real photos: every
// output's relative L2 error ||qcal - ort|| / ||ort|| must be at most 1e-4.
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/npy.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

struct Case {
  const char* model;
  const char* input_name;
  const char* kind;
  const char* image;
};

std::string member_name(std::string name) {
  for (auto& c : name) {
    if (c == '/') c = '_';
  }
  return name;
}

double relative_l2(const Tensor& got, const Tensor& want) {
  double num = 0, den = 0;
  const auto g = got.values<float>();
  const auto w = want.values<float>();
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double d = static_cast<double>(g[i]) - static_cast<double>(w[i]);
    num += d * d;
    den += static_cast<double>(w[i]) * static_cast<double>(w[i]);
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

void check_parity(const Case& c, int threads) {
  const auto model = test::deps_dir() / "models" / c.model;
  ASSERT_TRUE(std::filesystem::exists(model)) << model;
  test::TempDir dir;
  const auto input = dir / "input.npy";
  const std::string prep = test::system_python() + " " + QCAL_SOURCE_DIR +
                           "/tests/integration/engine_parity_inputs.py " + c.kind + " " +
                           (test::opencv_data() / c.image).string() + " " + input.string();
  auto r = test::run_command(prep);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string feed = std::string(c.input_name) + "=" + input.string();
  r = test::run_command("node " + std::string(QCAL_SOURCE_DIR) + "/tools/ort/ort_run.js " +
                        model.string() + " --input '" + feed + "' --out " + (dir / "ort").string() +
                        " --threads " + std::to_string(threads) + " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto ort = nlohmann::json::parse(r.output);
  r = test::run_command(test::qcal_bin() + " run " + model.string() + " --input '" + feed +
                        "' -o " + (dir / "qcal").string() + " --threads " +
                        std::to_string(threads) + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_FALSE(ort["outputs"].empty());
  for (const auto& [name, file] : ort["outputs"].items()) {
    const Tensor want = read_npy(file.get<std::string>());
    const Tensor got = read_npy(dir / "qcal" / (member_name(name) + ".npy"));
    ASSERT_EQ(got.shape(), want.shape()) << name;
    ASSERT_EQ(got.dtype(), DType::kFloat32) << name;
    const double err = relative_l2(got, want);
    EXPECT_LE(err, 1e-4) << c.model << " output " << name << " at " << threads << " thread(s)";
    std::printf("%s %s: relative L2 %.3g\n", c.model, name.c_str(), err);
  }
}

TEST(EngineParity, Yolov8n) { check_parity({"yolov8n.onnx", "images", "yolo", "messi5.jpg"}, 2); }
TEST(EngineParity, Yolov8nOneThread) {
  check_parity({"yolov8n.onnx", "images", "yolo", "basketball1.png"}, 1);
}
TEST(EngineParity, PPOCRv4Det) {
  check_parity({"ch_PP-OCRv4_det_infer.onnx", "x", "det", "imageTextN.png"}, 2);
}
TEST(EngineParity, PPOCRv4Rec) {
  check_parity({"ch_PP-OCRv4_rec_infer.onnx", "x", "rec", "imageTextR.png"}, 2);
}
TEST(EngineParity, PPOCRMobileCls) {
  check_parity({"ch_ppocr_mobile_v2.0_cls_infer.onnx", "x", "cls", "imageTextR.png"}, 2);
}
TEST(EngineParity, BlazeFaceFront128) {
  check_parity(
      {"face_detection_front_128x128_barracuda.onnx", "input:0", "blazeface128", "messi5.jpg"}, 2);
}
TEST(EngineParity, BlazeFaceBack256) {
  check_parity(
      {"face_detection_back_256x256_barracuda.onnx", "input:0", "blazeface256", "messi5.jpg"}, 2);
}

}  // namespace
}  // namespace qcal
