// Precision planner: grouping, statistics, throttling, predictions, constraints, choice.
#include "plan/planner.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "core/error.hpp"
#include "plan/predict.hpp"
#include "plan/stats.hpp"
#include "plan/text.hpp"

namespace qcal::plan {

const char* objective_name(Objective o) {
  switch (o) {
    case Objective::kFps:
      return "fps";
    case Objective::kPower:
      return "power";
    case Objective::kAccuracy:
      return "accuracy";
  }
  return "fps";
}

const char* latency_stat_name(LatencyStat s) {
  switch (s) {
    case LatencyStat::kMedian:
      return "median";
    case LatencyStat::kP90:
      return "p90";
    case LatencyStat::kP99:
      return "p99";
  }
  return "median";
}

std::string Config::label() const {
  std::string s = engine_name.empty() ? "(unnamed)" : engine_name;
  s += " " + precision + " b" + std::to_string(batch);
  if (!shape.empty()) s += " " + format_shape(shape);
  if (predicted) s += " [predicted]";
  return s;
}

std::string model_key_of(const std::string& engine_name) {
  std::string out, token;
  auto flush = [&](char sep) {
    std::string canon = canonical_precision(token);
    bool is_precision = !token.empty() && is_known_precision(canon) && canon != "mixed";
    if (!is_precision && !token.empty()) {
      if (!out.empty()) out.push_back(sep);
      out += token;
    }
    token.clear();
  };
  char last_sep = '_';
  for (char c : engine_name) {
    if (c == '_' || c == '-' || c == '.' || c == ' ') {
      flush(last_sep);
      last_sep = c;
    } else {
      token.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  flush(last_sep);
  return out;
}

namespace {

using Key = std::tuple<std::string, std::string, std::int64_t, std::vector<std::int64_t>>;

// Stable display order: model, precision rank, precision name, batch, shape, engine name.
bool config_less(const Config& a, const Config& b) {
  auto ka = std::make_tuple(a.predicted, a.model_key, precision_rank(a.precision), a.precision,
                            a.batch, a.shape, a.engine_name);
  auto kb = std::make_tuple(b.predicted, b.model_key, precision_rank(b.precision), b.precision,
                            b.batch, b.shape, b.engine_name);
  return ka < kb;
}

double stat_latency(const Config& c, LatencyStat s) {
  switch (s) {
    case LatencyStat::kMedian:
      return c.latency_p50_ms;
    case LatencyStat::kP90:
      return c.latency_p90_ms;
    case LatencyStat::kP99:
      return c.latency_p99_ms;
  }
  return c.latency_p50_ms;
}

Throttle detect_throttle(const std::vector<const ProfileRun*>& runs) {
  Throttle t;
  std::vector<std::pair<double, double>> pts;  // (temperature, latency), CSV order
  for (const ProfileRun* r : runs) {
    if (r->temp_c) pts.emplace_back(*r->temp_c, r->latency_ms);
  }
  t.runs_with_temp = pts.size();
  if (pts.size() < kThrottleMinRuns) {
    t.note = pts.empty()
                 ? "no temperature column or values"
                 : "not checked: " + std::to_string(pts.size()) +
                       " runs with a temperature (needs " + std::to_string(kThrottleMinRuns) + ")";
    return t;
  }
  auto [mn, mx] = std::minmax_element(pts.begin(), pts.end());
  t.temp_spread_c = mx->first - mn->first;
  if (*t.temp_spread_c < kThrottleMinSpreadC) {
    t.note = "not checked: temperature spans only " + fixed(*t.temp_spread_c, 1) + " C (needs " +
             fixed(kThrottleMinSpreadC, 1) + ")";
    return t;
  }
  t.checked = true;
  std::vector<double> temps, lats;
  for (const auto& [temp, lat] : pts) {
    temps.push_back(temp);
    lats.push_back(lat);
  }
  t.rho = spearman(temps, lats);
  std::stable_sort(pts.begin(), pts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::size_t third = pts.size() / 3;
  std::vector<double> cool, hot;
  for (std::size_t i = 0; i < third; ++i) {
    cool.push_back(pts[i].second);
    hot.push_back(pts[pts.size() - 1 - i].second);
  }
  t.cool_latency_ms = median(cool);
  t.hot_latency_ms = median(hot);
  t.increase_pct = (*t.hot_latency_ms - *t.cool_latency_ms) / *t.cool_latency_ms * 100.0;
  t.throttling = t.rho && *t.rho >= kThrottleMinRho && *t.increase_pct >= kThrottleMinIncreasePct;
  t.note = std::string(t.throttling ? "THROTTLING: " : "no throttling: ") + "rho(temp, latency) " +
           (t.rho ? fixed(*t.rho, 2) : std::string("n/a")) + ", hottest third " +
           fixed(*t.hot_latency_ms, 2) + " ms vs coolest third " + fixed(*t.cool_latency_ms, 2) +
           " ms (" + (*t.increase_pct >= 0 ? "+" : "") + fixed(*t.increase_pct, 1) + "%)";
  return t;
}

Config summarise(const std::vector<const ProfileRun*>& runs) {
  const ProfileRun& first = *runs.front();
  Config c;
  c.engine_name = first.engine_name;
  c.precision = first.precision;
  c.batch = first.batch;
  c.shape = first.shape;
  c.model_key = model_key_of(first.engine_name);
  c.runs = runs.size();
  std::vector<double> lat, power, temp, size;
  std::set<std::string> sources;
  for (const ProfileRun* r : runs) {
    lat.push_back(r->latency_ms);
    if (r->power_w) power.push_back(*r->power_w);
    if (r->temp_c) temp.push_back(*r->temp_c);
    if (r->engine_size_mb) size.push_back(*r->engine_size_mb);
    if (!r->frame_source.empty()) sources.insert(r->frame_source);
  }
  std::sort(lat.begin(), lat.end());
  c.latency_p50_ms = *percentile_sorted(lat, 50);
  c.latency_p90_ms = *percentile_sorted(lat, 90);
  c.latency_p99_ms = *percentile_sorted(lat, 99);
  c.latency_min_ms = lat.front();
  c.latency_max_ms = lat.back();
  // Summed in sorted order: the mean does not depend on the order of rows in the CSV.
  double sum = 0;
  for (double v : lat) sum += v;
  c.latency_mean_ms = sum / static_cast<double>(lat.size());
  c.power_w = median(power);
  c.power_runs = power.size();
  c.temp_median_c = median(temp);
  if (!temp.empty()) c.temp_max_c = *std::max_element(temp.begin(), temp.end());
  c.engine_size_mb = median(size);
  c.frame_sources.assign(sources.begin(), sources.end());
  c.throttle = detect_throttle(runs);
  return c;
}

void set_checked_latency(Config& c, LatencyStat stat) {
  c.checked_latency_ms = stat_latency(c, stat);
  c.checked_latency_note = std::string(latency_stat_name(stat)) + " latency";
  if (c.throttle.throttling && c.throttle.hot_latency_ms &&
      *c.throttle.hot_latency_ms > c.checked_latency_ms) {
    c.checked_latency_note = "thermal throttling: checked at " +
                             fixed(*c.throttle.hot_latency_ms, 2) +
                             " ms, the median of the hottest third of runs, instead of the " +
                             latency_stat_name(stat) + " " + fixed(c.checked_latency_ms, 2) + " ms";
    c.checked_latency_ms = *c.throttle.hot_latency_ms;
  }
  c.fps = static_cast<double>(c.batch) * 1000.0 / c.checked_latency_ms;
}

void set_accuracy(Config& c, const AccuracyTable& acc, const PlanOptions& opt) {
  auto it = acc.worst.find(c.precision);
  bool is_reference = c.precision == "fp32" ||
                      std::find(acc.reference_precisions.begin(), acc.reference_precisions.end(),
                                c.precision) != acc.reference_precisions.end();
  if (it != acc.worst.end()) {
    c.drop_pp = it->second.drop_pp;
    c.drop_source = "eval: " + it->second.file;
    c.drop_metric = it->second.metric;
  } else if (is_reference) {
    c.drop_pp = 0.0;
    c.drop_source = "reference precision";
  } else if (std::find(opt.assume_lossless.begin(), opt.assume_lossless.end(), c.precision) !=
             opt.assume_lossless.end()) {
    c.drop_pp = 0.0;
    c.drop_source = "assumed lossless (--assume-lossless)";
  } else {
    c.drop_source = "unknown";
  }
}

ConstraintCheck check_min(const std::string& name, std::optional<double> value, double limit,
                          const std::string& unit, int decimals, const std::string& unknown) {
  ConstraintCheck k;
  k.name = name;
  k.value = value;
  k.limit = limit;
  if (!value) {
    k.text = name + ": " + unknown;
    return k;
  }
  k.pass = *value >= limit;
  if (k.pass) {
    k.text = name + ": " + fixed(*value, decimals) + " " + unit + " >= " + fixed(limit, decimals);
  } else {
    k.gap = limit - *value;
    k.gap_pct = *k.gap / limit * 100.0;
    k.text = name + ": " + fixed(*value, decimals) + " " + unit + " < " + fixed(limit, decimals) +
             " (short by " + fixed(*k.gap, decimals) + " " + unit + ", " + fixed(*k.gap_pct, 1) +
             "%)";
  }
  return k;
}

ConstraintCheck check_max(const std::string& name, std::optional<double> value, double limit,
                          const std::string& unit, int decimals, const std::string& unknown) {
  ConstraintCheck k;
  k.name = name;
  k.value = value;
  k.limit = limit;
  if (!value) {
    k.text = name + ": " + unknown;
    return k;
  }
  k.pass = *value <= limit;
  if (k.pass) {
    k.text = name + ": " + fixed(*value, decimals) + " " + unit + " <= " + fixed(limit, decimals);
  } else {
    k.gap = *value - limit;
    k.gap_pct = limit > 0 ? *k.gap / limit * 100.0 : 100.0;
    k.text = name + ": " + fixed(*value, decimals) + " " + unit + " > " + fixed(limit, decimals) +
             " (over by " + fixed(*k.gap, decimals) + " " + unit +
             (limit > 0 ? ", " + fixed(*k.gap_pct, 1) + "%" : std::string()) + ")";
  }
  return k;
}

void check_constraints(Config& c, const PlanOptions& o) {
  c.checks.clear();
  if (o.target_fps) {
    c.checks.push_back(check_min("target-fps", c.fps, *o.target_fps, "FPS", 1, ""));
  }
  if (o.max_latency_ms) {
    c.checks.push_back(
        check_max("max-latency-ms", c.checked_latency_ms, *o.max_latency_ms, "ms", 2, ""));
  }
  if (o.max_power_w) {
    c.checks.push_back(check_max("max-power-w", c.power_w, *o.max_power_w, "W", 2,
                                 c.predicted ? "power not predicted (no measured pair with power)"
                                             : "no power measured for this configuration"));
  }
  if (o.max_drop_pp) {
    c.checks.push_back(check_max("max-drop", c.drop_pp, *o.max_drop_pp, "pp", 2,
                                 "no accuracy evidence for " + c.precision +
                                     " (pass --accuracy with a qcal eval JSON for it, or "
                                     "--assume-lossless " +
                                     c.precision + ")"));
  }
  c.feasible = std::all_of(c.checks.begin(), c.checks.end(), [](const auto& k) { return k.pass; });
}

// Objective value, oriented so that larger is better; nullopt when unknown.
std::optional<double> goodness(const Config& c, Objective o) {
  switch (o) {
    case Objective::kFps:
      return c.fps;
    case Objective::kPower:
      if (!c.power_w) return std::nullopt;
      return -*c.power_w;
    case Objective::kAccuracy:
      if (!c.drop_pp) return std::nullopt;
      return -*c.drop_pp;
  }
  return std::nullopt;
}

// Ranking key among feasible configurations: measured first, then the objective, then the other
// two as tie-breaks (fps, lower power, lower drop). Unknown values rank below known ones.
std::vector<std::pair<int, double>> rank_key(const Config& c, Objective objective) {
  std::vector<std::pair<int, double>> key;
  key.emplace_back(c.predicted ? 0 : 1, 0.0);
  std::vector<Objective> order = {objective};
  for (Objective o : {Objective::kFps, Objective::kPower, Objective::kAccuracy}) {
    if (o != objective) order.push_back(o);
  }
  for (Objective o : order) {
    auto g = goodness(c, o);
    key.emplace_back(g ? 1 : 0, g ? *g : 0.0);
  }
  return key;
}

std::string describe_value(const Config& c, Objective o) {
  switch (o) {
    case Objective::kFps:
      return fixed(c.fps, 1) + " FPS";
    case Objective::kPower:
      return c.power_w ? fixed(*c.power_w, 2) + " W" : "unknown power";
    case Objective::kAccuracy:
      return c.drop_pp ? fixed(*c.drop_pp, 2) + " pp drop" : "unknown accuracy drop";
  }
  return "";
}

std::string why_not_chosen(const Config& c, const Config& best, Objective objective) {
  if (!c.feasible) {
    std::string s = "rejected: ";
    bool first = true;
    for (const auto& k : c.checks) {
      if (k.pass) continue;
      s += (first ? "" : "; ") + k.text;
      first = false;
    }
    return s;
  }
  if (c.predicted && !best.predicted) {
    return "qualifies as a prediction, but a measured configuration qualifies";
  }
  std::vector<Objective> order = {objective};
  for (Objective o : {Objective::kFps, Objective::kPower, Objective::kAccuracy}) {
    if (o != objective) order.push_back(o);
  }
  for (Objective o : order) {
    auto gc = goodness(c, o), gb = goodness(best, o);
    if (gc == gb) continue;
    std::string what = o == Objective::kFps     ? "lower FPS"
                       : o == Objective::kPower ? "higher power"
                                                : "larger accuracy drop";
    std::string prefix = o == objective ? "qualifies, but "
                                        : "qualifies and ties on " +
                                              std::string(objective_name(objective)) + ", but ";
    return prefix + what + " (" + describe_value(c, o) + " vs " + describe_value(best, o) + ")";
  }
  return "qualifies and ties with the chosen configuration on every measure; the chosen one "
         "comes first in the stable order";
}

void explain_infeasible(Plan& plan) {
  const auto& configs = plan.configs;
  if (configs.empty()) return;
  std::vector<std::string> names;
  for (const auto& k : configs.front().checks) names.push_back(k.name);
  for (std::size_t ci = 0; ci < names.size(); ++ci) {
    std::size_t failing = 0;
    const Config* best = nullptr;
    const ConstraintCheck* best_check = nullptr;
    const bool at_least = names[ci] == "target-fps";  // a minimum; the others are maximums
    for (const Config& c : configs) {
      const ConstraintCheck& k = c.checks[ci];
      if (!k.pass) ++failing;
      if (!k.value) continue;
      if (!best_check ||
          (at_least ? *k.value > *best_check->value : *k.value < *best_check->value)) {
        best = &c;
        best_check = &k;
      }
    }
    if (failing == 0) continue;
    std::string line = names[ci] + ": " + std::to_string(failing) + " of " +
                       std::to_string(configs.size()) + " configurations fail";
    if (best_check) {
      line +=
          "; best is " + best->label() + " with " + best_check->text.substr(names[ci].size() + 2);
    } else {
      line += "; no configuration has a value to check";
    }
    plan.infeasible.push_back(line);
  }
  // The configuration closest to qualifying: fewest failing constraints, then the smallest sum of
  // relative gaps (unknown values count as 100%).
  const Config* closest = nullptr;
  std::pair<std::size_t, double> closest_score{0, 0};
  for (const Config& c : configs) {
    std::size_t fails = 0;
    double rel = 0;
    for (const auto& k : c.checks) {
      if (k.pass) continue;
      ++fails;
      rel += k.gap_pct.value_or(100.0);
    }
    std::pair<std::size_t, double> score{fails, rel};
    if (!closest || score < closest_score) {
      closest = &c;
      closest_score = score;
    }
  }
  if (closest) {
    plan.infeasible.push_back("closest: " + closest->label() + " (" +
                              why_not_chosen(*closest, *closest, plan.options.objective) + ")");
  }
}

}  // namespace

Plan make_plan(const ProfileSet& profiles, const AccuracyTable& accuracy,
               const PlanOptions& options) {
  if (profiles.runs.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "no usable profiling runs (" + std::to_string(profiles.rejected.size()) + " of " +
                    std::to_string(profiles.rows_read) + " rows unusable)");
  }
  auto check_positive = [](const std::optional<double>& v, const char* flag) {
    if (v && !(*v > 0 && std::isfinite(*v))) {
      throw Error(ErrorCode::kInvalidArgument, std::string(flag) + " must be a positive number");
    }
  };
  check_positive(options.target_fps, "--target-fps");
  check_positive(options.max_power_w, "--max-power-w");
  check_positive(options.max_latency_ms, "--max-latency-ms");
  if (options.max_drop_pp && !std::isfinite(*options.max_drop_pp)) {
    throw Error(ErrorCode::kInvalidArgument, "--max-drop must be a finite number");
  }

  Plan plan;
  plan.options = options;
  std::map<Key, std::vector<const ProfileRun*>, std::less<>> groups;
  for (const ProfileRun& r : profiles.runs) {
    // Look up by reference first: building a key copies strings, done once per configuration.
    auto it = groups.find(std::tie(r.engine_name, r.precision, r.batch, r.shape));
    if (it == groups.end())
      it = groups
               .emplace(Key{r.engine_name, r.precision, r.batch, r.shape},
                        std::vector<const ProfileRun*>{})
               .first;
    it->second.push_back(&r);
  }
  std::vector<Config> measured;
  for (const auto& [key, runs] : groups) {
    Config c = summarise(runs);
    set_checked_latency(c, options.latency_stat);
    if (c.throttle.throttling) plan.notes.push_back(c.label() + ": " + c.throttle.note);
    measured.push_back(std::move(c));
  }
  std::stable_sort(measured.begin(), measured.end(), config_less);
  std::vector<Config> predicted;
  if (options.predict) {
    predicted = predict(measured, plan.notes);
    std::stable_sort(predicted.begin(), predicted.end(), config_less);
  }
  plan.configs = std::move(measured);
  for (auto& c : predicted) plan.configs.push_back(std::move(c));
  for (Config& c : plan.configs) {
    set_accuracy(c, accuracy, options);
    check_constraints(c, options);
  }
  for (const auto& n : accuracy.notes) plan.notes.push_back(n);

  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < plan.configs.size(); ++i) {
    if (!plan.configs[i].feasible) continue;
    // Strictly better only: ties keep the earlier configuration in the stable order.
    if (!best || rank_key(plan.configs[i], options.objective) >
                     rank_key(plan.configs[*best], options.objective)) {
      best = i;
    }
  }
  plan.chosen = best;
  // Say when the objective could not discriminate: the ranking then fell to the tie-breaks.
  if (options.objective != Objective::kFps) {
    bool any_known = std::any_of(plan.configs.begin(), plan.configs.end(), [&](const Config& c) {
      return c.feasible && goodness(c, options.objective).has_value();
    });
    if (best && !any_known) {
      plan.notes.push_back(
          std::string("objective ") + objective_name(options.objective) +
          ": no qualifying configuration has a value for it (" +
          (options.objective == Objective::kPower ? "no power measured" : "no accuracy evidence") +
          "), so the choice fell to the tie-breaks (FPS first)");
    }
  }
  if (best) {
    Config& chosen = plan.configs[*best];
    chosen.chosen = true;
    chosen.verdict = "chosen: meets every constraint, best " +
                     std::string(objective_name(options.objective)) + " (" +
                     describe_value(chosen, options.objective) + ")";
    plan.summary = "chosen: " + chosen.label() + ", " + fixed(chosen.fps, 1) + " FPS at " +
                   fixed(chosen.checked_latency_ms, 2) + " ms" +
                   (chosen.power_w ? ", " + fixed(*chosen.power_w, 2) + " W" : std::string()) +
                   (chosen.drop_pp ? ", drop " + fixed(*chosen.drop_pp, 2) + " pp" : std::string());
    if (chosen.predicted) {
      chosen.verdict += "; PREDICTED, not measured: profile it before deploying";
      plan.summary += " (PREDICTED from " + chosen.prediction->source_precision +
                      " runs: no measured configuration qualifies; profile it before deploying)";
    }
    for (Config& c : plan.configs) {
      if (!c.chosen) c.verdict = why_not_chosen(c, chosen, options.objective);
    }
  } else {
    plan.summary = "no configuration meets every constraint";
    for (Config& c : plan.configs) c.verdict = why_not_chosen(c, c, options.objective);
    explain_infeasible(plan);
  }
  return plan;
}

}  // namespace qcal::plan
