// Signal cleanup. The handler only writes the signal's number into a pipe (write(2) is
// async-signal-safe); a thread waiting on the pipe does the cleanup in ordinary code: it takes
// the temporary-file registry's lock for good (so no output is renamed into place and no new
// temporary appears after it), removes the registered temporaries and calls _exit. A second
// signal during the cleanup changes nothing.
#include "signals.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "core/temp_files.hpp"

namespace qcal::cli {
namespace {

int g_signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int sig) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] const ssize_t n = ::write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

[[noreturn]] void clean_up_and_exit(int sig) {
  const std::size_t removed = remove_temps_for_exit();
  const std::string message = "\nqcal: stopped by " + std::string(signal_name(sig)) + "; " +
                              std::to_string(removed) +
                              " temporary file(s) removed, finished outputs left as they were\n";
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, message.data(), message.size());
  ::_exit(128 + sig);
}

void wait_for_signal() {
  unsigned char byte = 0;
  while (true) {
    const ssize_t n = ::read(g_signal_pipe[0], &byte, 1);
    if (n == 1) clean_up_and_exit(byte);
    if (n < 0 && errno == EINTR) continue;
    return;  // the pipe closed: nothing more can arrive
  }
}

}  // namespace

void install_signal_cleanup() {
  if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0) return;  // without it, signals keep their defaults
  std::thread(wait_for_signal).detach();
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int sig : std::array{SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction previous {};
    // A signal the caller ignores (nohup, a background job without job control) stays ignored.
    if (::sigaction(sig, nullptr, &previous) == 0 && previous.sa_handler == SIG_IGN) continue;
    ::sigaction(sig, &action, nullptr);
  }
}

}  // namespace qcal::cli
