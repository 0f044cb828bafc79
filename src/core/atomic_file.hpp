// Writes files under a temporary name in the same folder and renames on commit(), so a crash
// or Ctrl-C never leaves a half-written file under its final name. Temporaries are registered
// (core/temp_files.hpp): a signal removes them, and a later run sweeps those of a killed one.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace qcal {

class AtomicFile {
 public:
  // Opens "<dir>/.<name>.qcal-tmp-<pid>-<n>" for binary writing; throws kIo on failure.
  explicit AtomicFile(std::filesystem::path final_path);
  ~AtomicFile();  // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }
  // Overwrites bytes at an absolute offset (for headers patched at the end), then returns to the
  // end.
  void write_at(std::uint64_t offset, const void* data, std::size_t size);
  std::uint64_t position() const { return position_; }
  // Reserves disk space for `bytes` more bytes after the current position (fallocate with
  // FALLOC_FL_KEEP_SIZE: the file's size still grows only as it is written). For a large file of
  // known size: a disk that is too small fails here, before any work, and ext4 then stores the
  // writes into already allocated blocks (measured ~20% less kernel CPU per byte than delayed
  // allocation). Throws kIo when the space is not there; a no-op on tmpfs (see the .cpp) and
  // where the filesystem or platform cannot preallocate.
  void reserve_space(std::uint64_t bytes);
  // Flushes and closes the temporary (once); throws kIo on failure (a full disk shows here).
  void close();
  // close(), then renames to the final path; throws kIo on failure.
  void commit();
  const std::filesystem::path& final_path() const { return final_path_; }

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  std::FILE* file_ = nullptr;
  std::uint64_t position_ = 0;
  bool committed_ = false;
};

// A folder output built under a registered temporary name beside its final path and put in place
// by one rename on commit(): a previous folder there moves aside and is removed afterwards (and is
// put back if the rename fails). An interrupted or failed run leaves the previous folder as it
// was and no temporary.
class AtomicDir {
 public:
  explicit AtomicDir(std::filesystem::path final_path);  // creates the temporary; throws kIo
  ~AtomicDir();                                          // removes the temporary unless committed
  AtomicDir(const AtomicDir&) = delete;
  AtomicDir& operator=(const AtomicDir&) = delete;

  const std::filesystem::path& path() const { return temp_path_; }  // where to write
  const std::filesystem::path& final_path() const { return final_path_; }
  void commit();

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  bool committed_ = false;
};

// Commits several files as one output: all are closed first (so a write error leaves every
// final name untouched), then renamed one after another under one TempLock, so a signal's
// cleanup runs before all the renames or after them. Only a hard kill (SIGKILL, power loss)
// between two renames can leave some new and some previous files.
void commit_together(std::initializer_list<AtomicFile*> files);
void commit_together(const std::vector<AtomicFile*>& files);

// Whole-file helpers built on AtomicFile.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);
// Reads a whole file; throws kIo naming the path.
std::string read_file(const std::filesystem::path& path);

}  // namespace qcal
