// FramePlan: which frames each sampling mode keeps, on synthetic timelines (30, 29.97, 25 fps
// and a variable frame rate) where the right answer is known.
#include "dataset/frame_plan.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.hpp"

namespace qcal::dataset {
namespace {

// Feeds a timeline to a plan, stopping as extract_frames does; returns the kept indices.
std::vector<std::int64_t> run_plan(const FrameSampling& s, const std::vector<double>& times,
                                   double fps) {
  FramePlan plan(s, VideoInfo{static_cast<std::int64_t>(times.size()), fps});
  std::vector<std::int64_t> kept;
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (plan.past_end(times[i])) break;
    if (plan.want(static_cast<std::int64_t>(i), times[i]))
      kept.push_back(static_cast<std::int64_t>(i));
    if (plan.exhausted()) break;
  }
  return kept;
}

// Constant-rate timeline with timestamps rounded to the millisecond like container pts.
std::vector<double> cfr(int frames, double fps) {
  std::vector<double> t;
  for (int i = 0; i < frames; ++i) t.push_back(std::round(i / fps * 1000.0) / 1000.0);
  return t;
}

FrameSampling mode(SamplingMode m, double v) {
  FrameSampling s;
  s.mode = m;
  s.value = v;
  return s;
}

TEST(SpreadEvenly, CentresOfStrata) {
  EXPECT_EQ(spread_evenly(90, 4), (std::vector<std::int64_t>{11, 33, 56, 78}));
  EXPECT_EQ(spread_evenly(3, 5), (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(spread_evenly(10, 1), (std::vector<std::int64_t>{5}));
  EXPECT_TRUE(spread_evenly(0, 3).empty());
}

TEST(FramePlan, EveryNth) {
  EXPECT_EQ(run_plan(mode(SamplingMode::kEvery, 30), cfr(100, 30), 30),
            (std::vector<std::int64_t>{0, 30, 60, 90}));
}

TEST(FramePlan, FpsOn30And2997And25And60) {
  EXPECT_EQ(run_plan(mode(SamplingMode::kFps, 1), cfr(91, 30), 30),
            (std::vector<std::int64_t>{0, 30, 60, 90}));
  // 29.97 fps: frame 30 is at 1.001 s, the first at or after 1 s; frame 60 at 2.002 s.
  EXPECT_EQ(run_plan(mode(SamplingMode::kFps, 1), cfr(91, 30000.0 / 1001), 30000.0 / 1001),
            (std::vector<std::int64_t>{0, 30, 60, 90}));
  EXPECT_EQ(run_plan(mode(SamplingMode::kFps, 2), cfr(76, 25), 25),
            (std::vector<std::int64_t>{0, 13, 25, 38, 50, 63, 75}));
  EXPECT_EQ(run_plan(mode(SamplingMode::kFps, 1), cfr(180, 60), 60),
            (std::vector<std::int64_t>{0, 60, 120}));
}

TEST(FramePlan, FpsAboveVideoRateKeepsEachFrameOnce) {
  EXPECT_EQ(run_plan(mode(SamplingMode::kFps, 100), cfr(5, 10), 10),
            (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
}

TEST(FramePlan, FpsOnVariableFrameRate) {
  // 30 frames at 30 fps, then frames every 0.1 s from 1.0 s.
  std::vector<double> t;
  for (int i = 0; i < 30; ++i) t.push_back(i / 30.0);
  for (int i = 0; i < 30; ++i) t.push_back(1.0 + i / 10.0);
  EXPECT_EQ(run_plan(mode(SamplingMode::kFps, 5), t, 15.8),
            (std::vector<std::int64_t>{0,  6,  12, 18, 24, 30, 32, 34, 36, 38,
                                       40, 42, 44, 46, 48, 50, 52, 54, 56, 58}));
}

TEST(FramePlan, CountSpreadsEvenly) {
  EXPECT_EQ(run_plan(mode(SamplingMode::kCount, 4), cfr(90, 30), 30),
            (std::vector<std::int64_t>{11, 33, 56, 78}));
  EXPECT_EQ(run_plan(mode(SamplingMode::kCount, 500), cfr(5, 30), 30),
            (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
}

TEST(FramePlan, CapSpreadsOverCandidatesNotFirstN) {
  auto s = mode(SamplingMode::kEvery, 5);
  s.max_per_video = 3;
  // 18 candidates 0, 5, ..., 85; the centres of three strata are ordinals 3, 9, 15.
  EXPECT_EQ(run_plan(s, cfr(90, 30), 30), (std::vector<std::int64_t>{15, 45, 75}));
  auto f = mode(SamplingMode::kFps, 10);
  f.max_per_video = 2;
  // 30 candidate times 0.0 .. 2.9 s; ordinals 7 and 22 -> 0.7 s and 2.2 s -> frames 21, 66.
  EXPECT_EQ(run_plan(f, cfr(90, 30), 30), (std::vector<std::int64_t>{21, 66}));
  auto c = mode(SamplingMode::kCount, 10);
  c.max_per_video = 2;
  EXPECT_EQ(run_plan(c, cfr(90, 30), 30), (std::vector<std::int64_t>{22, 67}));
}

TEST(FramePlan, StartEndRange) {
  auto s = mode(SamplingMode::kFps, 10);
  s.start_s = 1.0;
  s.end_s = 2.0;
  EXPECT_EQ(run_plan(s, cfr(90, 30), 30),
            (std::vector<std::int64_t>{30, 33, 36, 39, 42, 45, 48, 51, 54, 57}));
  auto e = mode(SamplingMode::kEvery, 20);
  e.start_s = 0.5;  // first frame in range is 15
  EXPECT_EQ(run_plan(e, cfr(90, 30), 30), (std::vector<std::int64_t>{15, 35, 55, 75}));
  auto c = mode(SamplingMode::kCount, 2);
  c.start_s = 1.0;
  c.end_s = 2.0;  // frames 30..59
  EXPECT_EQ(run_plan(c, cfr(90, 30), 30), (std::vector<std::int64_t>{37, 52}));
}

TEST(FramePlan, RejectsBadParameters) {
  EXPECT_THROW(validate_sampling(mode(SamplingMode::kEvery, 0)), Error);
  EXPECT_THROW(validate_sampling(mode(SamplingMode::kEvery, 2.5)), Error);
  EXPECT_THROW(validate_sampling(mode(SamplingMode::kFps, -1)), Error);
  auto s = mode(SamplingMode::kFps, 1);
  s.start_s = 5;
  s.end_s = 4;
  EXPECT_THROW(validate_sampling(s), Error);
}

}  // namespace
}  // namespace qcal::dataset
