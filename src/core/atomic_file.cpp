// AtomicFile implementation: temp file + rename(2), which is atomic within one filesystem.
#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/magic.h>
#include <sys/vfs.h>
#endif

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.hpp"
#include "core/image_file.hpp"

namespace qcal {
namespace {
std::atomic<unsigned> g_temp_counter{0};

Error io_error(const std::string& what, const std::filesystem::path& path) {
  Error e(ErrorCode::kIo, what + ": " + std::strerror(errno));
  e.with("file", path.string());
  return e;
}
}  // namespace

AtomicFile::AtomicFile(std::filesystem::path final_path) : final_path_(std::move(final_path)) {
  std::filesystem::path dir = final_path_.parent_path();
  if (dir.empty()) dir = ".";
  temp_path_ = dir / ("." + final_path_.filename().string() + ".tmp-" + std::to_string(::getpid()) +
                      "-" + std::to_string(g_temp_counter.fetch_add(1)));
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (!file_) throw io_error("cannot create output file", final_path_);
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(temp_path_, ec);
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

void AtomicFile::commit() {
  if (std::fflush(file_) != 0) throw io_error("flush failed", final_path_);
  int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) throw io_error("close failed", final_path_);
  std::error_code ec;
  std::filesystem::rename(temp_path_, final_path_, ec);
  if (ec) {
    Error e(ErrorCode::kIo, "cannot rename output into place: " + ec.message());
    e.with("file", final_path_.string());
    throw e;
  }
  committed_ = true;
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
  try {
    require_regular_file(::fileno(f), path);  // /dev/zero would be read until memory runs out
  } catch (...) {
    std::fclose(f);
    throw;
  }
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
