// The report's verdict ("can I ship this?"): the drop of the primary metric against a budget,
// the noise caveat (the drop's interval when one was measured), the worst output and the worst
// tensor, and the warnings that change how far the numbers can be trusted.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "eval/report.hpp"
#include "eval/sensitivity.hpp"

namespace qcal::eval {

struct EvalResult;

inline constexpr double kDefaultMaxDropPp = 1.0;

// An interval of the drop measured elsewhere (eval/bootstrap: a paired bootstrap over images).
struct DropNoise {
  double lower_pp = 0.0, upper_pp = 0.0;
  int level_pct = 90;
  std::string method;  // "paired bootstrap over images, 1000 resamples"
};

struct VerdictInputs {
  std::string metric;             // "mAP50-95", "cosine (worst output)"
  std::optional<double> drop_pp;  // FP32 minus INT8 in percentage points; absent/NaN: undefined
  double max_drop_pp = kDefaultMaxDropPp;
  std::size_t samples = 0;
  std::string sample_kind = "samples";  // "images" for image data
  std::optional<DropNoise> noise;
  std::string no_noise_reason;  // why there is no interval (shown when noise is absent)
  // The output INT8 damages most (empty: not compared).
  std::string worst_output;
  double worst_output_cosine = 1.0, worst_output_sqnr_db = 0.0;
  std::vector<RankedTensor> sensitivity;  // most sensitive first (empty: not measured)
  std::string no_sensitivity_hint = "run with --sensitivity to name it";
  std::vector<std::string> warnings;
};

ReportVerdict make_verdict(const VerdictInputs& in);

// eval's inputs from its result: the primary metric, the interval when measured, the worst
// output, the overlap warning.
VerdictInputs eval_verdict_inputs(const EvalResult& result, double max_drop_pp);

}  // namespace qcal::eval
