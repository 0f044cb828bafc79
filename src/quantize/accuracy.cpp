// calibrate's accuracy work: the default build evaluated against the FP32 model, sensitivity
// (the shared runner), mixed precision, saturation and report.html, each in its own file; this
// one runs them in order.
#include "quantize/accuracy.hpp"

#include <cmath>
#include <memory>
#include <sstream>

#include "core/error.hpp"
#include "eval/report.hpp"
#include "eval/verdict.hpp"
#include "quantize/calibrate_report.hpp"
#include "quantize/evaluator.hpp"
#include "quantize/mixed_precision.hpp"
#include "quantize/saturation.hpp"
#include "quantize/sensitivity.hpp"

namespace qcal::quantize {

void validate(const AccuracyOptions& o) {
  if (o.metric != "cosine" && o.metric != "map50-95") {
    throw Error(ErrorCode::kInvalidArgument,
                "--metric must be cosine or map50-95, got '" + o.metric + "'");
  }
  if (o.max_drop && (!std::isfinite(*o.max_drop) || *o.max_drop < 0.0)) {
    std::ostringstream s;
    s << *o.max_drop;
    throw Error(
        ErrorCode::kInvalidArgument,
        "--max-drop is an accuracy budget in percentage points and must be >= 0, got " + s.str());
  }
  if (o.eval_samples == 0) {
    throw Error(ErrorCode::kInvalidArgument, "--eval-samples must be at least 1");
  }
  if (!o.labels.empty() && o.metric != "map50-95") {
    throw Error(ErrorCode::kInvalidArgument, "--labels applies to --metric map50-95");
  }
}

bool needs_eval_data(const AccuracyOptions& o) {
  return o.sensitivity || o.max_drop.has_value() || o.saturation;
}

std::vector<std::int64_t> saturation_steps(std::int64_t total) {
  std::vector<std::int64_t> steps;
  for (std::int64_t decade = 10; decade < total; decade *= 10) {
    for (std::int64_t m : {1, 2, 5}) {
      // 10, 25, 50, 100, 200, 500, ...: the 2.5 step below 100 reads better than 20.
      const std::int64_t n = decade == 10 && m == 2 ? 25 : decade * m;
      if (n < total) steps.push_back(n);
    }
  }
  steps.push_back(total);
  return steps;
}

std::string format_value(double v, int digits) { return eval::format_number(v, digits); }

namespace {

std::string reference_text(const Evaluator& e) {
  return e.against_labels() ? "labels" : "the FP32 model's outputs";
}

// The default build's score, in the report, the summary and --json.
Score score_default(const AccuracyInputs& in, Evaluator& evaluator, eval::ReportData& rd) {
  const AccuracyOptions& a = in.options->accuracy;
  CalibrateReport& report = *in.report;
  rd.parameters.push_back({"metric", a.metric});
  const Score before = evaluator.evaluate(in.default_build->qdq.model_bytes);
  rd.parameters.push_back({"evaluation samples", std::to_string(evaluator.samples())});
  rd.parameters.push_back({"metric reference", reference_text(evaluator)});
  report.accuracy_lines.push_back(
      "accuracy (" + a.metric + ", " + std::to_string(evaluator.samples()) + " eval samples, vs " +
      (evaluator.against_labels() ? "labels" : "FP32") + "): FP32 " + format_value(before.fp32) +
      ", INT8 " + format_value(before.int8) + ", drop " + format_value(before.drop, 3) + " pp");
  report.accuracy_json["metric"] = a.metric;
  report.accuracy_json["eval_samples"] = evaluator.samples();
  report.accuracy_json["reference"] = evaluator.reference();
  report.accuracy_json["int8"] = score_json(before);
  return before;
}

// Sensitivity of every quantized activation with the calibrated scales (also the ranking mixed
// precision follows); stages sensitivity.json.
std::vector<eval::RankedTensor> rank_tensors(const AccuracyInputs& in, StagedFiles& files) {
  const CalibrateOptions& o = *in.options;
  const AccuracyOptions& a = o.accuracy;
  CalibrateReport& report = *in.report;
  const bool uint8 = o.activations == exporter::ActivationType::kUInt8Asymmetric;
  const auto params = exporter::params_from_ranges(in.default_build->ranges, o.activations);
  SensitivityRequest request;
  request.fp32 = in.model->model;
  request.model_name = in.model->path.string();
  for (const auto& t : in.default_build->qdq_tensors) {
    request.quant[t] = activation_quant(params.at(t), uint8);
  }
  request.samples = load_eval_inputs(*in.model, a);
  request.metric =
      a.metric == "map50-95" ? TaskDropScorer::Kind::kYoloMap : TaskDropScorer::Kind::kWorstCosine;
  request.scales = "the calibrated scales";
  request.threads = o.threads;
  const SensitivityResult r = run_sensitivity(request);
  report.sensitivity_json = o.out_dir / "sensitivity.json";
  files.emplace_back(report.sensitivity_json, r.json.dump(2) + "\n");
  const auto& top = r.ranked.empty() ? nullptr : &r.ranked[0].result;
  report.accuracy_lines.push_back(
      "sensitivity: " + std::to_string(r.ranked.size()) + " tensors on " +
      std::to_string(r.run.samples) + " samples in " + format_value(r.run.seconds, 3) +
      " s; most sensitive: " +
      (top ? top->tensor + " (" + a.metric + " drop " + format_value(top->task_drop_pp, 3) +
                 " pp alone, output SQNR " + format_value(top->output_sqnr_db, 3) + " dB)"
           : std::string("-")));
  report.accuracy_json["sensitivity_seconds"] = r.run.seconds;
  return r.ranked;
}

eval::ReportTable accuracy_table(const AccuracyOptions& a, const Score& before) {
  eval::ReportTable t;
  t.title = "INT8 vs FP32 on the evaluation set (" + a.metric + ")";
  t.header = {"model", "float activations", "FP32", "INT8", "drop (pp)"};
  t.rows.push_back({"all quantized", "0", format_value(before.fp32, 6),
                    format_value(before.int8, 6), format_value(before.drop, 4)});
  return t;
}

void close_accuracy_table(const AccuracyOptions& a, const Evaluator& evaluator,
                          eval::ReportTable& t) {
  t.note += (t.note.empty() ? "" : " ") + std::string("Reference: ") + reference_text(evaluator) +
            ", " + std::to_string(evaluator.samples()) + " samples of " +
            a.eval_data->data.string() +
            (a.eval_data_is_calibration_data ? " (calibration data)." : ".");
}

// The verdict on the model calibrate writes (the mixed-precision one when --max-drop built it).
eval::ReportVerdict measured_verdict(const AccuracyInputs& in, const Evaluator& evaluator,
                                     const Score& final_score,
                                     const std::vector<eval::RankedTensor>& ranked) {
  const AccuracyOptions& a = in.options->accuracy;
  eval::VerdictInputs v;
  v.metric = a.metric;
  v.drop_pp = final_score.drop;
  v.max_drop_pp = a.max_drop.value_or(eval::kDefaultMaxDropPp);
  v.samples = evaluator.samples();
  v.no_noise_reason =
      "calibrate does not bootstrap its evaluation (qcal eval --labels measures the interval)";
  v.worst_output = final_score.worst_output;
  v.worst_output_cosine = final_score.worst_output_cosine;
  v.worst_output_sqnr_db = final_score.worst_output_sqnr_db;
  v.sensitivity = ranked;
  v.no_sensitivity_hint = "run with --sensitivity or --max-drop to name it";
  if (a.eval_data_is_calibration_data) {
    v.warnings.push_back(
        "the evaluation data is the calibration data, so the drop is optimistic: pass "
        "--eval-data with held-out samples (qcal select --holdout)");
  }
  for (const auto& w : in.report->warnings) v.warnings.push_back(w);
  return eval::make_verdict(v);
}

// Without evaluation data there is no drop to judge: the verdict says so and names the tensor
// int8 represents worst by its histogram (the first of the worst-first histograms).
eval::ReportVerdict unmeasured_verdict(const eval::ReportData& rd) {
  eval::ReportVerdict v;
  v.state = eval::ReportVerdict::State::kNotMeasured;
  v.headline =
      "NOT MEASURED: calibrate measured no accuracy; run qcal eval on held-out data (or "
      "calibrate --max-drop / --sensitivity with --eval-data)";
  if (!rd.histograms.empty()) {
    v.details.push_back("Worst tensor by its histogram: " + rd.histograms.front().tensor + " (" +
                        rd.histograms.front().subtitle + ").");
  }
  return v;
}

}  // namespace

AccuracyOutputs run_accuracy(const AccuracyInputs& in) {
  const AccuracyOptions& a = in.options->accuracy;
  AccuracyOutputs out;
  eval::ReportData rd = calibrate_report_data(in);
  std::vector<std::string> hist_order = in.default_build->qdq_tensors;
  if (needs_eval_data(a)) {
    if (!a.eval_data) {
      throw Error(ErrorCode::kInvalidArgument,
                  "sensitivity, --max-drop and --saturation evaluate the model: give --eval-data "
                  "(calibration data cannot be reused with --from-stats or a DX-COM config)");
    }
    Evaluator evaluator(*in.model, *in.options);
    const Score before = score_default(in, evaluator, rd);
    if (a.sensitivity || a.max_drop) {
      rd.sensitivity = rank_tensors(in, out.files);
      hist_order.clear();
      for (const auto& r : rd.sensitivity) hist_order.push_back(r.result.tensor);
    }
    eval::ReportTable table = accuracy_table(a, before);
    Score final_score = before;
    if (a.max_drop) {
      MixedPrecision mp = search_mixed_precision(in, hist_order, evaluator, before);
      record_mixed_precision(in, mp, before, out.files, table);
      if (mp.final_build) final_score = mp.after;
      out.final_build = std::move(mp.final_build);
    }
    close_accuracy_table(a, evaluator, table);
    rd.accuracy.push_back(table);
    if (a.saturation) measure_saturation(in, evaluator, before, out.files, rd);
    rd.verdict = measured_verdict(in, evaluator, final_score, rd.sensitivity);
  }
  add_histograms(rd, hist_order, !rd.sensitivity.empty(), in);
  if (!rd.verdict) rd.verdict = unmeasured_verdict(rd);
  if (a.report) {
    in.report->report_html = in.options->out_dir / "report.html";
    out.files.emplace_back(in.report->report_html, eval::render_report_html(rd));
  }
  return out;
}

}  // namespace qcal::quantize
