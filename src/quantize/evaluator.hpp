// Candidate QDQ models evaluated against the FP32 model in qcal's engine, on the calibrate run's
// evaluation data: eval::run_eval, so the metrics are exactly `qcal eval`'s. The FP32 outputs
// are computed once (eval::CachingRunner) from the run context's model.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "eval/evaluate.hpp"
#include "eval/runtime.hpp"
#include "quantize/calibrate.hpp"

namespace qcal::quantize {

// One evaluated model on the evaluation set.
struct Score {
  double fp32 = 0.0;
  double int8 = 0.0;
  double drop = 0.0;  // percentage points, positive = worse
  // The output INT8 damages most (lowest cosine against FP32), for the report's verdict.
  std::string worst_output;
  double worst_output_cosine = 1.0, worst_output_sqnr_db = 0.0;
};
nlohmann::json score_json(const Score& s);

class Evaluator {
 public:
  Evaluator(const ModelContext& model, const CalibrateOptions& options);
  Score evaluate(const std::string& qdq_bytes);
  std::size_t samples() const { return samples_; }
  std::size_t evaluations() const { return evaluations_; }
  const std::string& reference() const { return reference_; }  // "labels" or "fp32"
  bool against_labels() const { return reference_ == "labels"; }

 private:
  const ModelContext& model_;
  const CalibrateOptions& options_;
  eval::EvalOptions eval_options_;
  std::string key_;
  std::unique_ptr<eval::CachingRunner> fp32_;
  std::size_t samples_ = 0, evaluations_ = 0;
  std::string reference_;
};

// The evaluation data's samples (at most eval_samples), each the model's inputs in order.
std::vector<std::vector<Tensor>> load_eval_inputs(const ModelContext& model,
                                                  const AccuracyOptions& accuracy);

}  // namespace qcal::quantize
