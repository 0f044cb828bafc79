// ranges.json: per-tensor calibrated ranges and quantization parameters, plus what the model
// was calibrated on, for humans, diff tools and other exporters.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "calib/range_select.hpp"
#include "calib/stats_file.hpp"
#include "export/range_rules.hpp"

namespace qcal::exporter {

struct RangesJsonInput {
  std::string model_path;
  const calib::StatsSet* stats = nullptr;
  calib::SelectOptions select;
  const std::map<std::string, calib::Range>* ranges = nullptr;  // select_ranges() of stats
  bool uint8_activations = false;
  std::vector<std::string> qdq_tensors;  // activations that got Q/DQ in the model
  std::vector<std::string> float_nodes;  // quantizable nodes kept float, with reasons
  const std::vector<RangeRuleChange>* rule_changes = nullptr;  // apply_range_rules(), if any
  // The dominant-noise rule's measurement (calibrate's report); its kept tensors get
  // "rule": "dominant-noise" and their "noise_share".
  const nlohmann::json* dominant_noise = nullptr;
  // The weight-side algorithms that changed the model (bias correction, equalization, ...),
  // written as "algorithms" when not null.
  const nlohmann::json* algorithms = nullptr;
};

// Pretty-printed JSON, keys sorted, one entry per observed tensor. Deterministic bytes.
std::string format_ranges_json(const RangesJsonInput& input);

}  // namespace qcal::exporter
