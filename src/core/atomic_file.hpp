// Writes files under a temporary name in the same folder and renames on commit(), so a crash
// or Ctrl-C never leaves a half-written file under its final name.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace qcal {

class AtomicFile {
 public:
  // Opens "<dir>/.<name>.tmp-<pid>-<n>" for binary writing; throws kIo on failure.
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
  // Flushes, closes and renames to the final path; throws kIo on failure.
  void commit();
  const std::filesystem::path& final_path() const { return final_path_; }

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  std::FILE* file_ = nullptr;
  std::uint64_t position_ = 0;
  bool committed_ = false;
};

// Whole-file helpers built on AtomicFile.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);
// Reads a whole file; throws kIo naming the path.
std::string read_file(const std::filesystem::path& path);

}  // namespace qcal
