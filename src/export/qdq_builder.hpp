// One QDQ model from the placement rules plus extra exclusions, with the range rules applied for
// that plan (Concat sharing depends on which inputs are quantized). The calibrate pipeline builds
// the default model and every candidate of the accuracy search (quantize/) through it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "calib/range_select.hpp"
#include "calib/tensor_stats.hpp"
#include "export/qdq_placement.hpp"
#include "export/qdq_writer.hpp"
#include "export/range_rules.hpp"

namespace qcal::exporter {

struct QdqBuild {
  PlacementPlan plan;
  QdqResult qdq;
  std::vector<std::string> qdq_tensors;  // activations that got Q/DQ (with parameters)
  std::vector<std::string> warnings;
  std::map<std::string, calib::Range> ranges;  // after the range rules
  std::vector<RangeRuleChange> rule_changes;
};

class QdqBuilder {
 public:
  // `model_bytes` must outlive the builder; `graph` is its GraphView (read_graph_view).
  QdqBuilder(const std::string& model_bytes, GraphView graph, std::string what,
             PlacementOptions placement, ActivationType activations, RangeRuleOptions rules);
  // `ranges`: the method's selection on `stats`. Planned activations without a range lose their
  // Q/DQ with a warning.
  QdqBuild build(const std::vector<std::string>& extra_exclude,
                 const std::map<std::string, calib::TensorStats>& stats,
                 const std::map<std::string, calib::Range>& ranges) const;
  const GraphView& graph() const { return graph_; }
  // The activations the placement rules quantize (before any statistics).
  std::vector<std::string> planned_activations() const;
  // Nodes every later build keeps float, with their reason (the dominant-noise rule).
  void keep_float(const std::map<std::string, std::string>& node_reasons) {
    placement_.float_reasons.insert(node_reasons.begin(), node_reasons.end());
  }
  const std::map<std::string, std::string>& kept_float() const { return placement_.float_reasons; }
  ActivationType activations() const { return activations_; }

 private:
  const std::string& model_bytes_;
  std::string what_;
  PlacementOptions placement_;
  ActivationType activations_;
  RangeRuleOptions rules_;
  GraphView graph_;
};

// Quantization parameters of every range (int8 symmetric or uint8 asymmetric).
std::map<std::string, calib::QuantParams> params_from_ranges(
    const std::map<std::string, calib::Range>& ranges, ActivationType activations);

}  // namespace qcal::exporter
