// Image file reading and the truncation check shared by select and preprocessing.
#include "core/image_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/error.hpp"

namespace qcal {
namespace {

[[noreturn]] void throw_image(ErrorCode code, const std::string& message,
                              const std::filesystem::path& path) {
  Error e(code, message);
  e.with("image", path.string());
  throw e;
}

// Closes the descriptor on every path out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

void read_image_file(const std::filesystem::path& path, std::vector<unsigned char>& bytes) {
  const Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    throw_image(ErrorCode::kIo, std::string("cannot open image file: ") + std::strerror(errno),
                path);
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    throw_image(ErrorCode::kIo, "not a regular file (a folder, device or pipe)", path);
  }
  // Far above any camera's output; a larger "image" is a mistake, not something to allocate.
  constexpr off_t kMaxImageFileBytes = off_t{1} << 30;
  if (st.st_size > kMaxImageFileBytes) {
    throw_image(ErrorCode::kLimit,
                "image file is " + std::to_string(st.st_size) + " bytes, above the 1 GiB limit",
                path);
  }
  bytes.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(f.fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw_image(ErrorCode::kIo, std::string("cannot read image file: ") + std::strerror(errno),
                  path);
    }
    if (n == 0) break;  // shrank meanwhile: check what is there
    got += static_cast<std::size_t>(n);
  }
  bytes.resize(got);
  check_image_bytes(bytes.data(), bytes.size(), path);
}

void check_image_bytes(const unsigned char* data, std::size_t size,
                       const std::filesystem::path& path) {
  if (size == 0) throw_image(ErrorCode::kFormat, "image file is empty", path);
  const bool jpeg = size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
  if (jpeg && !jpeg_has_end_marker(data, size)) {
    throw_image(ErrorCode::kFormat, "JPEG is truncated (no end-of-image marker)", path);
  }
}

// Searching from the first top-level start-of-scan skips EXIF thumbnails (which end with their
// own marker); FF D9 cannot occur inside scan data (FF is stuffed as FF 00), and data appended
// after the image (motion photos) does not matter.
bool jpeg_has_end_marker(const unsigned char* data, std::size_t size) {
  std::size_t i = 2;
  while (i + 4 <= size) {
    if (data[i] != 0xFF) return false;
    const unsigned marker = data[i + 1];
    if (marker == 0xFF) {
      ++i;
      continue;
    }
    if (marker == 0xDA) break;
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
      i += 2;
      continue;
    }
    i += 2 + ((static_cast<std::size_t>(data[i + 2]) << 8) | data[i + 3]);
  }
  for (std::size_t j = i; j + 1 < size; ++j) {
    if (data[j] == 0xFF && data[j + 1] == 0xD9) return true;
  }
  return false;
}

}  // namespace qcal
