// Which frames of a video to keep: the sampling modes of `qcal frames` as a pure decision on
// (frame index, timestamp), testable without decoding any video.
#pragma once

#include <cstdint>
#include <vector>

namespace qcal::dataset {

enum class SamplingMode {
  kEvery,  // every Nth frame of the range, counting from its first frame
  kFps,    // R frames per second of video time, by timestamp
  kCount,  // N frames spread evenly over the range, by timestamp
};

struct FrameSampling {
  SamplingMode mode = SamplingMode::kFps;
  double value = 1.0;              // N for kEvery/kCount, R for kFps
  std::int64_t max_per_video = 0;  // 0: no cap; else at most this many, spread evenly
  double start_s = 0.0;            // first second of the range (inclusive)
  double end_s = -1.0;             // last second of the range (exclusive); < 0: to the end
};

// What the container says about a video; <= 0 means unknown.
struct VideoInfo {
  std::int64_t frame_count = 0;
  double fps = 0.0;
  // Duration implied by the frame count and rate (the time just after the last frame).
  double duration_s() const {
    return frame_count > 0 && fps > 0 ? static_cast<double>(frame_count) / fps : 0.0;
  }
};

// Validates the sampling parameters; throws kInvalidArgument naming the flag.
void validate_sampling(const FrameSampling& sampling);

// True when the plan needs the video's frame count and rate (count mode, or a cap), so an
// unknown count must be measured by a grab-only pass first.
bool sampling_needs_info(const FrameSampling& sampling);

// Timestamps are compared with this tolerance (0.1 ms, far below any frame interval), so a
// frame stored at 0.99999 s counts as the frame at 1 s.
inline constexpr double kTimeEpsilon = 1e-4;

// Stateful plan fed every decoded frame in order.
class FramePlan {
 public:
  FramePlan(const FrameSampling& sampling, const VideoInfo& info);

  // True when the frame at `timestamp_s` is past the range: decoding can stop.
  bool past_end(double timestamp_s) const;
  // Whether to keep this frame (call once per frame, in order, for frames not past_end).
  bool want(std::int64_t index, double timestamp_s);
  // True when no later frame can be wanted (all planned targets consumed): decoding can stop.
  bool exhausted() const;

  // Planned targets (for tests): frame indices or timestamps, depending on the mode.
  const std::vector<std::int64_t>& index_targets() const { return index_targets_; }
  const std::vector<double>& time_targets() const { return time_targets_; }

 private:
  enum class Kind { kEveryOpen, kFpsOpen, kIndexTargets, kTimeTargets };

  FrameSampling sampling_;
  Kind kind_ = Kind::kFpsOpen;
  std::int64_t first_in_range_ = -1;  // index of the first frame inside the range
  std::int64_t next_fps_k_ = 0;       // next target start + k / R for open fps sampling
  std::vector<std::int64_t> index_targets_;
  std::vector<double> time_targets_;
  std::size_t next_target_ = 0;
};

// k positions spread evenly over [0, n): the centres of k equal strata,
// floor((2j + 1) * n / (2k)) for j = 0..k-1; all of [0, n) when k >= n.
std::vector<std::int64_t> spread_evenly(std::int64_t n, std::int64_t k);

}  // namespace qcal::dataset
