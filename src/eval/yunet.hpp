// YuNet face detection (OpenCV Zoo 2023mar layout): decoding of the cls/obj/bbox/kps outputs at
// strides 8/16/32 into faces with 5 landmarks, and face-level metrics (F1, landmark error).
#pragma once

#include <array>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "eval/detection.hpp"

namespace qcal::eval {

struct Face {
  Box box;
  float score = 0;
  // right eye, left eye, nose tip, right mouth corner, left mouth corner: (x, y) each, in the
  // order of OpenCV's FaceDetectorYN output.
  std::array<float, 10> landmarks{};
};

struct YunetDecodeOptions {
  float score_threshold = 0.9f;  // OpenCV Zoo's demo default; a face needs score >= it
  double nms_threshold = 0.3;    // OpenCV Zoo's demo default; suppress when IoU > it
  int top_k = 5000;              // candidates kept (by score) before NMS, as FaceDetectorYN
};

// The 12 output names FaceDetectorYN reads: cls_8, cls_16, cls_32, obj_*, bbox_*, kps_*.
std::vector<std::string> yunet_output_names();

// Decodes one image. `outputs` maps output names to tensors: cls_S and obj_S of [1, N, 1],
// bbox_S of [1, N, 4], kps_S of [1, N, 10], N = (input_h / S) * (input_w / S) for the
// network input size (a multiple of 32). As OpenCV's FaceDetectorYN: cls and obj are clamped
// to [0, 1], score = sqrt(cls * obj); for the anchor at row r, column c of stride S:
// cx = (c + bbox0) S, cy = (r + bbox1) S, w = exp(bbox2) S, h = exp(bbox3) S;
// landmark k = ((c + kps[2k]) S, (r + kps[2k+1]) S); then class-agnostic NMS.
// Faces are in network-input pixels, by decreasing score.
std::vector<Face> decode_yunet(const std::map<std::string, TensorView>& outputs, int input_w,
                               int input_h, const YunetDecodeOptions& options = {});

// Maps faces (boxes and landmarks) from network-input pixels back to the image.
void undo_letterbox(std::vector<Face>& faces, const Letterbox& lb);

struct FaceMatchResult {
  std::int64_t reference = 0;  // faces in the reference (ground truth or FP32)
  std::int64_t test = 0;       // faces found by the model under test
  std::int64_t matched = 0;    // pairs with IoU >= the threshold
  // precision = matched / test, recall = matched / reference, F1 = their harmonic mean; each
  // is 1 when its denominator is 0 (nothing to find / nothing claimed), so two empty sets
  // give F1 = 1.
  double precision = 1.0, recall = 1.0, f1 = 1.0;
  // Over matched pairs, both with landmarks: mean Euclidean distance of the 5 points, in
  // pixels and divided by sqrt(w * h) of the reference box. 0 when nothing matched.
  double landmark_error_px = 0.0;
  double landmark_error_norm = 0.0;
  std::int64_t landmark_pairs = 0;
};

// Greedy one-to-one matching: test faces by decreasing score, each takes the unmatched
// reference face of highest IoU if that IoU >= iou_threshold (ties: the earlier reference).
// Accumulates over images with add(); result() gives the set's totals.
class FaceMatcher {
 public:
  explicit FaceMatcher(double iou_threshold = 0.5) : iou_threshold_(iou_threshold) {}
  // with_landmarks: the reference has landmarks (false for box-only ground truth).
  void add(std::span<const Face> reference, std::span<const Face> test, bool with_landmarks);
  FaceMatchResult result() const;

 private:
  double iou_threshold_;
  std::int64_t reference_ = 0, test_ = 0, matched_ = 0, landmark_pairs_ = 0;
  double landmark_px_sum_ = 0.0, landmark_norm_sum_ = 0.0;
};

// Faces as single-class detections (for mAP).
std::vector<Detection> faces_to_detections(std::span<const Face> faces);

}  // namespace qcal::eval
