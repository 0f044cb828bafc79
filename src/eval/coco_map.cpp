// COCO mAP following pycocotools' COCOeval.evaluateImg() and accumulate() for iouType "bbox",
// areaRng "all". Steps and tie rules are those of pycocotools; see docs/metrics.md.
#include "eval/coco_map.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>

#include "core/error.hpp"

namespace qcal::eval {

std::array<double, kNumIouThresholds> coco_iou_thresholds() {
  // np.linspace(.5, 0.95, 10): step = (0.95 - 0.5) / 9, y = i * step + 0.5, y[-1] = 0.95.
  std::array<double, kNumIouThresholds> t{};
  const double step = (0.95 - 0.5) / (kNumIouThresholds - 1);
  for (int i = 0; i < kNumIouThresholds; ++i) t[i] = i * step + 0.5;
  t[kNumIouThresholds - 1] = 0.95;
  return t;
}

std::array<double, kNumRecallThresholds> coco_recall_thresholds() {
  // np.linspace(0, 1, 101): step = 1 / 100, y = i * step, y[-1] = 1.
  std::array<double, kNumRecallThresholds> r{};
  const double step = 1.0 / (kNumRecallThresholds - 1);
  for (int i = 0; i < kNumRecallThresholds; ++i) r[i] = i * step;
  r[kNumRecallThresholds - 1] = 1.0;
  return r;
}

namespace {

// pycocotools' IoU for one detection against one ground truth; a crowd ground truth uses the
// detection's area as the denominator.
double coco_iou(const Box& det, const GroundTruthBox& gt) {
  if (!gt.crowd) return box_iou(det, gt.box);
  const double iw = std::min<double>(det.x2, gt.box.x2) - std::max<double>(det.x1, gt.box.x1);
  const double ih = std::min<double>(det.y2, gt.box.y2) - std::max<double>(det.y1, gt.box.y1);
  const double inter = (iw > 0 && ih > 0) ? iw * ih : 0.0;
  const double a = det.area();
  return a > 0 ? inter / a : 0.0;
}

// One (image, class) after evaluateImg: per IoU threshold, per kept detection, matched or not
// and ignored or not; the detections' scores in decreasing order.
struct ImageClassEval {
  std::vector<float> scores;
  std::array<std::vector<std::uint8_t>, kNumIouThresholds> matched;
  std::array<std::vector<std::uint8_t>, kNumIouThresholds> ignored;
  std::int64_t num_gt = 0;  // non-ignored
};

ImageClassEval evaluate_image_class(std::vector<const Detection*> dets,
                                    std::vector<const GroundTruthBox*> gts, int max_dets,
                                    const std::array<double, kNumIouThresholds>& iou_thr) {
  // Ground truth: non-ignored (non-crowd) first, stable (np.argsort kind='mergesort').
  std::stable_sort(gts.begin(), gts.end(), [](const GroundTruthBox* a, const GroundTruthBox* b) {
    return !a->crowd && b->crowd;
  });
  // Detections by decreasing score, stable, then cut at max_dets.
  std::stable_sort(dets.begin(), dets.end(),
                   [](const Detection* a, const Detection* b) { return a->score > b->score; });
  if (max_dets >= 0 && dets.size() > static_cast<std::size_t>(max_dets)) dets.resize(max_dets);

  ImageClassEval e;
  for (const GroundTruthBox* g : gts) e.num_gt += g->crowd ? 0 : 1;
  e.scores.reserve(dets.size());
  for (const Detection* d : dets) e.scores.push_back(d->score);

  const std::size_t nd = dets.size(), ng = gts.size();
  std::vector<double> ious(nd * ng);
  for (std::size_t d = 0; d < nd; ++d) {
    for (std::size_t g = 0; g < ng; ++g) ious[d * ng + g] = coco_iou(dets[d]->box, *gts[g]);
  }
  for (int t = 0; t < kNumIouThresholds; ++t) {
    std::vector<std::uint8_t> gt_taken(ng, 0);
    e.matched[t].assign(nd, 0);
    e.ignored[t].assign(nd, 0);
    for (std::size_t d = 0; d < nd; ++d) {
      // pycocotools: best IoU so far starts at min(t, 1 - 1e-10); a ground truth replaces it
      // when its IoU is not smaller (>=), so equal IoUs go to the later ground truth; taken
      // non-crowd ground truth is skipped; once a regular match exists, crowd ones are not
      // considered (they sort last).
      double best = std::min(iou_thr[t], 1.0 - 1e-10);
      std::ptrdiff_t m = -1;
      for (std::size_t g = 0; g < ng; ++g) {
        if (gt_taken[g] && !gts[g]->crowd) continue;
        if (m > -1 && !gts[m]->crowd && gts[g]->crowd) break;
        if (ious[d * ng + g] < best) continue;
        best = ious[d * ng + g];
        m = static_cast<std::ptrdiff_t>(g);
      }
      if (m == -1) continue;
      gt_taken[m] = 1;
      e.matched[t][d] = 1;
      e.ignored[t][d] = gts[m]->crowd ? 1 : 0;
    }
  }
  return e;
}

// pycocotools' accumulate() on one class's cumulative curve: make precision non-increasing
// from the right (the envelope), then read it at the first point whose recall reaches each
// recall threshold (np.searchsorted side='left'; past the end reads 0).
double ap_from_curve(std::span<const double> rc, std::span<double> pr) {
  static const auto kRecallThresholds = coco_recall_thresholds();
  for (std::size_t i = pr.size(); i-- > 1;) {
    if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
  }
  double sum = 0;
  for (double r : kRecallThresholds) {
    const auto it = std::lower_bound(rc.begin(), rc.end(), r);
    if (it != rc.end()) sum += pr[static_cast<std::size_t>(it - rc.begin())];
  }
  return sum / kNumRecallThresholds;
}

// Precision as pycocotools: tp / (fp + tp + np.spacing(1)).
double curve_precision(double tp, double fp) {
  return tp / (fp + tp + std::numeric_limits<double>::epsilon());
}

// Ranked (score, image, detection) of one class over all images: concatenated in image order,
// then sorted by decreasing score, stable (pycocotools' mergesort).
std::vector<std::pair<float, std::pair<std::uint32_t, std::uint32_t>>> rank_detections(
    const std::vector<ImageClassEval>& evals) {
  std::vector<std::pair<float, std::pair<std::uint32_t, std::uint32_t>>> ranked;
  for (std::size_t i = 0; i < evals.size(); ++i) {
    for (std::size_t d = 0; d < evals[i].scores.size(); ++d) {
      ranked.push_back(
          {evals[i].scores[d], {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(d)}});
    }
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  return ranked;
}

}  // namespace

double interpolated_ap(std::span<const std::uint8_t> true_positive,
                       std::span<const std::uint8_t> ignored, std::int64_t num_ground_truth) {
  if (num_ground_truth <= 0) return std::numeric_limits<double>::quiet_NaN();
  const std::size_t nd = true_positive.size();
  std::vector<double> rc(nd), pr(nd);
  double tp = 0, fp = 0;
  // Ignored detections count as neither (pycocotools: tps = dtm & ~dtIg, fps = ~dtm & ~dtIg),
  // but keep their place in the cumulative arrays.
  for (std::size_t i = 0; i < nd; ++i) {
    const bool ign = !ignored.empty() && ignored[i];
    if (!ign) (true_positive[i] ? tp : fp) += 1.0;
    rc[i] = tp / static_cast<double>(num_ground_truth);
    pr[i] = curve_precision(tp, fp);
  }
  return ap_from_curve(rc, pr);
}

MapMatches::MapMatches(std::span<const ImageDetections> images, const MapOptions& options)
    : num_images_(images.size()) {
  const auto iou_thr = coco_iou_thresholds();
  // Every class seen in ground truth or detections, in increasing id order.
  std::map<int, std::vector<ImageClassEval>> per_class;
  for (const ImageDetections& img : images) {
    for (const GroundTruthBox& g : img.ground_truth) per_class[g.class_id];
    for (const Detection& d : img.detections) per_class[d.class_id];
  }
  for (auto& [cls, evals] : per_class) {
    evals.reserve(images.size());
    for (const ImageDetections& img : images) {
      std::vector<const Detection*> dets;
      std::vector<const GroundTruthBox*> gts;
      for (const Detection& d : img.detections) {
        if (d.class_id == cls) dets.push_back(&d);
      }
      for (const GroundTruthBox& g : img.ground_truth) {
        if (g.class_id == cls) gts.push_back(&g);
      }
      evals.push_back(
          evaluate_image_class(std::move(dets), std::move(gts), options.max_dets, iou_thr));
    }
    ClassMatches c;
    c.class_id = cls;
    for (std::size_t i = 0; i < evals.size(); ++i) {
      if (evals[i].num_gt > 0) {
        c.ground_truth.emplace_back(static_cast<std::uint32_t>(i), evals[i].num_gt);
      }
    }
    for (const auto& [score, at] : rank_detections(evals)) {
      const auto [i, d] = at;
      std::uint32_t f = 0;
      for (int t = 0; t < kNumIouThresholds; ++t) {
        f |= static_cast<std::uint32_t>(evals[i].matched[t][d]) << t;
        f |= static_cast<std::uint32_t>(evals[i].ignored[t][d]) << (kIgnoredShift + t);
      }
      c.image.push_back(i);
      c.flags.push_back(f);
    }
    classes_.push_back(std::move(c));
  }
}

bool MapMatches::accumulate_class(const ClassMatches& c, std::span<const std::uint32_t> counts,
                                  ClassAp& ap) const {
  std::int64_t num_gt = 0;
  for (const auto& [i, n] : c.ground_truth) num_gt += n * counts[i];
  if (num_gt == 0) return false;  // pycocotools: npig == 0 leaves the class out of the mean
  ap.class_id = c.class_id;
  ap.num_ground_truth = num_gt;
  ap.num_detections = 0;
  for (std::uint32_t i : c.image) ap.num_detections += counts[i];
  // One curve point per ranked detection present; the w copies of a detection collapse into
  // one point with the counts raised by w. The copies' intermediate points never change the
  // AP: along copies of a true positive precision rises (so the envelope there equals the
  // last copy's), along copies of a false positive recall stays put (no recall threshold is
  // first reached there). With all counts 1 this is interpolated_ap's computation exactly.
  std::vector<double> rc, pr;
  rc.reserve(c.image.size());
  pr.reserve(c.image.size());
  for (int t = 0; t < kNumIouThresholds; ++t) {
    rc.clear();
    pr.clear();
    double tp = 0, fp = 0;
    for (std::size_t k = 0; k < c.image.size(); ++k) {
      const std::uint32_t w = counts[c.image[k]];
      if (w == 0) continue;
      const std::uint32_t f = c.flags[k];
      if (((f >> (kIgnoredShift + t)) & 1U) == 0) ((f >> t) & 1U ? tp : fp) += w;
      rc.push_back(tp / static_cast<double>(num_gt));
      pr.push_back(curve_precision(tp, fp));
    }
    ap.ap[t] = ap_from_curve(rc, pr);
    if (t == 0) ap.recall50 = tp / static_cast<double>(num_gt);
  }
  ap.ap50 = ap.ap[0];
  ap.ap50_95 = std::accumulate(ap.ap.begin(), ap.ap.end(), 0.0) / kNumIouThresholds;
  return true;
}

MapResult MapMatches::accumulate(std::span<const std::uint32_t> image_counts) const {
  if (image_counts.size() != num_images_) {
    throw Error(ErrorCode::kInternal,
                "MapMatches::accumulate: " + std::to_string(image_counts.size()) +
                    " image counts for " + std::to_string(num_images_) + " images");
  }
  MapResult result;
  for (std::uint32_t n : image_counts) result.images += n;
  for (const ClassMatches& c : classes_) {
    ClassAp ap;
    if (accumulate_class(c, image_counts, ap)) result.classes.push_back(ap);
  }
  if (result.classes.empty()) {
    result.map50 = result.map50_95 = std::numeric_limits<double>::quiet_NaN();
  } else {
    double s50 = 0, s = 0;
    for (const ClassAp& c : result.classes) {
      s50 += c.ap50;
      s += c.ap50_95;
    }
    result.map50 = s50 / static_cast<double>(result.classes.size());
    result.map50_95 = s / static_cast<double>(result.classes.size());
  }
  return result;
}

MapResult MapMatches::accumulate() const {
  const std::vector<std::uint32_t> ones(num_images_, 1);
  return accumulate(ones);
}

MapResult evaluate_map(std::span<const ImageDetections> images, const MapOptions& options) {
  return MapMatches(images, options).accumulate();
}

}  // namespace qcal::eval
