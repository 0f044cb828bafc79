// Sensitivity: one runner, one sensitivity.json.
#include "quantize/sensitivity.hpp"

#include "eval/report.hpp"

namespace qcal::quantize {

const char* metric_name(TaskDropScorer::Kind kind) {
  return kind == TaskDropScorer::Kind::kYoloMap ? "map50-95" : "cosine";
}

ActivationQuant activation_quant(const calib::QuantParams& p, bool uint8) {
  ActivationQuant q;
  q.scale = p.scale;
  q.zero_point = p.zero_point;
  if (uint8) {
    q.qmin = 0;
    q.qmax = 255;
  }
  return q;
}

SensitivityResult run_sensitivity(const SensitivityRequest& r,
                                  const SensitivityProgress& progress) {
  TaskDropScorer scorer(r.metric);
  SensitivityRunOptions so;
  so.threads = r.threads;
  so.on_outputs = [&](const std::string& tensor, std::size_t sample, const std::vector<Tensor>& ref,
                      const std::vector<Tensor>& test) { scorer.add(tensor, sample, ref, test); };
  SensitivityResult out;
  out.run = measure_sensitivity(r.fp32, r.quant, r.samples, so, progress);
  for (auto& t : out.run.tensors) t.task_drop_pp = scorer.drop(t.tensor);
  out.ranked = eval::rank_sensitivity(out.run.tensors);
  out.all_task_drop_pp = scorer.drop("");
  nlohmann::json& j = out.json;
  j = eval::sensitivity_to_json(out.ranked);
  j["format"] = "qcal.sensitivity/1";
  j["model"] = r.model_name;
  j["samples"] = out.run.samples;
  j["engine_runs"] = out.run.runs;
  j["all_activations_output_sqnr_db"] = eval::json_number(out.run.all_output_sqnr_db);
  j["all_activations_output_cosine"] = eval::json_number(out.run.all_output_cosine);
  j["all_activations_task_drop_pp"] = eval::json_number(out.all_task_drop_pp);
  j["task_metric"] = metric_name(r.metric);
  j["skipped"] = out.run.skipped;
  j["note"] = "activations fake-quantized in qcal's engine with " + r.scales + "; weights float";
  return out;
}

}  // namespace qcal::quantize
