// Output of `qcal select`: the OUT_DIR check, the copies or links, calibration_analysis.json
// and README.md. Internal to the dataset module.
#pragma once

#include <filesystem>

#include "dataset/select.hpp"

namespace qcal::dataset {

// Creates out_dir, or accepts it empty, or removes a previous selection from it (the files its
// calibration_analysis.json lists, that file and README.md). Any other file there is an error
// naming it: qcal never mixes a new selection with unrelated files.
void prepare_out_dir(const std::filesystem::path& out_dir);

// Names the selected images' outputs, copies or links them, writes the analysis and README.
void write_selection(const SelectOptions& options, SelectReport& report);

}  // namespace qcal::dataset
