// QDQ models from placement, range rules and the writer.
#include "export/qdq_builder.hpp"

namespace qcal::exporter {

QdqBuilder::QdqBuilder(const std::string& model_bytes, GraphView graph, std::string what,
                       PlacementOptions placement, ActivationType activations,
                       RangeRuleOptions rules)
    : model_bytes_(model_bytes),
      what_(std::move(what)),
      placement_(std::move(placement)),
      activations_(activations),
      rules_(rules),
      graph_(std::move(graph)) {}

std::vector<std::string> QdqBuilder::planned_activations() const {
  std::vector<std::string> out;
  for (const auto& [tensor, uses] : plan_qdq(graph_, placement_).activations) out.push_back(tensor);
  return out;
}

QdqBuild QdqBuilder::build(const std::vector<std::string>& extra_exclude,
                           const std::map<std::string, calib::TensorStats>& stats,
                           const std::map<std::string, calib::Range>& ranges) const {
  PlacementOptions placement = placement_;
  placement.exclude.insert(placement.exclude.end(), extra_exclude.begin(), extra_exclude.end());
  QdqBuild b;
  b.plan = plan_qdq(graph_, placement);
  b.warnings = b.plan.warnings;
  b.ranges = ranges;
  b.rule_changes = apply_range_rules(graph_, b.plan, stats, b.ranges, rules_);
  const auto params = params_from_ranges(b.ranges, activations_);
  for (auto it = b.plan.activations.begin(); it != b.plan.activations.end();) {
    if (!params.count(it->first)) {
      b.warnings.push_back("no statistics for '" + it->first + "'; it stays float");
      it = b.plan.activations.erase(it);
    } else {
      b.qdq_tensors.push_back(it->first);
      ++it;
    }
  }
  b.qdq = write_qdq_model(model_bytes_, what_, b.plan, params, activations_);
  b.warnings.insert(b.warnings.end(), b.qdq.warnings.begin(), b.qdq.warnings.end());
  return b;
}

std::map<std::string, calib::QuantParams> params_from_ranges(
    const std::map<std::string, calib::Range>& ranges, ActivationType activations) {
  std::map<std::string, calib::QuantParams> params;
  for (const auto& [name, r] : ranges) {
    params[name] = activations == ActivationType::kUInt8Asymmetric
                       ? calib::asymmetric_uint8(r.min, r.max)
                       : calib::symmetric_int8(r.amax);
  }
  return params;
}

}  // namespace qcal::exporter
