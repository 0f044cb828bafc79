// Candidate evaluation against a cached FP32 run.
#include "quantize/evaluator.hpp"

#include <cmath>

#include "core/error.hpp"
#include "eval/report.hpp"
#include "eval/samples.hpp"

namespace qcal::quantize {

nlohmann::json score_json(const Score& s) {
  return {{"fp32", eval::json_number(s.fp32)},
          {"int8", eval::json_number(s.int8)},
          {"drop", eval::json_number(s.drop)}};
}

Evaluator::Evaluator(const ModelContext& model, const CalibrateOptions& o)
    : model_(model), options_(o) {
  const AccuracyOptions& a = o.accuracy;
  eval_options_.fp32_model = model.path;
  eval_options_.int8_model = "candidate.qdq.onnx";
  eval_options_.data = a.eval_data->data;
  eval_options_.recipe = a.eval_data->recipe;
  eval_options_.size_wh = a.eval_data->size_wh;
  eval_options_.labels = a.labels;
  eval_options_.task = a.metric == "map50-95" ? eval::Task::kYolo : eval::Task::kRaw;
  eval_options_.threads = o.threads;
  eval_options_.limit = a.eval_samples;
  eval_options_.thumbnails = 0;
  eval_options_.check_calibration_overlap = false;
  key_ = a.metric == "map50-95" ? "map50_95" : "cosine";
  fp32_ = std::make_unique<eval::CachingRunner>(
      eval::make_qcal_runner(model.model, {.threads = o.threads}));
}

Score Evaluator::evaluate(const std::string& qdq_bytes) {
  auto int8 = eval::make_qcal_runner_from_bytes(qdq_bytes, model_.base_dir(),
                                                {.threads = options_.threads});
  const eval::EvalResult r = eval::run_eval(eval_options_, *fp32_, *int8);
  samples_ = r.samples;
  reference_ = r.reference;
  for (const auto& m : r.metrics) {
    if (m.key != key_) continue;
    Score s;
    s.fp32 = m.fp32.value_or(std::nan(""));
    s.int8 = m.int8;
    s.drop = m.drop_pp().value_or(std::nan(""));
    for (const auto& o : r.outputs) {
      if (!s.worst_output.empty() && o.comparison.cosine >= s.worst_output_cosine) continue;
      s.worst_output = o.name;
      s.worst_output_cosine = o.comparison.cosine;
      s.worst_output_sqnr_db = o.comparison.sqnr_db;
    }
    if (std::isnan(s.drop)) {
      throw Error(ErrorCode::kInvalidArgument,
                  "the metric " + options_.accuracy.metric +
                      " is undefined on the evaluation data (no reference objects: the FP32 "
                      "model detects nothing above the reference score; give more or other "
                      "--eval-data, or --metric cosine)")
          .with("data", eval_options_.data.string());
    }
    ++evaluations_;
    return s;
  }
  throw Error(ErrorCode::kInternal, "evaluation did not report " + key_);
}

std::vector<std::vector<Tensor>> load_eval_inputs(const ModelContext& model,
                                                  const AccuracyOptions& a) {
  preprocess::DataRequest request = *a.eval_data;
  request.limit = static_cast<std::int64_t>(a.eval_samples);
  auto source = eval::open_samples(request, *model.model, model.path.string());
  auto samples = eval::model_inputs(*source, *model.model);
  if (samples.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "the evaluation data holds no samples")
        .with("data", request.data.string());
  }
  return samples;
}

}  // namespace qcal::quantize
