// COCO mAP against hand-computed cases: perfect, missing, duplicates, ties, IoU thresholds,
// crowd, classes without ground truth, maxDets, and the interpolation itself.
#include "eval/coco_map.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace qcal::eval {
namespace {

GroundTruthBox gt(Box b, int cls = 0, bool crowd = false) { return {b, cls, crowd}; }
Detection det(Box b, float score, int cls = 0) { return {b, score, cls}; }

TEST(CocoThresholds, MatchNumpyLinspace) {
  const auto t = coco_iou_thresholds();
  EXPECT_EQ(t[0], 0.5);
  EXPECT_EQ(t[9], 0.95);
  const auto r = coco_recall_thresholds();
  EXPECT_EQ(r[0], 0.0);
  EXPECT_EQ(r[50], 0.5);
  EXPECT_EQ(r[100], 1.0);
  EXPECT_EQ(r[30], 30 * 0.01);  // numpy gives 0.3 from 30 * (1/100)
}

TEST(InterpolatedAp, EnvelopeAndRecallSteps) {
  // TP, FP, TP with 2 ground truths: recall [.5, .5, 1], precision [1, .5, 2/3], envelope
  // [1, 2/3, 2/3]. Recall thresholds 0..0.50 (51 of them) read precision 1; 0.51..1.00 (50)
  // read 2/3.
  const std::vector<std::uint8_t> tp = {1, 0, 1};
  EXPECT_NEAR(interpolated_ap(tp, {}, 2), (51.0 + 50.0 * 2.0 / 3.0) / 101.0, 1e-12);
  // Recall never reaches 1: thresholds above the final recall read 0.
  const std::vector<std::uint8_t> one = {1};
  EXPECT_NEAR(interpolated_ap(one, {}, 4), 26.0 / 101.0, 1e-12);  // recall .25: r = 0..0.25
  // No detections: 0. No ground truth: NaN (left out of the mean).
  EXPECT_EQ(interpolated_ap({}, {}, 3), 0.0);
  EXPECT_TRUE(std::isnan(interpolated_ap(one, {}, 0)));
  // An ignored detection counts as neither TP nor FP.
  const std::vector<std::uint8_t> tp2 = {0, 1}, ign = {1, 0};
  EXPECT_NEAR(interpolated_ap(tp2, ign, 1), 1.0, 1e-12);
}

TEST(CocoMap, PerfectDetection) {
  std::vector<ImageDetections> imgs(1);
  imgs[0].ground_truth = {gt({10, 10, 50, 50})};
  imgs[0].detections = {det({10, 10, 50, 50}, 0.9f)};
  const MapResult r = evaluate_map(imgs);
  EXPECT_DOUBLE_EQ(r.map50, 1.0);
  EXPECT_DOUBLE_EQ(r.map50_95, 1.0);
  ASSERT_EQ(r.classes.size(), 1u);
  EXPECT_EQ(r.classes[0].num_ground_truth, 1);
}

TEST(CocoMap, NoDetectionsGivesZero) {
  std::vector<ImageDetections> imgs(2);
  imgs[0].ground_truth = {gt({0, 0, 10, 10})};
  const MapResult r = evaluate_map(imgs);
  EXPECT_DOUBLE_EQ(r.map50, 0.0);
  EXPECT_DOUBLE_EQ(r.map50_95, 0.0);
}

TEST(CocoMap, ClassWithoutGroundTruthIsLeftOut) {
  std::vector<ImageDetections> imgs(1);
  imgs[0].ground_truth = {gt({0, 0, 10, 10}, 0)};
  imgs[0].detections = {det({0, 0, 10, 10}, 0.9f, 0), det({20, 20, 30, 30}, 0.95f, 7)};
  const MapResult r = evaluate_map(imgs);
  ASSERT_EQ(r.classes.size(), 1u);  // class 7 has no ground truth
  EXPECT_DOUBLE_EQ(r.map50, 1.0);
  // Nothing with ground truth at all: undefined (NaN), as pycocotools' -1.
  std::vector<ImageDetections> none(1);
  none[0].detections = {det({0, 0, 1, 1}, 0.5f)};
  EXPECT_TRUE(std::isnan(evaluate_map(none).map50));
}

TEST(CocoMap, ClassesAveraged) {
  std::vector<ImageDetections> imgs(1);
  imgs[0].ground_truth = {gt({0, 0, 10, 10}, 0), gt({20, 20, 30, 30}, 1)};
  imgs[0].detections = {det({0, 0, 10, 10}, 0.9f, 0), det({20, 20, 30, 30}, 0.9f, 0)};
  const MapResult r = evaluate_map(imgs);
  ASSERT_EQ(r.classes.size(), 2u);
  EXPECT_DOUBLE_EQ(r.classes[0].ap50, 1.0);  // class 0: TP then FP, envelope keeps 1
  EXPECT_DOUBLE_EQ(r.classes[1].ap50, 0.0);  // class 1: the box was labelled class 0
  EXPECT_DOUBLE_EQ(r.map50, 0.5);
}

TEST(CocoMap, DuplicateDetections) {
  // Two ground truths; detections A (0.9), duplicate of A (0.8), B (0.7): TP, FP, TP.
  std::vector<ImageDetections> imgs(1);
  imgs[0].ground_truth = {gt({0, 0, 10, 10}), gt({50, 50, 60, 60})};
  imgs[0].detections = {det({0, 0, 10, 10}, 0.9f), det({0, 0, 10, 10}, 0.8f),
                        det({50, 50, 60, 60}, 0.7f)};
  const MapResult r = evaluate_map(imgs);
  const double expected = (51.0 + 50.0 * 2.0 / 3.0) / 101.0;
  EXPECT_NEAR(r.map50, expected, 1e-12);
  EXPECT_NEAR(r.map50_95, expected, 1e-12);  // exact boxes match at every threshold
  EXPECT_DOUBLE_EQ(r.classes[0].recall50, 1.0);
}

TEST(CocoMap, TiesInScoreFollowImageOrder) {
  // Equal scores: a false positive in image 0 and a true positive in image 1. pycocotools'
  // stable sort keeps image order: FP first, precision [0, .5] -> envelope .5 everywhere.
  std::vector<ImageDetections> imgs(2);
  imgs[0].detections = {det({0, 0, 10, 10}, 0.8f)};
  imgs[1].ground_truth = {gt({0, 0, 10, 10})};
  imgs[1].detections = {det({0, 0, 10, 10}, 0.8f)};
  EXPECT_NEAR(evaluate_map(imgs).map50, 0.5, 1e-12);
  std::swap(imgs[0], imgs[1]);  // TP first: precision [1, .5] -> envelope 1
  EXPECT_NEAR(evaluate_map(imgs).map50, 1.0, 1e-12);
}

TEST(CocoMap, IouThresholds) {
  // IoU exactly 0.5 (2/4) matches at 0.50 only: AP50 1, AP50-95 0.1.
  std::vector<ImageDetections> imgs(1);
  imgs[0].ground_truth = {gt({0, 0, 2, 2})};
  imgs[0].detections = {det({0, 0, 2, 1}, 0.9f)};
  MapResult r = evaluate_map(imgs);
  EXPECT_DOUBLE_EQ(r.map50, 1.0);
  EXPECT_NEAR(r.map50_95, 0.1, 1e-12);
  // IoU 0.72 matches at 0.50 ... 0.70: 5 of 10 thresholds.
  imgs[0].ground_truth = {gt({0, 0, 100, 100})};
  imgs[0].detections = {det({0, 0, 100, 72}, 0.9f)};
  r = evaluate_map(imgs);
  EXPECT_NEAR(r.map50_95, 0.5, 1e-12);
  // IoU just below 0.5: nothing.
  imgs[0].detections = {det({0, 0, 100, 49.9f}, 0.9f)};
  EXPECT_DOUBLE_EQ(evaluate_map(imgs).map50, 0.0);
}

TEST(CocoMap, GreedyMatchTakesHighestIou) {
  // One detection overlapping two ground truths: it takes the higher IoU; the other is missed.
  std::vector<ImageDetections> imgs(1);
  imgs[0].ground_truth = {gt({0, 0, 10, 10}), gt({0, 0, 10, 8})};
  imgs[0].detections = {det({0, 0, 10, 8}, 0.9f)};
  const MapResult r = evaluate_map(imgs);
  EXPECT_DOUBLE_EQ(r.classes[0].recall50, 0.5);
  EXPECT_NEAR(r.map50, 51.0 / 101.0, 1e-12);  // precision 1 up to recall 0.5
}

TEST(CocoMap, CrowdGroundTruthIsIgnored) {
  // A detection inside a crowd region is neither TP nor FP; crowd boxes are never missed.
  std::vector<ImageDetections> imgs(1);
  imgs[0].ground_truth = {gt({0, 0, 10, 10}), gt({100, 100, 200, 200}, 0, true)};
  imgs[0].detections = {det({120, 120, 140, 140}, 0.95f), det({0, 0, 10, 10}, 0.9f)};
  const MapResult r = evaluate_map(imgs);
  EXPECT_EQ(r.classes[0].num_ground_truth, 1);
  EXPECT_DOUBLE_EQ(r.map50, 1.0);
  // Only crowd ground truth: the class has nothing to find and is left out.
  std::vector<ImageDetections> crowd_only(1);
  crowd_only[0].ground_truth = {gt({0, 0, 10, 10}, 0, true)};
  EXPECT_TRUE(std::isnan(evaluate_map(crowd_only).map50));
}

TEST(CocoMap, MaxDetsPerImageAndClass) {
  // 100 false positives scored above the one true positive: with maxDets 100 the TP is cut.
  std::vector<ImageDetections> imgs(1);
  imgs[0].ground_truth = {gt({0, 0, 10, 10})};
  for (int i = 0; i < 100; ++i) {
    const float x = 20.0f + 20.0f * static_cast<float>(i);
    imgs[0].detections.push_back(det({x, 0, x + 10, 10}, 0.9f));
  }
  imgs[0].detections.push_back(det({0, 0, 10, 10}, 0.1f));
  EXPECT_DOUBLE_EQ(evaluate_map(imgs).map50, 0.0);
  MapOptions o;
  o.max_dets = 101;  // the TP is the 101st: precision 1/101 at recall 1
  EXPECT_NEAR(evaluate_map(imgs, o).map50, 1.0 / 101.0, 1e-12);
  // A detection of another class does not count towards this class's limit.
  imgs[0].detections.back().score = 0.95f;
  imgs[0].detections.push_back(det({0, 0, 10, 10}, 0.99f, 3));
  EXPECT_DOUBLE_EQ(evaluate_map(imgs).map50, 1.0);
}

TEST(CocoMap, DeterministicWhateverTheDetectionOrder) {
  std::vector<ImageDetections> imgs(1);
  imgs[0].ground_truth = {gt({0, 0, 10, 10}), gt({30, 30, 40, 40})};
  imgs[0].detections = {det({1, 1, 10, 10}, 0.6f), det({30, 30, 41, 41}, 0.7f),
                        det({60, 60, 70, 70}, 0.65f)};
  const MapResult a = evaluate_map(imgs);
  std::reverse(imgs[0].detections.begin(), imgs[0].detections.end());
  const MapResult b = evaluate_map(imgs);
  EXPECT_EQ(a.map50_95, b.map50_95);
  // TP (0.7), FP (0.65), TP (0.6): same envelope as the duplicate case at IoU 0.5.
  EXPECT_NEAR(a.map50, (51.0 + 50.0 * 2.0 / 3.0) / 101.0, 1e-12);
}

}  // namespace
}  // namespace qcal::eval
