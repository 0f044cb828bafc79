// Face-embedding accuracy of default `qcal calibrate` on real face crops (issue 6's embedder
// target: mean cosine(FP32, INT8) >= 0.99 with the INT8 model run in ONNX Runtime). The model is
// a MobileFaceNet (npm faceplugin-face-recognition-js, Conv + PRelu + Add, opset 9,
// [1,3,112,112] -> [1,512]); the faces are Megamind.avi's, found by the YOLOv8n face detector in
// qcal's engine and cut out as square crops, calibration and held-out crops from different frames.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/atomic_file.hpp"
#include "face_crops.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

namespace fs = std::filesystem;
using face_crops::Crops;
using face_crops::kRecipe;
using face_crops::q;

TEST(FaceEmbedderAccuracy, Int8EmbeddingsMatchFp32OnHeldOutFaces) {
  test::TempDir dir;
  const fs::path model = test::deps_dir() / "models" / "fr_feature.onnx";
  ASSERT_TRUE(fs::exists(model)) << model << " missing: run scripts/setup.sh";
  ASSERT_TRUE(fs::exists(test::deps_dir() / "models" / "yolov8n-face.onnx"));
  const Crops crops = face_crops::build_crops(dir, 60);
  std::printf("face crops: %d calibration, %d held out\n", crops.calib, crops.held);
  ASSERT_GE(crops.calib, 25);
  ASSERT_GE(crops.held, 12);
  write_file_atomic(dir / "fr_feature.json", kRecipe);

  auto r = test::run_command(test::qcal_bin() + " calibrate " + q(model) + " --data " +
                             q(dir / "calib") + " --recipe " + q(dir / "fr_feature.json") + " -o " +
                             q(dir / "out") + " -j 2 -q --no-report");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_command(test::qcal_bin() + " eval " + q(model) + " " +
                        q(dir / "out" / "fr_feature.qdq.onnx") + " --data " + q(dir / "held") +
                        " --recipe " + q(dir / "fr_feature.json") +
                        " --task embedding --runtime ort -q -j 2 -o " + q(dir / "eval"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(read_file(dir / "eval" / "eval.json"));
  const auto& per = j["embedding"]["cosine_per_sample"];
  ASSERT_EQ(per.size(), static_cast<std::size_t>(crops.held));
  double sum = 0, worst = 1;
  for (const auto& c : per) {
    sum += c.get<double>();
    worst = std::min(worst, c.get<double>());
  }
  const double mean = sum / static_cast<double>(per.size());
  std::printf("cosine(FP32, INT8) in ONNX Runtime on %zu held-out faces: mean %.4f, min %.4f\n",
              per.size(), mean, worst);
  EXPECT_GE(mean, 0.99) << per;
}

}  // namespace
}  // namespace qcal
