// The planner on fixtures: statistics, constraints, choice, explanations, infeasibility,
// predictions and thermal throttling.
#include "plan/planner.hpp"

#include <gtest/gtest.h>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "test_support.hpp"

namespace qcal::plan {
namespace {

std::filesystem::path data(const std::string& name) {
  return std::filesystem::path(QCAL_SOURCE_DIR) / "tests/data/plan" / name;
}

const Config& find(const Plan& p, const std::string& name, bool predicted = false) {
  for (const auto& c : p.configs) {
    if (c.engine_name == name && c.predicted == predicted) return c;
  }
  throw std::runtime_error("no configuration " + name);
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(Planner, GroupsAndStatistics) {
  ProfileSet set = load_profiles({data("jetson_runs.csv")});
  Plan p = make_plan(set, {}, {});
  ASSERT_EQ(p.configs.size(), 6u);  // 5 measured + the predicted yolov8s int8
  const Config& fp16 = find(p, "yolov8n_fp16_static");
  EXPECT_EQ(fp16.runs, 5u);
  EXPECT_DOUBLE_EQ(fp16.latency_p50_ms, 12.45);
  EXPECT_NEAR(fp16.latency_p90_ms, 12.64, 1e-9);  // sorted 12.30 .. 12.70, h = 3.6
  EXPECT_NEAR(fp16.fps, 1000.0 / 12.45, 1e-9);
  EXPECT_NEAR(*fp16.power_w, 7.08, 1e-9);
  EXPECT_DOUBLE_EQ(*fp16.temp_median_c, 48.0);
  EXPECT_DOUBLE_EQ(*fp16.temp_max_c, 48.5);
  EXPECT_EQ(fp16.frame_sources, (std::vector<std::string>{"YOLOvideo"}));
  EXPECT_EQ(fp16.model_key, "yolov8n_static");
  EXPECT_FALSE(fp16.throttle.checked);  // 5 runs: too few to judge
  // Measured configurations come first, in model / precision order.
  EXPECT_EQ(p.configs[0].engine_name, "yolov8n_fp32_static");
  EXPECT_EQ(p.configs[2].engine_name, "yolov8n_int8_static");
  EXPECT_TRUE(p.configs[5].predicted);
}

TEST(Planner, ChoosesBestFeasibleAndExplainsEveryOther) {
  ProfileSet set = load_profiles({data("jetson_runs.csv")});
  AccuracyTable acc = load_accuracy({data("eval_int8.json")});
  PlanOptions o;
  o.target_fps = 30;
  o.max_power_w = 7.2;
  o.max_drop_pp = 0.5;  // int8's 0.8 pp drop is too much
  o.assume_lossless = {"fp16"};
  Plan p = make_plan(set, acc, o);
  ASSERT_TRUE(p.chosen);
  const Config& chosen = p.configs[*p.chosen];
  EXPECT_EQ(chosen.engine_name, "yolov8n_fp16_static");
  EXPECT_TRUE(contains(p.summary, "yolov8n_fp16_static"));
  const Config& int8 = find(p, "yolov8n_int8_static");
  EXPECT_FALSE(int8.feasible);
  EXPECT_TRUE(contains(int8.verdict, "max-drop: 0.80 pp > 0.50 (over by 0.30 pp"));
  const Config& fp32 = find(p, "yolov8n_fp32_static");
  EXPECT_TRUE(contains(fp32.verdict, "max-power-w: 9.15 W > 7.20 (over by 1.95 W, 27.1%)"));
  const Config& s_fp32 = find(p, "yolov8s_fp32_static");
  EXPECT_TRUE(contains(s_fp32.verdict, "target-fps: 16.4 FPS < 30.0 (short by 13.6 FPS"));
  for (const auto& c : p.configs) EXPECT_FALSE(c.verdict.empty()) << c.label();
}

TEST(Planner, ObjectivePowerAndAccuracy) {
  ProfileSet set = load_profiles({data("jetson_runs.csv")});
  AccuracyTable acc = load_accuracy({data("eval_int8.json")});
  PlanOptions o;
  o.target_fps = 30;
  o.objective = Objective::kAccuracy;
  Plan p = make_plan(set, acc, o);
  // fp32 (drop 0, the reference) beats int8 (0.8); fp16 has no evidence and ranks below known.
  EXPECT_EQ(p.configs[*p.chosen].engine_name, "yolov8n_fp32_static");
  const Config& fp16 = find(p, "yolov8n_fp16_static");
  EXPECT_TRUE(contains(fp16.verdict, "unknown accuracy drop")) << fp16.verdict;
  o.objective = Objective::kPower;
  p = make_plan(set, acc, o);
  EXPECT_EQ(p.configs[*p.chosen].engine_name, "yolov8n_int8_static");
  EXPECT_TRUE(contains(find(p, "yolov8n_fp16_static").verdict, "higher power (7.08 W vs 5.50 W)"));
}

TEST(Planner, NoFeasibleConfigurationSaysWhatFailsAndByHowMuch) {
  ProfileSet set = load_profiles({data("jetson_runs.csv")});
  PlanOptions o;
  o.target_fps = 200;
  o.max_power_w = 5.0;
  o.predict = false;
  Plan p = make_plan(set, {}, o);
  EXPECT_FALSE(p.chosen);
  EXPECT_EQ(p.summary, "no configuration meets every constraint");
  ASSERT_EQ(p.infeasible.size(), 3u);
  EXPECT_EQ(p.infeasible[0],
            "target-fps: 5 of 5 configurations fail; best is yolov8n_int8_static int8 b1 "
            "1x3x640x640 with 133.3 FPS < 200.0 (short by 66.7 FPS, 33.3%)");
  EXPECT_EQ(p.infeasible[1],
            "max-power-w: 5 of 5 configurations fail; best is yolov8n_int8_static int8 b1 "
            "1x3x640x640 with 5.50 W > 5.00 (over by 0.50 W, 10.0%)");
  EXPECT_TRUE(contains(p.infeasible[2], "closest: yolov8n_int8_static"));
  for (const auto& c : p.configs) EXPECT_TRUE(contains(c.verdict, "rejected: ")) << c.verdict;
}

TEST(Planner, UnknownPowerOrAccuracyFailsTheConstraint) {
  test::TempDir dir;
  write_file_atomic(dir / "r.csv", "engine_precision,trt_latency_ms\nfp16,10\nint8,6\n");
  ProfileSet set = load_profiles({dir / "r.csv"});
  PlanOptions o;
  o.max_power_w = 10;
  Plan p = make_plan(set, {}, o);
  EXPECT_FALSE(p.chosen);
  EXPECT_TRUE(contains(p.configs[0].verdict, "no power measured"));
  o = {};
  o.max_drop_pp = 1;
  p = make_plan(set, {}, o);
  EXPECT_FALSE(p.chosen);
  EXPECT_TRUE(contains(p.configs[1].verdict, "no accuracy evidence for int8"));
  o = {};
  o.objective = Objective::kPower;
  p = make_plan(set, {}, o);
  ASSERT_TRUE(p.chosen);
  EXPECT_EQ(p.configs[*p.chosen].precision, "int8");  // by the FPS tie-break
  ASSERT_FALSE(p.notes.empty());
  EXPECT_TRUE(contains(p.notes.back(), "objective power: no qualifying configuration"));
  o = {};
  o.max_drop_pp = 1;
  o.assume_lossless = {"int8"};
  p = make_plan(set, {}, o);
  ASSERT_TRUE(p.chosen);
  EXPECT_EQ(p.configs[*p.chosen].precision, "int8");
  EXPECT_EQ(p.configs[*p.chosen].drop_source, "assumed lossless (--assume-lossless)");
}

TEST(Planner, PredictsUnprofiledPrecisionFromMeasuredRatio) {
  ProfileSet set = load_profiles({data("jetson_runs.csv")});
  Plan p = make_plan(set, {}, {});
  const Config& pred = find(p, "yolov8s_int8_static", true);
  ASSERT_TRUE(pred.prediction);
  // yolov8n: int8 7.50 ms / fp16 12.45 ms, applied to yolov8s fp16 30.40 ms.
  const double ratio = 7.50 / 12.45;
  EXPECT_EQ(pred.prediction->source_precision, "fp16");
  EXPECT_NEAR(pred.prediction->latency_ratio, ratio, 1e-12);
  EXPECT_NEAR(pred.latency_p50_ms, 30.40 * ratio, 1e-9);
  EXPECT_NEAR(pred.fps, 1000.0 / (30.40 * ratio), 1e-9);
  EXPECT_NEAR(*pred.power_w, 9.85 * (5.50 / 7.08), 1e-9);
  EXPECT_EQ(pred.prediction->pairs, 1u);
  EXPECT_EQ(pred.runs, 0u);
  EXPECT_TRUE(contains(pred.prediction->basis, "PREDICTION from yolov8s_fp16_static"));
  EXPECT_TRUE(contains(pred.label(), "[predicted]"));
  // --no-predict: no prediction at all.
  PlanOptions o;
  o.predict = false;
  EXPECT_EQ(make_plan(set, {}, o).configs.size(), 5u);
}

TEST(Planner, PredictionIsChosenOnlyWhenNoMeasurementQualifies) {
  // Model m measured in fp16 and int8 (ratio 0.5); model s only in fp16 (12 ms), so s int8 is
  // predicted at 6 ms.
  test::TempDir dir;
  write_file_atomic(dir / "r.csv",
                    "engine_name,engine_precision,trt_latency_ms,power_W\n"
                    "m_fp16,fp16,20,7\nm_int8,int8,10,5\ns_fp16,fp16,12,6\n");
  ProfileSet set = load_profiles({dir / "r.csv"});
  PlanOptions o;
  o.max_latency_ms = 11;  // m int8 (10 ms, measured) and s int8 (6 ms, predicted) qualify
  Plan p = make_plan(set, {}, o);
  ASSERT_TRUE(p.chosen);
  EXPECT_EQ(p.configs[*p.chosen].engine_name, "m_int8");
  const Config& pred = find(p, "s_int8", true);
  EXPECT_NEAR(pred.checked_latency_ms, 6.0, 1e-12);
  EXPECT_NEAR(*pred.power_w, 6.0 * 5.0 / 7.0, 1e-12);
  EXPECT_TRUE(pred.feasible);
  EXPECT_TRUE(contains(pred.verdict, "a measured configuration qualifies"));
  o.max_latency_ms = 8;  // only the prediction qualifies
  p = make_plan(set, {}, o);
  ASSERT_TRUE(p.chosen);
  EXPECT_TRUE(p.configs[*p.chosen].predicted);
  EXPECT_TRUE(contains(p.summary, "PREDICTED"));
  EXPECT_TRUE(contains(p.configs[*p.chosen].verdict, "profile it before deploying"));
}

TEST(Planner, DetectsThermalThrottling) {
  ProfileSet set = load_profiles({data("throttle.csv")});
  Plan p = make_plan(set, {}, {});
  const Config& hot = find(p, "hot_fp16");
  EXPECT_TRUE(hot.throttle.checked);
  EXPECT_TRUE(hot.throttle.throttling);
  EXPECT_GE(*hot.throttle.rho, kThrottleMinRho);
  EXPECT_GT(*hot.throttle.increase_pct, 20.0);
  // Constraints see the hot latency, not the median.
  EXPECT_DOUBLE_EQ(hot.checked_latency_ms, *hot.throttle.hot_latency_ms);
  EXPECT_GT(hot.checked_latency_ms, hot.latency_p50_ms);
  EXPECT_TRUE(contains(hot.checked_latency_note, "thermal throttling"));
  const Config& cool = find(p, "cool_int8");
  EXPECT_TRUE(cool.throttle.checked);
  EXPECT_FALSE(cool.throttle.throttling);
  EXPECT_DOUBLE_EQ(cool.checked_latency_ms, cool.latency_p50_ms);
  bool noted = false;
  for (const auto& n : p.notes)
    noted = noted || (contains(n, "hot_fp16") && contains(n, "THROTTLING"));
  EXPECT_TRUE(noted);
}

TEST(Planner, LatencyStatisticAndBatchFps) {
  test::TempDir dir;
  write_file_atomic(dir / "r.csv",
                    "engine_precision,engine_batch,trt_latency_ms\n"
                    "int8,4,20\nint8,4,21\nint8,4,22\nint8,4,23\nint8,4,40\n");
  ProfileSet set = load_profiles({dir / "r.csv"});
  PlanOptions o;
  Plan p = make_plan(set, {}, o);
  EXPECT_DOUBLE_EQ(p.configs[0].fps, 4 * 1000.0 / 22.0);  // batch / median latency
  o.latency_stat = LatencyStat::kP90;
  p = make_plan(set, {}, o);
  EXPECT_NEAR(p.configs[0].checked_latency_ms, 23 + 0.6 * 17, 1e-9);
  o.max_latency_ms = 30;
  EXPECT_FALSE(make_plan(set, {}, o).chosen);
}

TEST(Planner, RejectsBadLimitsAndEmptyInput) {
  ProfileSet set = load_profiles({data("jetson_runs.csv")});
  PlanOptions o;
  o.target_fps = -1;
  EXPECT_THROW(make_plan(set, {}, o), Error);
  EXPECT_THROW(make_plan(ProfileSet{}, {}, {}), Error);
}

TEST(Planner, ModelKeyStripsPrecisionTokens) {
  EXPECT_EQ(model_key_of("yolov8n_fp16_static"), "yolov8n_static");
  EXPECT_EQ(model_key_of("YOLOv8n-INT8"), "yolov8n");
  EXPECT_EQ(model_key_of("resnet50.float32.plan"), "resnet50.plan");
  EXPECT_EQ(model_key_of(""), "");
}

}  // namespace
}  // namespace qcal::plan
