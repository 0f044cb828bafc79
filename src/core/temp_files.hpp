// This process's temporary files and folders: their names, a registry of the live ones (removed
// when a signal stops the run), all-or-nothing commits of multi-file outputs, and the sweep of
// temporaries left by qcal processes that died.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <mutex>
#include <optional>
#include <string_view>

namespace qcal {

// "<dir>/.<name>.qcal-tmp-<pid>-<n>": hidden, in the final path's folder (so rename(2) is atomic),
// and carrying the PID so a later run can tell that its writer is gone.
std::filesystem::path temp_path_for(const std::filesystem::path& final_path);
// The PID in a temporary's file name; nullopt for names qcal does not write.
std::optional<pid_t> temp_name_pid(std::string_view file_name);

// Holds the registry's lock. While it is held no signal cleanup runs, so a group of renames done
// under one TempLock happens entirely or (when a signal's cleanup ran first) not at all. Locks
// nest within a thread.
class TempLock {
 public:
  TempLock();

 private:
  std::unique_lock<std::recursive_mutex> lock_;
};

// Live temporaries (files or folders, removed recursively). Register before creating the path,
// with a TempLock held across both, so a signal never leaves one behind.
void register_temp(const std::filesystem::path& path);
void unregister_temp(const std::filesystem::path& path);

// For the signal handler's thread: takes the lock for good (no rename or new temporary after
// it), removes every registered temporary, and returns how many it removed. The process must
// exit right after.
std::size_t remove_temps_for_exit();

// Removes temporaries in `dir` whose name carries the PID of a process that no longer exists
// (a qcal run that was killed), once per folder per process. Never touches other names.
void sweep_stale_temps(const std::filesystem::path& dir);

}  // namespace qcal
