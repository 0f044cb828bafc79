// Detection primitives: boxes, IoU, class-wise NMS, Ultralytics YOLO output decoding and the
// letterbox geometry (forward and undo) with Ultralytics' rounding.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.hpp"

namespace qcal::eval {

// Axis-aligned box in pixels, corners (x1, y1) top-left and (x2, y2) bottom-right, continuous
// coordinates (no +1 on widths, as Ultralytics and pycocotools).
struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  double area() const;  // 0 for degenerate boxes (x2 <= x1 or y2 <= y1)
};

struct Detection {
  Box box;
  float score = 0;
  int class_id = 0;
};

// Intersection over union in float64. 0 when the union is empty (two zero-area boxes), so a
// degenerate box never suppresses nor matches anything.
double box_iou(const Box& a, const Box& b);

// Greedy NMS, each class on its own (as Ultralytics does by offsetting boxes per class): boxes
// are visited by decreasing score (ties: lower input index first, a stable order), and a box is
// dropped when its IoU with a kept box of the same class is strictly greater than
// iou_threshold (torchvision.ops.nms semantics: IoU exactly at the threshold is kept).
// Returns the kept detections by decreasing score, at most max_det (<= 0: no limit).
// class_agnostic = true ignores classes (YuNet, OpenCV's NMSBoxes).
std::vector<Detection> non_max_suppression(std::span<const Detection> detections,
                                           double iou_threshold, int max_det,
                                           bool class_agnostic = false);

struct YoloDecodeOptions {
  // Ultralytics keeps candidates whose best class score is strictly above conf_threshold.
  // 0.001 is Ultralytics' validation setting (what mAP is measured with); predict uses 0.25.
  float conf_threshold = 0.001f;
  double iou_threshold = 0.7;  // Ultralytics' default for both val and predict
  int max_det = 300;           // Ultralytics' default
  int max_nms = 30000;         // candidates kept (by score) before NMS, as Ultralytics
};

// Decodes one image of an Ultralytics detection head output: shape [1, 4+C, A] (or [4+C, A]):
// rows 0..3 are cx, cy, w, h in input pixels, rows 4.. the class scores (already sigmoid, no
// objectness). A transposed export [1, A, 4+C] is recognised by its smaller last dimension.
// `batch_index` picks the image of a batched output. Boxes are in network-input pixels.
// Throws kInvalidArgument naming the shape when it is not a detection head.
std::vector<Detection> decode_yolo(const TensorView& output, const YoloDecodeOptions& options,
                                   std::int64_t batch_index = 0);

// Number of classes a YOLO output holds (4+C rows), with the same layout rules as decode_yolo.
std::int64_t yolo_num_classes(const TensorView& output);

// Where an image of image_w x image_h sits inside the network input after a letterbox.
struct Letterbox {
  int image_w = 0, image_h = 0;       // original image
  int input_w = 0, input_h = 0;       // network input
  double gain_x = 1.0, gain_y = 1.0;  // input pixels per image pixel (equal for a letterbox)
  int pad_left = 0, pad_top = 0;      // pixels of padding before the image
};

// Ultralytics' LetterBox (auto=False, scaleup=True, center=True): r = min(in_h/h, in_w/w);
// resized size round(w*r) x round(h*r) (Python round: half to even); padding
// d = (in - resized) / 2 split as round(d - 0.1) before and round(d + 0.1) after.
Letterbox ultralytics_letterbox(int image_w, int image_h, int input_w, int input_h);
// Letterbox padded at the right and bottom only (DX-COM pad_location "corner").
Letterbox corner_letterbox(int image_w, int image_h, int input_w, int input_h);
// A plain resize to the input size (aspect ratio not kept): separate x and y gains.
Letterbox stretch_geometry(int image_w, int image_h, int input_w, int input_h);
// No letterbox: the image is the network input (gain 1, no padding).
Letterbox identity_letterbox(int input_w, int input_h);

// Maps a box from network-input pixels back to the original image: subtract the padding,
// divide by the gain, clip to [0, image_w] x [0, image_h] (Ultralytics' scale_boxes + clip).
Box undo_letterbox(const Box& box, const Letterbox& lb);
void undo_letterbox(std::vector<Detection>& detections, const Letterbox& lb);

}  // namespace qcal::eval
