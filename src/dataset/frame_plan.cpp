// Frame sampling plan: every Nth frame, R frames per second by timestamp, N frames spread evenly,
// with an optional per-video cap spread evenly over the candidates and a [start, end) range.
#include "dataset/frame_plan.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"

namespace qcal::dataset {

namespace {

bool is_whole(double v) { return std::isfinite(v) && v == std::floor(v); }

// Index of the first frame at or after `seconds` on a constant-rate timeline.
std::int64_t index_at(double seconds, double fps) {
  return static_cast<std::int64_t>(std::ceil((seconds - kTimeEpsilon) * fps));
}

}  // namespace

void validate_sampling(const FrameSampling& s) {
  switch (s.mode) {
    case SamplingMode::kEvery:
      if (!is_whole(s.value) || s.value < 1) throw_invalid("--every must be a whole number >= 1");
      break;
    case SamplingMode::kCount:
      if (!is_whole(s.value) || s.value < 1) throw_invalid("--count must be a whole number >= 1");
      break;
    case SamplingMode::kFps:
      if (!std::isfinite(s.value) || s.value <= 0) throw_invalid("--fps must be a positive number");
      break;
  }
  if (s.max_per_video < 0) throw_invalid("--max-per-video must be >= 0 (0: no cap)");
  if (!std::isfinite(s.start_s) || s.start_s < 0) throw_invalid("--start must be >= 0 seconds");
  if (s.end_s >= 0 && s.end_s <= s.start_s) {
    throw_invalid("--end (" + std::to_string(s.end_s) + " s) must be after --start (" +
                  std::to_string(s.start_s) + " s)");
  }
}

bool sampling_needs_info(const FrameSampling& s) {
  return s.mode == SamplingMode::kCount || s.max_per_video > 0;
}

std::vector<std::int64_t> spread_evenly(std::int64_t n, std::int64_t k) {
  std::vector<std::int64_t> out;
  if (n <= 0 || k <= 0) return out;
  if (k >= n) {
    out.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = i;
    return out;
  }
  out.reserve(static_cast<std::size_t>(k));
  // Integer arithmetic: (2j + 1) * n fits easily for any real frame count.
  for (std::int64_t j = 0; j < k; ++j) out.push_back((2 * j + 1) * n / (2 * k));
  return out;
}

FramePlan::FramePlan(const FrameSampling& sampling, const VideoInfo& info) : sampling_(sampling) {
  validate_sampling(sampling);
  const bool capped = sampling.max_per_video > 0;
  if (!sampling_needs_info(sampling)) {
    kind_ = sampling.mode == SamplingMode::kEvery ? Kind::kEveryOpen : Kind::kFpsOpen;
    return;
  }
  // Planned modes work on the container's frame count and rate (measured by the caller when the
  // container does not say). Frame indices of the range come from the mean rate.
  const double fps = info.fps > 0 ? info.fps : 1.0;
  const std::int64_t total = std::max<std::int64_t>(info.frame_count, 0);
  const double duration = info.duration_s();
  const double range_end = sampling.end_s >= 0 ? std::min(sampling.end_s, duration) : duration;
  const std::int64_t first = std::min(index_at(sampling.start_s, fps), total);
  const std::int64_t last_excl =
      sampling.end_s >= 0 ? std::clamp(index_at(sampling.end_s, fps), first, total) : total;
  const std::int64_t frames_in_range = last_excl - first;
  const std::int64_t cap = capped ? sampling.max_per_video : INT64_MAX;
  const auto n_value = static_cast<std::int64_t>(sampling.value);

  switch (sampling.mode) {
    case SamplingMode::kCount: {
      kind_ = Kind::kIndexTargets;
      for (std::int64_t pos : spread_evenly(frames_in_range, std::min(n_value, cap))) {
        index_targets_.push_back(first + pos);
      }
      break;
    }
    case SamplingMode::kEvery: {
      kind_ = Kind::kIndexTargets;
      const std::int64_t candidates = (frames_in_range + n_value - 1) / n_value;
      for (std::int64_t ordinal : spread_evenly(candidates, cap)) {
        index_targets_.push_back(first + ordinal * n_value);
      }
      break;
    }
    case SamplingMode::kFps: {
      kind_ = Kind::kTimeTargets;
      // Candidates are the grid start + k / R strictly before the end of the range.
      const double span = std::max(0.0, range_end - sampling.start_s);
      const auto candidates =
          static_cast<std::int64_t>(std::ceil(span * sampling.value - kTimeEpsilon));
      for (std::int64_t ordinal : spread_evenly(candidates, cap)) {
        time_targets_.push_back(sampling.start_s + static_cast<double>(ordinal) / sampling.value);
      }
      break;
    }
  }
}

bool FramePlan::past_end(double timestamp_s) const {
  return sampling_.end_s >= 0 && timestamp_s >= sampling_.end_s - kTimeEpsilon;
}

bool FramePlan::exhausted() const {
  if (kind_ == Kind::kIndexTargets) return next_target_ >= index_targets_.size();
  if (kind_ == Kind::kTimeTargets) return next_target_ >= time_targets_.size();
  return false;
}

bool FramePlan::want(std::int64_t index, double timestamp_s) {
  const bool in_range = timestamp_s >= sampling_.start_s - kTimeEpsilon && !past_end(timestamp_s);
  switch (kind_) {
    case Kind::kEveryOpen: {
      if (!in_range) return false;
      if (first_in_range_ < 0) first_in_range_ = index;
      return (index - first_in_range_) % static_cast<std::int64_t>(sampling_.value) == 0;
    }
    case Kind::kFpsOpen: {
      if (!in_range) return false;
      const double target = sampling_.start_s + static_cast<double>(next_fps_k_) / sampling_.value;
      if (timestamp_s < target - kTimeEpsilon) return false;
      // Skip every grid point this frame covers (R above the video's rate keeps every frame once).
      const auto k = static_cast<std::int64_t>(
          std::floor((timestamp_s + kTimeEpsilon - sampling_.start_s) * sampling_.value));
      next_fps_k_ = std::max(next_fps_k_ + 1, k + 1);
      return true;
    }
    case Kind::kIndexTargets: {
      while (next_target_ < index_targets_.size() && index_targets_[next_target_] < index) {
        ++next_target_;
      }
      if (next_target_ < index_targets_.size() && index_targets_[next_target_] == index) {
        ++next_target_;
        return in_range;
      }
      return false;
    }
    case Kind::kTimeTargets: {
      if (!in_range || next_target_ >= time_targets_.size()) return false;
      if (timestamp_s < time_targets_[next_target_] - kTimeEpsilon) return false;
      while (next_target_ < time_targets_.size() &&
             time_targets_[next_target_] <= timestamp_s + kTimeEpsilon) {
        ++next_target_;
      }
      return true;
    }
  }
  return false;
}

}  // namespace qcal::dataset
