// Benchmark: `qcal pack --recipe yolo` (the same library call the CLI makes, writing an .npy)
// against its floor, plain cv::imread of the same JPEGs, both on the same number of threads.
// Prints both times and the ratio (target <= 1.5).
//
// Usage: bench_pack [IMAGE_DIR] [--threads N] [--reps R] [--out DIR]
// Without IMAGE_DIR it writes 200 JPEGs (quality 95) of real camera footage: frames of
// opencv-doc's vtest.avi (768x576). --out is where the .npy goes (default /dev/shm when it
// exists, so the ratio measures preprocessing rather than the disk).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "core/files.hpp"
#include <xxhash.h>

#include "preprocess/pack.hpp"
#include "preprocess/pipeline.hpp"

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<fs::path> make_jpegs(const fs::path& dir, int count) {
  fs::create_directories(dir);
  cv::VideoCapture cap("/usr/share/doc/opencv-doc/examples/data/vtest.avi");
  std::vector<fs::path> out;
  cv::Mat frame;
  for (int i = 0; i < count && cap.read(frame); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "frame_%04d.jpg", i);
    cv::imwrite((dir / name).string(), frame, {cv::IMWRITE_JPEG_QUALITY, 95});
    out.push_back(dir / name);
  }
  return out;
}

double time_imread(const std::vector<fs::path>& images, int threads) {
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<std::size_t> next{0};
  std::atomic<std::int64_t> checksum{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      cv::setNumThreads(1);
      for (std::size_t i = next++; i < images.size(); i = next++) {
        cv::Mat m = cv::imread(images[i].string(), cv::IMREAD_COLOR);
        checksum += m.rows;
      }
    });
  }
  for (auto& t : pool) t.join();
  const double s = seconds_since(t0);
  if (checksum.load() <= 0) std::fprintf(stderr, "bench_pack: nothing decoded\n");
  return s;
}

double time_pack(const std::vector<fs::path>& images, int threads, const fs::path& out) {
  qcal::preprocess::PackOptions o;
  o.recipe = qcal::preprocess::make_preset("yolo");
  o.input_name = "images";
  o.threads = threads;
  const auto t0 = std::chrono::steady_clock::now();
  qcal::preprocess::pack_images(images, out, o);
  const double s = seconds_since(t0);
  std::error_code ec;
  fs::remove(out, ec);
  fs::remove(out.string() + ".json", ec);
  return s;
}

// Single-thread cost of each stage per image, to see where pack's time above the floor goes.
void print_stages(const std::vector<fs::path>& images) {
  const qcal::preprocess::Pipeline pipeline(qcal::preprocess::make_preset("yolo"));
  double t_decode = 0, t_run = 0, t_crc = 0;
  std::vector<unsigned char> buf;
  std::uint32_t crc = 0;
  for (const auto& p : images) {
    auto t0 = std::chrono::steady_clock::now();
    cv::Mat img = cv::imread(p.string(), cv::IMREAD_COLOR);
    t_decode += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    const auto info = pipeline.output_info(img.rows, img.cols);
    buf.resize(static_cast<std::size_t>(qcal::shape_numel(info.shape)) * 4);
    pipeline.run_into(img, buf.data(), buf.size());
    t_run += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    crc ^= static_cast<std::uint32_t>(XXH3_64bits(buf.data(), buf.size()));
    t_crc += seconds_since(t0);
  }
  const double n = static_cast<double>(images.size());
  std::printf("stages (1 thread, ms/image): decode %.2f, letterbox+convert %.2f, xxh3 %.2f (%08x)\n", 1000 * t_decode / n,
              1000 * t_run / n, 1000 * t_crc / n, crc);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir;
  int threads = 2;
  int reps = 3;
  fs::path out_dir = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
    else if (a == "--reps" && i + 1 < argc) reps = std::stoi(argv[++i]);
    else if (a == "--out" && i + 1 < argc) out_dir = argv[++i];
    else dir = a;
  }
  std::vector<fs::path> images;
  fs::path generated;
  if (dir.empty()) {
    generated = fs::temp_directory_path() / ("qcal_bench_pack_" + std::to_string(::getpid()));
    images = make_jpegs(generated, 200);
  } else {
    images = qcal::list_files(dir, qcal::kImageExtensions);
  }
  if (images.empty()) {
    std::fprintf(stderr, "bench_pack: no images\n");
    return 1;
  }
  const fs::path out = out_dir / ("qcal_bench_pack_" + std::to_string(::getpid()) + ".npy");
  // Warm the page cache for both runs, then interleave repetitions and keep the best of each.
  time_imread(images, threads);
  double best_floor = 1e30;
  double best_pack = 1e30;
  for (int r = 0; r < reps; ++r) {
    best_floor = std::min(best_floor, time_imread(images, threads));
    best_pack = std::min(best_pack, time_pack(images, threads, out));
  }
  print_stages(images);
  std::printf("images: %zu JPEGs, threads: %d, best of %d, output in %s\n", images.size(), threads, reps, out_dir.c_str());
  std::printf("floor  cv::imread only          : %8.3f s  (%6.2f ms/image)\n", best_floor, 1000 * best_floor / static_cast<double>(images.size()));
  std::printf("qcal   pack --recipe yolo (.npy): %8.3f s  (%6.2f ms/image)\n", best_pack, 1000 * best_pack / static_cast<double>(images.size()));
  std::printf("ratio  pack / imread            : %8.2f  (target <= 1.5)\n", best_pack / best_floor);
  if (!generated.empty()) {
    std::error_code ec;
    fs::remove_all(generated, ec);
  }
  return 0;
}
