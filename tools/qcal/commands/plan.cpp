// `qcal plan`: choose the deployment precision from profiling CSVs (wiring only; src/plan works).
#include <iostream>
#include <map>

#include "commands/commands.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/output_paths.hpp"
#include "plan/accuracy.hpp"
#include "plan/planner.hpp"
#include "plan/profile.hpp"
#include "plan/report.hpp"

namespace qcal::cli {
namespace {

struct PlanCliOptions {
  CommonOptions common;
  std::vector<std::string> profiles;
  std::vector<std::string> accuracy;
  std::string metric;
  std::optional<double> target_fps, max_power_w, max_latency_ms, max_drop;
  std::string objective = "fps";
  std::string latency_stat = "median";
  std::vector<std::string> assume_lossless;
  bool no_predict = false;
  plan::ProfileColumns columns;
  std::string html;
};

int run_plan(const PlanCliOptions& o) {
  if (!o.html.empty()) {
    check_output_file(o.html, "--html");
    RunPaths paths;
    for (const auto& p : o.profiles) paths.input(p, "--profiles " + p);
    for (const auto& p : o.accuracy) paths.input(p, "--accuracy " + p);
    paths.output(o.html, "--html").check();
  }
  std::vector<std::filesystem::path> csvs(o.profiles.begin(), o.profiles.end());
  std::vector<std::filesystem::path> evals(o.accuracy.begin(), o.accuracy.end());
  plan::ProfileSet profiles = plan::load_profiles(csvs, o.columns);
  plan::AccuracyTable accuracy = plan::load_accuracy(evals, o.metric);

  plan::PlanOptions po;
  po.target_fps = o.target_fps;
  po.max_power_w = o.max_power_w;
  po.max_latency_ms = o.max_latency_ms;
  po.max_drop_pp = o.max_drop;
  static const std::map<std::string, plan::Objective> kObjectives = {
      {"fps", plan::Objective::kFps},
      {"power", plan::Objective::kPower},
      {"accuracy", plan::Objective::kAccuracy}};
  static const std::map<std::string, plan::LatencyStat> kStats = {
      {"median", plan::LatencyStat::kMedian},
      {"p90", plan::LatencyStat::kP90},
      {"p99", plan::LatencyStat::kP99}};
  po.objective = kObjectives.at(o.objective);
  po.latency_stat = kStats.at(o.latency_stat);
  po.predict = !o.no_predict;
  for (const auto& p : o.assume_lossless) {
    std::string canon = plan::canonical_precision(p);
    if (canon.empty()) throw_invalid("--assume-lossless '" + p + "' is not a precision name");
    po.assume_lossless.push_back(canon);
  }

  plan::Plan result = plan::make_plan(profiles, accuracy, po);
  if (!o.html.empty()) {
    write_file_atomic(o.html, plan::format_plan_html(result, profiles));
  }
  if (o.common.json) {
    std::cout << plan::format_plan_json(result, profiles, accuracy);
  } else {
    std::cout << plan::format_plan_text(result, profiles);
  }
  if (!o.common.quiet) {
    if (!profiles.rejected.empty()) {
      std::cerr << "qcal plan: " << profiles.rejected.size() << " of " << profiles.rows_read
                << " rows were unusable (each is listed with its file, line and reason)\n";
    }
    if (!o.html.empty()) std::cerr << "qcal plan: wrote " << o.html << "\n";
  }
  return result.chosen ? kExitOk : kExitPartial;
}

}  // namespace

Runner register_plan(CLI::App& app) {
  auto o = std::make_shared<PlanCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "plan",
      "Choose the deployment precision (engine configuration) from profiling CSVs under FPS, "
      "latency, power and accuracy limits. Exit 3 when no configuration qualifies.");
  cmd->add_option("--profiles,-p", o->profiles,
                  "Profiling CSV files (columns such as trt_latency_ms, power_mW, gpu_temp_C, "
                  "engine_precision, engine_batch, engine_shape, engine_name)")
      ->required()
      ->expected(1, -1);
  cmd->add_option("--target-fps", o->target_fps, "Minimum frames per second (batch / latency)");
  cmd->add_option("--max-power-w", o->max_power_w, "Maximum median power in watts");
  cmd->add_option("--max-latency-ms", o->max_latency_ms, "Maximum latency per inference in ms");
  cmd->add_option("--accuracy", o->accuracy, "qcal eval JSON files (accuracy per precision)")
      ->expected(1, -1);
  cmd->add_option("--max-drop", o->max_drop,
                  "Maximum accuracy drop against FP32, in percentage points of the metric");
  cmd->add_option("--metric", o->metric,
                  "Metric of the eval files to use (default: their primary)");
  cmd->add_option("--objective", o->objective, "What to optimise among qualifying configurations")
      ->check(CLI::IsMember({"fps", "power", "accuracy"}))
      ->capture_default_str();
  cmd->add_option("--latency-stat", o->latency_stat,
                  "Latency statistic the FPS and latency limits are checked on")
      ->check(CLI::IsMember({"median", "p90", "p99"}))
      ->capture_default_str();
  cmd->add_option("--assume-lossless", o->assume_lossless,
                  "Precisions taken as 0 drop when no eval file covers them (e.g. fp16)")
      ->expected(1, -1);
  cmd->add_flag("--no-predict", o->no_predict, "Do not predict precisions that were not profiled");
  cmd->add_option("--latency-column", o->columns.latency,
                  "Latency column (default: found by name)");
  cmd->add_option("--power-column", o->columns.power, "Power column (default: found by name)");
  cmd->add_option("--temp-column", o->columns.temperature,
                  "Temperature column (default: found by name)");
  cmd->add_option("-o,--output,--html", o->html,
                  "Write a self-contained HTML report with the chart to FILE");
  add_json_flag(cmd, o->common);
  add_quiet_flag(cmd, o->common);
  return [o] { return run_plan(*o); };
}

}  // namespace qcal::cli
