// COCO-style detection mAP (mAP50, mAP50-95), following pycocotools' COCOeval for bounding
// boxes: greedy matching by score, 101-point interpolated precision with the precision
// envelope, IoU thresholds 0.50:0.05:0.95, per-class AP averaged over classes with ground truth.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "eval/detection.hpp"

namespace qcal::eval {

struct GroundTruthBox {
  Box box;
  int class_id = 0;
  // COCO "iscrowd": never counted as a miss, and a detection matched to it is neither a true
  // nor a false positive; its IoU is intersection over the detection's area (as pycocotools).
  bool crowd = false;
};

// One image: the detections to score and the ground truth, in the same pixel coordinates.
struct ImageDetections {
  std::vector<Detection> detections;
  std::vector<GroundTruthBox> ground_truth;
};

struct MapOptions {
  // Detections kept per image and class, by decreasing score (pycocotools' maxDets = 100; like
  // pycocotools' bbox evaluation the limit applies per category, not per image).
  int max_dets = 100;
};

inline constexpr int kNumIouThresholds = 10;      // 0.50, 0.55, ..., 0.95
inline constexpr int kNumRecallThresholds = 101;  // 0.00, 0.01, ..., 1.00

// The thresholds exactly as numpy.linspace computes them in pycocotools (i * step + start, the
// last one set to the stop value), so comparisons at the edges agree bit for bit.
std::array<double, kNumIouThresholds> coco_iou_thresholds();
std::array<double, kNumRecallThresholds> coco_recall_thresholds();

struct ClassAp {
  int class_id = 0;
  std::int64_t num_ground_truth = 0;           // non-crowd boxes
  std::int64_t num_detections = 0;             // after the max_dets cut
  std::array<double, kNumIouThresholds> ap{};  // AP at each IoU threshold
  double ap50 = 0.0;
  double ap50_95 = 0.0;   // mean over the 10 thresholds
  double recall50 = 0.0;  // final recall at IoU 0.5
};

struct MapResult {
  // Means over `classes`; NaN when no class has ground truth (pycocotools prints -1 then).
  double map50 = 0.0;
  double map50_95 = 0.0;
  std::int64_t images = 0;
  std::vector<ClassAp> classes;  // classes with at least one non-crowd ground truth, by id
};

// Scores detections against ground truth over a set of images.
MapResult evaluate_map(std::span<const ImageDetections> images, const MapOptions& options = {});

// Average precision from one class's ranked matches: `true_positive[i]` says whether the i-th
// detection by decreasing score matched; `ignored[i]` drops a detection from both counts.
// 101-point interpolation on the precision envelope, as pycocotools' accumulate(). Exposed for
// tests and for callers with their own matching.
double interpolated_ap(std::span<const std::uint8_t> true_positive,
                       std::span<const std::uint8_t> ignored, std::int64_t num_ground_truth);

}  // namespace qcal::eval
