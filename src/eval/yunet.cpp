// YuNet decoding (checked against OpenCV's FaceDetectorYN::postProcess) and face matching.
#include "eval/yunet.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"

namespace qcal::eval {

namespace {

constexpr int kStrides[3] = {8, 16, 32};

const float* expect_output(const std::map<std::string, TensorView>& outputs,
                           const std::string& name, std::int64_t anchors, std::int64_t width) {
  auto it = outputs.find(name);
  if (it == outputs.end()) {
    throw Error(ErrorCode::kInvalidArgument,
                "YuNet output '" + name +
                    "' is missing (expected OpenCV Zoo 2023mar outputs cls_8 ... kps_32)")
        .with("tensor", name);
  }
  const TensorView& v = it->second;
  if (v.dtype != DType::kFloat32 || v.numel() != anchors * width) {
    throw Error(ErrorCode::kInvalidArgument,
                "YuNet output '" + name + "' should be float32 with " + std::to_string(anchors) +
                    " x " + std::to_string(width) + " values, got " +
                    std::string(dtype_name(v.dtype)) + " " + shape_to_string(v.shape))
        .with("tensor", name);
  }
  return static_cast<const float*>(v.data);
}

}  // namespace

std::vector<std::string> yunet_output_names() {
  std::vector<std::string> names;
  for (const char* kind : {"cls", "obj", "bbox", "kps"}) {
    for (int s : kStrides) names.push_back(std::string(kind) + "_" + std::to_string(s));
  }
  return names;
}

std::vector<Face> decode_yunet(const std::map<std::string, TensorView>& outputs, int input_w,
                               int input_h, const YunetDecodeOptions& options) {
  if (input_w <= 0 || input_h <= 0 || input_w % 32 != 0 || input_h % 32 != 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "YuNet input size must be a positive multiple of 32, got " +
                    std::to_string(input_w) + "x" + std::to_string(input_h));
  }
  std::vector<Face> candidates;
  for (int stride : kStrides) {
    const std::int64_t cols = input_w / stride, rows = input_h / stride;
    const std::int64_t n = rows * cols;
    const std::string sfx = "_" + std::to_string(stride);
    const float* cls = expect_output(outputs, "cls" + sfx, n, 1);
    const float* obj = expect_output(outputs, "obj" + sfx, n, 1);
    const float* bbox = expect_output(outputs, "bbox" + sfx, n, 4);
    const float* kps = expect_output(outputs, "kps" + sfx, n, 10);
    const float s = static_cast<float>(stride);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) {
        const std::int64_t idx = r * cols + c;
        const float cls_score = std::clamp(cls[idx], 0.0f, 1.0f);
        const float obj_score = std::clamp(obj[idx], 0.0f, 1.0f);
        const float score = std::sqrt(cls_score * obj_score);
        if (!(score >= options.score_threshold)) continue;
        const float fc = static_cast<float>(c), fr = static_cast<float>(r);
        const float cx = (fc + bbox[idx * 4 + 0]) * s;
        const float cy = (fr + bbox[idx * 4 + 1]) * s;
        const float w = std::exp(bbox[idx * 4 + 2]) * s;
        const float h = std::exp(bbox[idx * 4 + 3]) * s;
        Face f;
        f.box = {cx - w / 2.0f, cy - h / 2.0f, cx - w / 2.0f + w, cy - h / 2.0f + h};
        f.score = score;
        for (int k = 0; k < 5; ++k) {
          f.landmarks[2 * k] = (kps[idx * 10 + 2 * k] + fc) * s;
          f.landmarks[2 * k + 1] = (kps[idx * 10 + 2 * k + 1] + fr) * s;
        }
        candidates.push_back(f);
      }
    }
  }
  // Candidates by decreasing score (stable), at most top_k, then greedy class-agnostic NMS with
  // the same rule as non_max_suppression (suppress when IoU > threshold).
  std::vector<std::size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return candidates[a].score > candidates[b].score;
  });
  if (options.top_k > 0 && order.size() > static_cast<std::size_t>(options.top_k)) {
    order.resize(static_cast<std::size_t>(options.top_k));
  }
  std::vector<Face> kept;
  for (std::size_t i : order) {
    bool suppressed = false;
    for (const Face& k : kept) {
      if (box_iou(k.box, candidates[i].box) > options.nms_threshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push_back(candidates[i]);
  }
  return kept;
}

void undo_letterbox(std::vector<Face>& faces, const Letterbox& lb) {
  for (Face& f : faces) {
    f.box = undo_letterbox(f.box, lb);
    // Landmarks are mapped but not clipped: a point just outside the image is still a valid
    // estimate, and clipping would bias the landmark error.
    for (int k = 0; k < 5; ++k) {
      f.landmarks[2 * k] =
          static_cast<float>((f.landmarks[2 * k] - static_cast<double>(lb.pad_left)) / lb.gain_x);
      f.landmarks[2 * k + 1] = static_cast<float>(
          (f.landmarks[2 * k + 1] - static_cast<double>(lb.pad_top)) / lb.gain_y);
    }
  }
}

void FaceMatcher::add(std::span<const Face> reference, std::span<const Face> test,
                      bool with_landmarks) {
  reference_ += static_cast<std::int64_t>(reference.size());
  test_ += static_cast<std::int64_t>(test.size());
  std::vector<std::size_t> order(test.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return test[a].score > test[b].score; });
  std::vector<std::uint8_t> taken(reference.size(), 0);
  for (std::size_t ti : order) {
    double best = -1.0;
    std::ptrdiff_t m = -1;
    for (std::size_t ri = 0; ri < reference.size(); ++ri) {
      if (taken[ri]) continue;
      const double iou = box_iou(test[ti].box, reference[ri].box);
      if (iou >= iou_threshold_ && iou > best) {
        best = iou;
        m = static_cast<std::ptrdiff_t>(ri);
      }
    }
    if (m < 0) continue;
    taken[m] = 1;
    ++matched_;
    if (!with_landmarks) continue;
    const Face& ref = reference[m];
    double dist = 0;
    for (int k = 0; k < 5; ++k) {
      const double dx = static_cast<double>(test[ti].landmarks[2 * k]) - ref.landmarks[2 * k];
      const double dy =
          static_cast<double>(test[ti].landmarks[2 * k + 1]) - ref.landmarks[2 * k + 1];
      dist += std::sqrt(dx * dx + dy * dy);
    }
    dist /= 5.0;
    landmark_px_sum_ += dist;
    const double size = std::sqrt(ref.box.area());
    landmark_norm_sum_ += size > 0 ? dist / size : 0.0;
    ++landmark_pairs_;
  }
}

FaceMatchResult FaceMatcher::result() const {
  FaceMatchResult r;
  r.reference = reference_;
  r.test = test_;
  r.matched = matched_;
  const double m = static_cast<double>(matched_);
  r.precision = test_ > 0 ? m / static_cast<double>(test_) : 1.0;
  r.recall = reference_ > 0 ? m / static_cast<double>(reference_) : 1.0;
  r.f1 = (r.precision + r.recall) > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0.0;
  r.landmark_pairs = landmark_pairs_;
  if (landmark_pairs_ > 0) {
    r.landmark_error_px = landmark_px_sum_ / static_cast<double>(landmark_pairs_);
    r.landmark_error_norm = landmark_norm_sum_ / static_cast<double>(landmark_pairs_);
  }
  return r;
}

std::vector<Detection> faces_to_detections(std::span<const Face> faces) {
  std::vector<Detection> out;
  out.reserve(faces.size());
  for (const Face& f : faces) out.push_back({f.box, f.score, 0});
  return out;
}

}  // namespace qcal::eval
