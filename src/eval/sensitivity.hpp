// Layer sensitivity ranking: a pure function over per-tensor results (the model's final
// outputs with only that tensor quantized, and the tensor's own error in the fully quantized
// model), ranked most sensitive first, with its JSON form.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace qcal::eval {

struct TensorSensitivity {
  std::string tensor;  // the quantized tensor's name in the graph
  // Final outputs of the model with only this tensor quantized, against FP32 (all outputs
  // together): SQNR in dB (+inf when unchanged) and cosine.
  double output_sqnr_db = 0.0;
  double output_cosine = 1.0;
  // This tensor's own error along the fully quantized model (NaN when not measured).
  double along_sqnr_db = 0.0;
  double along_cosine = 1.0;
  // The task metric's drop in percentage points with only this tensor quantized (e.g. mAP50-95
  // against the FP32 detections); NaN when not measured.
  double task_drop_pp = std::numeric_limits<double>::quiet_NaN();
};

struct RankedTensor {
  int rank = 0;  // 1 = most sensitive
  TensorSensitivity result;
};

// Most sensitive first: descending task drop where measured (a tensor whose drop is NaN counts
// as 0 against measured ones), then ascending output SQNR (NaN counts as most sensitive: a tensor
// whose quantization breaks the arithmetic), then ascending output cosine, then ascending
// along-model SQNR, then tensor name, so the order is total and reproducible.
std::vector<RankedTensor> rank_sensitivity(std::vector<TensorSensitivity> results);

// {"metric": "output_sqnr_db" (or "task_drop_pp" when measured), "tensors": [{"rank", "tensor",
// "output_sqnr_db", ..., "task_drop_pp" when measured}]};
// infinities are written as the strings "inf", "-inf" (JSON has none), an undefined value (NaN)
// as null.
nlohmann::json sensitivity_to_json(const std::vector<RankedTensor>& ranked);
// Reads what sensitivity_to_json wrote (the lead's calibrate wiring and --exclude reuse it).
std::vector<RankedTensor> sensitivity_from_json(const nlohmann::json& j);

// JSON form of a double: a number when finite, "inf" / "-inf", or null for NaN.
nlohmann::json json_number(double v);
double json_to_double(const nlohmann::json& j);

}  // namespace qcal::eval
