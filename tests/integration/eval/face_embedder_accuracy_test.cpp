// Face-embedding accuracy of default `qcal calibrate` on real face crops (issue 6's embedder
// target: mean cosine(FP32, INT8) >= 0.99 with the INT8 model run in ONNX Runtime). The model is
// a MobileFaceNet (npm faceplugin-face-recognition-js, Conv + PRelu + Add, opset 9,
// [1,3,112,112] -> [1,512]); the faces are Megamind.avi's, found by the YOLOv8n face detector in
// qcal's engine and cut out as square crops, calibration and held-out crops from different frames.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "core/atomic_file.hpp"
#include "eval/detection.hpp"
#include "eval/runtime.hpp"
#include "eval/samples.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

namespace fs = std::filesystem;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// The package's own preprocessing (lib/fr_feature.js, preprocessFeature): the aligned 112x112
// crop in RGB channel order (OpenCV.js reads a canvas as RGBA), (x - 127) / 128, NCHW.
constexpr const char* kRecipe = R"({
  "name": "fr_feature", "input_name": "input", "layout": "NCHW",
  "preprocessings": [{"convertColor": {"form": "BGR2RGB"}},
                     {"resize": {"width": 112, "height": 112}},
                     {"normalize": {"mean": 127, "std": 128}}]
})";

// Square crop of side margin * the box's longer side around the box centre, black outside the
// frame (what the package's cv.warpAffine alignment fills), resized to 112x112. The package
// aligns with 68 landmarks we have no model for; the detector's box, squared with a margin,
// frames the face the same way up to a small shift and no rotation.
cv::Mat crop_face(const cv::Mat& frame, const eval::Box& box, double margin) {
  const double cx = 0.5 * (box.x1 + box.x2), cy = 0.5 * (box.y1 + box.y2);
  const double side = margin * std::max(box.x2 - box.x1, box.y2 - box.y1);
  const cv::Rect want(static_cast<int>(std::lround(cx - side / 2)),
                      static_cast<int>(std::lround(cy - side / 2)),
                      static_cast<int>(std::lround(side)), static_cast<int>(std::lround(side)));
  cv::Mat square(want.height, want.width, frame.type(), cv::Scalar::all(0));
  const cv::Rect inside = want & cv::Rect(0, 0, frame.cols, frame.rows);
  frame(inside).copyTo(square(inside - want.tl()));
  cv::Mat out;
  cv::resize(square, out, cv::Size(112, 112), 0, 0, cv::INTER_AREA);
  return out;
}

struct Crops {
  int calib = 0, held = 0;
};

// Frames of Megamind.avi -> faces (score > 0.5, at least 48 px) -> PNG crops; frame i goes to
// held/ when i % 3 == 0, else to calib/.
Crops build_crops(const test::TempDir& dir, int frame_count) {
  auto r =
      test::run_command(test::qcal_bin() + " frames " + q(test::opencv_data() / "Megamind.avi") +
                        " --count " + std::to_string(frame_count) + " -q -o " + q(dir / "frames"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<fs::path> frames;
  for (const auto& e : fs::directory_iterator(dir / "frames")) frames.push_back(e.path());
  std::sort(frames.begin(), frames.end());
  fs::create_directories(dir / "calib");
  fs::create_directories(dir / "held");

  const fs::path detector = test::deps_dir() / "models" / "yolov8n-face.onnx";
  auto runner = eval::make_qcal_runner(detector, {.threads = 2});
  auto samples = eval::open_samples(dir / "frames", "yolo", runner->model());
  const std::string out_name = runner->model().outputs().at(0).name;
  eval::YoloDecodeOptions decode;
  decode.conf_threshold = 0.5f;
  decode.iou_threshold = 0.45;
  Crops n;
  for (std::size_t i = 0; i < samples->size(); ++i) {
    auto s = samples->get(i, false);
    auto outs = runner->run({s.inputs});
    auto faces = eval::decode_yolo(outs.at(0).at(out_name).view(), decode);
    eval::undo_letterbox(faces, s.geometry.value());
    const cv::Mat frame = cv::imread(frames[i].string(), cv::IMREAD_COLOR);
    const bool held = i % 3 == 0;
    for (std::size_t k = 0; k < faces.size(); ++k) {
      const auto& b = faces[k].box;
      if (std::min(b.x2 - b.x1, b.y2 - b.y1) < 48) continue;
      char name[64];
      std::snprintf(name, sizeof name, "f%03zu_%zu.png", i, k);
      cv::imwrite((dir / (held ? "held" : "calib") / name).string(), crop_face(frame, b, 1.25));
      ++(held ? n.held : n.calib);
    }
  }
  return n;
}

TEST(FaceEmbedderAccuracy, Int8EmbeddingsMatchFp32OnHeldOutFaces) {
  test::TempDir dir;
  const fs::path model = test::deps_dir() / "models" / "fr_feature.onnx";
  ASSERT_TRUE(fs::exists(model)) << model << " missing: run scripts/setup.sh";
  ASSERT_TRUE(fs::exists(test::deps_dir() / "models" / "yolov8n-face.onnx"));
  const Crops crops = build_crops(dir, 60);
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
