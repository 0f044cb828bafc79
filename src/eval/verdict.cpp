// The verdict banner's content. Numbers are printed as the report prints them (format_number).
#include "eval/verdict.hpp"

#include <algorithm>
#include <cmath>

#include "eval/evaluate.hpp"

namespace qcal::eval {
namespace {

using State = ReportVerdict::State;

std::string pp(double v) { return format_number(v, 3) + " pp"; }

std::string budget_text(double budget) { return format_number(budget, 3) + " pp budget"; }

// "30 images cannot resolve a 1-point drop" when the interval is wider than the budget.
std::string noise_text(const VerdictInputs& in) {
  const std::string n = std::to_string(in.samples) + " " + in.sample_kind;
  if (!in.noise) {
    return "No interval of the drop: " + in.no_noise_reason + " (" + n +
           "). Small evaluation sets move the drop by more than a point: treat a drop near the "
           "budget as unresolved.";
  }
  const DropNoise& z = *in.noise;
  std::string s = std::to_string(z.level_pct) + " % interval of the drop (" + z.method + ", " + n +
                  "): " + pp(z.lower_pp) + " to " + pp(z.upper_pp) + ".";
  const double width = z.upper_pp - z.lower_pp;
  if (width > in.max_drop_pp) {
    s += " " + n + " cannot resolve a " + format_number(in.max_drop_pp, 3) +
         "-point drop (the interval is " + pp(width) + " wide): evaluate on more " +
         in.sample_kind + ".";
  } else if (z.lower_pp <= in.max_drop_pp && z.upper_pp > in.max_drop_pp) {
    s += " The budget lies inside the interval: the verdict is within the noise.";
  }
  if (z.lower_pp < 0 && z.upper_pp > 0) {
    s += " Zero is inside the interval: a negative drop (INT8 above FP32) is noise, not a gain.";
  }
  return s;
}

std::string worst_tensor_text(const VerdictInputs& in) {
  if (in.sensitivity.empty()) return "Worst tensor: not measured (" + in.no_sensitivity_hint + ").";
  const TensorSensitivity& t = in.sensitivity.front().result;
  std::string s = "Worst tensor: " + t.tensor + " (quantized alone: ";
  if (!std::isnan(t.task_drop_pp)) s += in.metric + " drop " + pp(t.task_drop_pp) + ", ";
  return s + "output SQNR " + format_number(t.output_sqnr_db, 4) + " dB).";
}

}  // namespace

ReportVerdict make_verdict(const VerdictInputs& in) {
  ReportVerdict v;
  const double budget = in.max_drop_pp;
  if (!in.drop_pp || std::isnan(*in.drop_pp)) {
    v.state = State::kNotMeasured;
    v.headline = "NOT MEASURED: " + in.metric + " is undefined on this data";
  } else if (*in.drop_pp > budget) {
    v.state = State::kFail;
    v.headline =
        "FAIL: " + in.metric + " drops " + pp(*in.drop_pp) + ", over the " + budget_text(budget);
  } else if (in.noise && in.noise->upper_pp > budget) {
    v.state = State::kUnresolved;
    v.headline = "UNRESOLVED: " + in.metric + " drops " + pp(*in.drop_pp) + ", within the " +
                 budget_text(budget) + ", but the noise allows up to " + pp(in.noise->upper_pp);
  } else {
    v.state = State::kPass;
    v.headline =
        "PASS: " + in.metric + " drops " + pp(*in.drop_pp) + ", within the " + budget_text(budget);
  }
  v.details.push_back(noise_text(in));
  if (!in.worst_output.empty()) {
    v.details.push_back("Worst output: " + in.worst_output + " (cosine " +
                        format_number(in.worst_output_cosine, 6) + ", SQNR " +
                        format_number(in.worst_output_sqnr_db, 4) + " dB against FP32).");
  }
  v.details.push_back(worst_tensor_text(in));
  for (const std::string& w : in.warnings) v.details.push_back("Warning: " + w);
  return v;
}

VerdictInputs eval_verdict_inputs(const EvalResult& r, double max_drop_pp) {
  VerdictInputs in;
  in.max_drop_pp = max_drop_pp;
  in.samples = r.samples;
  in.sample_kind = r.thumbnails.empty() || r.options.recipe.empty() ? "samples" : "images";
  for (const MetricValue& m : r.metrics) {
    if (m.key != r.primary_metric) continue;
    in.metric = m.label;
    in.drop_pp = m.drop_pp();
    break;
  }
  in.no_noise_reason = r.reference == "labels"
                           ? "this task has no bootstrap of its metric yet"
                           : "the interval is measured against labels (--labels)";
  if (r.map_drop_interval && r.primary_metric == "map50_95") {
    const DropInterval& d = *r.map_drop_interval;
    in.noise = DropNoise{
        d.lower_pp, d.upper_pp,
        static_cast<int>(std::lround((d.upper_quantile - d.lower_quantile) * 100.0)),
        "paired bootstrap over images, " + std::to_string(d.used) + " resamples"};
  }
  const auto worst = std::min_element(r.outputs.begin(), r.outputs.end(),
                                      [](const OutputComparison& a, const OutputComparison& b) {
                                        return a.comparison.cosine < b.comparison.cosine;
                                      });
  if (worst != r.outputs.end()) {
    in.worst_output = worst->name;
    in.worst_output_cosine = worst->comparison.cosine;
    in.worst_output_sqnr_db = worst->comparison.sqnr_db;
  }
  if (r.overlap && r.overlap->overlapping > 0) in.warnings.push_back(r.overlap->warning());
  return in;
}

}  // namespace qcal::eval
