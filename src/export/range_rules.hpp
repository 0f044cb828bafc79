// Graph-aware adjustments of selected ranges, applied after a method picked each tensor's range
// on its own statistics: probabilities keep their full observed range, and the quantized inputs
// of a Concat share one scale (docs/quantization.md, "Range rules").
#pragma once

#include <map>
#include <string>
#include <vector>

#include "calib/range_select.hpp"
#include "calib/tensor_stats.hpp"
#include "export/qdq_placement.hpp"

namespace qcal::exporter {

struct RangeRuleOptions {
  // Outputs of Sigmoid/Softmax (and plumbing after them) are bounded scores whose top values
  // decide detections: clipping them (entropy picks ~0.09 for yolov8n's class scores, whose
  // max is 0.9) caps every score. They get the observed range whatever the method.
  bool keep_probability_range = true;
  // TensorRT runs an int8 Concat as a copy only when its inputs share one scale (ModelOpt
  // unifies them for the same reason); otherwise it re-quantizes each input. The shared amax is
  // the largest of the inputs' amax, so no input is clipped more than its own range says.
  bool share_concat_scale = true;
};

// What a rule changed, for ranges.json and the command's summary.
struct RangeRuleChange {
  std::string tensor;
  std::string rule;  // "probability" or "concat:<node>"
  float amax_before = 0.0f;
  float amax_after = 0.0f;
};

// Adjusts `ranges` in place. Concat groups are merged transitively (a tensor feeding two
// Concats ties both groups), so the result does not depend on node order. Only tensors present
// in `ranges` are touched; Concat sharing only concerns tensors the plan quantizes.
std::vector<RangeRuleChange> apply_range_rules(
    const GraphView& graph, const PlacementPlan& plan,
    const std::map<std::string, calib::TensorStats>& stats,
    std::map<std::string, calib::Range>& ranges, const RangeRuleOptions& options);

}  // namespace qcal::exporter
