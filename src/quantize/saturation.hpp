// The calibration-set saturation curve (calibrate --saturation): the ranges of growing prefixes
// of the calibration set (statistics snapshotted while streaming, no extra inference) against
// the full set's, and the accuracy of the model quantized with each prefix's ranges.
#pragma once

#include "eval/report.hpp"
#include "quantize/accuracy.hpp"
#include "quantize/evaluator.hpp"

namespace qcal::quantize {

// Stages saturation.json and adds the curve and table to the report. `full`: the full set's
// score (the default build).
void measure_saturation(const AccuracyInputs& in, Evaluator& evaluator, const Score& full,
                        StagedFiles& files, eval::ReportData& report);

// A BatchHook that snapshots the statistics at the saturation steps below `total` into
// `prefixes` (the full set is the final statistics).
BatchHook saturation_snapshots(std::int64_t total, StatsPrefixes& prefixes);

}  // namespace qcal::quantize
