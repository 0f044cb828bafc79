// `qcal frames`: wiring for dataset::extract_frames, plus the per-video summary table and the
// progress bar on stderr.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "commands/commands.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/output_paths.hpp"
#include "dataset/video_frames.hpp"
#include "plan/profile_source.hpp"

namespace qcal::cli {

namespace {

struct FramesArgs {
  std::vector<std::string> inputs;
  std::string out_dir;
  std::int64_t every = 0;
  double fps = 0;
  std::int64_t count = 0;
  std::int64_t max_per_video = 0;
  double start = 0;
  double end = -1;
  std::string format = "jpg";
  int jpeg_quality = 95;
  double skip_similar = -1;
  bool keep_blank = false;
  int jobs = 0;
  std::string from_profile;  // profiling CSV naming the video (frame_source_name)
  std::string video_dir;     // where its videos are (default: the CSV's folder)
  std::string shard;
  CommonOptions common;
};

// Redraws one progress line over all videos (TTY only); calls come from worker threads.
class ProgressBar {
 public:
  void update(const dataset::FramesProgress& p) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (decoded_.size() != p.video_count) {
      decoded_.assign(p.video_count, 0);
      expected_.assign(p.video_count, 0);
    }
    decoded_[p.video_index] = p.frames_decoded;
    expected_[p.video_index] = p.finished ? p.frames_decoded : p.frames_expected;
    if (p.finished) ++finished_;
    // Each video counts equally: its decoded share of the frames its container announces.
    std::int64_t done = 0;
    double fraction = 0.0;
    for (std::size_t i = 0; i < decoded_.size(); ++i) {
      done += decoded_[i];
      if (expected_[i] > 0) {
        fraction +=
            std::min(1.0, static_cast<double>(decoded_[i]) / static_cast<double>(expected_[i]));
      }
    }
    fraction /= static_cast<double>(std::max<std::size_t>(1, decoded_.size()));
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::fprintf(stderr, "\r[%s%s] %3d%%  %zu/%zu videos  %lld frames",
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(),
                 static_cast<int>(fraction * 100), finished_, p.video_count,
                 static_cast<long long>(done));
    std::fflush(stderr);
  }
  void finish() { std::fprintf(stderr, "\r%80s\r", ""); }

 private:
  std::mutex mutex_;
  std::vector<std::int64_t> decoded_, expected_;
  std::size_t finished_ = 0;
};

void print_summary(const dataset::FramesReport& r) {
  std::fprintf(stderr, "%-32s %10s %7s %8s %6s %6s %8s  %s\n", "video", "duration", "fps",
               "decoded", "kept", "blank", "similar", "status");
  std::int64_t decoded = 0, kept = 0, blank = 0, similar = 0;
  double duration = 0;
  for (const auto& v : r.videos) {
    std::string name = v.path.filename().string();
    if (name.size() > 32) name = name.substr(0, 29) + "...";
    std::fprintf(stderr, "%-32s %8.1f s %7.2f %8lld %6lld %6lld %8lld  %s\n", name.c_str(),
                 v.duration_s, v.fps, static_cast<long long>(v.frames_decoded),
                 static_cast<long long>(v.kept), static_cast<long long>(v.skipped_blank),
                 static_cast<long long>(v.skipped_similar),
                 v.failed ? ("FAILED: " + v.error).c_str() : "ok");
    decoded += v.frames_decoded;
    kept += v.kept;
    blank += v.skipped_blank;
    similar += v.skipped_similar;
    duration += v.duration_s;
  }
  std::fprintf(stderr, "%-32s %8.1f s %7s %8lld %6lld %6lld %8lld\n", "total", duration, "",
               static_cast<long long>(decoded), static_cast<long long>(kept),
               static_cast<long long>(blank), static_cast<long long>(similar));
}

int run_frames(const FramesArgs& a) {
  dataset::FramesOptions o;
  for (const auto& in : a.inputs) o.inputs.emplace_back(in);
  std::optional<plan::ProfileSources> sources;
  if (!a.from_profile.empty()) {
    std::filesystem::path csv = a.from_profile;
    std::filesystem::path dir =
        a.video_dir.empty() ? csv.parent_path() : std::filesystem::path(a.video_dir);
    sources = plan::resolve_profile_sources({csv}, dir.empty() ? "." : dir);
    for (const auto& s : sources->sources) o.inputs.push_back(s.video);
  }
  if (o.inputs.empty())
    qcal::throw_invalid("give video files or folders, or --from-profile runs.csv");
  o.out_dir = a.out_dir;
  check_output_dir(o.out_dir, "-o");
  RunPaths paths;
  for (const auto& in : o.inputs) paths.input(in, "the input " + in.string());
  paths.input(a.from_profile, "--from-profile").input(a.video_dir, "--video-dir");
  paths.output(o.out_dir, "-o", OutputKind::kFolderReplaced).check();
  if (a.every > 0) {
    o.sampling.mode = dataset::SamplingMode::kEvery;
    o.sampling.value = static_cast<double>(a.every);
  } else if (a.count > 0) {
    o.sampling.mode = dataset::SamplingMode::kCount;
    o.sampling.value = static_cast<double>(a.count);
  } else {
    o.sampling.mode = dataset::SamplingMode::kFps;
    o.sampling.value = a.fps > 0 ? a.fps : 1.0;  // default: one frame per second
  }
  o.sampling.max_per_video = a.max_per_video;
  o.sampling.start_s = a.start;
  o.sampling.end_s = a.end;
  o.format = a.format == "png" ? dataset::ImageFormat::kPng : dataset::ImageFormat::kJpeg;
  o.jpeg_quality = a.jpeg_quality;
  o.skip_similar = a.skip_similar;
  o.keep_blank = a.keep_blank;
  o.jobs = resolve_threads(a.jobs);
  o.shard = resolve_shard(a.shard, a.common.quiet);
  dataset::quiet_opencv_logging();

  const bool show_progress = !a.common.quiet && stderr_is_tty();
  auto bar = std::make_shared<ProgressBar>();
  dataset::FramesProgressFn progress;
  if (show_progress) progress = [bar](const dataset::FramesProgress& p) { bar->update(p); };
  const auto report = dataset::extract_frames(o, progress);
  if (show_progress) bar->finish();

  if (sources) {
    write_file_atomic(o.out_dir / "profile_sources.json",
                      plan::format_profile_sources_json(*sources));
  }
  if (!a.common.quiet) {
    if (sources) {
      for (const auto& s : sources->sources) {
        std::string size = s.input_width
                               ? std::to_string(*s.input_width) + "x" +
                                     std::to_string(*s.input_height) + " (WxH, from engine_shape)"
                               : "size unknown (no single NCHW/NHWC engine_shape)";
        std::fprintf(stderr, "profile: %s -> %s, engine input %s\n", s.name.c_str(),
                     s.video.string().c_str(), size.c_str());
      }
    }
    print_summary(report);
    std::fprintf(stderr, "%lld frames written to %s; per-frame log: %s\n",
                 static_cast<long long>(report.total_kept()), o.out_dir.string().c_str(),
                 report.csv_path.string().c_str());
  }
  for (const auto& v : report.videos) {
    if (v.failed) std::cerr << "qcal: error: " << v.path.string() << ": " << v.error << "\n";
  }
  if (a.common.json) {
    nlohmann::ordered_json j;
    j["out_dir"] = o.out_dir.string();
    j["frames_csv"] = report.csv_path.string();
    j["kept"] = report.total_kept();
    j["failed_videos"] = report.failed_videos();
    nlohmann::ordered_json videos = nlohmann::ordered_json::array();
    for (const auto& v : report.videos) {
      videos.push_back({{"video", v.path.string()},
                        {"duration_s", v.duration_s},
                        {"fps", v.fps},
                        {"frames_decoded", v.frames_decoded},
                        {"frames_skipped_undecoded", v.frames_skipped_undecoded},
                        {"decoder", v.decoder},
                        {"kept", v.kept},
                        {"skipped_blank", v.skipped_blank},
                        {"skipped_similar", v.skipped_similar},
                        {"failed", v.failed},
                        {"error", v.error}});
    }
    j["videos"] = videos;
    if (sources)
      j["profile_sources"] =
          nlohmann::ordered_json::parse(plan::format_profile_sources_json(*sources));
    std::cout << j.dump(2) << "\n";
  }
  return report.failed_videos() > 0 ? kExitPartial : kExitOk;
}

}  // namespace

Runner register_frames(CLI::App& app) {
  auto a = std::make_shared<FramesArgs>();
  auto* cmd = app.add_subcommand("frames", "Extract calibration frames from videos");
  cmd->footer(
      "Writes <video stem>_frame_<index>.<ext> and OUT_DIR/frames.csv (video, frame_index, "
      "timestamp_s, output, skip_reason). Default sampling: --fps 1. Exit status 3 when a video "
      "could not be opened or decoded completely (the others are still processed).");
  cmd->add_option("inputs", a->inputs,
                  "Video files, or folders searched recursively for "
                  ".mp4 .mov .avi .mkv .webm (any letter case)");
  auto* from = cmd->add_option("--from-profile", a->from_profile,
                               "Profiling CSV (qcal plan's input): extract from the video its "
                               "frame_source_name names; the engine input size comes from "
                               "engine_shape (written to OUT_DIR/profile_sources.json)");
  cmd->add_option("--video-dir", a->video_dir,
                  "Folder searched for the profile's videos, by stem, any extension and letter "
                  "case (default: the CSV's folder)")
      ->needs(from);
  cmd->add_option("-o,--output", a->out_dir, "Output folder (created if missing)")->required();
  auto* every =
      cmd->add_option("--every", a->every, "Keep every Nth frame")->check(CLI::PositiveNumber);
  auto* fps = cmd->add_option("--fps", a->fps,
                              "Keep R frames per second of video time (by timestamp; "
                              "right for 29.97 fps and variable frame rate)")
                  ->check(CLI::PositiveNumber);
  auto* count =
      cmd->add_option("-n,--count", a->count, "Keep N frames spread evenly over each video")
          ->check(CLI::PositiveNumber);
  every->excludes(fps)->excludes(count);
  fps->excludes(count);
  cmd->add_option("--max-per-video", a->max_per_video,
                  "At most N frames per video, spread evenly over it (0: no cap)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--start", a->start, "Start of the range, in seconds")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--end", a->end, "End of the range (exclusive), in seconds");
  cmd->add_option("--format", a->format, "Output image format")
      ->check(CLI::IsMember({"jpg", "png"}))
      ->capture_default_str();
  cmd->add_option("--jpeg-quality", a->jpeg_quality, "JPEG quality 0-100")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  cmd->add_option("--skip-similar", a->skip_similar,
                  "Drop a frame whose mean absolute difference to the last kept frame of the same "
                  "video is below T grey levels (0-255, on 128x128 grey thumbnails; 2-4 drops a "
                  "static camera's repeats)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--keep-blank", a->keep_blank,
                "Keep blank (uniform) and near-black frames, which are dropped by default");
  cmd->add_option("-j,--threads,--jobs", a->jobs,
                  "Videos decoded at once (0: one per core; --jobs is the old spelling)")
      ->check(CLI::NonNegativeNumber);
  add_shard_option(cmd, a->shard, "videos (OUT_DIR/frames.shard-I-of-N.csv)");
  add_quiet_flag(cmd, a->common);
  add_json_flag(cmd, a->common);
  return [a] { return run_frames(*a); };
}

}  // namespace qcal::cli
