// Accuracy evidence per precision, read from `qcal eval` JSON files (schema in docs/formats.md).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qcal::plan {

// One precision's accuracy drop against the reference precision, from one file.
struct AccuracyEvidence {
  std::string file;
  std::string precision;            // canonical, e.g. "int8"
  std::string reference_precision;  // canonical, usually "fp32"
  std::string metric;               // e.g. "map50_95"
  double drop_pp = 0;  // percentage points lost against the reference (negative: gained)
  std::optional<double> reference_value;
  std::optional<double> value;
};

struct AccuracyTable {
  std::vector<AccuracyEvidence> evidence;         // every piece, in file order
  std::map<std::string, AccuracyEvidence> worst;  // per precision: the largest drop
  std::vector<std::string> reference_precisions;  // precisions the drops are measured against
  std::vector<std::string> notes;
};

// Reads eval JSON files. `metric`: which metric to use (empty: each file's "primary_metric",
// else its first metric). Throws kIo / kFormat naming the file for unreadable or malformed
// files, and kInvalidArgument when the requested metric is not in a file.
AccuracyTable load_accuracy(const std::vector<std::filesystem::path>& paths,
                            const std::string& metric = "");

}  // namespace qcal::plan
