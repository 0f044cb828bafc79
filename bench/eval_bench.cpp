// Benchmark: YOLO decoding + class-wise NMS (qcal::eval::decode_yolo) against the usual OpenCV
// path for YOLOv8 outputs (transpose, minMaxLoc per anchor, cv::dnn::NMSBoxes on class-offset
// boxes), on a synthetic [1, 84, 8400] head with 20 objects. Scenarios: Ultralytics' validation
// setting (conf 0.001, IoU 0.7, 300 detections) with OpenCV giving the same boxes (all
// candidates, first 300 kept) and with OpenCV's usual top_k = 300 (cuts candidates before NMS:
// fewer, different boxes); and the predict setting (conf 0.25), where both give the same boxes.
// Prints the medians and ratios.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/dnn/dnn.hpp>
#include <vector>

#include "core/rng.hpp"
#include "eval/detection.hpp"

namespace {

constexpr int kClasses = 80, kAnchors = 8400, kChannels = 4 + kClasses;

qcal::Tensor make_head(std::uint64_t seed) {
  qcal::Rng rng(seed);
  qcal::Tensor t(qcal::DType::kFloat32, {1, kChannels, kAnchors});
  float* d = t.data<float>();
  struct Obj {
    float cx, cy, w, h;
    int cls;
  };
  std::vector<Obj> objs;
  for (int i = 0; i < 20; ++i) {
    objs.push_back({static_cast<float>(rng.next_double() * 600 + 20),
                    static_cast<float>(rng.next_double() * 600 + 20),
                    static_cast<float>(rng.next_double() * 150 + 20),
                    static_cast<float>(rng.next_double() * 150 + 20),
                    static_cast<int>(rng.next_below(kClasses))});
  }
  for (int a = 0; a < kAnchors; ++a) {
    const Obj& o = objs[rng.next_below(objs.size())];
    const bool near = rng.next_double() < 0.1;  // anchors on an object: jittered boxes
    d[0 * kAnchors + a] = o.cx + static_cast<float>(rng.next_normal() * (near ? 3 : 200));
    d[1 * kAnchors + a] = o.cy + static_cast<float>(rng.next_normal() * (near ? 3 : 200));
    d[2 * kAnchors + a] = o.w * static_cast<float>(1 + 0.05 * rng.next_normal());
    d[3 * kAnchors + a] = o.h * static_cast<float>(1 + 0.05 * rng.next_normal());
    for (int c = 0; c < kClasses; ++c) {
      const double logit = rng.next_normal() * 1.5 - 8.0 + ((near && c == o.cls) ? 9.0 : 0.0);
      d[(4 + c) * kAnchors + a] = static_cast<float>(1.0 / (1.0 + std::exp(-logit)));
    }
  }
  return t;
}

// The common OpenCV recipe for YOLOv8 outputs (as in OpenCV's and Ultralytics' C++ examples).
// top_k 0: every candidate takes part and the first max_det kept are returned (Ultralytics'
// semantics); top_k > 0: OpenCV keeps only the top_k best candidates before NMS.
std::size_t opencv_decode(const qcal::Tensor& head, float conf, int top_k, std::size_t max_det) {
  cv::Mat out(kChannels, kAnchors, CV_32F, const_cast<float*>(head.data<float>()));
  cv::Mat rows = out.t();
  std::vector<cv::Rect2d> boxes;
  std::vector<float> scores;
  for (int a = 0; a < kAnchors; ++a) {
    const float* r = rows.ptr<float>(a);
    cv::Mat cls(1, kClasses, CV_32F, const_cast<float*>(r + 4));
    double best = 0;
    cv::Point where;
    cv::minMaxLoc(cls, nullptr, &best, nullptr, &where);
    if (best <= conf) continue;
    // Class offset (7680 px per class, as Ultralytics) makes one NMS class-wise.
    const double off = where.x * 7680.0;
    boxes.emplace_back(r[0] - r[2] / 2 + off, r[1] - r[3] / 2 + off, r[2], r[3]);
    scores.push_back(static_cast<float>(best));
  }
  std::vector<int> keep;
  cv::dnn::NMSBoxes(boxes, scores, conf, 0.7f, keep, 1.0f, top_k);
  if (keep.size() > max_det) keep.resize(max_det);
  return keep.size();
}

template <typename F>
double median_ms(F&& f, int runs) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void scenario(const char* title, const qcal::Tensor& head, float conf, int top_k) {
  qcal::eval::YoloDecodeOptions opt;  // IoU 0.7, max_det 300
  opt.conf_threshold = conf;
  std::size_t n_qcal = qcal::eval::decode_yolo(head.view(), opt).size();  // warm-up
  std::size_t n_cv = opencv_decode(head, conf, top_k, 300);
  // Alternate rounds so drift on a shared machine hits both alike.
  const int runs = top_k == 0 && conf < 0.01f ? 3 : 15;
  double q = 0, c = 0;
  for (int round = 0; round < 3; ++round) {
    q += median_ms([&] { n_qcal = qcal::eval::decode_yolo(head.view(), opt).size(); }, runs);
    c += median_ms([&] { n_cv = opencv_decode(head, conf, top_k, 300); }, runs);
  }
  std::printf("%s (kept: qcal %zu, OpenCV %zu)\n", title, n_qcal, n_cv);
  std::printf("  qcal::eval::decode_yolo          %9.3f ms\n", q / 3);
  std::printf("  OpenCV minMaxLoc + dnn::NMSBoxes %9.3f ms\n", c / 3);
  std::printf("  ratio (OpenCV / qcal)            %9.2fx\n", c / q);
}

}  // namespace

int main() {
  cv::setNumThreads(1);  // both single-threaded: the comparison is per core
  const qcal::Tensor head = make_head(1);
  std::printf("YOLO decode + class-wise NMS on [1, 84, 8400], IoU 0.7, max 300 detections\n");
  scenario("val, conf 0.001, same boxes (OpenCV top_k 0)", head, 0.001f, 0);
  scenario("val, conf 0.001, OpenCV top_k 300 (other boxes)", head, 0.001f, 300);
  scenario("predict, conf 0.25, same boxes", head, 0.25f, 0);
  return 0;
}
