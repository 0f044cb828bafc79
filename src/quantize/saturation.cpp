// Saturation: ranges and accuracy of calibration-set prefixes.
#include "quantize/saturation.hpp"

#include <algorithm>
#include <cmath>

namespace qcal::quantize {
namespace {

using nlohmann::json;

struct AmaxChange {
  double mean = 0.0, max = 0.0;  // relative to the full set's amax
};

AmaxChange amax_change(const std::vector<std::string>& tensors,
                       const std::map<std::string, calib::Range>& full,
                       const std::map<std::string, calib::Range>& ranges) {
  AmaxChange c;
  double sum = 0;
  std::size_t count = 0;
  for (const auto& t : tensors) {
    const double ref = full.at(t).amax;
    auto it = ranges.find(t);
    if (it == ranges.end() || !(ref > 0)) continue;
    const double rel = std::abs(static_cast<double>(it->second.amax) - ref) / ref;
    sum += rel;
    c.max = std::max(c.max, rel);
    ++count;
  }
  c.mean = count ? sum / static_cast<double>(count) : 0.0;
  return c;
}

}  // namespace

BatchHook saturation_snapshots(std::int64_t total, StatsPrefixes& prefixes) {
  auto steps = saturation_steps(std::max<std::int64_t>(total, 1));
  steps.pop_back();  // the full set is the final statistics
  std::size_t next = 0;
  return [&prefixes, steps, next](std::int64_t done, const calib::StatsSet& s) mutable {
    while (next < steps.size() && done >= steps[next]) {
      if (prefixes.empty() || prefixes.back().first != done) prefixes.emplace_back(done, s);
      ++next;
    }
  };
}

void measure_saturation(const AccuracyInputs& in, Evaluator& evaluator, const Score& full,
                        StagedFiles& files, eval::ReportData& rd) {
  const CalibrateOptions& o = *in.options;
  const AccuracyOptions& a = o.accuracy;
  CalibrateReport& report = *in.report;
  const std::vector<std::string>& tensors = in.default_build->qdq_tensors;
  json steps = json::array();
  eval::ReportSeries amax_series{"mean |amax - amax_full| / amax_full (%)", {}};
  eval::ReportSeries metric_series{a.metric + " (INT8 vs " + evaluator.reference() + ")", {}};
  eval::ReportTable table;
  table.title = "Calibration set size";
  table.header = {"samples", "mean amax change (%)", "max amax change (%)", a.metric, "drop (pp)"};
  for (const auto& [n, st] : *in.prefixes) {
    const bool is_full = n == report.samples;
    const auto ranges =
        is_full ? *in.raw_ranges : calib::select_ranges(st.tensors(), o.select, o.threads);
    const AmaxChange c = amax_change(tensors, *in.raw_ranges, ranges);
    const Score s =
        is_full ? full
                : evaluator.evaluate(in.builder->build({}, st.tensors(), ranges).qdq.model_bytes);
    steps.push_back({{"samples", n},
                     {"mean_rel_amax_change", c.mean},
                     {"max_rel_amax_change", c.max},
                     {"int8", eval::json_number(s.int8)},
                     {"drop", eval::json_number(s.drop)}});
    amax_series.points.push_back({static_cast<double>(n), 100.0 * c.mean});
    metric_series.points.push_back({static_cast<double>(n), s.int8});
    table.rows.push_back({std::to_string(n), format_value(100 * c.mean), format_value(100 * c.max),
                          format_value(s.int8, 6), format_value(s.drop, 4)});
  }
  table.note =
      "Ranges of each prefix of the calibration set (statistics snapshotted while "
      "streaming, no extra inference) against the full set's; accuracy of the model "
      "quantized with that prefix's ranges on the evaluation set.";
  json sat = {{"format", "qcal.saturation/1"},
              {"metric", a.metric},
              {"method", std::string(calib::method_name(o.select.method))},
              {"eval_samples", evaluator.samples()},
              {"steps", steps}};
  report.saturation_json = o.out_dir / "saturation.json";
  files.emplace_back(report.saturation_json, sat.dump(2) + "\n");
  report.accuracy_json["saturation"] = sat;
  rd.saturation.push_back({"Ranges vs calibration set size",
                           "calibration samples",
                           "mean amax change vs full set (%)",
                           true,
                           {amax_series}});
  rd.saturation.push_back(
      {"Accuracy vs calibration set size", "calibration samples", a.metric, true, {metric_series}});
  rd.accuracy.push_back(table);
  if (!steps.empty()) {
    report.accuracy_lines.push_back("saturation: " + std::to_string(steps.size()) +
                                    " prefixes measured (saturation.json)");
  }
}

}  // namespace qcal::quantize
