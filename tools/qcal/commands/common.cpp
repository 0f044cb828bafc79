// Shared CLI plumbing implementation.
#include "commands/common.hpp"

#include <unistd.h>

#include <cstdlib>
#include <thread>

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
