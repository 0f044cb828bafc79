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

// evaluate_map's matching step kept per image and class, so that the mAP of any multiset of the
// images (a bootstrap resample) re-accumulates without re-matching. Each class keeps its
// detections ranked once over all images (by decreasing score, ties by image then by the
// image's own order, as evaluate_map's stable sort), with each one's match and ignore flags per
// IoU threshold, and its non-crowd ground-truth count per image.
class MapMatches {
 public:
  explicit MapMatches(std::span<const ImageDetections> images, const MapOptions& options = {});

  std::size_t num_images() const { return num_images_; }
  // The mAP with image i counted image_counts[i] times (size num_images()). The copies of a
  // detection take adjacent places in the ranking (a resample is a multiset: the order of its
  // draws does not matter). All ones gives evaluate_map's result bit for bit.
  MapResult accumulate(std::span<const std::uint32_t> image_counts) const;
  MapResult accumulate() const;  // every image once

 private:
  struct ClassMatches {
    int class_id = 0;
    std::vector<std::uint32_t> image;  // per ranked detection: the image it belongs to
    // Per ranked detection: bit t set when matched at IoU threshold t, bit kIgnoredShift + t
    // when that match is to a crowd box (ignored).
    std::vector<std::uint32_t> flags;
    std::vector<std::pair<std::uint32_t, std::int64_t>> ground_truth;  // (image, non-crowd)
  };
  static constexpr int kIgnoredShift = 16;

  bool accumulate_class(const ClassMatches& c, std::span<const std::uint32_t> counts,
                        ClassAp& ap) const;

  std::size_t num_images_ = 0;
  std::vector<ClassMatches> classes_;  // every class seen in ground truth or detections, by id
};

// Average precision from one class's ranked matches: `true_positive[i]` says whether the i-th
// detection by decreasing score matched; `ignored[i]` drops a detection from both counts.
// 101-point interpolation on the precision envelope, as pycocotools' accumulate(). Exposed for
// tests and for callers with their own matching.
double interpolated_ap(std::span<const std::uint8_t> true_positive,
                       std::span<const std::uint8_t> ignored, std::int64_t num_ground_truth);

}  // namespace qcal::eval
