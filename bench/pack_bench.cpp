// Benchmark: `qcal pack --recipe yolo` (the same library call the CLI makes, writing an .npy)
// against its floor, plain cv::imread of the same JPEGs, both on the same number of threads.
// Prints both wall and CPU times (the CPU ratio is the steadier one on a loaded machine), the ratio
// (target <= 1.5) per repetition (best, median, worst: the spread) and the load average it ran
// under, plus where pack's time goes: its fast path per stage, and the write floor (the kernel's
// cost of storing the float32 output, which pack pays and imread does not).
//
// pack's fast path for this recipe, every step bit-identical to the OpenCV/numpy reference:
// JPEGs decoded by libjpeg-turbo straight into BGR in a reused buffer (OpenCV's library and
// settings, without its per-row RGB->BGR copy); the letterbox's bilinear resize by qcal's
// AVX-512/AVX2 copy of cv::resize(INTER_LINEAR) (16-bit vertical pass); the BGR->RGB swap, /255,
// padding and CHW layout in one vectorised pass straight into 64 KiB pieces of a 1 MiB staging
// buffer, each hashed (XXH3) while in cache and written to the file 1 MiB at a time, into space
// reserved up front (fallocate). --threads N runs N threads in all: each decodes and resizes,
// and whichever holds the next sample in input order writes it (no writer thread).
//
// Where the output goes: users write calibration tensors to disk, so the main measurement is the
// temporary folder (TMPDIR, else /tmp: ext4 here). /dev/shm (tmpfs) is measured beside it where
// it is another filesystem: tmpfs stores each 4 KiB page at a higher CPU cost than ext4 (see the
// write floor lines), so the same pack is ~0.2 slower there in the ratio. Until 2025-11-24 the
// default was /dev/shm alone.
//
// Usage: bench_pack [IMAGE_DIR] [--threads N] [--reps R] [--out DIR]... [--format npy|npz|dir]
// [--pack-only] Without IMAGE_DIR it writes 200 JPEGs (quality 95) of real camera footage: frames
// of opencv-doc's vtest.avi (768x576). --format npz|dir times the other output kinds (the ratio
// target is the .npy's).
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>  // as pack.cpp hashes
#endif

#include "core/atomic_file.hpp"
#include "core/files.hpp"
#include "preprocess/linear_resize.hpp"
#include "preprocess/pack.hpp"
#include "preprocess/pipeline.hpp"
#include "preprocess/row_convert.hpp"

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

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timing {
  double wall = 1e30;
  double cpu = 1e30;
};

std::string load_average() {
  double l[3] = {0, 0, 0};
  if (getloadavg(l, 3) != 3) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", l[0], l[1], l[2]);
  return buf;
}

Timing time_imread(const std::vector<fs::path>& images, int threads) {
  const double c0 = process_cpu_seconds();
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
  const Timing r{seconds_since(t0), process_cpu_seconds() - c0};
  if (checksum.load() <= 0) std::fprintf(stderr, "bench_pack: nothing decoded\n");
  return r;
}

Timing time_pack(const std::vector<fs::path>& images, int threads, const fs::path& out) {
  std::error_code ec;
  fs::remove_all(out, ec);  // a folder output from an interrupted run
  qcal::preprocess::PackOptions o;
  o.recipe = qcal::preprocess::make_preset("yolo");
  o.input_name = "images";
  o.threads = threads;
  const double c0 = process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  qcal::preprocess::pack_images(images, out, o);
  const Timing r{seconds_since(t0), process_cpu_seconds() - c0};
  fs::remove_all(out, ec);
  fs::remove(out.string() + ".json", ec);
  return r;
}

// Single-thread cost of each stage per image, as pack runs them (decode; the image steps; the
// conversion into 64 KiB pieces; their XXH3; writing them to a file in out_dir), to see where
// pack's time above the floor goes.
// Timed in thread CPU time, which a loaded machine disturbs less than wall time.
struct ThreadCpuClock {
  using time_point = double;
  static double now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
};
double cpu_since(double t0) { return ThreadCpuClock::now() - t0; }

void print_stages(const std::vector<fs::path>& images, const fs::path& out_dir) {
  using clock = ThreadCpuClock;
  cv::setNumThreads(1);  // as pack runs the image steps: one thread per image
  const qcal::preprocess::Pipeline pipeline(qcal::preprocess::make_preset("yolo"));
  double t_decode = 0, t_prepare = 0, t_convert = 0, t_hash = 0, t_write = 0;
  qcal::preprocess::PreparedImage p;
  std::vector<unsigned char> file_bytes;
  cv::Mat img;
  // As pack does: pieces are produced straight into a 1 MiB staging buffer, which is written
  // whole when the next piece does not fit.
  std::vector<unsigned char> staging(std::size_t{1} << 20);
  std::size_t used = 0;
  std::uint64_t h = 0;
  // As pack writes: an AtomicFile (never committed: its destructor removes it) with the space
  // for every sample reserved up front.
  qcal::AtomicFile f(out_dir / "qcal_bench_stages.npy");
  f.reserve_space(images.size() * std::uint64_t{3} * 640 * 640 * sizeof(float));
  for (const auto& path : images) {
    auto t0 = clock::now();
    qcal::preprocess::decode_image_into(path, file_bytes, img);  // as pack decodes
    t_decode += cpu_since(t0);
    t0 = clock::now();
    pipeline.prepare(img, p);
    t_prepare += cpu_since(t0);
    const auto height =
        static_cast<int>(p.info.shape[static_cast<std::size_t>(p.info.height_axis)]);
    const auto row_bytes =
        static_cast<std::size_t>(p.info.shape[static_cast<std::size_t>(p.info.width_axis)]) * 4;
    const int rows = static_cast<int>(64 * 1024 / row_bytes);
    // Three passes over the pieces (convert; convert + hash; convert + hash + write), each timed
    // whole: a clock read per 64 KiB piece would cost more than the hash.
    double pass[3];
    for (int stage = 0; stage < 3; ++stage) {
      t0 = clock::now();
      for (int c = 0; c < p.info.channels; ++c) {
        for (int y = 0; y < height; y += rows) {
          const int y1 = std::min(height, y + rows);
          const std::size_t n = static_cast<std::size_t>(y1 - y) * row_bytes;
          if (used + n > staging.size()) {
            if (stage >= 2) f.write(staging.data(), used);
            used = 0;
          }
          unsigned char* piece = staging.data() + used;
          pipeline.write_plane_rows(p, c, y, y1, piece);
          if (stage >= 1) {
            h += XXH3_64bits(piece, n);
            // As pack does: the dispatched AVX code leaves the upper vector halves dirty.
            if (__builtin_cpu_supports("avx")) __asm__ __volatile__("vzeroupper" ::: "memory");
          }
          used += n;
        }
      }
      if (stage >= 2) f.write(staging.data(), used);
      used = 0;
      pass[stage] = cpu_since(t0);
    }
    t_convert += pass[0];
    t_hash += std::max(0.0, pass[1] - pass[0]);
    t_write += std::max(0.0, pass[2] - pass[1]);
  }
  const double n = static_cast<double>(images.size());
  std::printf(
      "stages (1 thread, cpu ms/image): decode %.2f, image steps %.2f, convert %.2f, xxh3 %.2f, "
      "write %.2f (%016llx)\n",
      1000 * t_decode / n, 1000 * t_prepare / n, 1000 * t_convert / n, 1000 * t_hash / n,
      1000 * t_write / n, static_cast<unsigned long long>(h));
}

// The kernel's CPU cost of storing `bytes` per image in a new file in out_dir, written as pack
// writes (space reserved up front, 1 MiB writes from a buffer in cache): the part of pack's time
// that is the output's size and the filesystem, not preprocessing. Thread CPU time, ms per
// image.
double write_floor_ms(const fs::path& out_dir, std::size_t bytes, std::size_t images) {
  qcal::AtomicFile f(out_dir / "qcal_bench_write.npy");  // never committed: removed on return
  std::vector<unsigned char> buf(std::size_t{1} << 20, 0x3e);
  const double t0 = ThreadCpuClock::now();
  f.reserve_space(std::uint64_t{bytes} * images);
  for (std::size_t i = 0; i < images; ++i) {
    for (std::size_t done = 0; done < bytes;) {
      const std::size_t n = std::min(buf.size(), bytes - done);
      f.write(buf.data(), n);
      done += n;
    }
  }
  return 1000 * cpu_since(t0) / static_cast<double>(images);
}

// "ext4", "tmpfs", ... for the folder's filesystem: the output's cost per byte depends on it.
std::string filesystem_name(const fs::path& dir) {
  struct statfs info {};
  if (::statfs(dir.c_str(), &info) != 0) return "?";
  switch (static_cast<unsigned long>(info.f_type)) {
    case TMPFS_MAGIC:
      return "tmpfs";
    case EXT4_SUPER_MAGIC:
      return "ext4";  // also ext2/ext3
    case XFS_SUPER_MAGIC:
      return "xfs";
    case BTRFS_SUPER_MAGIC:
      return "btrfs";
    case OVERLAYFS_SUPER_MAGIC:
      return "overlayfs";
    default:
      break;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "fs 0x%lx", static_cast<unsigned long>(info.f_type));
  return buf;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

}  // namespace

static int run(int argc, char** argv) {
  fs::path dir;
  int threads = 2;
  int reps = 3;
  bool pack_only = false;
  std::vector<fs::path> out_dirs;
  std::string format = "npy";
  const char* usage =
      "usage: bench_pack [IMAGE_DIR] [--threads N] [--reps R] [--out DIR]... [--format "
      "npy|npz|dir] [--pack-only]\n"
      "  IMAGE_DIR  JPEGs to pack (default: 200 frames of opencv-doc's vtest.avi, JPEG q95)\n"
      "  --threads  worker threads for both runs (default 2)\n"
      "  --reps     interleaved repetitions, best kept (default 3)\n"
      "  --out      folder for pack's output, repeatable (default: the temporary folder, on disk, "
      "and\n"
      "             /dev/shm where it is another filesystem)\n"
      "  --format   pack's output: one .npy (default; the target), .npz, or a folder of .npy\n"
      "  --pack-only  only pack's repetitions into the first --out, nothing printed (for a "
      "profiler)\n";
  // A positive integer option value, or nullopt (the caller prints the usage).
  auto positive = [](const char* s) -> std::optional<int> {
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > 4096) return std::nullopt;
    return static_cast<int>(v);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--pack-only") {
      pack_only = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    }
    const bool has_value = i + 1 < argc;
    if (a == "--threads" || a == "--reps") {
      const std::optional<int> v = has_value ? positive(argv[i + 1]) : std::nullopt;
      if (!v) {
        std::fprintf(stderr, "bench_pack: %s needs a positive integer\n%s", a.c_str(), usage);
        return 2;
      }
      (a == "--threads" ? threads : reps) = *v;
      ++i;
    } else if (a == "--out") {
      if (!has_value) {
        std::fprintf(stderr, "bench_pack: --out needs a folder\n%s", usage);
        return 2;
      }
      out_dirs.emplace_back(argv[++i]);
    } else if (a == "--format") {
      format = has_value ? argv[i + 1] : "";
      if (format != "npy" && format != "npz" && format != "dir") {
        std::fprintf(stderr, "bench_pack: --format needs npy, npz or dir\n%s", usage);
        return 2;
      }
      ++i;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "bench_pack: unknown option '%s'\n%s", a.c_str(), usage);
      return 2;
    } else if (!dir.empty()) {
      std::fprintf(stderr, "bench_pack: more than one IMAGE_DIR ('%s', '%s')\n%s", dir.c_str(),
                   a.c_str(), usage);
      return 2;
    } else {
      dir = a;
    }
  }
  std::error_code dir_ec;
  if (!dir.empty() && !fs::is_directory(dir, dir_ec)) {
    std::fprintf(stderr, "bench_pack: IMAGE_DIR '%s' is not a folder\n%s", dir.c_str(), usage);
    return 2;
  }
  if (out_dirs.empty()) {
    // Users write to disk: the temporary folder (TMPDIR, else /tmp) is the main measurement;
    // /dev/shm is added where it is another filesystem (tmpfs stores each 4 KiB page at a
    // higher CPU cost than ext4, see the write floor lines).
    out_dirs.push_back(fs::temp_directory_path());
    struct stat a {
    }, b{};
    if (::stat("/dev/shm", &b) == 0 && S_ISDIR(b.st_mode) && ::stat(out_dirs[0].c_str(), &a) == 0 &&
        a.st_dev != b.st_dev) {
      out_dirs.emplace_back("/dev/shm");
    }
  }
  for (const auto& d : out_dirs) {
    if (!fs::is_directory(d, dir_ec)) {
      std::fprintf(stderr, "bench_pack: --out '%s' is not a folder\n", d.c_str());
      return 2;
    }
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
  const std::string suffix = format == "dir" ? "" : "." + format;
  std::vector<fs::path> outs;
  for (const auto& d : out_dirs)
    outs.push_back(d / ("qcal_bench_pack_" + std::to_string(::getpid()) + suffix));
  if (pack_only) {
    for (int r = 0; r < reps; ++r) time_pack(images, threads, outs[0]);
    if (!generated.empty()) {
      std::error_code ec;
      fs::remove_all(generated, ec);
    }
    return 0;
  }
  // Per output folder in turn: warm up both sides, then interleave repetitions and keep the best
  // of each. imread's warm-up puts the JPEGs in the page cache; pack's writes its output once.
  // Why pack needs one, and why the folders are not interleaved: on a VM whose balloon driver
  // reports free memory to the host (this one: virtio_balloon), memory that has been free for a
  // few seconds costs ~10 ms more per 4.9 MB image to touch again. Only large free blocks are
  // reported, and ext4's large folios take them: ext4 output right after a tmpfs run (which
  // frees small pages) or after a pause measures the hypervisor (write ~10 ms/image instead of
  // ~0.6), while each run reusing the memory its predecessor freed measures pack.
  std::printf(
      "fast path: JPEG decode libjpeg-turbo -> BGR (imread's pixels), resize kernel %s "
      "(cv::resize's bytes), "
      "convert kernel %s (u8 -> float /255, RGB, CHW, pad), XXH3, 1 MiB writes\n",
      qcal::preprocess::supported_resize_kernels().size() > 1
          ? qcal::preprocess::resize_kernel_name(
                qcal::preprocess::supported_resize_kernels().back())
          : "cv::resize",
      qcal::preprocess::row_kernel_name(qcal::preprocess::row_convert_kernel()));
  const std::string load_before = load_average();
  const std::size_t sample_bytes = std::size_t{3} * 640 * 640 * sizeof(float);
  std::vector<Timing> floor(outs.size());
  std::vector<Timing> pack(outs.size());
  std::vector<double> write_floor(outs.size());
  std::vector<std::vector<double>> wall_ratios(outs.size());
  std::vector<std::vector<double>> cpu_ratios(outs.size());
  for (std::size_t k = 0; k < outs.size(); ++k) {
    time_imread(images, threads);
    time_pack(images, threads, outs[k]);
    for (int r = 0; r < reps; ++r) {
      const Timing f = time_imread(images, threads);
      const Timing p = time_pack(images, threads, outs[k]);
      floor[k] = {std::min(floor[k].wall, f.wall), std::min(floor[k].cpu, f.cpu)};
      pack[k] = {std::min(pack[k].wall, p.wall), std::min(pack[k].cpu, p.cpu)};
      wall_ratios[k].push_back(p.wall / f.wall);
      cpu_ratios[k].push_back(p.cpu / f.cpu);
    }
    write_floor[k] = write_floor_ms(out_dirs[k], sample_bytes, images.size());
    if (k == 0) print_stages(images, out_dirs[0]);
  }
  for (std::size_t k = 0; k < outs.size(); ++k) {
    std::printf(
        "write floor (1 thread, cpu ms/image): %.2f to store %.1f MB per image in %s (%s)\n",
        write_floor[k], static_cast<double>(sample_bytes) / 1e6, out_dirs[k].c_str(),
        filesystem_name(out_dirs[k]).c_str());
  }
  const double n = static_cast<double>(images.size());
  std::printf("images: %zu JPEGs, threads: %d, best of %d, load average before %s, after %s\n",
              images.size(), threads, reps, load_before.c_str(), load_average().c_str());
  for (std::size_t k = 0; k < outs.size(); ++k) {
    std::printf("floor  cv::imread only: %8.3f s wall (%6.2f ms/image), %8.3f s cpu\n",
                floor[k].wall, 1000 * floor[k].wall / n, floor[k].cpu);
    std::printf(
        "qcal   pack --recipe yolo (%s) into %s (%s): %8.3f s wall (%6.2f ms/image), %8.3f s cpu\n",
        format.c_str(), out_dirs[k].c_str(), filesystem_name(out_dirs[k]).c_str(), pack[k].wall,
        1000 * pack[k].wall / n, pack[k].cpu);
    std::printf("  ratio  pack / imread: %8.2f wall, %.2f cpu  (target <= 1.5)\n",
                pack[k].wall / floor[k].wall, pack[k].cpu / floor[k].cpu);
    const auto& w = wall_ratios[k];
    const auto& c = cpu_ratios[k];
    std::printf(
        "  spread per repetition (best / median / worst): wall %.2f / %.2f / %.2f, cpu %.2f / %.2f "
        "/ %.2f\n",
        *std::min_element(w.begin(), w.end()), median(w), *std::max_element(w.begin(), w.end()),
        *std::min_element(c.begin(), c.end()), median(c), *std::max_element(c.begin(), c.end()));
  }
  if (!generated.empty()) {
    std::error_code ec;
    fs::remove_all(generated, ec);
  }
  return 0;
}

int main(int argc, char** argv) {
  // A bad image folder or an unwritable --out ends with a message, not an uncaught exception.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_pack: %s\n", e.what());
    return 1;
  }
}
