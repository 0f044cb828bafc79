// Benchmark: the reduce step of a sharded `qcal select` (select_from_scores) on synthetic
// scores files of 100k and 1M candidates, choosing 1,000. Prints wall time and peak memory
// (the child process's maximum RSS) of the diverse strategy against its peer, the top strategy
// on the same files (reading the shards, ranking, the analysis and the links: everything but
// the farthest-point walk).
//
//   select_reduce_bench [WORK_DIR] [--sizes 100000,1000000] [--shards 10] [-n 1000]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "core/shard.hpp"
#include "dataset/score_file.hpp"
#include "dataset/select.hpp"

namespace fs = std::filesystem;
using namespace qcal;

namespace {

// Shard `index` of `count` over `total` synthetic candidates: plausible measures, and
// descriptors from 64 seeded cluster centres plus noise (so the walk has structure to find).
void write_shard(const fs::path& file, std::size_t total, std::size_t index, std::size_t count) {
  const ShardRange r = shard_range(Shard{index, count, ""}, total);
  dataset::ScoresHeader h;
  h.source = "synthetic";
  h.shard_index = static_cast<std::uint32_t>(index);
  h.shard_count = static_cast<std::uint32_t>(count);
  h.listed = total;
  h.listing_hash = 42;  // the same for every shard of one listing, as the map steps compute it
  h.first = r.begin;
  h.images = r.end - r.begin;
  h.input_width = 640;
  h.input_height = 640;
  h.descriptor_size = dataset::kDescriptorSide * dataset::kDescriptorSide * 3;
  std::vector<dataset::ScoredImage> images(h.images);
  Rng rng(1000 + index);
  for (std::size_t k = 0; k < images.size(); ++k) {
    auto& img = images[k];
    const std::size_t i = r.begin + k;
    char name[64];
    std::snprintf(name, sizeof name, "cam%03zu/frame_%07zu.jpg", i % 500, i);
    img.relative = name;
    img.readable = true;
    img.measures = {1920, 1080, 2, 100.0 + static_cast<double>(rng.next_below(900)), 120, 50, 30};
    img.scores = {static_cast<double>(rng.next_below(100)), 80, 70, 100, 40};
    img.total = 20.0 + static_cast<double>(rng.next_below(8000)) / 100.0;
    const std::uint64_t centre = rng.next_below(64);
    img.descriptor.resize(h.descriptor_size);
    for (std::size_t d = 0; d < img.descriptor.size(); ++d) {
      const std::uint64_t base = (centre * 37 + d * 11) % 200;
      img.descriptor[d] = static_cast<std::uint8_t>(base + rng.next_below(56));
    }
  }
  dataset::write_scores_file(file, h, images);
}

struct Run {
  double seconds = 0;
  double peak_mb = 0;
  bool ok = false;
};

// The reduce in a child process, so its peak RSS is its own.
Run run_reduce(const std::vector<fs::path>& files, const fs::path& out, dataset::Strategy s,
               std::size_t n) {
  fs::remove_all(out);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    dataset::SelectOptions o;
    o.out_dir = out;
    o.n = n;
    o.threshold = 0;
    o.strategy = s;
    o.link = true;  // the synthetic images do not exist: links need no target
    try {
      dataset::select_from_scores(o, files);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "reduce failed: %s\n", e.what());
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  Run r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.peak_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
  r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return r;
}

std::vector<std::size_t> parse_sizes(const std::string& text) {
  std::vector<std::size_t> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t comma = text.find(',', pos);
    out.push_back(std::stoul(text.substr(pos, comma - pos)));
    pos = comma == std::string::npos ? text.size() : comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path work = fs::temp_directory_path() / ("qcal_select_reduce_" + std::to_string(getpid()));
  std::vector<std::size_t> sizes = {100000, 1000000};
  std::size_t shards = 10, n = 1000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--sizes" && i + 1 < argc) {
      sizes = parse_sizes(argv[++i]);
    } else if (a == "--shards" && i + 1 < argc) {
      shards = std::stoul(argv[++i]);
    } else if (a == "-n" && i + 1 < argc) {
      n = std::stoul(argv[++i]);
    } else {
      work = a;
    }
  }
  std::printf("%10s %7s %9s %10s %9s %10s %9s\n", "candidates", "shards", "top s", "top MB",
              "diverse s", "diverse MB", "ratio");
  for (std::size_t total : sizes) {
    const fs::path dir = work / std::to_string(total);
    fs::create_directories(dir);
    std::vector<fs::path> files;
    for (std::size_t i = 0; i < shards; ++i) {
      files.push_back(dir / ("scores-" + std::to_string(i) + ".qsc"));
      write_shard(files.back(), total, i, shards);
    }
    const Run top = run_reduce(files, dir / "top", dataset::Strategy::kTop, n);
    const Run diverse = run_reduce(files, dir / "diverse", dataset::Strategy::kDiverse, n);
    if (!top.ok || !diverse.ok) return 1;
    std::printf("%10zu %7zu %9.2f %10.0f %9.2f %10.0f %8.2fx\n", total, shards, top.seconds,
                top.peak_mb, diverse.seconds, diverse.peak_mb, diverse.seconds / top.seconds);
    std::fflush(stdout);
    fs::remove_all(dir);
  }
  fs::remove_all(work);
  return 0;
}
