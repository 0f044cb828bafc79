// Tensor comparison metrics: float64 accumulation, defined results for zero and identical inputs.
#include "eval/tensor_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace qcal::eval {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct PairSums {
  double dot = 0.0, a_sq = 0.0, b_sq = 0.0, diff_sq = 0.0, abs_sum = 0.0, max_abs = 0.0;
};

PairSums accumulate(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) {
    throw Error(ErrorCode::kInvalidArgument, "cannot compare tensors of " +
                                                 std::to_string(a.size()) + " and " +
                                                 std::to_string(b.size()) + " elements");
  }
  PairSums s;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = a[i];
    const double y = b[i];
    if (!std::isfinite(x) || !std::isfinite(y)) {
      throw Error(ErrorCode::kNumeric, std::string("non-finite value (") +
                                           (std::isfinite(x) ? "test" : "reference") +
                                           ") at element " + std::to_string(i));
    }
    const double d = x - y;
    s.dot += x * y;
    s.a_sq += x * x;
    s.b_sq += y * y;
    s.diff_sq += d * d;
    s.abs_sum += std::fabs(d);
    s.max_abs = std::max(s.max_abs, std::fabs(d));
  }
  return s;
}

}  // namespace

double cosine_from_sums(double dot, double a_sq, double b_sq) {
  if (a_sq == 0.0 && b_sq == 0.0) return 1.0;
  if (a_sq == 0.0 || b_sq == 0.0) return 0.0;
  // One sqrt of the product when it is representable: then identical vectors give exactly 1
  // (sqrt(fl(a * a)) == a in IEEE arithmetic and dot == a_sq). Otherwise (overflow or
  // underflow of the product) the norms separately.
  const double prod = a_sq * b_sq;
  const double denom =
      (std::isfinite(prod) && prod > 0) ? std::sqrt(prod) : std::sqrt(a_sq) * std::sqrt(b_sq);
  const double c = dot / denom;
  return std::clamp(c, -1.0, 1.0);  // rounding can push |c| a few ulps past 1
}

double sqnr_from_sums(double ref_sq, double diff_sq) {
  if (diff_sq == 0.0) return kInf;
  if (ref_sq == 0.0) return -kInf;
  // 20 log10(||x|| / ||x-y||) = 10 log10(sum x^2 / sum (x-y)^2).
  return 10.0 * std::log10(ref_sq / diff_sq);
}

void TensorComparator::add(std::span<const float> reference, std::span<const float> test) {
  const PairSums s = accumulate(reference, test);
  const double cos = cosine_from_sums(s.dot, s.a_sq, s.b_sq);
  const double sq = sqnr_from_sums(s.a_sq, s.diff_sq);
  if (samples_ == 0) {
    min_cosine_ = cos;
    min_sqnr_ = sq;
  } else {
    min_cosine_ = std::min(min_cosine_, cos);
    min_sqnr_ = std::min(min_sqnr_, sq);
  }
  dot_ += s.dot;
  ref_sq_ += s.a_sq;
  test_sq_ += s.b_sq;
  diff_sq_ += s.diff_sq;
  abs_sum_ += s.abs_sum;
  max_abs_ = std::max(max_abs_, s.max_abs);
  samples_ += 1;
  elements_ += static_cast<std::int64_t>(reference.size());
}

TensorComparison TensorComparator::result() const {
  TensorComparison r;
  r.samples = samples_;
  r.elements = elements_;
  r.cosine = cosine_from_sums(dot_, ref_sq_, test_sq_);
  r.sqnr_db = sqnr_from_sums(ref_sq_, diff_sq_);
  r.max_abs_error = max_abs_;
  r.mean_abs_error = elements_ > 0 ? abs_sum_ / static_cast<double>(elements_) : 0.0;
  r.min_sample_cosine = samples_ > 0 ? min_cosine_ : r.cosine;
  r.min_sample_sqnr_db = samples_ > 0 ? min_sqnr_ : r.sqnr_db;
  return r;
}

TensorComparison compare_tensors(std::span<const float> reference, std::span<const float> test) {
  TensorComparator c;
  c.add(reference, test);
  return c.result();
}

double cosine_similarity(std::span<const float> a, std::span<const float> b) {
  const PairSums s = accumulate(a, b);
  return cosine_from_sums(s.dot, s.a_sq, s.b_sq);
}

double sqnr_db(std::span<const float> reference, std::span<const float> test) {
  const PairSums s = accumulate(reference, test);
  return sqnr_from_sums(s.a_sq, s.diff_sq);
}

double max_abs_error(std::span<const float> a, std::span<const float> b) {
  return accumulate(a, b).max_abs;
}

}  // namespace qcal::eval
