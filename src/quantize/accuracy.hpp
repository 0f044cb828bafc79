// Accuracy work inside `qcal calibrate`: layer sensitivity, automatic mixed precision within an
// accuracy budget, the calibration-set saturation curve, and report.html. Everything it produces
// is returned as files to stage, so the pipeline stays all-or-nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "calib/range_select.hpp"
#include "calib/stats_file.hpp"
#include "export/qdq_builder.hpp"
#include "quantize/calibrate.hpp"

namespace qcal::quantize {

// Statistics of calibration-set prefixes (samples, stats), for --saturation.
using StatsPrefixes = std::vector<std::pair<std::int64_t, calib::StatsSet>>;

struct AccuracyInputs {
  const ModelContext* model = nullptr;
  const CalibrateOptions* options = nullptr;
  const exporter::QdqBuilder* builder = nullptr;
  const calib::StatsSet* stats = nullptr;
  const std::map<std::string, calib::Range>* raw_ranges = nullptr;  // the method's, before rules
  const exporter::QdqBuild* default_build = nullptr;
  const StatsPrefixes* prefixes = nullptr;
  CalibrateReport* report = nullptr;  // parameters for the report; accuracy lines are added
};

using StagedFiles = std::vector<std::pair<std::filesystem::path, std::string>>;  // full paths

struct AccuracyOutputs {
  StagedFiles files;
  std::optional<exporter::QdqBuild>
      final_build;  // the mixed-precision model, replacing the default
};

AccuracyOutputs run_accuracy(const AccuracyInputs& inputs);

// The calibration-set sizes --saturation measures: 10, 25, 50, 100, 200, 500, 1000, ... below
// `total`, then `total` itself.
std::vector<std::int64_t> saturation_steps(std::int64_t total);

std::string format_value(double v, int digits = 4);  // the report's number format

}  // namespace qcal::quantize
