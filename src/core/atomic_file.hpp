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
  // Overwrites bytes at an absolute offset (for headers patched at the end), then returns to the end.
  void write_at(std::uint64_t offset, const void* data, std::size_t size);
  std::uint64_t position() const { return position_; }
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
