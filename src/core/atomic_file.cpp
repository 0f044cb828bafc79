// AtomicFile implementation: temp file + rename(2), which is atomic within one filesystem.
#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/magic.h>
#include <sys/vfs.h>
#endif

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.hpp"
#include "core/temp_files.hpp"

namespace qcal {
namespace {
Error io_error(const std::string& what, const std::filesystem::path& path) {
  Error e(ErrorCode::kIo, what + ": " + std::strerror(errno));
  e.with("file", path.string());
  return e;
}
}  // namespace

AtomicFile::AtomicFile(std::filesystem::path final_path) : final_path_(std::move(final_path)) {
  temp_path_ = temp_path_for(final_path_);
  sweep_stale_temps(temp_path_.parent_path());
  const TempLock lock;  // registered and created together: a signal never misses it
  register_temp(temp_path_);
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (!file_) {
    const int err = errno;
    unregister_temp(temp_path_);
    errno = err;
    throw io_error("cannot create output file", final_path_);
  }
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) {
    const TempLock lock;
    std::error_code ec;
    std::filesystem::remove(temp_path_, ec);
    unregister_temp(temp_path_);
  }
}

void AtomicFile::write(const void* data, std::size_t size) {
  if (size && std::fwrite(data, 1, size, file_) != size)
    throw io_error("write failed", final_path_);
  position_ += size;
}

void AtomicFile::write_at(std::uint64_t offset, const void* data, std::size_t size) {
  if (std::fseek(file_, static_cast<long>(offset), SEEK_SET) != 0 ||
      std::fwrite(data, 1, size, file_) != size ||
      std::fseek(file_, static_cast<long>(position_), SEEK_SET) != 0) {
    throw io_error("write failed", final_path_);
  }
}

void AtomicFile::reserve_space(std::uint64_t bytes) {
  if (bytes == 0) return;
  if (bytes > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()) - position_) {
    errno = EFBIG;
    throw io_error("not enough space for the output (" + std::to_string(bytes) + " more bytes)",
                   final_path_);
  }
#if defined(__linux__)
  if (std::fflush(file_) != 0) throw io_error("write failed", final_path_);
  const int fd = ::fileno(file_);
  if (fd < 0) return;
  // tmpfs preallocates by zeroing memory pages up front, serially (~80 ms per GB here), and its
  // writes cost no less afterwards: nothing to gain, so it allocates as it goes.
  struct statfs fs_info {};
  if (::fstatfs(fd, &fs_info) == 0 &&
      (fs_info.f_type == TMPFS_MAGIC || fs_info.f_type == RAMFS_MAGIC))
    return;
  int rc = 0;
  do {
    rc = ::fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(position_),
                     static_cast<off_t>(bytes));
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return;
  if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG) {
    throw io_error(
        "not enough space for the output (" + std::to_string(position_ + bytes) + " bytes)",
        final_path_);
  }
  // EOPNOTSUPP and the like: the writes allocate as they go.
#endif
}

void AtomicFile::close() {
  if (!file_) return;
  if (std::fflush(file_) != 0) throw io_error("write failed", final_path_);
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) throw io_error("close failed", final_path_);
}

void AtomicFile::commit() {
  close();
  const TempLock lock;
  std::error_code ec;
  std::filesystem::rename(temp_path_, final_path_, ec);
  if (ec) {
    Error e(ErrorCode::kIo, "cannot rename output into place: " + ec.message());
    e.with("file", final_path_.string());
    throw e;
  }
  unregister_temp(temp_path_);
  committed_ = true;
}

void commit_together(const std::vector<AtomicFile*>& files) {
  for (AtomicFile* f : files) f->close();
  const TempLock lock;
  for (AtomicFile* f : files) f->commit();
}

void commit_together(std::initializer_list<AtomicFile*> files) {
  commit_together(std::vector<AtomicFile*>(files));
}

AtomicDir::AtomicDir(std::filesystem::path final_path) : final_path_(std::move(final_path)) {
  if (final_path_.has_relative_path() && final_path_.filename().empty()) {
    final_path_ = final_path_.parent_path();  // "out/" is the folder out
  }
  temp_path_ = temp_path_for(final_path_);
  sweep_stale_temps(temp_path_.parent_path());
  const TempLock lock;
  register_temp(temp_path_);
  std::error_code ec;
  std::filesystem::create_directory(temp_path_, ec);
  if (ec) {
    unregister_temp(temp_path_);
    throw Error(ErrorCode::kIo, "cannot create the output folder: " + ec.message())
        .with("path", final_path_.string());
  }
}

AtomicDir::~AtomicDir() {
  if (committed_) return;
  const TempLock lock;
  std::error_code ec;
  std::filesystem::remove_all(temp_path_, ec);
  unregister_temp(temp_path_);
}

// Under one TempLock: the previous folder moves aside (a registered temporary), the new one takes
// its name, the previous one is removed. A signal's cleanup runs before or after all of it.
void AtomicDir::commit() {
  const TempLock lock;
  std::error_code ec;
  std::filesystem::path old;
  if (std::filesystem::exists(std::filesystem::symlink_status(final_path_, ec))) {
    old = temp_path_for(final_path_);
    register_temp(old);
    std::filesystem::rename(final_path_, old, ec);
    if (ec) {
      unregister_temp(old);
      throw Error(ErrorCode::kIo, "cannot move the previous output folder aside: " + ec.message())
          .with("path", final_path_.string());
    }
  }
  std::filesystem::rename(temp_path_, final_path_, ec);
  if (ec) {
    std::error_code back;
    if (!old.empty()) std::filesystem::rename(old, final_path_, back);
    if (!old.empty() && !back) unregister_temp(old);
    throw Error(ErrorCode::kIo, "cannot rename the output folder into place: " + ec.message())
        .with("path", final_path_.string());
  }
  unregister_temp(temp_path_);
  committed_ = true;
  if (!old.empty()) {
    std::filesystem::remove_all(old, ec);
    unregister_temp(old);
  }
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  AtomicFile f(path);
  f.write(content);
  f.commit();
}

// One allocation of the file's size (an ostringstream regrows and copies: a third of the time
// on a 20 MB CSV); files that report no size (pipes, /proc) or grew meanwhile are read on in
// chunks.
std::string read_file(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw io_error("cannot open file", path);
  std::string content;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec) content.resize(static_cast<std::size_t>(size));
  const std::size_t got = content.empty() ? 0 : std::fread(content.data(), 1, content.size(), f);
  content.resize(got);
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) content.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw io_error("read failed", path);
  return content;
}

}  // namespace qcal
