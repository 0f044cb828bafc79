// Vectorised min/max/finiteness scan of float data, shared by calibration's collectors and the
// kernels that report the min/max of the tensors they write (ops::MinMaxRequest).
#pragma once

#include <span>

namespace qcal {

// One pass over float data: min, max and whether every value is finite. Zero results are
// canonicalised to +0 so the answer does not depend on element order. When `all_finite` is
// false, min/max are not meaningful (a NaN may or may not have entered them): read the values.
struct MinMaxScan {
  float min = 0.0f;
  float max = 0.0f;
  bool all_finite = true;
};
MinMaxScan scan_min_max(std::span<const float> values);

// The scan of two disjoint parts' union, from the parts' scans (exact: min/max are order-free,
// both inputs are canonical, so is the result).
inline MinMaxScan merge_min_max(const MinMaxScan& a, const MinMaxScan& b) {
  MinMaxScan r;
  r.min = b.min < a.min ? b.min : a.min;
  r.max = b.max > a.max ? b.max : a.max;
  r.all_finite = a.all_finite && b.all_finite;
  return r;
}

}  // namespace qcal
