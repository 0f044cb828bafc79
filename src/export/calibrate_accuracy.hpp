// Accuracy work inside `qcal calibrate`: layer sensitivity, automatic mixed precision within an
// accuracy budget, the calibration-set saturation curve, and report.html. Used by calibrate();
// everything it produces is returned as files to stage, so the pipeline stays all-or-nothing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "calib/range_select.hpp"
#include "calib/stats_file.hpp"
#include "eval/sensitivity_run.hpp"
#include "export/calibrate.hpp"
#include "export/qdq_placement.hpp"
#include "export/qdq_writer.hpp"
#include "export/range_rules.hpp"

namespace qcal::exporter {

// The fake quantization that sensitivity runs apply for one activation's parameters (int8
// [-128, 127] or uint8 [0, 255]).
eval::ActivationQuant activation_quant(const calib::QuantParams& p, bool uint8);

// One QDQ model built from the placement rules plus extra exclusions, with the range rules
// applied for that plan (Concat sharing depends on which inputs are quantized).
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
  QdqBuilder(const std::string& model_bytes, std::string what, PlacementOptions placement,
             ActivationType activations, RangeRuleOptions rules);
  // `ranges`: the method's selection on `stats`. Planned activations without a range lose their
  // Q/DQ with a warning.
  QdqBuild build(const std::vector<std::string>& extra_exclude,
                 const std::map<std::string, calib::TensorStats>& stats,
                 const std::map<std::string, calib::Range>& ranges) const;
  const GraphView& graph() const { return graph_; }
  // Nodes every later build keeps float, with their reason (the dominant-noise rule).
  void keep_float(const std::map<std::string, std::string>& node_reasons) {
    placement_.float_reasons.insert(node_reasons.begin(), node_reasons.end());
  }
  const std::map<std::string, std::string>& kept_float() const { return placement_.float_reasons; }

 private:
  const std::string& model_bytes_;
  std::string what_;
  PlacementOptions placement_;
  ActivationType activations_;
  RangeRuleOptions rules_;
  GraphView graph_;
};

// Placement rule 1c in the calibrate pipeline (export/dominant_noise.hpp): measures the
// quantized activations of `build` on probe samples of the calibration data (or of --eval-data
// when there is none, i.e. with --from-stats), and on a selection tells `builder` to keep their
// consumers float and returns true. Notes what it did in `report` (warnings, dominant_noise).
bool apply_dominant_noise_rule(const CalibrateOptions& options, SampleSource* source,
                               const QdqBuild& build, QdqBuilder& builder, CalibrateReport& report);

// Quantization parameters of every range (int8 symmetric or uint8 asymmetric).
std::map<std::string, calib::QuantParams> params_from_ranges(
    const std::map<std::string, calib::Range>& ranges, ActivationType activations);

struct AccuracyInputs {
  const CalibrateOptions* options = nullptr;
  const QdqBuilder* builder = nullptr;
  const calib::StatsSet* stats = nullptr;
  const std::map<std::string, calib::Range>* raw_ranges = nullptr;  // the method's, before rules
  const QdqBuild* default_build = nullptr;
  // Statistics of calibration-set prefixes (samples, stats), for --saturation.
  const std::vector<std::pair<std::int64_t, calib::StatsSet>>* prefixes = nullptr;
  CalibrateReport* report = nullptr;  // parameters for the report; accuracy lines are added
};

struct AccuracyOutputs {
  std::vector<std::pair<std::filesystem::path, std::string>> files;  // to stage (full paths)
  std::optional<QdqBuild> final_build;  // the mixed-precision model, replacing the default
};

AccuracyOutputs run_accuracy(const AccuracyInputs& inputs);

// The calibration-set sizes --saturation measures: 10, 25, 50, 100, 200, 500, 1000, ... below
// `total`, then `total` itself.
std::vector<std::int64_t> saturation_steps(std::int64_t total);

}  // namespace qcal::exporter
