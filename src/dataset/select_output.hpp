// Output of `qcal select`: the OUT_DIR check, the copies or links, calibration_analysis.json
// and README.md. Internal to the dataset module.
#pragma once

#include <filesystem>
#include <vector>

#include "dataset/select.hpp"

namespace qcal::dataset {

// Creates out_dir, or accepts it empty, or holding a previous selection (the files its
// calibration_analysis.json lists, that file and README.md), whose files it returns so that
// write_selection replaces them once the new selection succeeded. Any other file there is an
// error naming it: qcal never mixes a new selection with unrelated files.
std::vector<std::filesystem::path> prepare_out_dir(const std::filesystem::path& out_dir);

// The same for the held-out folder: new, empty, or holding a previous held-out split (the
// files its holdout.json lists, and that file).
std::vector<std::filesystem::path> prepare_holdout_dir(const std::filesystem::path& dir);

// Removes the previous selection's files, names the selected images' outputs, copies or links
// them, writes the analysis and README.
void write_selection(const SelectOptions& options, SelectReport& report,
                     const std::vector<std::filesystem::path>& previous);

// Writes the held-out images (copies or links, named as the selection names its images) and
// holdout.json (source, seed, and each image's source path and output name) into the
// held-out folder, replacing the previous split's files.
void write_holdout(const SelectOptions& options, SelectReport& report,
                   const std::vector<std::filesystem::path>& previous);

}  // namespace qcal::dataset
