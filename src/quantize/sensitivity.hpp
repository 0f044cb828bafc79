// The one sensitivity runner and sensitivity.json writer, shared by `qcal calibrate
// --sensitivity` (scales from the calibration) and `qcal eval --sensitivity` (scales read from
// the INT8 model's QuantizeLinear nodes): each quantized activation fake-quantized alone in the
// FP32 model, ranked by the task metric's drop.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "calib/range_select.hpp"
#include "engine/model.hpp"
#include "eval/sensitivity.hpp"
#include "quantize/sensitivity_run.hpp"

namespace qcal::quantize {

struct SensitivityRequest {
  std::shared_ptr<const engine::Model> fp32;
  std::string model_name;  // the user's FP32 model file, named in sensitivity.json
  std::map<std::string, ActivationQuant> quant;
  std::vector<std::vector<Tensor>> samples;  // per sample, the model's inputs in order
  TaskDropScorer::Kind metric = TaskDropScorer::Kind::kWorstCosine;
  std::string scales;  // where the scales came from, for the note ("the calibrated scales")
  int threads = 0;
};

struct SensitivityResult {
  std::vector<eval::RankedTensor> ranked;  // most sensitive first
  SensitivityRun run;
  double all_task_drop_pp = 0.0;  // every listed activation quantized
  nlohmann::json json;            // sensitivity.json ("qcal.sensitivity/1")
};

SensitivityResult run_sensitivity(const SensitivityRequest& request,
                                  const SensitivityProgress& progress = {});

// "map50-95" or "cosine".
const char* metric_name(TaskDropScorer::Kind kind);

// The fake quantization that sensitivity runs apply for one activation's parameters (int8
// [-128, 127] or uint8 [0, 255]).
ActivationQuant activation_quant(const calib::QuantParams& p, bool uint8);

}  // namespace qcal::quantize
