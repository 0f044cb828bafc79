// Test helper: face crops for the fr_feature MobileFaceNet from Megamind.avi (the YOLOv8n face
// detector in qcal's engine), as face_embedder_accuracy_test builds them, and its recipe.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "eval/detection.hpp"
#include "eval/runtime.hpp"
#include "eval/samples.hpp"
#include "test_support.hpp"

namespace qcal::face_crops {

namespace fs = std::filesystem;

inline std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

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
inline cv::Mat crop_face(const cv::Mat& frame, const eval::Box& box, double margin) {
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
inline Crops build_crops(const test::TempDir& dir, int frame_count) {
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

}  // namespace qcal::face_crops
