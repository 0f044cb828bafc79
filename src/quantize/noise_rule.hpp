// Placement rule 1c in the calibrate pipeline (quantize/dominant_noise.hpp): measures the
// quantized activations of the default build on probe samples of the calibration data (or of
// the evaluation data when there is none, i.e. with --from-stats) and keeps the consumers of a
// dominant tensor float in every later build.
#pragma once

#include "export/qdq_builder.hpp"
#include "quantize/calibrate.hpp"

namespace qcal::quantize {

// On a selection tells `builder` to keep their consumers float and returns true. Notes what it
// did in `report` (warnings, dominant_noise, dominant_noise_json).
bool apply_dominant_noise_rule(const ModelContext& model, const CalibrateOptions& options,
                               preprocess::SampleData* data, const exporter::QdqBuild& build,
                               exporter::QdqBuilder& builder, CalibrateReport& report);

}  // namespace qcal::quantize
