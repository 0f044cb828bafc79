// Automatic mixed precision (calibrate --max-drop): the most sensitive tensors' consumers stay
// float, greedily by rank, until the drop is within budget. Candidates k = 1, 2, 4, ... then
// bisection: the smallest k that meets the budget among those evaluated (drop is close to
// monotone in k).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/report.hpp"
#include "export/qdq_builder.hpp"
#include "quantize/accuracy.hpp"
#include "quantize/evaluator.hpp"

namespace qcal::quantize {

struct MixedPrecision {
  std::optional<exporter::QdqBuild> final_build;  // none when the default meets the budget
  Score after;
  bool met = false;
  std::size_t floated = 0;              // activations without Q/DQ in the final model
  std::vector<std::string> excluded;    // nodes the search keeps float
  std::vector<std::string> rule_nodes;  // nodes the dominant-noise rule keeps float
  nlohmann::json json;                  // mixed_precision.json
};

// `order`: quantized tensors, most sensitive first. `before`: the default build's score.
MixedPrecision search_mixed_precision(const AccuracyInputs& in,
                                      const std::vector<std::string>& order, Evaluator& evaluator,
                                      const Score& before);

// Stages mixed_precision.json and mixed_precision.exclude.txt, and adds the summary to the
// report and the accuracy table.
void record_mixed_precision(const AccuracyInputs& in, const MixedPrecision& mp, const Score& before,
                            StagedFiles& files, eval::ReportTable& table);

}  // namespace qcal::quantize
