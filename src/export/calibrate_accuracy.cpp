// calibrate's accuracy work: candidate QDQ models evaluated against a cached FP32 run in qcal's
// engine (eval::run_eval, so the metrics are exactly `qcal eval`'s), sensitivity through
// eval::measure_sensitivity, greedy mixed precision, the saturation curve, and report.html.
#include "export/calibrate_accuracy.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "engine/model.hpp"
#include "eval/evaluate.hpp"
#include "eval/report.hpp"
#include "eval/samples.hpp"
#include "eval/sensitivity_run.hpp"

namespace qcal::exporter {

eval::ActivationQuant activation_quant(const calib::QuantParams& p, bool uint8) {
  eval::ActivationQuant q;
  q.scale = p.scale;
  q.zero_point = p.zero_point;
  if (uint8) {
    q.qmin = 0;
    q.qmax = 255;
  }
  return q;
}

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
  if (o.eval_samples == 0)
    throw Error(ErrorCode::kInvalidArgument, "--eval-samples must be at least 1");
  if (!o.labels.empty() && o.metric != "map50-95") {
    throw Error(ErrorCode::kInvalidArgument, "--labels applies to --metric map50-95");
  }
}

bool needs_eval_data(const AccuracyOptions& o) {
  return o.sensitivity || o.max_drop.has_value() || o.saturation;
}

QdqBuilder::QdqBuilder(const std::string& model_bytes, std::string what, PlacementOptions placement,
                       ActivationType activations, RangeRuleOptions rules)
    : model_bytes_(model_bytes),
      what_(std::move(what)),
      placement_(std::move(placement)),
      activations_(activations),
      rules_(rules),
      graph_(read_graph_view(model_bytes, what_)) {}

QdqBuild QdqBuilder::build(const std::vector<std::string>& extra_exclude,
                           const std::map<std::string, calib::TensorStats>& stats,
                           const std::map<std::string, calib::Range>& ranges) const {
  PlacementOptions placement = placement_;
  placement.exclude.insert(placement.exclude.end(), extra_exclude.begin(), extra_exclude.end());
  QdqBuild b;
  b.plan = plan_qdq(graph_, placement);
  b.warnings = b.plan.warnings;
  b.ranges = ranges;
  b.rule_changes = apply_range_rules(graph_, b.plan, stats, b.ranges, rules_);
  const auto params = params_from_ranges(b.ranges, activations_);
  for (auto it = b.plan.activations.begin(); it != b.plan.activations.end();) {
    if (!params.count(it->first)) {
      b.warnings.push_back("no statistics for '" + it->first + "'; it stays float");
      it = b.plan.activations.erase(it);
    } else {
      b.qdq_tensors.push_back(it->first);
      ++it;
    }
  }
  b.qdq = write_qdq_model(model_bytes_, what_, b.plan, params, activations_);
  b.warnings.insert(b.warnings.end(), b.qdq.warnings.begin(), b.qdq.warnings.end());
  return b;
}

std::map<std::string, calib::QuantParams> params_from_ranges(
    const std::map<std::string, calib::Range>& ranges, ActivationType activations) {
  std::map<std::string, calib::QuantParams> params;
  for (const auto& [name, r] : ranges) {
    params[name] = activations == ActivationType::kUInt8Asymmetric
                       ? calib::asymmetric_uint8(r.min, r.max)
                       : calib::symmetric_int8(r.amax);
  }
  return params;
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

namespace {

using nlohmann::json;

// One evaluated model on the evaluation set.
struct Score {
  double fp32 = 0.0;
  double int8 = 0.0;
  double drop = 0.0;  // percentage points, positive = worse
};

json score_json(const Score& s) {
  return {{"fp32", eval::json_number(s.fp32)},
          {"int8", eval::json_number(s.int8)},
          {"drop", eval::json_number(s.drop)}};
}

// Evaluates candidate QDQ models against the FP32 model, whose outputs are computed once.
class Evaluator {
 public:
  explicit Evaluator(const CalibrateOptions& o) : o_(o) {
    const AccuracyOptions& a = o.accuracy;
    eo_.fp32_model = o.model_path;
    eo_.int8_model = "candidate.qdq.onnx";
    eo_.data = a.eval_data;
    eo_.recipe = a.eval_recipe;
    eo_.labels = a.labels;
    eo_.task = a.metric == "map50-95" ? eval::Task::kYolo : eval::Task::kRaw;
    eo_.threads = o.threads;
    eo_.limit = a.eval_samples;
    eo_.thumbnails = 0;
    key_ = a.metric == "map50-95" ? "map50_95" : "cosine";
    fp32_ = std::make_unique<eval::CachingRunner>(
        eval::make_qcal_runner(o.model_path, {.threads = o.threads}));
  }

  Score evaluate(const std::string& qdq_bytes) {
    auto int8 = eval::make_qcal_runner_from_bytes(qdq_bytes, o_.model_path.parent_path(),
                                                  {.threads = o_.threads});
    const eval::EvalResult r = eval::run_eval(eo_, *fp32_, *int8);
    samples_ = r.samples;
    reference_ = r.reference;
    for (const auto& m : r.metrics) {
      if (m.key != key_) continue;
      Score s;
      s.fp32 = m.fp32.value_or(std::nan(""));
      s.int8 = m.int8;
      s.drop = m.drop_pp().value_or(std::nan(""));
      if (std::isnan(s.drop)) {
        throw Error(ErrorCode::kInvalidArgument,
                    "the metric " + o_.accuracy.metric +
                        " is undefined on the evaluation data (no reference objects: the FP32 "
                        "model detects nothing above the reference score; give more or other "
                        "--eval-data, or --metric cosine)")
            .with("data", o_.accuracy.eval_data.string());
      }
      ++evaluations_;
      return s;
    }
    throw Error(ErrorCode::kInternal, "evaluation did not report " + key_);
  }

  std::size_t samples() const { return samples_; }
  std::size_t evaluations() const { return evaluations_; }
  const std::string& reference() const { return reference_; }

 private:
  const CalibrateOptions& o_;
  eval::EvalOptions eo_;
  std::string key_;
  std::unique_ptr<eval::CachingRunner> fp32_;
  std::size_t samples_ = 0, evaluations_ = 0;
  std::string reference_;
};

std::vector<std::vector<Tensor>> load_inputs(const CalibrateOptions& o,
                                             const engine::Model& model) {
  const AccuracyOptions& a = o.accuracy;
  auto source = eval::open_samples(a.eval_data, a.eval_recipe, model, a.eval_samples);
  std::vector<std::vector<Tensor>> samples;
  for (std::size_t i = 0; i < source->size(); ++i) {
    eval::EvalSample s = source->get(i, false);
    std::vector<Tensor> ins;
    for (const auto& in : model.inputs()) ins.push_back(s.inputs.at(in.name));
    samples.push_back(std::move(ins));
  }
  if (samples.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "the evaluation data holds no samples")
        .with("data", a.eval_data.string());
  }
  return samples;
}

std::vector<eval::ReportThumbnail> load_thumbnails(const CalibrateOptions& o,
                                                   const engine::Model& model) {
  const AccuracyOptions& a = o.accuracy;
  std::vector<eval::ReportThumbnail> out;
  auto source = eval::open_samples(a.eval_data, a.eval_recipe, model, a.thumbnails);
  for (std::size_t i = 0; i < source->size(); ++i) {
    eval::EvalSample s = source->get(i, true);
    eval::ReportThumbnail t;
    t.caption = s.name;
    if (!s.source.pixels.empty()) t.before = eval::make_thumbnail(s.source, 160);
    const Tensor& in = s.inputs.begin()->second;
    const auto& sh = in.shape();
    if (in.dtype() == DType::kFloat32 && sh.size() == 4 && sh[0] == 1 &&
        (sh[1] == 1 || sh[1] == 3)) {
      t.after = eval::make_thumbnail(eval::image_from_chw(in.view()), 160);
    }
    if (!t.before.pixels.empty() || !t.after.pixels.empty()) out.push_back(std::move(t));
  }
  return out;
}

// The |x| histogram trimmed after its last non-empty bin and summed into at most 64 bars.
std::optional<eval::ReportHistogram> report_histogram(const std::string& name,
                                                      const calib::TensorStats& st,
                                                      const calib::Range& r, bool uint8) {
  if (!st.histogram() || !st.histogram()->has_range()) return std::nullopt;
  const auto counts = st.histogram()->counts();
  std::size_t used = counts.size();
  while (used > 1 && counts[used - 1] == 0) --used;
  const std::size_t bars = std::min<std::size_t>(64, used);
  const std::size_t per = (used + bars - 1) / bars;
  eval::ReportHistogram h;
  h.tensor = name;
  h.lo = 0.0;
  h.hi = st.histogram()->bin_width() * static_cast<double>(per * ((used + per - 1) / per));
  for (std::size_t b = 0; b < used; b += per) {
    double c = 0;
    for (std::size_t k = b; k < std::min(used, b + per); ++k) c += static_cast<double>(counts[k]);
    h.counts.push_back(c);
  }
  h.markers.push_back({"amax", r.amax});
  if (uint8) h.markers.push_back({"|min|", -r.min});
  h.markers.push_back({"absmax", st.absmax()});
  return h;
}

std::string file_lines(const std::vector<std::string>& header,
                       const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& h : header) s += "# " + h + "\n";
  for (const auto& l : lines) s += l + "\n";
  return s;
}

std::string fmt(double v, int digits = 4) { return eval::format_number(v, digits); }

}  // namespace

AccuracyOutputs run_accuracy(const AccuracyInputs& in) {
  const CalibrateOptions& o = *in.options;
  const AccuracyOptions& a = o.accuracy;
  CalibrateReport& report = *in.report;
  AccuracyOutputs out;
  const bool uint8 = o.activations == ActivationType::kUInt8Asymmetric;
  const auto model = engine::Model::load(o.model_path, engine::LoadOptions{.check_ops = false});

  eval::ReportData rd;
  rd.title = "qcal calibrate: " + o.model_path.filename().string();
  rd.command = a.command_line;
  rd.parameters = {
      {"model", o.model_path.string()},
      {"method", std::string(calib::method_name(o.select.method))},
      {"samples", std::to_string(report.samples)},
      {"data", in.stats->provenance().data_description},
      {"activations", uint8 ? "uint8 asymmetric" : "int8 symmetric"},
      {"weights", o.per_channel ? "int8 per channel" : "int8 per tensor"},
      {"Q/DQ pairs on activations", std::to_string(in.default_build->qdq.activation_pairs)},
      {"int8 weights", std::to_string(in.default_build->qdq.weights)},
      {"quantizable nodes kept float", std::to_string(in.default_build->plan.float_nodes.size())}};
  if (o.dominant_noise.enabled) {
    // Rule 1c's outcome (docs/quantization.md, "Dominant noise").
    std::string kept;
    for (const auto& n : report.dominant_noise) {
      kept += (kept.empty() ? "" : ", ") + n.tensor + " (" +
              std::to_string(static_cast<int>(std::lround(n.share * 100.0))) +
              "% of the output noise)";
    }
    rd.parameters.push_back(
        {"kept float by the dominant-noise rule (" + fmt(o.dominant_noise.gain_db) + " dB)",
         kept.empty() ? std::string("none") : kept});
  }
  if (!o.exclude.empty()) {
    std::string e;
    for (const auto& x : o.exclude) e += (e.empty() ? "" : ", ") + x;
    rd.parameters.push_back({"--exclude", e});
  }
  for (const auto& w : report.warnings) rd.notes.push_back("warning: " + w);
  if (!a.eval_data.empty()) {
    rd.parameters.push_back(
        {"evaluation data",
         a.eval_data.string() +
             (a.eval_data_is_calibration_data
                  ? " (the calibration data: pass --eval-data for held-out samples)"
                  : "")});
    try {
      rd.thumbnails = load_thumbnails(o, model);
    } catch (const Error& e) {
      rd.notes.push_back(std::string("no thumbnails: ") + e.what());
    }
  }

  std::vector<std::string> hist_order = in.default_build->qdq_tensors;
  std::optional<Score> before, after;
  std::unique_ptr<Evaluator> evaluator;
  if (needs_eval_data(a)) {
    if (a.eval_data.empty()) {
      throw Error(ErrorCode::kInvalidArgument,
                  "sensitivity, --max-drop and --saturation evaluate the model: give --eval-data "
                  "(calibration data cannot be reused with --from-stats or a DX-COM config)");
    }
    rd.parameters.push_back({"metric", a.metric});
    evaluator = std::make_unique<Evaluator>(o);
    before = evaluator->evaluate(in.default_build->qdq.model_bytes);
    rd.parameters.push_back({"evaluation samples", std::to_string(evaluator->samples())});
    rd.parameters.push_back({"metric reference", evaluator->reference() == "labels"
                                                     ? "labels"
                                                     : "the FP32 model's outputs"});
    report.accuracy_lines.push_back("accuracy (" + a.metric + ", " +
                                    std::to_string(evaluator->samples()) + " eval samples, vs " +
                                    (evaluator->reference() == "labels" ? "labels" : "FP32") +
                                    "): FP32 " + fmt(before->fp32) + ", INT8 " + fmt(before->int8) +
                                    ", drop " + fmt(before->drop, 3) + " pp");
    report.accuracy_json["metric"] = a.metric;
    report.accuracy_json["eval_samples"] = evaluator->samples();
    report.accuracy_json["reference"] = evaluator->reference();
    report.accuracy_json["int8"] = score_json(*before);
  }

  // --- Sensitivity (also the ranking mixed precision follows).
  std::vector<eval::RankedTensor> ranked;
  if (a.sensitivity || a.max_drop) {
    const auto params = params_from_ranges(in.default_build->ranges, o.activations);
    std::map<std::string, eval::ActivationQuant> quant;
    for (const auto& t : in.default_build->qdq_tensors) {
      quant[t] = activation_quant(params.at(t), uint8);
    }
    const auto samples = load_inputs(o, model);
    eval::TaskDropScorer scorer(a.metric == "map50-95" ? eval::TaskDropScorer::Kind::kYoloMap
                                                       : eval::TaskDropScorer::Kind::kWorstCosine);
    eval::SensitivityRunOptions so;
    so.threads = o.threads;
    so.on_outputs = [&](const std::string& tensor, std::size_t sample,
                        const std::vector<Tensor>& ref,
                        const std::vector<Tensor>& test) { scorer.add(tensor, sample, ref, test); };
    eval::SensitivityRun run = eval::measure_sensitivity(o.model_path, quant, samples, so);
    for (auto& t : run.tensors) t.task_drop_pp = scorer.drop(t.tensor);
    ranked = eval::rank_sensitivity(run.tensors);
    json j = eval::sensitivity_to_json(ranked);
    j["format"] = "qcal.sensitivity/1";
    j["model"] = o.model_path.string();
    j["samples"] = run.samples;
    j["engine_runs"] = run.runs;
    j["all_activations_output_sqnr_db"] = eval::json_number(run.all_output_sqnr_db);
    j["all_activations_output_cosine"] = eval::json_number(run.all_output_cosine);
    j["all_activations_task_drop_pp"] = eval::json_number(scorer.drop(""));
    j["task_metric"] = a.metric;
    j["skipped"] = run.skipped;
    j["note"] =
        "activations fake-quantized in qcal's engine with the calibrated scales; weights float";
    report.sensitivity_json = o.out_dir / "sensitivity.json";
    out.files.emplace_back(report.sensitivity_json, j.dump(2) + "\n");
    rd.sensitivity = ranked;
    hist_order.clear();
    for (const auto& r : ranked) hist_order.push_back(r.result.tensor);
    report.accuracy_lines.push_back(
        "sensitivity: " + std::to_string(ranked.size()) + " tensors on " +
        std::to_string(run.samples) + " samples in " + fmt(run.seconds, 3) +
        " s; most sensitive: " +
        (ranked.empty() ? std::string("-")
                        : ranked[0].result.tensor + " (" + a.metric + " drop " +
                              fmt(ranked[0].result.task_drop_pp, 3) + " pp alone, output SQNR " +
                              fmt(ranked[0].result.output_sqnr_db, 3) + " dB)"));
    report.accuracy_json["sensitivity_seconds"] = run.seconds;
  }

  eval::ReportTable acc;
  if (before) {
    acc.title = "INT8 vs FP32 on the evaluation set (" + a.metric + ")";
    acc.header = {"model", "float activations", "FP32", "INT8", "drop (pp)"};
    acc.rows.push_back(
        {"all quantized", "0", fmt(before->fp32, 6), fmt(before->int8, 6), fmt(before->drop, 4)});
  }

  // --- Automatic mixed precision: the most sensitive tensors' consumers stay float, greedily
  // by rank, until the drop is within budget. Candidates k = 1, 2, 4, ... then bisection: the
  // smallest k that meets the budget among those evaluated (drop is close to monotone in k).
  if (a.max_drop) {
    const double budget = *a.max_drop;
    const auto& graph = in.builder->graph();
    std::vector<std::string> order;
    for (const auto& r : ranked) order.push_back(r.result.tensor);
    auto nodes_for = [&](std::size_t k) {
      std::vector<std::string> names;
      std::set<std::string> seen;
      for (std::size_t i = 0; i < k; ++i) {
        auto it = in.default_build->plan.activations.find(order[i]);
        if (it == in.default_build->plan.activations.end()) continue;
        for (const auto& use : it->second) {
          const std::string& n = graph.nodes[use.node].name;
          if (!n.empty() && seen.insert(n).second) names.push_back(n);
        }
      }
      return names;
    };
    json steps = json::array();
    std::map<std::size_t, std::pair<Score, QdqBuild>> tried;
    auto try_k = [&](std::size_t k) -> const Score& {
      auto it = tried.find(k);
      if (it != tried.end()) return it->second.first;
      QdqBuild b = in.builder->build(nodes_for(k), in.stats->tensors(), *in.raw_ranges);
      const Score s = evaluator->evaluate(b.qdq.model_bytes);
      const std::size_t floated = in.default_build->qdq_tensors.size() - b.qdq_tensors.size();
      steps.push_back({{"tensors_kept_float_by_rank", k},
                       {"activations_without_qdq", floated},
                       {"int8", eval::json_number(s.int8)},
                       {"drop", eval::json_number(s.drop)}});
      return tried.emplace(k, std::make_pair(s, std::move(b))).first->second.first;
    };
    std::size_t chosen = 0;
    bool met = before->drop <= budget;
    if (!met) {
      std::size_t lo = 0, hi = 0;  // lo fails; hi meets the budget (when found)
      std::size_t k = 1;
      while (true) {
        k = std::min(k, order.size());
        if (try_k(k).drop <= budget) {
          hi = k;
          met = true;
          break;
        }
        lo = k;
        if (k == order.size()) break;
        k *= 2;
      }
      if (met) {
        while (hi - lo > 1) {
          const std::size_t mid = lo + (hi - lo) / 2;
          if (try_k(mid).drop <= budget)
            hi = mid;
          else
            lo = mid;
        }
        chosen = hi;
      } else {
        chosen = order.size();
      }
    }
    const std::vector<std::string> excluded = nodes_for(chosen);
    Score final_score = *before;
    if (chosen > 0) {
      auto& [s, b] = tried.at(chosen);
      final_score = s;
      out.final_build = std::move(b);
    }
    after = final_score;
    const std::size_t floated =
        out.final_build ? in.default_build->qdq_tensors.size() - out.final_build->qdq_tensors.size()
                        : 0;
    std::vector<std::string> float_tensors;
    if (out.final_build) {
      const std::set<std::string> kept(out.final_build->qdq_tensors.begin(),
                                       out.final_build->qdq_tensors.end());
      for (const auto& t : in.default_build->qdq_tensors) {
        if (!kept.count(t)) float_tensors.push_back(t);
      }
    }
    // The file lists every node the final model keeps float beyond rules 1 to 4: the
    // dominant-noise rule's (measured on the quantized set, which --exclude would change) and
    // the search's, so that --exclude @FILE --dominant-noise off rebuilds the model exactly.
    std::vector<std::string> rule_nodes, listed;
    for (const auto& [node, why] : in.builder->kept_float()) rule_nodes.push_back(node);
    listed = rule_nodes;
    for (const auto& n : excluded) {
      if (std::find(rule_nodes.begin(), rule_nodes.end(), n) == rule_nodes.end())
        listed.push_back(n);
    }
    report.exclude_list = o.out_dir / "mixed_precision.exclude.txt";
    out.files.emplace_back(
        report.exclude_list,
        file_lines({"qcal calibrate --max-drop " + fmt(budget) + " --metric " + a.metric +
                        ": nodes kept float (rebuild with --exclude @" +
                        report.exclude_list.filename().string() + " --dominant-noise off)",
                    "one node name per line, matched exactly"},
                   listed));
    json mp = {{"format", "qcal.mixed_precision/1"},
               {"metric", a.metric},
               {"max_drop", budget},
               {"eval_samples", evaluator->samples()},
               {"reference", evaluator->reference()},
               {"within_budget", met},
               {"before", score_json(*before)},
               {"after", score_json(final_score)},
               {"tensors_kept_float_by_rank", chosen},
               {"activations_without_qdq", floated},
               {"float_tensors", float_tensors},
               {"excluded_nodes", excluded},
               {"dominant_noise_nodes", rule_nodes},
               {"exclude_file", report.exclude_list.filename().string()},
               {"evaluations", steps},
               {"rule",
                "most sensitive first (sensitivity.json); candidates 1, 2, 4, ... tensors, then "
                "bisection to the fewest that meet the budget"}};
    report.mixed_precision_json = o.out_dir / "mixed_precision.json";
    out.files.emplace_back(report.mixed_precision_json, mp.dump(2) + "\n");
    report.accuracy_lines.push_back(
        "mixed precision (--max-drop " + fmt(budget) + "): " + std::to_string(floated) + " of " +
        std::to_string(in.default_build->qdq_tensors.size()) + " activations stay float (" +
        std::to_string(excluded.size()) + " nodes excluded), drop " + fmt(before->drop, 3) +
        " -> " + fmt(final_score.drop, 3) + " pp" + (met ? "" : " (budget NOT met)"));
    if (!met) {
      report.warnings.push_back("--max-drop " + fmt(budget) +
                                " was not met even with every ranked tensor float (drop " +
                                fmt(final_score.drop, 3) + " pp)");
    }
    report.accuracy_json["mixed_precision"] = mp;
    acc.rows.push_back({"mixed precision (--max-drop " + fmt(budget) + ")", std::to_string(floated),
                        fmt(final_score.fp32, 6), fmt(final_score.int8, 6),
                        fmt(final_score.drop, 4)});
    acc.note = std::to_string(excluded.size()) + " nodes kept float, listed in " +
               report.exclude_list.filename().string() + (met ? "." : "; the budget was not met.");
  }
  if (before) {
    acc.note += (acc.note.empty() ? "" : " ") + std::string("Reference: ") +
                (evaluator->reference() == "labels" ? "labels" : "the FP32 model's outputs") +
                ", " + std::to_string(evaluator->samples()) + " samples of " +
                a.eval_data.string() +
                (a.eval_data_is_calibration_data ? " (calibration data)." : ".");
    rd.accuracy.push_back(acc);
  }

  // --- Saturation: ranges and accuracy of calibration-set prefixes.
  if (a.saturation) {
    const std::vector<std::string>& tensors = in.default_build->qdq_tensors;
    json steps = json::array();
    eval::ReportSeries amax_series{"mean |amax - amax_full| / amax_full (%)", {}};
    eval::ReportSeries metric_series{a.metric + " (INT8 vs " + evaluator->reference() + ")", {}};
    eval::ReportTable table;
    table.title = "Calibration set size";
    table.header = {"samples", "mean amax change (%)", "max amax change (%)", a.metric,
                    "drop (pp)"};
    for (const auto& [n, st] : *in.prefixes) {
      const bool full = n == report.samples;
      const auto ranges =
          full ? *in.raw_ranges : calib::select_ranges(st.tensors(), o.select, o.threads);
      double sum = 0, mx = 0;
      std::size_t count = 0;
      for (const auto& t : tensors) {
        const double ref = in.raw_ranges->at(t).amax;
        auto it = ranges.find(t);
        if (it == ranges.end() || !(ref > 0)) continue;
        const double rel = std::abs(static_cast<double>(it->second.amax) - ref) / ref;
        sum += rel;
        mx = std::max(mx, rel);
        ++count;
      }
      const double mean = count ? sum / static_cast<double>(count) : 0.0;
      const Score s =
          full ? *before
               : evaluator->evaluate(in.builder->build({}, st.tensors(), ranges).qdq.model_bytes);
      steps.push_back({{"samples", n},
                       {"mean_rel_amax_change", mean},
                       {"max_rel_amax_change", mx},
                       {"int8", eval::json_number(s.int8)},
                       {"drop", eval::json_number(s.drop)}});
      amax_series.points.push_back({static_cast<double>(n), 100.0 * mean});
      metric_series.points.push_back({static_cast<double>(n), s.int8});
      table.rows.push_back(
          {std::to_string(n), fmt(100 * mean), fmt(100 * mx), fmt(s.int8, 6), fmt(s.drop, 4)});
    }
    table.note =
        "Ranges of each prefix of the calibration set (statistics snapshotted while "
        "streaming, no extra inference) against the full set's; accuracy of the model "
        "quantized with that prefix's ranges on the evaluation set.";
    json sat = {{"format", "qcal.saturation/1"},
                {"metric", a.metric},
                {"method", std::string(calib::method_name(o.select.method))},
                {"eval_samples", evaluator->samples()},
                {"steps", steps}};
    report.saturation_json = o.out_dir / "saturation.json";
    out.files.emplace_back(report.saturation_json, sat.dump(2) + "\n");
    report.accuracy_json["saturation"] = sat;
    rd.saturation.push_back({"Ranges vs calibration set size",
                             "calibration samples",
                             "mean amax change vs full set (%)",
                             true,
                             {amax_series}});
    rd.saturation.push_back({"Accuracy vs calibration set size",
                             "calibration samples",
                             a.metric,
                             true,
                             {metric_series}});
    rd.accuracy.push_back(table);
    if (!steps.empty()) {
      report.accuracy_lines.push_back("saturation: " + std::to_string(steps.size()) +
                                      " prefixes measured (saturation.json)");
    }
  }

  // --- Histograms (most sensitive first when ranked, else by name).
  for (const auto& t : hist_order) {
    auto r = in.default_build->ranges.find(t);
    if (r == in.default_build->ranges.end() || !in.stats->has_tensor(t)) continue;
    if (auto h = report_histogram(t, in.stats->at(t), r->second, uint8))
      rd.histograms.push_back(std::move(*h));
  }
  if (rd.histograms.empty()) {
    rd.notes.push_back("No histograms: minmax/ema without --save-stats collects none.");
  }
  if (a.report) {
    report.report_html = o.out_dir / "report.html";
    out.files.emplace_back(report.report_html, eval::render_report_html(rd));
  }
  return out;
}

}  // namespace qcal::exporter
