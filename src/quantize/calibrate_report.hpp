// report.html of a calibrate run: the run's parameters (named after the user's model and the
// options really used), thumbnails of the evaluation data, and the range histograms.
#pragma once

#include <string>
#include <vector>

#include "eval/report.hpp"
#include "quantize/accuracy.hpp"

namespace qcal::quantize {

// Title, reproduction command, parameters, warnings and thumbnails.
eval::ReportData calibrate_report_data(const AccuracyInputs& in);

// The |x| histogram of each tensor in `order` that has one, with its range's markers, worst
// first: in `order` when it is a sensitivity ranking (`ranked`), else by the SQNR int8 gives
// the tensor at its range (calib::tensor_sqnr_db, lowest first), shown with each histogram.
void add_histograms(eval::ReportData& report, const std::vector<std::string>& order, bool ranked,
                    const AccuracyInputs& in);

}  // namespace qcal::quantize
