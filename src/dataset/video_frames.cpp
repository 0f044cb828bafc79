// Frame extraction: the sampling plan decided from a demux-only pre-pass (VideoReader), frames no
// one keeps or references never decoded, only kept frames converted and encoded; videos outside
// what VideoReader reproduces exactly are decoded with cv::VideoCapture (grab() every frame,
// retrieve() only planned ones), with the same output.
#include "dataset/video_frames.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/output_paths.hpp"
#include "dataset/frames_dir.hpp"
#include "dataset/parallel.hpp"
#include "dataset/video_reader.hpp"

extern "C" {
#include <libavutil/log.h>
}

namespace fs = std::filesystem;

namespace qcal::dataset {

namespace {

// Thumbnails for the blank and similarity checks: 128x128 grey, INTER_AREA (a box average, so
// sensor noise is smoothed before comparing frames).
constexpr int kThumbSize = 128;
// Progress is reported every this many decoded frames.
constexpr std::int64_t kProgressEvery = 16;
// A video whose decoding stops before 90% of its announced frames and duration is truncated.
constexpr double kTruncatedFraction = 0.9;

std::string format_double(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

cv::Mat make_thumbnail(const cv::Mat& frame) {
  cv::Mat small;
  cv::resize(frame, small, cv::Size(kThumbSize, kThumbSize), 0, 0, cv::INTER_AREA);
  if (small.channels() == 1) return small;
  cv::Mat gray;
  cv::cvtColor(small, gray, small.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
  return gray;
}

// Empty when the frame has content; else why it is blank.
std::string blank_reason(const cv::Mat& thumb) {
  std::array<int, 256> hist{};
  double sum = 0.0;
  double sum_sq = 0.0;
  for (int y = 0; y < thumb.rows; ++y) {
    const auto* row = thumb.ptr<std::uint8_t>(y);
    for (int x = 0; x < thumb.cols; ++x) {
      ++hist[row[x]];
      sum += row[x];
      sum_sq += static_cast<double>(row[x]) * row[x];
    }
  }
  const double n = static_cast<double>(thumb.total());
  const double mean = sum / n;
  const double std_dev = std::sqrt(std::max(0.0, sum_sq / n - mean * mean));
  // 99th percentile: the smallest level with at least 99% of the pixels at or below it.
  double cumulative = 0.0;
  int p99 = 255;
  for (int level = 0; level < 256; ++level) {
    cumulative += hist[static_cast<std::size_t>(level)];
    if (cumulative >= 0.99 * n) {
      p99 = level;
      break;
    }
  }
  if (p99 < kNearBlackP99) {
    return "near-black (99th percentile luminance " + std::to_string(p99) + " < " +
           format_double(kNearBlackP99, 0) + ")";
  }
  if (std_dev < kBlankStd) {
    return "blank (luminance std " + format_double(std_dev, 2) + " < " +
           format_double(kBlankStd, 1) + ")";
  }
  return {};
}

double mean_abs_difference(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  return cv::mean(diff)[0];
}

std::string frame_file_name(const std::string& stem, std::int64_t index, ImageFormat format) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%06lld", static_cast<long long>(index));
  return stem + "_frame_" + digits + (format == ImageFormat::kJpeg ? ".jpg" : ".png");
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

bool open_video(cv::VideoCapture& cap, const fs::path& path) {
  // FFmpeg only: GStreamer would be tried first on some builds, slower and noisier.
  try {
    return cap.open(path.string(), cv::CAP_FFMPEG) && cap.isOpened();
  } catch (const cv::Exception&) {
    return false;
  }
}

// Reads the frame's timestamp; OpenCV reports 0 for frames without one (such as the frames the
// decoder flushes at the end of some files), which are placed one interval after the last.
double frame_time(cv::VideoCapture& cap, std::int64_t index, double prev_t, double prev_interval,
                  double fps) {
  double t = cap.get(cv::CAP_PROP_POS_MSEC) / 1000.0;
  if (index > 0 && !(t > prev_t)) {
    t = prev_t + (prev_interval > 0 ? prev_interval : (fps > 0 ? 1.0 / fps : 0.0));
  }
  return t;
}

// Grab-only pass measuring frame count and rate when the container does not say.
VideoInfo measure_video(const fs::path& path) {
  cv::VideoCapture cap;
  VideoInfo info;
  if (!open_video(cap, path)) return info;
  double prev_t = 0.0;
  double interval = 0.0;
  std::int64_t n = 0;
  while (cap.grab()) {
    double t = frame_time(cap, n, prev_t, interval, 0.0);
    if (n > 0) interval = t - prev_t;
    prev_t = t;
    ++n;
  }
  info.frame_count = n;
  const double duration = prev_t + interval;
  info.fps = duration > 0 ? static_cast<double>(n) / duration : 1.0;
  return info;
}

class VideoExtractor {
 public:
  VideoExtractor(const FramesOptions& options, VideoSummary& summary,
                 const FramesProgressFn& progress, std::size_t index, std::size_t count)
      : options_(options), summary_(summary), progress_(progress) {
    event_.video_index = index;
    event_.video_count = count;
  }

  void run() {
    if (run_with_reader()) return;
    run_with_opencv();
  }

 private:
  // The VideoReader path; false (nothing left behind) when the video must go to OpenCV instead.
  bool run_with_reader() {
    VideoReader reader;
    std::string why;
    if (!reader.open(summary_.path, why)) {
      summary_.decoder = "opencv (" + why + ")";
      return false;
    }
    // The pre-pass count is exact; for MP4, MOV and AVI it is the container's count that
    // cv::CAP_PROP_FRAME_COUNT reports, so the plan is the same as OpenCV's path makes.
    const VideoInfo info{reader.frame_count(), reader.fps()};
    summary_.fps = info.fps;
    event_.frames_expected = info.frame_count;
    std::vector<double> corrected;
    double seen_duration = 0.0;
    auto plan = [&](const std::vector<double>& raw) {
      FramePlan frame_plan(options_.sampling, info);
      std::vector<bool> wanted(raw.size(), false);
      corrected.assign(raw.size(), 0.0);
      double prev_t = 0.0;
      double interval = 0.0;
      for (std::size_t i = 0; i < raw.size(); ++i) {
        // OpenCV's path corrects non-increasing stamps the same way (frame_time).
        double t = raw[i];
        if (i > 0 && !(t > prev_t)) t = prev_t + (interval > 0 ? interval : 1.0 / info.fps);
        if (i > 0) interval = t - prev_t;
        prev_t = t;
        corrected[i] = t;
        summary_.frames_decoded = static_cast<std::int64_t>(i) + 1;
        if (frame_plan.past_end(t)) break;
        if (frame_plan.want(static_cast<std::int64_t>(i), t)) wanted[i] = true;
        if (frame_plan.exhausted()) break;
      }
      seen_duration = prev_t + (interval > 0 ? interval : 1.0 / info.fps);
      return wanted;
    };
    auto deliver = [&](std::int64_t index, const cv::Mat& bgr) {
      keep_frame(bgr, index, corrected[static_cast<std::size_t>(index)]);
      event_.frames_decoded = index + 1;
      report_at(index + 1, false);
    };
    if (!reader.decode(plan, deliver, why)) {
      // The decoder's output departed from the pre-pass (a damaged stream): start again with
      // OpenCV, which reports damage as before; this attempt's files are removed first.
      for (const auto& name : written_) {
        std::error_code ec;
        fs::remove(options_.out_dir / name, ec);
      }
      reset();
      summary_.decoder = "opencv (" + why + ")";
      return false;
    }
    summary_.decoder = "libavcodec";
    summary_.frames_skipped_undecoded =
        std::max<std::int64_t>(0, summary_.frames_decoded - reader.frames_decoded());
    summary_.duration_s = info.duration_s() > 0 ? info.duration_s() : seen_duration;
    report(true);
    return true;
  }

  void reset() {
    summary_.records.clear();
    summary_.frames_decoded = 0;
    summary_.frames_skipped_undecoded = 0;
    summary_.kept = 0;
    summary_.skipped_blank = 0;
    summary_.skipped_similar = 0;
    summary_.skipped_other = 0;
    last_kept_thumb_ = cv::Mat();
    last_kept_index_ = -1;
    written_.clear();
  }

  void run_with_opencv() {
    cv::VideoCapture cap;
    if (!open_video(cap, summary_.path)) {
      fail("cannot open video: not a video file, or a format OpenCV's FFmpeg cannot decode");
      return;
    }
    VideoInfo info{static_cast<std::int64_t>(cap.get(cv::CAP_PROP_FRAME_COUNT)),
                   cap.get(cv::CAP_PROP_FPS)};
    if (!(info.fps > 0 && std::isfinite(info.fps))) info.fps = 0.0;
    bool measured = false;
    if (sampling_needs_info(options_.sampling) && (info.frame_count <= 0 || info.fps <= 0)) {
      info = measure_video(summary_.path);
      measured = true;
    }
    summary_.fps = info.fps;
    event_.frames_expected = info.frame_count;
    FramePlan plan(options_.sampling, info);

    std::int64_t index = 0;
    double prev_t = 0.0;
    double interval = 0.0;
    bool stopped_early = false;
    while (cap.grab()) {
      const double t = frame_time(cap, index, prev_t, interval, info.fps);
      if (index > 0) interval = t - prev_t;
      prev_t = t;
      summary_.frames_decoded = index + 1;
      if (plan.past_end(t)) {
        stopped_early = true;
        break;
      }
      if (plan.want(index, t)) {
        if (!cap.retrieve(frame_) || frame_.empty()) {
          FrameRecord r;
          r.frame_index = index;
          r.timestamp_s = t;
          skip(r, "decode failed", summary_.skipped_other);
        } else {
          keep_frame(frame_, index, t);
        }
      }
      ++index;
      if (index % kProgressEvery == 0) report(false);
      if (plan.exhausted()) {
        stopped_early = true;
        break;
      }
    }
    const double seen_duration =
        prev_t + (interval > 0 ? interval : (info.fps > 0 ? 1 / info.fps : 0));
    summary_.duration_s = info.duration_s() > 0 ? info.duration_s() : seen_duration;
    if (summary_.frames_decoded == 0) {
      fail("no frame could be decoded: the file is corrupt or truncated");
    } else if (!stopped_early && !measured && info.frame_count > 0 &&
               static_cast<double>(summary_.frames_decoded) <
                   kTruncatedFraction * static_cast<double>(info.frame_count) &&
               seen_duration < kTruncatedFraction * info.duration_s()) {
      fail("decoding stopped after " + std::to_string(summary_.frames_decoded) + " of " +
           std::to_string(info.frame_count) + " frames (" + format_double(seen_duration, 2) +
           " of " + format_double(info.duration_s(), 2) + " s): the file is truncated or corrupt");
    }
    report(true);
  }

  void fail(const std::string& message) {
    summary_.failed = true;
    summary_.error = message;
    FrameRecord r;
    r.skip_reason = "video failed: " + message;
    summary_.records.push_back(std::move(r));
  }

  void report(bool finished) { report_at(summary_.frames_decoded, finished); }

  void report_at(std::int64_t frames, bool finished) {
    if (!progress_) return;
    event_.frames_decoded = frames;
    event_.finished = finished;
    progress_(event_);
  }

  void skip(FrameRecord& r, std::string reason, std::int64_t& counter) {
    r.skip_reason = std::move(reason);
    ++counter;
    summary_.records.push_back(std::move(r));
  }

  void keep_frame(const cv::Mat& frame, std::int64_t index, double t) {
    FrameRecord r;
    r.frame_index = index;
    r.timestamp_s = t;
    const bool need_thumb = !options_.keep_blank || options_.skip_similar >= 0;
    cv::Mat thumb = need_thumb ? make_thumbnail(frame) : cv::Mat();
    if (!options_.keep_blank) {
      std::string why = blank_reason(thumb);
      if (!why.empty()) {
        skip(r, std::move(why), summary_.skipped_blank);
        return;
      }
    }
    if (options_.skip_similar >= 0 && !last_kept_thumb_.empty()) {
      const double mad = mean_abs_difference(thumb, last_kept_thumb_);
      if (mad < options_.skip_similar) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "similar (mean abs difference %.2f < %.2f to frame %06lld)",
                      mad, options_.skip_similar, static_cast<long long>(last_kept_index_));
        skip(r, buf, summary_.skipped_similar);
        return;
      }
    }
    std::vector<int> params;
    if (options_.format == ImageFormat::kJpeg) {
      params = {cv::IMWRITE_JPEG_QUALITY, options_.jpeg_quality};
    } else {
      params = {cv::IMWRITE_PNG_COMPRESSION, 3};  // zlib level 3: near-best size, fast
    }
    const std::string name = frame_file_name(summary_.stem, index, options_.format);
    if (!cv::imencode(options_.format == ImageFormat::kJpeg ? ".jpg" : ".png", frame, buffer_,
                      params)) {
      skip(r, "encoding failed", summary_.skipped_other);
      return;
    }
    write_file_atomic(
        options_.out_dir / name,
        std::string_view(reinterpret_cast<const char*>(buffer_.data()), buffer_.size()));
    written_.push_back(name);
    r.output = name;
    ++summary_.kept;
    summary_.records.push_back(std::move(r));
    if (options_.skip_similar >= 0) {
      last_kept_thumb_ = thumb;
      last_kept_index_ = index;
    }
  }

  const FramesOptions& options_;
  VideoSummary& summary_;
  const FramesProgressFn& progress_;
  FramesProgress event_;
  cv::Mat frame_;
  cv::Mat last_kept_thumb_;
  std::int64_t last_kept_index_ = -1;
  std::vector<std::uint8_t> buffer_;
  std::vector<std::string> written_;  // files written for this video (removed if it starts again)
};

void write_csv(const fs::path& path, const std::vector<VideoSummary>& videos) {
  std::string csv = "video,frame_index,timestamp_s,output,skip_reason\n";
  for (const auto& v : videos) {
    for (const auto& r : v.records) {
      csv += csv_field(v.path.generic_string()) + ",";
      if (r.frame_index >= 0) {
        csv += std::to_string(r.frame_index) + "," + format_double(r.timestamp_s, 3);
      } else {
        csv += ",";
      }
      csv += "," + csv_field(r.output) + "," + csv_field(r.skip_reason) + "\n";
    }
  }
  write_file_atomic(path, csv);
}

}  // namespace

std::int64_t FramesReport::total_kept() const {
  std::int64_t n = 0;
  for (const auto& v : videos) n += v.kept;
  return n;
}

std::int64_t FramesReport::failed_videos() const {
  std::int64_t n = 0;
  for (const auto& v : videos) n += v.failed ? 1 : 0;
  return n;
}

std::vector<fs::path> list_videos(const std::vector<fs::path>& inputs) {
  if (inputs.empty()) throw_invalid("no input given: pass video files or folders");
  std::vector<fs::path> videos;
  for (const auto& input : inputs) {
    std::error_code ec;
    if (!fs::exists(input, ec)) {
      Error e(ErrorCode::kIo, "input does not exist");
      e.with("path", input.string());
      throw e;
    }
    if (fs::is_directory(input, ec)) {
      auto found = list_files(input, kVideoExtensions);
      videos.insert(videos.end(), found.begin(), found.end());
    } else {
      videos.push_back(input);  // a file named explicitly is tried whatever its extension
    }
  }
  if (videos.empty()) {
    std::string where;
    for (const auto& input : inputs) where += (where.empty() ? "" : ", ") + input.string();
    Error e(ErrorCode::kInvalidArgument,
            "no videos found (looked for .mp4 .mov .avi .mkv .webm in any letter case)");
    e.with("path", where);
    throw e;
  }
  std::map<std::string, fs::path> stems;
  for (const auto& v : videos) {
    auto [it, inserted] = stems.emplace(v.stem().string(), v);
    if (!inserted && fs::weakly_canonical(it->second) != fs::weakly_canonical(v)) {
      Error e(ErrorCode::kInvalidArgument,
              "two videos share the name '" + v.stem().string() +
                  "', so their frames would overwrite each other; extract them in separate runs "
                  "into different folders");
      e.with("file", it->second.string()).with("file", v.string());
      throw e;
    }
  }
  // The same file named twice is processed once.
  std::vector<fs::path> unique;
  for (const auto& v : videos) {
    if (stems.at(v.stem().string()) == v) {
      unique.push_back(v);
      stems.at(v.stem().string()) = fs::path();
    }
  }
  return unique;
}

std::string frames_csv_name(const std::optional<Shard>& shard) {
  if (!shard) return "frames.csv";
  return "frames.shard-" + std::to_string(shard->index) + "-of-" + std::to_string(shard->count) +
         ".csv";
}

namespace {

// Extracts every video's frames into options.out_dir (one video per task) and lists them.
FramesReport extract_videos(const FramesOptions& options, const std::vector<fs::path>& videos,
                            const FramesProgressFn& progress) {
  FramesReport report;
  report.videos.resize(videos.size());
  for (std::size_t i = 0; i < videos.size(); ++i) {
    report.videos[i].path = videos[i];
    report.videos[i].stem = videos[i].stem().string();
  }
  parallel_for(videos.size(), options.jobs, [&](std::size_t i) {
    VideoExtractor extractor(options, report.videos[i], progress, i, videos.size());
    try {
      extractor.run();
    } catch (const cv::Exception& e) {
      // OpenCV throws on some corrupt streams; the video fails, the others go on.
      report.videos[i].failed = true;
      report.videos[i].error = std::string("OpenCV: ") + e.what();
      FrameRecord r;
      r.skip_reason = "video failed: " + report.videos[i].error;
      report.videos[i].records.push_back(std::move(r));
    }
  });
  return report;
}

// A shard's block of the sorted video list. Shards share one output folder (their frame names
// differ by video), so a sharded run writes into it file by file (each file atomic) instead of
// replacing the folder, and names its list frames.shard-I-of-N.csv.
FramesReport extract_shard(const FramesOptions& options, std::vector<fs::path> videos,
                           const FramesProgressFn& progress) {
  const ShardRange r = shard_range(*options.shard, videos.size());
  videos = std::vector<fs::path>(videos.begin() + static_cast<std::ptrdiff_t>(r.begin),
                                 videos.begin() + static_cast<std::ptrdiff_t>(r.end));
  create_output_dir(options.out_dir);
  FramesReport report = extract_videos(options, videos, progress);
  report.csv_path = options.out_dir / frames_csv_name(options.shard);
  write_csv(report.csv_path, report.videos);
  return report;
}

}  // namespace

FramesReport extract_frames(const FramesOptions& options, const FramesProgressFn& progress) {
  validate_sampling(options.sampling);
  if (options.jpeg_quality < 0 || options.jpeg_quality > 100) {
    throw_invalid("--jpeg-quality must be in 0..100");
  }
  if (options.out_dir.empty()) throw_invalid("an output folder is required (-o OUT_DIR)");
  const auto videos = list_videos(options.inputs);
  if (options.shard) return extract_shard(options, videos, progress);
  // The frames go into a new folder beside the output that replaces it in one rename at the end
  // (an earlier run's frames leave with it; anything else there is refused first).
  check_frames_out_dir(options.out_dir);
  std::error_code ec;
  const fs::path out_dir = fs::weakly_canonical(fs::absolute(options.out_dir), ec);
  create_output_dir(out_dir.parent_path());
  AtomicDir dir(out_dir);
  FramesOptions staged = options;
  staged.out_dir = dir.path();
  FramesReport report = extract_videos(staged, videos, progress);
  write_csv(dir.path() / frames_csv_name(std::nullopt), report.videos);
  dir.commit();
  report.csv_path = options.out_dir / frames_csv_name(std::nullopt);
  return report;
}

void quiet_opencv_logging() {
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
  // FFmpeg's own decoder messages ("moov atom not found", "Invalid NAL unit size"): qcal reports
  // the failed video by name instead. OpenCV reads this once, before its first capture; a value
  // the user set is kept. -8 is AV_LOG_QUIET.
  ::setenv("OPENCV_FFMPEG_LOGLEVEL", "-8", 0);
  // The same for the libraries VideoReader calls directly (OpenCV sets this level again from
  // OPENCV_FFMPEG_LOGLEVEL at each capture it opens).
  const char* level = std::getenv("OPENCV_FFMPEG_LOGLEVEL");
  av_log_set_level(level != nullptr ? std::atoi(level) : AV_LOG_QUIET);
}

}  // namespace qcal::dataset
