// Shared CLI plumbing implementation.
#include "commands/common.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/error.hpp"

namespace qcal::cli {

void add_threads_flag(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--threads,-j", o.threads, "Worker threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber);
}
void add_seed_flag(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--seed", o.seed, "Random seed; the same seed and inputs give the same output")
      ->capture_default_str();
}
void add_json_flag(CLI::App* cmd, CommonOptions& o) {
  cmd->add_flag("--json", o.json, "Print a machine-readable summary on stdout");
}
void add_quiet_flag(CLI::App* cmd, CommonOptions& o) {
  cmd->add_flag("--quiet,-q", o.quiet, "Print nothing on stderr but errors");
}

void add_size_option(CLI::App* cmd, std::vector<int>& size) {
  cmd->add_option("--size", size, "W H: the preset's size when the model's input size is dynamic")
      ->expected(2);
}

std::optional<std::array<int, 2>> parse_size_wh(const std::vector<int>& size) {
  if (size.empty()) return std::nullopt;
  if (size.size() != 2 || size[0] <= 0 || size[1] <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "--size needs two positive numbers: W H");
  }
  return std::array<int, 2>{size[0], size[1]};
}

void add_shard_option(CLI::App* cmd, std::string& shard, const std::string& what) {
  cmd->add_option("--shard", shard,
                  "Map step: process block I (0-based) of N of the sorted " + what +
                      "; 'auto' takes I and N from a Slurm job array (SLURM_ARRAY_TASK_*) or a "
                      "Kubernetes Indexed Job (JOB_COMPLETION_INDEX, N from auto/N or "
                      "QCAL_SHARD_COUNT)")
      ->type_name("I/N|auto");
}

std::optional<Shard> resolve_shard(const std::string& text, bool quiet) {
  if (text.empty()) return std::nullopt;
  Shard shard = parse_shard(text);
  if (!quiet) std::fprintf(stderr, "qcal: %s\n", describe(shard).c_str());
  return shard;
}

int resolve_threads(int threads) {
  if (threads > 0) return threads;
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

std::filesystem::path deps_dir() {
  if (const char* env = std::getenv("QCAL_DEPS"); env && *env) return env;
  return QCAL_DEPS_DIR;
}

std::filesystem::path opencv_data_dir() { return "/usr/share/doc/opencv-doc/examples/data"; }

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace qcal::cli
