// Temporary-file registry and sweep. The registry lives for the whole process (never destroyed),
// so a signal that arrives while static objects are torn down still finds it.
#include "core/temp_files.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace qcal {
namespace {

constexpr std::string_view kTempMarker = ".qcal-tmp-";

struct Registry {
  std::recursive_mutex mutex;
  std::vector<fs::path> live;  // guarded by mutex
  std::set<fs::path> swept;    // guarded by mutex
  std::atomic<unsigned> counter{0};
};

Registry& registry() {
  static Registry* r = new Registry();  // intentionally leaked: see the file comment
  return *r;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A process with this PID exists (possibly another user's: EPERM means it exists).
bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

fs::path temp_path_for(const fs::path& final_path) {
  fs::path dir = final_path.parent_path();
  if (dir.empty()) dir = ".";
  fs::path name = final_path.filename();
  if (name.empty()) name = final_path.parent_path().filename();  // "out/" names the folder out
  return dir / ("." + name.string() + std::string(kTempMarker) + std::to_string(::getpid()) + "-" +
                std::to_string(registry().counter.fetch_add(1)));
}

std::optional<pid_t> temp_name_pid(std::string_view file_name) {
  if (file_name.size() < 2 || file_name[0] != '.') return std::nullopt;
  const std::size_t marker = file_name.rfind(kTempMarker);
  if (marker == std::string_view::npos || marker < 2) return std::nullopt;
  const std::string_view tail = file_name.substr(marker + kTempMarker.size());
  const std::size_t dash = tail.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view pid = tail.substr(0, dash);
  if (!all_digits(pid) || !all_digits(tail.substr(dash + 1)) || pid.size() > 9) {
    return std::nullopt;
  }
  const long value = std::stol(std::string(pid));
  if (value <= 0) return std::nullopt;
  return static_cast<pid_t>(value);
}

TempLock::TempLock() : lock_(registry().mutex) {}

void register_temp(const fs::path& path) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.live.push_back(path);
}

void unregister_temp(const fs::path& path) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (auto it = r.live.rbegin(); it != r.live.rend(); ++it) {
    if (*it == path) {
      r.live.erase(std::next(it).base());
      return;
    }
  }
}

std::size_t remove_temps_for_exit() {
  Registry& r = registry();
  r.mutex.lock();  // never unlocked: the process exits holding it
  std::size_t removed = 0;
  // Newest first: files inside a temporary folder go before the folder.
  for (auto it = r.live.rbegin(); it != r.live.rend(); ++it) {
    std::error_code ec;
    const auto n = fs::remove_all(*it, ec);
    if (!ec && n > 0 && n != static_cast<std::uintmax_t>(-1)) ++removed;
  }
  r.live.clear();
  return removed;
}

void sweep_stale_temps(const fs::path& dir_arg) {
  const fs::path dir = dir_arg.empty() ? fs::path(".") : dir_arg;
  Registry& r = registry();
  {
    std::lock_guard lock(r.mutex);
    if (!r.swept.insert(dir).second) return;
  }
  std::error_code ec;
  fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) return;
  const pid_t self = ::getpid();
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return;
    const std::string name = it->path().filename().string();
    const auto pid = temp_name_pid(name);
    if (!pid || *pid == self || process_alive(*pid)) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || st.st_uid != ::getuid()) continue;
    std::error_code rm;
    fs::remove_all(it->path(), rm);
  }
}

}  // namespace qcal
