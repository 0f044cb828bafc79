// Prediction of unprofiled precisions from the latency/power ratios of configurations where
// both precisions were measured (used by the planner; exposed for tests).
#pragma once

#include <string>
#include <vector>

#include "plan/planner.hpp"

namespace qcal::plan {

// For every (model key, batch, shape) cell lacking a precision that was measured elsewhere,
// a predicted Config: the source is the cell's measured precision with the most same-model
// pairs, then the most pairs, then the closest precision rank; the ratio is the median over
// the same-model pairs when there are any, else over all pairs. Appends one note per
// prediction. `measured` must hold summarised configurations with checked latencies.
std::vector<Config> predict(const std::vector<Config>& measured, std::vector<std::string>& notes);

}  // namespace qcal::plan
