// IoU, NMS edge cases, YOLO decoding and Ultralytics letterbox geometry, hand-computed.
#include "eval/detection.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "core/error.hpp"

namespace qcal::eval {
namespace {

TEST(BoxIou, HandComputed) {
  EXPECT_DOUBLE_EQ(box_iou({0, 0, 2, 2}, {1, 1, 3, 3}), 1.0 / 7.0);
  EXPECT_DOUBLE_EQ(box_iou({0, 0, 2, 2}, {0, 0, 2, 2}), 1.0);
  EXPECT_DOUBLE_EQ(box_iou({0, 0, 2, 2}, {2, 0, 4, 2}), 0.0);  // touching edges
  EXPECT_DOUBLE_EQ(box_iou({0, 0, 2, 2}, {5, 5, 6, 6}), 0.0);
  EXPECT_DOUBLE_EQ(box_iou({0, 0, 4, 4}, {1, 1, 3, 3}), 4.0 / 16.0);  // contained
}

TEST(BoxIou, ZeroArea) {
  EXPECT_DOUBLE_EQ(box_iou({1, 1, 1, 1}, {1, 1, 1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(box_iou({1, 1, 1, 3}, {0, 0, 2, 2}), 0.0);
  EXPECT_DOUBLE_EQ(Box({3, 3, 1, 1}).area(), 0.0);  // inverted corners
}

TEST(Nms, IouExactlyAtThresholdIsKept) {
  // IoU = 2 / 4 = 0.5 exactly.
  const std::vector<Detection> d = {{{0, 0, 2, 2}, 0.9f, 0}, {{0, 0, 2, 1}, 0.8f, 0}};
  EXPECT_EQ(non_max_suppression(d, 0.5, 0).size(), 2u);
  const auto kept = non_max_suppression(d, 0.49, 0);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_FLOAT_EQ(kept[0].score, 0.9f);
}

TEST(Nms, ClassesKeptSeparate) {
  const std::vector<Detection> d = {
      {{0, 0, 2, 2}, 0.9f, 0}, {{0, 0, 2, 2}, 0.8f, 1}, {{0, 0, 2, 2}, 0.7f, 0}};
  const auto kept = non_max_suppression(d, 0.5, 0);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].class_id, 0);
  EXPECT_EQ(kept[1].class_id, 1);
  EXPECT_EQ(non_max_suppression(d, 0.5, 0, /*class_agnostic=*/true).size(), 1u);
}

TEST(Nms, ZeroAreaBoxesNeverSuppress) {
  const std::vector<Detection> d = {
      {{1, 1, 1, 1}, 0.9f, 0}, {{1, 1, 1, 1}, 0.8f, 0}, {{0, 0, 2, 2}, 0.7f, 0}};
  EXPECT_EQ(non_max_suppression(d, 0.1, 0).size(), 3u);
}

TEST(Nms, TiesInScoreKeepInputOrder) {
  // Same score, overlapping (IoU 0.9): the first in the input wins.
  const std::vector<Detection> d = {{{0, 0, 10, 10}, 0.5f, 0}, {{0, 0, 10, 9}, 0.5f, 0}};
  auto kept = non_max_suppression(d, 0.5, 0);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_FLOAT_EQ(kept[0].box.y2, 10.0f);
  const std::vector<Detection> swapped = {d[1], d[0]};
  kept = non_max_suppression(swapped, 0.5, 0);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_FLOAT_EQ(kept[0].box.y2, 9.0f);
}

TEST(Nms, MaxDetAndOrder) {
  const std::vector<Detection> d = {
      {{0, 0, 1, 1}, 0.2f, 0}, {{5, 5, 6, 6}, 0.9f, 0}, {{9, 9, 10, 10}, 0.5f, 0}};
  const auto kept = non_max_suppression(d, 0.5, 2);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_FLOAT_EQ(kept[0].score, 0.9f);
  EXPECT_FLOAT_EQ(kept[1].score, 0.5f);
}

// [1, 4+2, 7]: anchor 0 = box (10,10,4,2) class 1 at 0.8; anchor 1 below the threshold; anchor
// 2 = nearly the same box as anchor 0, class 1 at 0.7 (suppressed); anchors 3..6 all zero.
// (Anchors must outnumber the 6 channels, as in every real head.)
Tensor yolo_head() {
  const std::vector<float> v = {
      10,   0,       10.2f, 0, 0, 0, 0,  // cx
      10,   0,       10,    0, 0, 0, 0,  // cy
      4,    1,       4,     0, 0, 0, 0,  // w
      2,    1,       2,     0, 0, 0, 0,  // h
      0.1f, 0.0005f, 0.2f,  0, 0, 0, 0,  // class 0
      0.8f, 0.001f,  0.7f,  0, 0, 0, 0,  // class 1 (0.001 is not > 0.001: dropped)
  };
  return Tensor::from_values<float>({1, 6, 7}, v);
}

TEST(DecodeYolo, FilterDecodeNms) {
  const Tensor t = yolo_head();
  const auto d = decode_yolo(t.view(), {});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].class_id, 1);
  EXPECT_FLOAT_EQ(d[0].score, 0.8f);
  EXPECT_FLOAT_EQ(d[0].box.x1, 8);
  EXPECT_FLOAT_EQ(d[0].box.y1, 9);
  EXPECT_FLOAT_EQ(d[0].box.x2, 12);
  EXPECT_FLOAT_EQ(d[0].box.y2, 11);
  EXPECT_EQ(yolo_num_classes(t.view()), 2);
  // A high confidence threshold drops everything.
  YoloDecodeOptions o;
  o.conf_threshold = 0.8f;
  EXPECT_TRUE(decode_yolo(t.view(), o).empty());
}

TEST(DecodeYolo, TransposedLayoutGivesTheSame) {
  const Tensor t = yolo_head();
  // [1, 7, 6]: anchors first.
  std::vector<float> tr(42);
  const float* src = t.data<float>();
  for (int c = 0; c < 6; ++c) {
    for (int a = 0; a < 7; ++a) tr[a * 6 + c] = src[c * 7 + a];
  }
  const Tensor tt = Tensor::from_values<float>({1, 7, 6}, tr);
  const auto d = decode_yolo(tt.view(), {});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FLOAT_EQ(d[0].box.x1, 8);
  EXPECT_EQ(d[0].class_id, 1);
}

TEST(DecodeYolo, RejectsBadShapes) {
  const Tensor t = Tensor::from_values<float>({1, 3, 8}, std::vector<float>(24, 0.0f));
  EXPECT_THROW((void)decode_yolo(t.view(), {}), Error);
  const Tensor t4 = Tensor::from_values<float>({2, 2, 2, 2}, std::vector<float>(16, 0.0f));
  EXPECT_THROW((void)decode_yolo(t4.view(), {}), Error);
  const Tensor ok = yolo_head();
  EXPECT_THROW((void)decode_yolo(ok.view(), {}, 1), Error);
}

TEST(Letterbox, UltralyticsGeometry) {
  // Values from Ultralytics' formula evaluated in Python (round = half to even).
  Letterbox lb = ultralytics_letterbox(810, 1080, 640, 640);
  EXPECT_EQ(lb.pad_left, 80);
  EXPECT_EQ(lb.pad_top, 0);
  EXPECT_DOUBLE_EQ(lb.gain_x, 640.0 / 1080.0);
  EXPECT_DOUBLE_EQ(lb.gain_y, lb.gain_x);
  lb = ultralytics_letterbox(1280, 720, 640, 640);
  EXPECT_EQ(lb.pad_left, 0);
  EXPECT_EQ(lb.pad_top, 140);
  lb = ultralytics_letterbox(100, 51, 64, 64);  // resized 64x33, odd padding 31 = 15 + 16
  EXPECT_EQ(lb.pad_top, 15);
  lb = ultralytics_letterbox(4, 1, 10, 10);  // h * r = 2.5 rounds to 2 (half to even)
  EXPECT_EQ(lb.pad_top, 4);
  EXPECT_THROW((void)ultralytics_letterbox(0, 10, 640, 640), Error);
}

TEST(Letterbox, UndoMapsBackAndClips) {
  const Letterbox lb = ultralytics_letterbox(1280, 720, 640, 640);  // gain 0.5, top 140
  const Box b = undo_letterbox(Box{10, 150, 110, 250}, lb);
  EXPECT_FLOAT_EQ(b.x1, 20);
  EXPECT_FLOAT_EQ(b.y1, 20);
  EXPECT_FLOAT_EQ(b.x2, 220);
  EXPECT_FLOAT_EQ(b.y2, 220);
  const Box c = undo_letterbox(Box{-5, 100, 700, 600}, lb);  // outside the image: clipped
  EXPECT_FLOAT_EQ(c.x1, 0);
  EXPECT_FLOAT_EQ(c.y1, 0);
  EXPECT_FLOAT_EQ(c.x2, 1280);
  EXPECT_FLOAT_EQ(c.y2, 720);
  const Box same = undo_letterbox(Box{1, 2, 3, 4}, identity_letterbox(64, 64));
  EXPECT_FLOAT_EQ(same.x2, 3);
  // A plain resize of 1280x720 to 640x640: x halves, y scales by 640/720.
  const Box st = undo_letterbox(Box{64, 64, 128, 128}, stretch_geometry(1280, 720, 640, 640));
  EXPECT_FLOAT_EQ(st.x1, 128);
  EXPECT_FLOAT_EQ(st.y1, 72);
  EXPECT_FLOAT_EQ(st.y2, 144);
  // Corner padding: the same gain, no offset.
  const Letterbox corner = corner_letterbox(1280, 720, 640, 640);
  EXPECT_EQ(corner.pad_top, 0);
  EXPECT_FLOAT_EQ(undo_letterbox(Box{0, 10, 0, 20}, corner).y1, 20);
}

}  // namespace
}  // namespace qcal::eval
