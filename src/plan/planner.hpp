// The precision planner: groups profiling runs by engine configuration, summarises them, flags
// thermal throttling, predicts unprofiled precisions, checks constraints and picks one
// configuration, with a reason for every configuration it did not pick.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plan/accuracy.hpp"
#include "plan/profile.hpp"

namespace qcal::plan {

enum class Objective { kFps, kPower, kAccuracy };
enum class LatencyStat { kMedian, kP90, kP99 };

const char* objective_name(Objective o);
const char* latency_stat_name(LatencyStat s);

// Thermal throttling test (documented numbers): a group is checked when at least
// kThrottleMinRuns runs carry a temperature spanning at least kThrottleMinSpreadC; it is flagged
// when Spearman's rho(temperature, latency) >= kThrottleMinRho AND the median latency of the
// hottest third of runs exceeds that of the coolest third by at least kThrottleMinIncreasePct.
inline constexpr std::size_t kThrottleMinRuns = 8;
inline constexpr double kThrottleMinSpreadC = 2.0;
inline constexpr double kThrottleMinRho = 0.6;
inline constexpr double kThrottleMinIncreasePct = 3.0;

struct PlanOptions {
  std::optional<double> target_fps;
  std::optional<double> max_power_w;
  std::optional<double> max_latency_ms;
  std::optional<double> max_drop_pp;  // percentage points against the reference precision
  Objective objective = Objective::kFps;
  LatencyStat latency_stat = LatencyStat::kMedian;
  bool predict = true;
  std::vector<std::string> assume_lossless;  // canonical precisions taken as drop 0 when unmeasured
};

struct Throttle {
  std::size_t runs_with_temp = 0;
  bool checked = false;  // enough runs and spread to judge
  bool throttling = false;
  std::optional<double> rho;
  std::optional<double> temp_spread_c;
  std::optional<double> cool_latency_ms;  // median latency of the coolest third
  std::optional<double> hot_latency_ms;   // median latency of the hottest third
  std::optional<double> increase_pct;
  std::string note;
};

struct Prediction {
  std::string source_precision;  // measured precision the prediction is scaled from
  double latency_ratio = 1;      // target latency / source latency
  std::optional<double> power_ratio;
  std::size_t pairs = 0;  // configurations where both precisions were measured
  double ratio_min = 1, ratio_max = 1;
  std::string basis;  // human-readable: which pairs, which ratio
};

struct ConstraintCheck {
  std::string name;  // "target-fps", "max-latency-ms", "max-power-w", "max-drop"
  bool pass = false;
  std::optional<double> value;  // nullopt when unknown (no power measured, no accuracy evidence)
  double limit = 0;
  std::optional<double> gap;      // how far past the limit (positive), in the limit's unit
  std::optional<double> gap_pct;  // gap relative to the limit, percent
  std::string text;
};

struct Config {
  std::string engine_name;
  std::string precision;
  std::int64_t batch = 1;
  std::vector<std::int64_t> shape;
  std::string model_key;  // engine name without precision tokens: pairs precisions of one model
  bool predicted = false;
  std::optional<Prediction> prediction;

  std::size_t runs = 0;
  double latency_min_ms = 0, latency_p50_ms = 0, latency_p90_ms = 0, latency_p99_ms = 0,
         latency_max_ms = 0, latency_mean_ms = 0;
  std::optional<double> power_w;  // median over runs with a power value
  std::size_t power_runs = 0;
  std::optional<double> temp_median_c, temp_max_c;
  std::optional<double> engine_size_mb;
  std::vector<std::string> frame_sources;
  Throttle throttle;

  double checked_latency_ms = 0;  // the latency the constraints use (see PlanOptions/throttle)
  std::string checked_latency_note;
  double fps = 0;  // batch * 1000 / checked_latency_ms

  std::optional<double> drop_pp;
  std::string drop_source;  // "reference", "eval: <file>", "assumed (--assume-lossless)", "unknown"
  std::string drop_metric;

  std::vector<ConstraintCheck> checks;
  bool feasible = false;
  bool chosen = false;
  std::string verdict;  // why chosen or why not

  std::string label() const;  // "yolov8n_int8 int8 b1 1x3x640x640"
};

struct Plan {
  PlanOptions options;
  std::vector<Config> configs;  // measured first, then predictions; each block in a stable order
  std::optional<std::size_t> chosen;
  std::string summary;  // one line: what was chosen, or that nothing qualifies
  std::vector<std::string>
      infeasible;  // when nothing qualifies: each failing constraint and by how much
  std::vector<std::string> notes;  // predictions made, accuracy notes, throttling
};

// Builds the plan. Throws kInvalidArgument when there are no usable runs at all.
Plan make_plan(const ProfileSet& profiles, const AccuracyTable& accuracy,
               const PlanOptions& options);

// Engine name without precision tokens ("yolov8n_fp16_static" -> "yolov8n_static").
std::string model_key_of(const std::string& engine_name);

}  // namespace qcal::plan
