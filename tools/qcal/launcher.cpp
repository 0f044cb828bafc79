// The `qcal` command: sets how idle OpenMP threads wait, then executes qcal-main (the real CLI)
// from the same folder. libgomp reads GOMP_SPINCOUNT / OMP_WAIT_POLICY once, while the process
// loads, before any code of qcal's runs: the only place to choose them is before exec.
//
// Why: by default an idle libgomp thread spins for about 300,000 iterations at every barrier.
// oneDNN and qcal's kernels cross hundreds of barriers per image, so when another process
// competes for the cores the spinning threads take its time slices and inference runs 5 to 10
// times slower (yolov8n: 836 ms instead of 45 with one busy process beside it on this 2-core
// machine). A short spin keeps the idle speed and degrades gracefully under load; the numbers
// are in docs/engine.md. A user's own GOMP_SPINCOUNT or OMP_WAIT_POLICY is left alone.
//
// Deliberately tiny (libc only): it starts in about a millisecond, so qcal's start-up is that of
// qcal-main alone.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// Spin iterations before an idle OpenMP thread sleeps (see docs/engine.md for the measurement).
constexpr const char* kSpinCount = QCAL_SPINCOUNT;

std::string own_folder(const char* argv0) {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string path;
  if (n > 0) {
    path.assign(buf, static_cast<std::size_t>(n));
  } else if (argv0 && std::strchr(argv0, '/')) {
    path = argv0;
  } else {
    return {};
  }
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

}  // namespace

int main(int argc, char** argv) {
  (void)argc;
  if (!std::getenv("GOMP_SPINCOUNT") && !std::getenv("OMP_WAIT_POLICY")) {
    ::setenv("GOMP_SPINCOUNT", kSpinCount, 1);
  }
  const std::string folder = own_folder(argv[0]);
  if (folder.empty()) {
    std::fprintf(stderr, "qcal: error: cannot find the folder of the qcal executable\n");
    return 70;
  }
  const std::string target = folder + "/qcal-main";
  ::execv(target.c_str(), argv);
  std::fprintf(stderr, "qcal: error: cannot run %s: %s\n", target.c_str(), std::strerror(errno));
  return 70;
}
