// Boxes, IoU, NMS, YOLO decoding and letterbox geometry.
#include "eval/detection.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"

namespace qcal::eval {

double Box::area() const {
  const double w = static_cast<double>(x2) - x1;
  const double h = static_cast<double>(y2) - y1;
  return (w > 0 && h > 0) ? w * h : 0.0;
}

double box_iou(const Box& a, const Box& b) {
  const double iw = std::min<double>(a.x2, b.x2) - std::max<double>(a.x1, b.x1);
  const double ih = std::min<double>(a.y2, b.y2) - std::max<double>(a.y1, b.y1);
  const double inter = (iw > 0 && ih > 0) ? iw * ih : 0.0;
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0;
}

namespace {

// Indices by decreasing score; equal scores keep input order (stable), so results never depend
// on the sort implementation.
std::vector<std::size_t> order_by_score(std::span<const Detection> dets) {
  std::vector<std::size_t> order(dets.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return dets[a].score > dets[b].score; });
  return order;
}

}  // namespace

std::vector<Detection> non_max_suppression(std::span<const Detection> detections,
                                           double iou_threshold, int max_det, bool class_agnostic) {
  std::vector<Detection> kept;
  for (std::size_t i : order_by_score(detections)) {
    if (max_det > 0 && kept.size() >= static_cast<std::size_t>(max_det)) break;
    const Detection& d = detections[i];
    bool suppressed = false;
    for (const Detection& k : kept) {
      if (!class_agnostic && k.class_id != d.class_id) continue;
      if (box_iou(k.box, d.box) > iou_threshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push_back(d);
  }
  return kept;
}

namespace {

struct YoloLayout {
  std::int64_t batch = 1, channels = 0, anchors = 0;
  bool transposed = false;  // [B, A, 4+C] instead of [B, 4+C, A]
};

YoloLayout yolo_layout(const TensorView& output) {
  const auto& s = output.shape;
  YoloLayout l;
  std::int64_t rows = 0, cols = 0;
  if (s.size() == 3) {
    l.batch = s[0];
    rows = s[1];
    cols = s[2];
  } else if (s.size() == 2) {
    rows = s[0];
    cols = s[1];
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                "YOLO output must have shape [1, 4+classes, anchors], got " + shape_to_string(s));
  }
  if (output.dtype != DType::kFloat32) {
    throw Error(ErrorCode::kInvalidArgument,
                "YOLO output must be float32, got " + std::string(dtype_name(output.dtype)));
  }
  // Anchors outnumber 4+classes in every real head (8400 vs 84 at 640), so the smaller axis
  // holds the channels.
  l.transposed = cols < rows;
  l.channels = l.transposed ? cols : rows;
  l.anchors = l.transposed ? rows : cols;
  if (l.channels < 5) {
    throw Error(ErrorCode::kInvalidArgument,
                "YOLO output " + shape_to_string(s) +
                    " has fewer than 5 channels (cx, cy, w, h and at least one class)");
  }
  return l;
}

}  // namespace

std::int64_t yolo_num_classes(const TensorView& output) { return yolo_layout(output).channels - 4; }

std::vector<Detection> decode_yolo(const TensorView& output, const YoloDecodeOptions& options,
                                   std::int64_t batch_index) {
  const YoloLayout l = yolo_layout(output);
  if (batch_index < 0 || batch_index >= l.batch) {
    throw Error(ErrorCode::kInvalidArgument, "batch index " + std::to_string(batch_index) +
                                                 " outside YOLO output " +
                                                 shape_to_string(output.shape));
  }
  const float* base = static_cast<const float*>(output.data) + batch_index * l.channels * l.anchors;
  auto at = [&](std::int64_t channel, std::int64_t anchor) {
    return l.transposed ? base[anchor * l.channels + channel] : base[channel * l.anchors + anchor];
  };
  // Best class per anchor; the first class wins ties, as torch.max does. In the usual
  // [4+C, A] layout each class is a contiguous row, so the scan goes row by row (a per-anchor
  // walk down the columns would stride A floats per read and miss the cache every time).
  std::vector<float> best_score(static_cast<std::size_t>(l.anchors));
  std::vector<std::int32_t> best_class(static_cast<std::size_t>(l.anchors), 0);
  if (!l.transposed) {
    std::copy(base + 4 * l.anchors, base + 5 * l.anchors, best_score.begin());
    for (std::int64_t c = 5; c < l.channels; ++c) {
      const float* row = base + c * l.anchors;
      for (std::int64_t a = 0; a < l.anchors; ++a) {
        if (row[a] > best_score[a]) {
          best_score[a] = row[a];
          best_class[a] = static_cast<std::int32_t>(c - 4);
        }
      }
    }
  } else {
    for (std::int64_t a = 0; a < l.anchors; ++a) {
      const float* v = base + a * l.channels;
      std::int64_t best = 4;
      for (std::int64_t c = 5; c < l.channels; ++c) {
        if (v[c] > v[best]) best = c;
      }
      best_score[a] = v[best];
      best_class[a] = static_cast<std::int32_t>(best - 4);
    }
  }
  std::vector<Detection> candidates;
  for (std::int64_t a = 0; a < l.anchors; ++a) {
    if (!(best_score[a] > options.conf_threshold)) continue;  // also drops NaN scores
    const float cx = at(0, a), cy = at(1, a), w = at(2, a), h = at(3, a);
    Detection d;
    // Ultralytics' xywh2xyxy, in float32 as the model's outputs.
    d.box = {cx - w / 2.0f, cy - h / 2.0f, cx + w / 2.0f, cy + h / 2.0f};
    d.score = best_score[a];
    d.class_id = best_class[a];
    candidates.push_back(d);
  }
  if (options.max_nms > 0 && candidates.size() > static_cast<std::size_t>(options.max_nms)) {
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Detection& x, const Detection& y) { return x.score > y.score; });
    candidates.resize(static_cast<std::size_t>(options.max_nms));
  }
  return non_max_suppression(candidates, options.iou_threshold, options.max_det);
}

namespace {

Letterbox checked_geometry(int image_w, int image_h, int input_w, int input_h) {
  if (image_w <= 0 || image_h <= 0 || input_w <= 0 || input_h <= 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "letterbox needs positive sizes, got image " + std::to_string(image_w) + "x" +
                    std::to_string(image_h) + " and input " + std::to_string(input_w) + "x" +
                    std::to_string(input_h));
  }
  Letterbox lb;
  lb.image_w = image_w;
  lb.image_h = image_h;
  lb.input_w = input_w;
  lb.input_h = input_h;
  return lb;
}

}  // namespace

Letterbox ultralytics_letterbox(int image_w, int image_h, int input_w, int input_h) {
  Letterbox lb = checked_geometry(image_w, image_h, input_w, input_h);
  const double gain =
      std::min(static_cast<double>(input_h) / image_h, static_cast<double>(input_w) / image_w);
  lb.gain_x = lb.gain_y = gain;
  // std::nearbyint in the default rounding mode rounds half to even, as Python's round().
  const double resized_w = std::nearbyint(image_w * gain);
  const double resized_h = std::nearbyint(image_h * gain);
  const double dw = (input_w - resized_w) / 2.0;
  const double dh = (input_h - resized_h) / 2.0;
  lb.pad_left = static_cast<int>(std::nearbyint(dw - 0.1));
  lb.pad_top = static_cast<int>(std::nearbyint(dh - 0.1));
  return lb;
}

Letterbox corner_letterbox(int image_w, int image_h, int input_w, int input_h) {
  Letterbox lb = ultralytics_letterbox(image_w, image_h, input_w, input_h);
  lb.pad_left = lb.pad_top = 0;
  return lb;
}

Letterbox stretch_geometry(int image_w, int image_h, int input_w, int input_h) {
  Letterbox lb = checked_geometry(image_w, image_h, input_w, input_h);
  lb.gain_x = static_cast<double>(input_w) / image_w;
  lb.gain_y = static_cast<double>(input_h) / image_h;
  return lb;
}

Letterbox identity_letterbox(int input_w, int input_h) {
  Letterbox lb;
  lb.image_w = lb.input_w = input_w;
  lb.image_h = lb.input_h = input_h;
  return lb;
}

Box undo_letterbox(const Box& box, const Letterbox& lb) {
  auto map = [&](float v, int pad, double gain, int limit) {
    const double x = (static_cast<double>(v) - pad) / gain;
    return static_cast<float>(std::clamp(x, 0.0, static_cast<double>(limit)));
  };
  return {map(box.x1, lb.pad_left, lb.gain_x, lb.image_w),
          map(box.y1, lb.pad_top, lb.gain_y, lb.image_h),
          map(box.x2, lb.pad_left, lb.gain_x, lb.image_w),
          map(box.y2, lb.pad_top, lb.gain_y, lb.image_h)};
}

void undo_letterbox(std::vector<Detection>& detections, const Letterbox& lb) {
  for (Detection& d : detections) d.box = undo_letterbox(d.box, lb);
}

}  // namespace qcal::eval
