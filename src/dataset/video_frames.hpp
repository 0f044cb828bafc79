// `qcal frames`: calibration frames from videos. Decodes videos in parallel, keeps the frames the
// sampling plan asks for (only those are converted and encoded), drops blank and near-duplicate
// frames, writes `<stem>_frame_<index>.<ext>` and OUT_DIR/frames.csv.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/shard.hpp"
#include "dataset/frame_plan.hpp"

namespace qcal::dataset {

enum class ImageFormat { kJpeg, kPng };

struct FramesOptions {
  std::vector<std::filesystem::path> inputs;  // video files or folders searched recursively
  std::filesystem::path out_dir;
  FrameSampling sampling;
  ImageFormat format = ImageFormat::kJpeg;
  int jpeg_quality = 95;
  // Mean absolute difference (8-bit grey levels, 128x128 thumbnails) below which a frame counts as
  // a near-duplicate of the last kept frame of its video; < 0 disables the check.
  double skip_similar = -1.0;
  bool keep_blank = false;
  int jobs = 1;  // videos decoded at once
  // A map step: only this shard's block of the listed videos (by video, in listing order), and
  // the log is OUT_DIR/frames.shard-I-of-N.csv; the shards' logs in index order, less their
  // headers after the first, are the one-machine frames.csv (frames_csv_name).
  std::optional<Shard> shard;
};

// "frames.csv", or "frames.shard-I-of-N.csv" for a shard.
std::string frames_csv_name(const std::optional<Shard>& shard);

// One row of frames.csv: a sampled frame that was written or skipped, or a failed video.
struct FrameRecord {
  std::int64_t frame_index = -1;  // -1 for a row about the whole video
  double timestamp_s = 0.0;
  std::string output;       // file name inside out_dir when written
  std::string skip_reason;  // why not written (blank, similar, decode failed, video error)
};

struct VideoSummary {
  std::filesystem::path path;
  std::string stem;
  bool failed = false;
  std::string error;  // the failure, when failed
  double duration_s = 0.0;
  double fps = 0.0;
  std::int64_t frames_decoded = 0;  // frames read up to where extraction stopped
  // Of those, frames never decoded: H.264 non-reference frames not kept (no other frame needs
  // them), skipped by the decoder.
  std::int64_t frames_skipped_undecoded = 0;
  // Which decoder produced the frames: "libavcodec" (VideoReader), or "opencv (...)" with the
  // reason VideoReader left the video to cv::VideoCapture.
  std::string decoder;
  std::int64_t kept = 0;
  std::int64_t skipped_blank = 0;
  std::int64_t skipped_similar = 0;
  std::int64_t skipped_other = 0;
  std::vector<FrameRecord> records;
};

struct FramesReport {
  std::vector<VideoSummary> videos;  // in input order (sorted listing)
  std::filesystem::path csv_path;
  std::int64_t total_kept() const;
  std::int64_t failed_videos() const;
};

// Progress events, called from worker threads (the caller serialises its own output).
struct FramesProgress {
  std::size_t video_index = 0;
  std::size_t video_count = 0;
  std::int64_t frames_decoded = 0;   // in this video so far
  std::int64_t frames_expected = 0;  // container's count for this video (0: unknown)
  bool finished = false;             // this video is done
};
using FramesProgressFn = std::function<void(const FramesProgress&)>;

// Lists the videos of the inputs: folders recursively by extension (any case), files as given.
// Throws kIo for a missing input and kInvalidArgument when nothing is found or two videos share
// a stem (their frames would overwrite each other).
std::vector<std::filesystem::path> list_videos(const std::vector<std::filesystem::path>& inputs);

// Runs the extraction. Videos that fail are reported in their summary (and frames.csv), never
// thrown; bad options and an unwritable out_dir throw.
FramesReport extract_frames(const FramesOptions& options, const FramesProgressFn& progress = {});

// Silences OpenCV's own warnings on stderr (failed opens are reported by qcal instead).
void quiet_opencv_logging();

// Blank-frame rule, on the 8-bit grey thumbnail: near-black when the 99th percentile of
// luminance is below kNearBlackP99, uniform when the standard deviation is below kBlankStd.
inline constexpr double kNearBlackP99 = 24.0;
inline constexpr double kBlankStd = 2.5;

}  // namespace qcal::dataset
