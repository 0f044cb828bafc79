// Test fixtures for the dataset module: videos whose frames carry their own index as a 10-bit
// block code (so a test can check exactly which frame was extracted), and generated images.
#pragma once

#include <filesystem>
#include <functional>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <string>

#include "test_support.hpp"

namespace qcal::test {

inline constexpr int kCodeBits = 10;

// A smooth random texture (a 40x30 noise field upscaled, so codecs compress it well), different
// for each seed, with mean grey about 130.
inline cv::Mat make_texture(int seed, int width = 320, int height = 240) {
  cv::Mat small(30, 40, CV_8UC3);
  cv::RNG rng(static_cast<std::uint64_t>(seed) + 1);
  rng.fill(small, cv::RNG::UNIFORM, 60, 200);
  cv::Mat big;
  cv::resize(small, big, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);
  return big;
}

// Frame `index`: texture plus kCodeBits black/white 24x24 blocks along the bottom.
inline cv::Mat make_coded_frame(int index, int width = 320, int height = 240) {
  cv::Mat frame = make_texture(index, width, height);
  for (int b = 0; b < kCodeBits; ++b) {
    const bool on = ((index >> b) & 1) != 0;
    cv::rectangle(frame, cv::Rect(8 + 30 * b, height - 40, 24, 24),
                  on ? cv::Scalar(255, 255, 255) : cv::Scalar(0, 0, 0), cv::FILLED);
  }
  return frame;
}

// Reads the index back from a (possibly lossy) frame; -1 when the blocks are not clear.
inline int read_frame_code(const cv::Mat& frame) {
  if (frame.empty()) return -1;
  cv::Mat gray;
  cv::cvtColor(frame, gray, cv::COLOR_BGR2GRAY);
  int index = 0;
  for (int b = 0; b < kCodeBits; ++b) {
    const double m = cv::mean(gray(cv::Rect(14 + 30 * b, gray.rows - 34, 12, 12)))[0];
    if (m > 170) {
      index |= 1 << b;
    } else if (m > 85) {
      return -1;
    }
  }
  return index;
}

inline int read_frame_code(const std::filesystem::path& image) {
  return read_frame_code(cv::imread(image.string(), cv::IMREAD_COLOR));
}

// Writes an MJPG .avi of `frames` frames at `fps` with OpenCV; make(i) draws frame i.
inline void write_mjpg_avi(
    const std::filesystem::path& path, int frames, double fps,
    const std::function<cv::Mat(int)>& make = [](int i) { return make_coded_frame(i); }) {
  cv::Mat first = make(0);
  cv::VideoWriter writer(path.string(), cv::CAP_FFMPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'),
                         fps, first.size());
  ASSERT_TRUE(writer.isOpened()) << path;
  writer.write(first);
  for (int i = 1; i < frames; ++i) writer.write(make(i));
}

// Transcodes to H.264 with ffmpeg: `rate` forces the input frame rate (a fraction such as
// 30000/1001); `filter` (optional) is an ffmpeg -vf chain; vfr keeps variable timestamps.
inline bool make_h264(const std::filesystem::path& src, const std::filesystem::path& dst,
                      const std::string& rate, const std::string& filter = "", bool vfr = false) {
  std::string cmd = "ffmpeg -v error -y -r " + rate + " -i '" + src.string() + "'";
  if (!filter.empty()) cmd += " -vf \"" + filter + "\"";
  if (vfr) cmd += " -fps_mode vfr";
  cmd += " -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p '" + dst.string() + "'";
  return run_command(cmd).exit_code == 0;
}

}  // namespace qcal::test
