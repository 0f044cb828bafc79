// Tensor comparison metrics (cosine similarity, SQNR, max absolute error) between a reference
// output (FP32 model) and a test output (INT8 model), accumulated in float64 over a data set.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace qcal::eval {

// What a comparison reports. Over a set, the sums run over all elements of all samples, so the
// set's cosine and SQNR are those of the concatenated vectors (not a mean of per-sample values);
// min_sample_cosine / min_sample_sqnr_db show the worst single sample.
struct TensorComparison {
  std::int64_t samples = 0;
  std::int64_t elements = 0;
  // cos(x, y) = <x, y> / (||x|| ||y||). Defined as 1 when both vectors are all zero (identical)
  // and 0 when exactly one is all zero (no direction in common).
  double cosine = 1.0;
  // SQNR = 20 log10(||x|| / ||x - y||) in dB, x the reference. +infinity when y == x exactly
  // (no noise, zero vectors included); -infinity when x is all zero and y is not.
  double sqnr_db = 0.0;
  double max_abs_error = 0.0;
  double mean_abs_error = 0.0;
  double min_sample_cosine = 1.0;
  double min_sample_sqnr_db = 0.0;
};

// Streaming accumulator: add() one sample at a time (any length, the same tensor each time),
// result() at any point. Sums are float64 in element order, so results do not depend on how
// samples are batched elsewhere.
class TensorComparator {
 public:
  // Throws kInvalidArgument when the spans differ in length and kNumeric when either holds a
  // NaN or infinity (an INT8 model that produces them is a finding, not something to average).
  void add(std::span<const float> reference, std::span<const float> test);
  TensorComparison result() const;

 private:
  double dot_ = 0.0;
  double ref_sq_ = 0.0;
  double test_sq_ = 0.0;
  double diff_sq_ = 0.0;
  double abs_sum_ = 0.0;
  double max_abs_ = 0.0;
  double min_cosine_ = 1.0;
  double min_sqnr_ = 0.0;
  std::int64_t samples_ = 0;
  std::int64_t elements_ = 0;
};

// One-shot helpers over a single pair of vectors.
TensorComparison compare_tensors(std::span<const float> reference, std::span<const float> test);
double cosine_similarity(std::span<const float> a, std::span<const float> b);
double sqnr_db(std::span<const float> reference, std::span<const float> test);
double max_abs_error(std::span<const float> a, std::span<const float> b);

// The definitions above as functions of the float64 sums, shared with other accumulators.
double cosine_from_sums(double dot, double a_sq, double b_sq);
double sqnr_from_sums(double ref_sq, double diff_sq);

}  // namespace qcal::eval
