// Text table and JSON outputs of the plan.
#include "plan/report.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "plan/text.hpp"

namespace qcal::plan {
namespace {

using Json = nlohmann::ordered_json;

std::string opt(const std::optional<double>& v, int decimals) {
  return v ? fixed(*v, decimals) : std::string("-");
}

std::string status_of(const Config& c) {
  if (c.chosen) return "CHOSEN";
  return c.feasible ? "ok" : "rejected";
}

}  // namespace

std::string format_plan_text(const Plan& plan, const ProfileSet& profiles,
                             std::size_t max_rejected_lines) {
  const std::vector<std::string> head = {"#",       "engine", "prec",    "batch",  "shape",
                                         "runs",    "p50 ms", "p90 ms",  "p99 ms", "FPS",
                                         "power W", "temp C", "drop pp", "status"};
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < plan.configs.size(); ++i) {
    const Config& c = plan.configs[i];
    std::string temp = opt(c.temp_median_c, 1);
    if (c.throttle.throttling) temp += " THROTTLING";
    rows.push_back({std::to_string(i + 1), c.engine_name.empty() ? "(unnamed)" : c.engine_name,
                    c.precision, std::to_string(c.batch),
                    c.shape.empty() ? "-" : format_shape(c.shape),
                    c.predicted ? "pred" : std::to_string(c.runs), fixed(c.latency_p50_ms, 2),
                    fixed(c.latency_p90_ms, 2), fixed(c.latency_p99_ms, 2), fixed(c.fps, 1),
                    opt(c.power_w, 2), temp, opt(c.drop_pp, 2), status_of(c)});
  }
  std::vector<std::size_t> width(head.size());
  for (std::size_t j = 0; j < head.size(); ++j) {
    width[j] = head[j].size();
    for (const auto& r : rows) width[j] = std::max(width[j], r[j].size());
  }
  // Text columns left-aligned, numbers right-aligned.
  auto left = [](std::size_t j) { return j == 1 || j == 2 || j == 4 || j == 13 || j == 11; };
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t j = 0; j < cells.size(); ++j) {
      std::string pad(width[j] - cells[j].size(), ' ');
      s += (j ? "  " : "") + (left(j) ? cells[j] + pad : pad + cells[j]);
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };

  std::string out;
  out += "qcal plan: " + std::to_string(profiles.runs.size()) + " usable runs of " +
         std::to_string(profiles.rows_read) + " rows, " + std::to_string(plan.configs.size()) +
         " configurations; objective " + objective_name(plan.options.objective) + "; latency " +
         latency_stat_name(plan.options.latency_stat) + "\n";
  std::string limits;
  const auto& o = plan.options;
  if (o.target_fps) limits += " target-fps " + fixed(*o.target_fps, 1);
  if (o.max_latency_ms) limits += ", max-latency-ms " + fixed(*o.max_latency_ms, 2);
  if (o.max_power_w) limits += ", max-power-w " + fixed(*o.max_power_w, 2);
  if (o.max_drop_pp) limits += ", max-drop " + fixed(*o.max_drop_pp, 2) + " pp";
  if (!limits.empty() && limits[0] == ',') limits.erase(0, 1);
  out += "constraints:" + (limits.empty() ? std::string(" none") : limits) + "\n\n";
  out += line(head);
  for (const auto& r : rows) out += line(r);
  out += "\n" + plan.summary + "\n";
  if (!plan.infeasible.empty()) {
    out += "\nwhat fails:\n";
    for (const auto& s : plan.infeasible) out += "  " + s + "\n";
  }
  out += "\nverdicts:\n";
  for (std::size_t i = 0; i < plan.configs.size(); ++i) {
    const Config& c = plan.configs[i];
    out += "  " + std::to_string(i + 1) + ". " + c.label() + ": " + c.verdict + "\n";
    if (c.checked_latency_note.rfind("thermal", 0) == 0 || c.predicted) {
      out += "     " + c.checked_latency_note + "\n";
    }
  }
  if (!plan.notes.empty()) {
    out += "\nnotes:\n";
    for (const auto& n : plan.notes) out += "  " + n + "\n";
  }
  if (!profiles.rejected.empty()) {
    out += "\nunusable rows: " + std::to_string(profiles.rejected.size()) + " of " +
           std::to_string(profiles.rows_read) + "\n";
    std::size_t shown = std::min(max_rejected_lines, profiles.rejected.size());
    for (std::size_t i = 0; i < shown; ++i) {
      const auto& r = profiles.rejected[i];
      out += "  " + r.file + ":" + std::to_string(r.line) + ": " + r.reason + "\n";
    }
    if (shown < profiles.rejected.size()) {
      out += "  ... and " + std::to_string(profiles.rejected.size() - shown) +
             " more (all listed with --json)\n";
    }
  }
  if (!profiles.warnings.empty()) {
    out += "\nwarnings:\n";
    for (const auto& w : profiles.warnings) out += "  " + w + "\n";
  }
  return out;
}

namespace {

Json optional_json(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

Json config_json(const Config& c) {
  Json j;
  j["engine_name"] = c.engine_name;
  j["precision"] = c.precision;
  j["batch"] = c.batch;
  j["shape"] = c.shape;
  j["model_key"] = c.model_key;
  j["measured"] = !c.predicted;
  if (c.prediction) {
    const Prediction& p = *c.prediction;
    j["prediction"] = {{"source_precision", p.source_precision},
                       {"latency_ratio", p.latency_ratio},
                       {"latency_ratio_min", p.ratio_min},
                       {"latency_ratio_max", p.ratio_max},
                       {"power_ratio", optional_json(p.power_ratio)},
                       {"pairs", p.pairs},
                       {"basis", p.basis}};
  } else {
    j["prediction"] = nullptr;
  }
  j["runs"] = c.runs;
  j["latency_ms"] = {{"min", c.latency_min_ms}, {"median", c.latency_p50_ms},
                     {"p90", c.latency_p90_ms}, {"p99", c.latency_p99_ms},
                     {"max", c.latency_max_ms}, {"mean", c.latency_mean_ms}};
  j["checked_latency_ms"] = c.checked_latency_ms;
  j["checked_latency_note"] = c.checked_latency_note;
  j["fps"] = c.fps;
  j["power_w"] = optional_json(c.power_w);
  j["power_runs"] = c.power_runs;
  j["temp_c"] = {{"median", optional_json(c.temp_median_c)}, {"max", optional_json(c.temp_max_c)}};
  j["engine_size_mb"] = optional_json(c.engine_size_mb);
  j["frame_sources"] = c.frame_sources;
  const Throttle& t = c.throttle;
  j["throttle"] = {{"checked", t.checked},
                   {"throttling", t.throttling},
                   {"runs_with_temp", t.runs_with_temp},
                   {"rho", optional_json(t.rho)},
                   {"temp_spread_c", optional_json(t.temp_spread_c)},
                   {"cool_latency_ms", optional_json(t.cool_latency_ms)},
                   {"hot_latency_ms", optional_json(t.hot_latency_ms)},
                   {"increase_pct", optional_json(t.increase_pct)},
                   {"note", t.note}};
  j["accuracy"] = {
      {"drop_pp", optional_json(c.drop_pp)}, {"source", c.drop_source}, {"metric", c.drop_metric}};
  Json checks = Json::array();
  for (const auto& k : c.checks) {
    checks.push_back({{"constraint", k.name},
                      {"pass", k.pass},
                      {"value", optional_json(k.value)},
                      {"limit", k.limit},
                      {"gap", optional_json(k.gap)},
                      {"gap_pct", optional_json(k.gap_pct)},
                      {"text", k.text}});
  }
  j["checks"] = checks;
  j["feasible"] = c.feasible;
  j["chosen"] = c.chosen;
  j["verdict"] = c.verdict;
  return j;
}

}  // namespace

std::string format_plan_json(const Plan& plan, const ProfileSet& profiles,
                             const AccuracyTable& accuracy) {
  Json j;
  j["format"] = "qcal.plan/1";
  const auto& o = plan.options;
  j["options"] = {{"target_fps", optional_json(o.target_fps)},
                  {"max_power_w", optional_json(o.max_power_w)},
                  {"max_latency_ms", optional_json(o.max_latency_ms)},
                  {"max_drop_pp", optional_json(o.max_drop_pp)},
                  {"objective", objective_name(o.objective)},
                  {"latency_stat", latency_stat_name(o.latency_stat)},
                  {"predict", o.predict},
                  {"assume_lossless", o.assume_lossless}};
  j["summary"] = plan.summary;
  if (plan.chosen) {
    j["chosen"] = *plan.chosen;
    j["chosen_is_prediction"] = plan.configs[*plan.chosen].predicted;
  } else {
    j["chosen"] = nullptr;
    j["chosen_is_prediction"] = false;
  }
  j["infeasible"] = plan.infeasible;
  Json configs = Json::array();
  for (const auto& c : plan.configs) configs.push_back(config_json(c));
  j["configurations"] = configs;
  j["notes"] = plan.notes;
  Json ev = Json::array();
  for (const auto& e : accuracy.evidence) {
    ev.push_back({{"file", e.file},
                  {"precision", e.precision},
                  {"reference_precision", e.reference_precision},
                  {"metric", e.metric},
                  {"drop_pp", e.drop_pp},
                  {"reference_value", optional_json(e.reference_value)},
                  {"value", optional_json(e.value)}});
  }
  j["accuracy_evidence"] = ev;
  Json inputs = Json::object();
  inputs["rows_read"] = profiles.rows_read;
  inputs["usable_runs"] = profiles.runs.size();
  Json rejected = Json::array();
  for (const auto& r : profiles.rejected) {
    rejected.push_back({{"file", r.file}, {"line", r.line}, {"reason", r.reason}});
  }
  inputs["unusable_rows"] = rejected;
  Json maps = Json::array();
  for (const auto& m : profiles.mappings) {
    maps.push_back({{"file", m.file},
                    {"latency", m.latency},
                    {"power", m.power},
                    {"temperature", m.temperature},
                    {"precision", m.precision},
                    {"batch", m.batch},
                    {"shape", m.shape},
                    {"name", m.name},
                    {"engine_size", m.size},
                    {"frame_source", m.source},
                    {"ignored", m.ignored}});
  }
  inputs["columns"] = maps;
  inputs["warnings"] = profiles.warnings;
  j["inputs"] = inputs;
  // Invalid UTF-8 in a CSV cell (a Latin-1 engine name) is replaced, not an exception.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace qcal::plan
