// Paired bootstrap over images of a metric drop: how much of FP32-minus-INT8 mAP is noise of
// the image sample. Both models are scored on the same resampled images each time.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "eval/coco_map.hpp"

namespace qcal::eval {

struct BootstrapOptions {
  int resamples = 1000;
  std::uint64_t seed = 0;
  double lower_quantile = 0.05;  // the interval's ends: 5th and 95th percentiles (90 %)
  double upper_quantile = 0.95;
  int threads = 0;  // 0: hardware concurrency; the result does not depend on it
};

struct DropInterval {
  double drop_pp = 0.0;   // (FP32 - INT8) mAP50-95 on all images, percentage points
  double lower_pp = 0.0;  // the lower_quantile of the resampled drops
  double upper_pp = 0.0;  // the upper_quantile of the resampled drops
  double lower_quantile = 0.05, upper_quantile = 0.95;
  int resamples = 0;  // drawn
  int used = 0;       // with a defined mAP for both models (some ground truth drawn)
};

// Draws `resamples` multisets of the images (as many draws as images, with replacement,
// seeded: resample b uses its own Rng seeded from the b-th draw of Rng(seed), so any thread
// count gives the same bytes), re-accumulates both models' mAP50-95 on each and returns the
// quantiles of the drop (linear interpolation between order statistics, numpy's default).
// The matches must cover the same images in the same order. Absent when there are no images
// or no resample has ground truth.
std::optional<DropInterval> bootstrap_map_drop(const MapMatches& fp32, const MapMatches& int8,
                                               const BootstrapOptions& options = {});

// The q-quantile (0 <= q <= 1) of sorted values, numpy.quantile's linear method.
double sorted_quantile(std::span<const double> sorted, double q);

}  // namespace qcal::eval
