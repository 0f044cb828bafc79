// Benchmark: qcal select's per-image scoring (dataset::measure_image + score_measures) against
// its floor, plain OpenCV cv::imread of the same JPEGs, side by side in one process on one
// thread; prints the ratio scoring/decode (target <= 1.5).
// Usage: select_vs_decode [folder of images] [runs]. Without a folder it writes 300 JPEGs from
// Debian's vtest.avi: 150 at 1920x1080 (upscaled) and 150 at the native 768x576.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "core/files.hpp"
#include "dataset/image_quality.hpp"

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<fs::path> make_images(const fs::path& dir) {
  fs::create_directories(dir);
  cv::VideoCapture cap("/usr/share/doc/opencv-doc/examples/data/vtest.avi", cv::CAP_FFMPEG);
  cv::Mat frame;
  std::vector<fs::path> out;
  for (int i = 0; i < 300 && cap.read(frame); ++i) {
    cv::Mat img = frame;
    if (i % 2 == 0) cv::resize(frame, img, cv::Size(1920, 1080), 0, 0, cv::INTER_CUBIC);
    char name[32];
    std::snprintf(name, sizeof name, "img_%04d.jpg", i);
    out.push_back(dir / name);
    cv::imwrite(out.back().string(), img, {cv::IMWRITE_JPEG_QUALITY, 92});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  cv::setNumThreads(1);  // both sides single-threaded: a per-image comparison
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  fs::path tmp;
  std::vector<fs::path> files;
  if (argc > 1) {
    files = qcal::list_files(argv[1], qcal::kImageExtensions);
  } else {
    tmp = fs::temp_directory_path() / ("qcal_bench_select_" + std::to_string(::getpid()));
    files = make_images(tmp);
  }
  if (files.empty()) {
    std::fprintf(stderr, "no images\n");
    return 1;
  }
  double best_decode = 1e9;
  double best_score = 1e9;
  double checksum = 0;
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& f : files) checksum += cv::imread(f.string(), cv::IMREAD_COLOR).rows;
    best_decode = std::min(best_decode, seconds_since(t0));
    t0 = std::chrono::steady_clock::now();
    for (const auto& f : files) {
      const auto m = qcal::dataset::measure_image(f, nullptr);
      checksum += qcal::dataset::total_score(qcal::dataset::score_measures(m, 640, 640), {});
    }
    best_score = std::min(best_score, seconds_since(t0));
  }
  std::printf("%zu images, best of %d runs (checksum %.0f)\n", files.size(), runs, checksum);
  std::printf("cv::imread decode (floor): %.3f s  (%.2f ms/image)\n", best_decode,
              1000 * best_decode / static_cast<double>(files.size()));
  std::printf("qcal select scoring:       %.3f s  (%.2f ms/image)\n", best_score,
              1000 * best_score / static_cast<double>(files.size()));
  std::printf("ratio scoring/decode: %.2f (target <= 1.5)\n", best_score / best_decode);
  if (!tmp.empty()) fs::remove_all(tmp);
  return 0;
}
