// .npz = ZIP archive of .npy members (PKWARE APPNOTE 6.3: local headers, central directory,
// ZIP64 extra fields and end records). The writer always uses ZIP64 size fields, so a member
// can pass 4 GiB without knowing its size up front; sizes and CRC are patched in place.
#include "core/npz.hpp"

#include <sys/types.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/checked.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"

namespace qcal {
namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::uint16_t kVersion = 45;  // 4.5: ZIP64
constexpr std::uint64_t kMaxDeflateRatio = 1032;
// Fixed DOS timestamp (1980-01-01 00:00) so the same data gives the same bytes.
constexpr std::uint16_t kDosTime = 0;
constexpr std::uint16_t kDosDate = (1 << 5) | 1;

void put16(std::string& s, std::uint16_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
void put64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
std::uint16_t get16(const unsigned char* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint32_t get32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t get64(const unsigned char* p) {
  return static_cast<std::uint64_t>(get32(p)) | (static_cast<std::uint64_t>(get32(p + 4)) << 32);
}

std::uint32_t crc_update(std::uint32_t crc, const void* data, std::uint64_t size) {
  const auto* p = static_cast<const Bytef*>(data);
  uLong c = crc;
  while (size > 0) {
    const auto chunk = static_cast<uInt>(std::min<std::uint64_t>(size, 1u << 30));
    c = crc32(c, p, chunk);
    p += chunk;
    size -= chunk;
  }
  return static_cast<std::uint32_t>(c);
}

void check_member_name(const std::string& name) {
  if (name.empty() || name.size() > 1000 || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument,
                "npz array name '" + name + "' must be 1..1000 characters without '/'");
  }
}

}  // namespace

NpzWriter::NpzWriter(const std::filesystem::path& path) : file_(path) {}

void NpzWriter::write_local_header(const std::string& filename) {
  std::string h;
  put32(h, kLocalSig);
  put16(h, kVersion);
  put16(h, 0);  // flags
  put16(h, 0);  // stored
  put16(h, kDosTime);
  put16(h, kDosDate);
  put32(h, 0);            // CRC, patched
  put32(h, 0xFFFFFFFFu);  // sizes live in the ZIP64 extra field
  put32(h, 0xFFFFFFFFu);
  put16(h, static_cast<std::uint16_t>(filename.size()));
  put16(h, 20);
  h += filename;
  put16(h, 0x0001);
  put16(h, 16);
  put64(h, 0);  // uncompressed size, patched
  put64(h, 0);  // compressed size, patched
  file_.write(h);
}

void NpzWriter::begin_array(const std::string& name, DType dtype, Shape row_shape) {
  if (in_array_) throw Error(ErrorCode::kInternal, "npz: begin_array while another array is open");
  check_member_name(name);
  for (const auto& m : members_) {
    if (m.filename == name + ".npy")
      throw Error(ErrorCode::kInvalidArgument, "npz: duplicate array name '" + name + "'");
  }
  Member m;
  m.filename = name + ".npy";
  m.header_offset = file_.position();
  members_.push_back(m);
  write_local_header(m.filename);
  dtype_ = dtype;
  row_shape_ = std::move(row_shape);
  row_bytes_ =
      checked_mul(checked_numel(row_shape_), static_cast<std::int64_t>(dtype_size(dtype_)));
  rows_ = 0;
  Shape shape = row_shape_;
  shape.insert(shape.begin(), 0);
  // Room for a 19-digit leading dimension, so the header is rewritten in place (as NpyWriter).
  const std::string base = make_npy_header(dtype_, shape, 0);
  const std::string roomy = make_npy_header(dtype_, shape, base.size() - 10 + 20);
  npy_header_size_ = roomy.size();
  file_.write(roomy);
  data_start_ = file_.position();
  data_crc_ = crc_update(0, nullptr, 0);
  data_size_ = 0;
  in_array_ = true;
}

void NpzWriter::append_rows(const void* data, std::int64_t rows) {
  if (!in_array_) throw Error(ErrorCode::kInternal, "npz: append_rows without begin_array");
  const auto bytes = static_cast<std::uint64_t>(checked_mul(rows, row_bytes_));
  file_.write(data, bytes);
  data_crc_ = crc_update(data_crc_, data, bytes);
  data_size_ += bytes;
  rows_ += rows;
}

void NpzWriter::end_array() {
  if (!in_array_) throw Error(ErrorCode::kInternal, "npz: end_array without begin_array");
  Shape shape = row_shape_;
  shape.insert(shape.begin(), rows_);
  const std::string header = make_npy_header(dtype_, shape, npy_header_size_ - 10);
  if (header.size() != npy_header_size_)
    throw Error(ErrorCode::kInternal, "npz: npy header grew past its reserved size");
  Member& m = members_.back();
  const std::uint32_t header_crc = crc_update(0, header.data(), header.size());
  m.crc = static_cast<std::uint32_t>(
      crc32_combine(header_crc, data_crc_, static_cast<z_off_t>(data_size_)));
  m.size = header.size() + data_size_;
  const std::uint64_t npy_offset = data_start_ - npy_header_size_;
  file_.write_at(npy_offset, header.data(), header.size());
  std::string crc;
  put32(crc, m.crc);
  file_.write_at(m.header_offset + 14, crc.data(), crc.size());
  std::string sizes;
  put64(sizes, m.size);
  put64(sizes, m.size);
  file_.write_at(m.header_offset + 30 + m.filename.size() + 4, sizes.data(), sizes.size());
  in_array_ = false;
}

void NpzWriter::add(const std::string& name, const Tensor& tensor) {
  // A whole array is a stream of one "row" holding everything, with the real shape in the header.
  if (in_array_) throw Error(ErrorCode::kInternal, "npz: add while an array is open");
  check_member_name(name);
  Member m;
  m.filename = name + ".npy";
  for (const auto& other : members_) {
    if (other.filename == m.filename)
      throw Error(ErrorCode::kInvalidArgument, "npz: duplicate array name '" + name + "'");
  }
  m.header_offset = file_.position();
  write_local_header(m.filename);
  const std::string header = make_npy_header(tensor.dtype(), tensor.shape());
  file_.write(header);
  file_.write(tensor.raw_data(), tensor.nbytes());
  m.crc =
      crc_update(crc_update(0, header.data(), header.size()), tensor.raw_data(), tensor.nbytes());
  m.size = header.size() + tensor.nbytes();
  std::string crc;
  put32(crc, m.crc);
  file_.write_at(m.header_offset + 14, crc.data(), crc.size());
  std::string sizes;
  put64(sizes, m.size);
  put64(sizes, m.size);
  file_.write_at(m.header_offset + 30 + m.filename.size() + 4, sizes.data(), sizes.size());
  members_.push_back(m);
}

void NpzWriter::finish() {
  end_archive();
  file_.commit();
}

void NpzWriter::end_archive() {
  if (in_array_) end_array();
  const std::uint64_t cd_offset = file_.position();
  std::string cd;
  for (const auto& m : members_) {
    put32(cd, kCentralSig);
    put16(cd, kVersion);  // made by
    put16(cd, kVersion);  // needed
    put16(cd, 0);
    put16(cd, 0);
    put16(cd, kDosTime);
    put16(cd, kDosDate);
    put32(cd, m.crc);
    put32(cd, 0xFFFFFFFFu);
    put32(cd, 0xFFFFFFFFu);
    put16(cd, static_cast<std::uint16_t>(m.filename.size()));
    put16(cd, 28);
    put16(cd, 0);  // comment
    put16(cd, 0);  // disk
    put16(cd, 0);  // internal attributes
    put32(cd, 0);  // external attributes
    put32(cd, 0xFFFFFFFFu);
    cd += m.filename;
    put16(cd, 0x0001);
    put16(cd, 24);
    put64(cd, m.size);
    put64(cd, m.size);
    put64(cd, m.header_offset);
  }
  file_.write(cd);
  const std::uint64_t zip64_end_offset = file_.position();
  std::string end;
  put32(end, kZip64EndSig);
  put64(end, 44);
  put16(end, kVersion);
  put16(end, kVersion);
  put32(end, 0);
  put32(end, 0);
  put64(end, members_.size());
  put64(end, members_.size());
  put64(end, cd.size());
  put64(end, cd_offset);
  put32(end, kZip64LocatorSig);
  put32(end, 0);
  put64(end, zip64_end_offset);
  put32(end, 1);
  put32(end, kEndSig);
  put16(end, 0);
  put16(end, 0);
  put16(end, static_cast<std::uint16_t>(std::min<std::size_t>(members_.size(), 0xFFFF)));
  put16(end, static_cast<std::uint16_t>(std::min<std::size_t>(members_.size(), 0xFFFF)));
  put32(end, static_cast<std::uint32_t>(std::min<std::uint64_t>(cd.size(), 0xFFFFFFFFu)));
  put32(end, 0xFFFFFFFFu);  // the offset is in the ZIP64 record
  put16(end, 0);
  file_.write(end);
}

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};

Error npz_error(const std::filesystem::path& path, const std::string& message) {
  Error e(ErrorCode::kFormat, "not a valid .npz: " + message);
  e.with("file", path.string());
  return e;
}

void read_at(std::FILE* f, std::uint64_t offset, void* dst, std::size_t size,
             const std::filesystem::path& path) {
  if (::fseeko(f, static_cast<off_t>(offset), SEEK_SET) != 0 ||
      std::fread(dst, 1, size, f) != size) {
    throw npz_error(
        path, "truncated archive (read past the end at offset " + std::to_string(offset) + ")");
  }
}

struct NpzMember {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflate
  std::uint32_t crc = 0;
  std::uint64_t csize = 0;
  std::uint64_t usize = 0;
  std::uint64_t data_offset = 0;
};

std::FILE* open_npz(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    Error e(ErrorCode::kIo, "cannot open .npz file");
    e.with("file", path.string());
    throw e;
  }
  return f;
}

// Opens `path` and reads its central directory: every member's name, method, CRC, sizes and
// data offset (after its local header), validated against the file size.
std::vector<NpzMember> read_directory(std::FILE* f, const std::filesystem::path& path) {
  std::error_code ec;
  const std::uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec || file_size < 22) throw npz_error(path, "too short for a ZIP archive");

  // The end record is in the last 22 + 65535 (comment) bytes.
  const std::uint64_t tail_len = std::min<std::uint64_t>(file_size, 22 + 65535);
  std::vector<unsigned char> tail(tail_len);
  read_at(f, file_size - tail_len, tail.data(), tail.size(), path);
  std::int64_t end_pos = -1;
  for (std::int64_t i = static_cast<std::int64_t>(tail_len) - 22; i >= 0; --i) {
    if (get32(&tail[static_cast<std::size_t>(i)]) == kEndSig) {
      end_pos = i;
      break;
    }
  }
  if (end_pos < 0) throw npz_error(path, "no ZIP end-of-central-directory record");
  const unsigned char* end = &tail[static_cast<std::size_t>(end_pos)];
  std::uint64_t entries = get16(end + 10);
  std::uint64_t cd_size = get32(end + 12);
  std::uint64_t cd_offset = get32(end + 16);
  const std::uint64_t end_abs = file_size - tail_len + static_cast<std::uint64_t>(end_pos);
  if (end_abs >= 20) {
    unsigned char loc[20];
    read_at(f, end_abs - 20, loc, 20, path);
    if (get32(loc) == kZip64LocatorSig) {
      unsigned char z[56];
      read_at(f, get64(loc + 8), z, 56, path);
      if (get32(z) != kZip64EndSig) throw npz_error(path, "bad ZIP64 end record");
      entries = get64(z + 32);
      cd_size = get64(z + 40);
      cd_offset = get64(z + 48);
    }
  }
  if (cd_offset > file_size || cd_size > file_size - cd_offset)
    throw npz_error(path, "central directory out of range");
  if (entries > 1000000) throw npz_error(path, "absurd number of members");
  std::vector<unsigned char> cd(cd_size);
  read_at(f, cd_offset, cd.data(), cd.size(), path);

  std::vector<NpzMember> out;
  std::size_t pos = 0;
  for (std::uint64_t i = 0; i < entries; ++i) {
    if (pos + 46 > cd.size() || get32(&cd[pos]) != kCentralSig)
      throw npz_error(path, "corrupt central directory");
    const unsigned char* h = &cd[pos];
    const std::uint16_t flags = get16(h + 8);
    const std::uint16_t method = get16(h + 10);
    const std::uint32_t crc = get32(h + 16);
    std::uint64_t csize = get32(h + 20);
    std::uint64_t usize = get32(h + 24);
    const std::uint16_t name_len = get16(h + 28);
    const std::uint16_t extra_len = get16(h + 30);
    const std::uint16_t comment_len = get16(h + 32);
    std::uint64_t local = get32(h + 42);
    if (pos + 46 + name_len + extra_len + comment_len > cd.size())
      throw npz_error(path, "corrupt central directory");
    std::string name(reinterpret_cast<const char*>(h + 46), name_len);
    // ZIP64 extra: only the fields whose 32-bit value is 0xFFFFFFFF, in this order.
    const unsigned char* x = h + 46 + name_len;
    std::size_t xp = 0;
    while (xp + 4 <= extra_len) {
      const std::uint16_t id = get16(x + xp);
      const std::uint16_t len = get16(x + xp + 2);
      if (xp + 4 + len > extra_len) break;
      if (id == 0x0001) {
        std::size_t q = xp + 4;
        auto take = [&](std::uint64_t& field) {
          if (field == 0xFFFFFFFFu && q + 8 <= xp + 4 + len) {
            field = get64(x + q);
            q += 8;
          }
        };
        take(usize);
        take(csize);
        take(local);
      }
      xp += 4 + len;
    }
    pos += 46 + name_len + extra_len + comment_len;

    const std::string member = name;
    auto member_error = [&](const std::string& m) {
      Error e = npz_error(path, m);
      e.with("member", member);
      return e;
    };
    if (flags & 1) throw member_error("encrypted members are not supported");
    if (method != 0 && method != 8)
      throw member_error("compression method " + std::to_string(method) +
                         " not supported (stored or deflate)");
    unsigned char lh[30];
    read_at(f, local, lh, 30, path);
    if (get32(lh) != kLocalSig) throw member_error("bad local header");
    const std::uint64_t data_offset = local + 30 + get16(lh + 26) + get16(lh + 28);
    if (data_offset > file_size || csize > file_size - data_offset)
      throw member_error("member data runs past the end of the file");
    if (method == 0 && csize != usize) throw member_error("stored member with different sizes");
    // Deflate expands at most 1032:1 (258-byte matches coded in 2 bits): a larger claim is a
    // corrupt directory, refused before anything is allocated for it.
    if (method == 8 && usize / kMaxDeflateRatio > csize) {
      throw member_error("directory claims " + std::to_string(usize) + " bytes inflated from " +
                         std::to_string(csize) + " compressed bytes, more than deflate can expand");
    }
    out.push_back({name, method, crc, csize, usize, data_offset});
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> read_npz(const std::filesystem::path& path) {
  std::unique_ptr<std::FILE, FileCloser> file(open_npz(path));
  std::FILE* f = file.get();
  std::vector<std::pair<std::string, Tensor>> out;
  for (const NpzMember& m : read_directory(f, path)) {
    const std::string& member = m.name;
    const std::string& name = m.name;
    const std::uint16_t method = m.method;
    const std::uint64_t csize = m.csize;
    const std::uint64_t usize = m.usize;
    const std::uint64_t data_offset = m.data_offset;
    const std::uint32_t crc = m.crc;
    auto member_error = [&](const std::string& msg) {
      Error e = npz_error(path, msg);
      e.with("member", member);
      return e;
    };
    check_alloc(usize, "npz member " + member);
    std::string bytes(usize, '\0');
    if (method == 0) {
      read_at(f, data_offset, bytes.data(), bytes.size(), path);
    } else {
      check_alloc(csize, "npz member " + member);
      std::vector<unsigned char> comp(csize);
      read_at(f, data_offset, comp.data(), comp.size(), path);
      z_stream zs{};
      if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
        throw Error(ErrorCode::kInternal, "zlib inflateInit2 failed");
      // Feed and drain in chunks below 4 GiB (zlib counts in 32-bit); a one-byte probe after the
      // declared size catches members that inflate to more than the directory says.
      std::uint64_t in_pos = 0;
      std::uint64_t out_pos = 0;
      unsigned char probe = 0;
      bool probing = false;
      int rc = Z_OK;
      while (true) {
        if (zs.avail_in == 0 && in_pos < csize) {
          const auto chunk = static_cast<uInt>(std::min<std::uint64_t>(csize - in_pos, 1u << 30));
          zs.next_in = comp.data() + in_pos;
          zs.avail_in = chunk;
          in_pos += chunk;
        }
        if (zs.avail_out == 0) {
          if (out_pos < usize) {
            const auto chunk =
                static_cast<uInt>(std::min<std::uint64_t>(usize - out_pos, 1u << 30));
            zs.next_out = reinterpret_cast<Bytef*>(bytes.data()) + out_pos;
            zs.avail_out = chunk;
            out_pos += chunk;
          } else {
            zs.next_out = &probe;
            zs.avail_out = 1;
            probing = true;
          }
        }
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK) break;
        if (probing && zs.avail_out == 0) {
          rc = Z_DATA_ERROR;
          break;
        }
      }
      const std::uint64_t produced = zs.total_out;
      inflateEnd(&zs);
      if (rc != Z_STREAM_END || produced != usize)
        throw member_error("deflate data is corrupt or its size differs from the directory");
    }
    if (crc_update(0, bytes.data(), bytes.size()) != crc)
      throw member_error("CRC mismatch (corrupt member)");
    std::string key = name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    try {
      out.emplace_back(key, parse_npy(bytes, path.string() + ":" + name));
    } catch (Error& e) {
      e.with("member", name);
      throw;
    }
  }
  return out;
}

}  // namespace qcal

namespace qcal {

std::vector<std::string> npz_array_names(const std::filesystem::path& path) {
  std::unique_ptr<std::FILE, FileCloser> file(open_npz(path));
  std::vector<std::string> names;
  for (const NpzMember& m : read_directory(file.get(), path)) {
    std::string key = m.name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    names.push_back(std::move(key));
  }
  return names;
}

struct NpzArrayReader::State {
  std::filesystem::path path;
  std::unique_ptr<std::FILE, FileCloser> file;
  NpzMember member;
  NpyHeader header;
  std::int64_t row_bytes = 0;
  // Position in the member's uncompressed bytes.
  std::uint64_t pos = 0;
  // Deflate state (method 8).
  z_stream zs{};
  bool zs_open = false;
  std::uint64_t in_pos = 0;  // compressed bytes fed
  std::vector<unsigned char> in_buf;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  // Here rather than in ~NpzArrayReader, which does not run when its constructor throws.
  ~State() {
    if (zs_open) inflateEnd(&zs);
  }

  Error member_error(const std::string& message) const {
    Error e = npz_error(path, message);
    e.with("member", member.name);
    return e;
  }

  void rewind() {
    pos = 0;
    if (member.method != 8) return;
    if (zs_open) inflateEnd(&zs);
    zs = z_stream{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
      throw Error(ErrorCode::kInternal, "zlib inflateInit2 failed");
    zs_open = true;
    in_pos = 0;
    in_buf.resize(1 << 20);
  }

  // Reads the next n uncompressed bytes of the member into dst (nullptr: skip them).
  void read(unsigned char* dst, std::uint64_t n) {
    if (n > member.usize - pos) throw member_error("read past the end of the member");
    if (member.method == 0) {
      if (dst)
        read_at(file.get(), member.data_offset + pos, dst, static_cast<std::size_t>(n), path);
      pos += n;
      return;
    }
    std::vector<unsigned char> scratch(
        dst ? 0 : static_cast<std::size_t>(std::min<std::uint64_t>(n, 1 << 20)));
    std::uint64_t done = 0;
    while (done < n) {
      const auto want =
          static_cast<uInt>(std::min<std::uint64_t>(n - done, dst ? (1u << 30) : scratch.size()));
      zs.next_out = dst ? dst + done : scratch.data();
      zs.avail_out = want;
      while (zs.avail_out > 0) {
        if (zs.avail_in == 0) {
          const auto chunk = static_cast<std::size_t>(
              std::min<std::uint64_t>(member.csize - in_pos, in_buf.size()));
          if (chunk == 0)
            throw member_error("deflate data ends before the size the directory gives");
          read_at(file.get(), member.data_offset + in_pos, in_buf.data(), chunk, path);
          in_pos += chunk;
          zs.next_in = in_buf.data();
          zs.avail_in = static_cast<uInt>(chunk);
        }
        const int rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END && zs.avail_out > 0)
          throw member_error("deflate data ends before the size the directory gives");
        if (rc != Z_OK && rc != Z_STREAM_END) throw member_error("deflate data is corrupt");
      }
      done += want;
    }
    pos += n;
  }
};

NpzArrayReader::NpzArrayReader(const std::filesystem::path& path, const std::string& array)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.path = path;
  s.file.reset(open_npz(path));
  bool found = false;
  for (NpzMember& m : read_directory(s.file.get(), path)) {
    if (m.name == array + ".npy" || m.name == array) {
      s.member = std::move(m);
      found = true;
      break;
    }
  }
  if (!found) {
    Error e(ErrorCode::kInvalidArgument, "the .npz has no array '" + array + "'");
    e.with("file", path.string());
    throw e;
  }
  // One streaming pass: CRC and size, in 1 MiB pieces.
  s.rewind();
  std::vector<unsigned char> buf(1 << 20);
  std::uint32_t crc = 0;
  while (s.pos < s.member.usize) {
    const auto n = std::min<std::uint64_t>(buf.size(), s.member.usize - s.pos);
    s.read(buf.data(), n);
    crc = crc_update(crc, buf.data(), n);
  }
  if (s.member.method == 8) {
    // The stream must end exactly here.
    unsigned char probe = 0;
    s.zs.next_out = &probe;
    s.zs.avail_out = 1;
    int rc = Z_OK;
    while (rc == Z_OK) {
      if (s.zs.avail_in == 0 && s.in_pos < s.member.csize) {
        const auto chunk = static_cast<std::size_t>(
            std::min<std::uint64_t>(s.member.csize - s.in_pos, s.in_buf.size()));
        read_at(s.file.get(), s.member.data_offset + s.in_pos, s.in_buf.data(), chunk, path);
        s.in_pos += chunk;
        s.zs.next_in = s.in_buf.data();
        s.zs.avail_in = static_cast<uInt>(chunk);
      }
      rc = inflate(&s.zs, Z_NO_FLUSH);
      if (s.zs.avail_out == 0)
        throw s.member_error("deflate data is longer than the directory says");
      if (rc == Z_BUF_ERROR && s.zs.avail_in == 0 && s.in_pos >= s.member.csize) break;
    }
    if (rc != Z_STREAM_END)
      throw s.member_error("deflate data is corrupt or its size differs from the directory");
  }
  if (crc != s.member.crc) throw s.member_error("CRC mismatch (corrupt member)");

  // The .npy header at the member's start.
  s.rewind();
  unsigned char prefix[12] = {};
  const std::uint64_t plen = std::min<std::uint64_t>(12, s.member.usize);
  s.read(prefix, plen);
  if (plen < 10 || std::memcmp(prefix, "\x93NUMPY", 6) != 0)
    throw s.member_error("member is not an .npy (missing \\x93NUMPY magic)");
  const std::uint64_t header_len =
      prefix[6] == 1 ? 10ULL + get16(prefix + 8) : 12ULL + get32(prefix + 8);
  if (header_len > (1u << 20) || header_len > s.member.usize)
    throw s.member_error(".npy header is too long or truncated");
  std::string head(header_len, '\0');
  s.rewind();
  s.read(reinterpret_cast<unsigned char*>(head.data()), header_len);
  try {
    s.header = parse_npy_header(head);
  } catch (Error& e) {
    e.with("file", path.string()).with("member", s.member.name);
    throw;
  }
  if (s.header.shape.empty())
    throw s.member_error("the array has no sample dimension (a 0-d array)");
  const Shape row_shape(s.header.shape.begin() + 1, s.header.shape.end());
  s.row_bytes =
      checked_mul(checked_numel(row_shape), static_cast<std::int64_t>(dtype_size(s.header.dtype)));
  const std::int64_t need = checked_add(static_cast<std::int64_t>(s.header.data_offset),
                                        checked_mul(s.header.shape[0], s.row_bytes));
  if (static_cast<std::uint64_t>(need) != s.member.usize) {
    throw s.member_error(
        "data size differs from the header's shape " + shape_to_string(s.header.shape) + " " +
        std::string(dtype_name(s.header.dtype)) + ": needs " + std::to_string(need) +
        " bytes, member has " + std::to_string(s.member.usize));
  }
}

NpzArrayReader::~NpzArrayReader() = default;

const NpyHeader& NpzArrayReader::header() const { return state_->header; }

std::int64_t NpzArrayReader::rows() const { return state_->header.shape[0]; }

Tensor NpzArrayReader::read_rows(std::int64_t first, std::int64_t count) {
  State& s = *state_;
  if (first < 0 || count < 0 || first > rows() - count) {
    throw Error(ErrorCode::kInvalidArgument, "rows out of range")
        .with("file", s.path.string())
        .with("member", s.member.name);
  }
  Shape shape = s.header.shape;
  shape[0] = count;
  Tensor out(s.header.dtype, shape);
  const std::uint64_t start = s.header.data_offset + static_cast<std::uint64_t>(first) *
                                                         static_cast<std::uint64_t>(s.row_bytes);
  if (start < s.pos) s.rewind();  // deflate streams only go forward
  if (start > s.pos) s.read(nullptr, start - s.pos);
  s.read(static_cast<unsigned char*>(out.raw_data()), out.nbytes());
  return out;
}

}  // namespace qcal
