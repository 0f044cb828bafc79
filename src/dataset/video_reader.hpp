// Video decoding with libavformat/libavcodec for `qcal frames`: a demux-only pre-pass gives every
// frame's index and timestamp before anything is decoded, so frames that are neither kept nor
// referenced by other frames (H.264 non-reference pictures) are never decoded. Indices,
// timestamps and BGR pixels are those cv::VideoCapture (OpenCV 4.6's FFmpeg backend) gives; when
// a file is outside what the reader can reproduce exactly, it says so and the caller decodes with
// cv::VideoCapture instead.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace qcal::dataset {

class VideoReader {
 public:
  VideoReader();
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  // Opens the video and demuxes it without decoding. False, with the reason in `why`, when the
  // file cannot be opened or is outside what this reader reproduces exactly (a packet without a
  // timestamp, duplicate timestamps, a demux error, fewer packets than the container announces,
  // ...); the caller then uses cv::VideoCapture, which also reports unopenable files.
  bool open(const std::filesystem::path& path, std::string& why);

  // Frames in the video (packets of the video stream, exact).
  std::int64_t frame_count() const;
  // The container's rate, as cv::CAP_PROP_FPS reports it.
  double fps() const;
  // Each frame's timestamp in display order, in seconds, as cv::CAP_PROP_POS_MSEC / 1000 reports
  // it, before any correction. OpenCV stamps frames with the decoder's pkt_dts, which depends on
  // the decoder's delay, known once the first frame is decoded: valid from the PlanFn call on.
  const std::vector<double>& times() const;
  // True when non-reference frames can be skipped (H.264).
  bool can_skip() const;

  // Called once, before any frame is delivered, with every frame's timestamp (all valid); returns
  // which frames (by display index) to deliver.
  using PlanFn = std::function<std::vector<bool>(const std::vector<double>& times)>;
  // Called for each wanted frame in display order with its BGR pixels (valid during the call).
  using FrameFn = std::function<void(std::int64_t index, const cv::Mat& bgr)>;
  // Decodes (once per open()) until every wanted frame was delivered. False, with the reason in
  // `why`, when the decoder's output departs from the pre-pass (a corrupt stream): frames delivered
  // so far are then not to be trusted and the caller decodes with cv::VideoCapture instead.
  bool decode(const PlanFn& plan, const FrameFn& deliver, std::string& why);

  // Frames libavcodec actually decoded in decode() (skipped non-reference frames excluded).
  std::int64_t frames_decoded() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qcal::dataset
