// The .qsc scores file: a buffered little-endian writer and a streaming reader, CRC-32 checked.
#include "dataset/score_file.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <memory>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace qcal::dataset {
namespace {

constexpr char kMagic[8] = {'Q', 'C', 'A', 'L', 'S', 'C', 'O', 'R'};
// Sanity limits for reading: a corrupt length must not become a huge allocation.
constexpr std::uint32_t kMaxString = 1u << 16;
constexpr std::uint32_t kMaxDescriptor = 1u << 16;
constexpr std::uint64_t kMaxImages = 1ull << 40;
constexpr std::size_t kBufferSize = 1u << 20;

class ScoresWriter {
 public:
  explicit ScoresWriter(const std::filesystem::path& path) : file_(path) {}
  void u8(std::uint8_t v) { buffer_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    for (int b = 0; b < 4; ++b) buffer_.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
  }
  void u64(std::uint64_t v) {
    for (int b = 0; b < 8; ++b) buffer_.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
  }
  void i32(int v) { u32(static_cast<std::uint32_t>(v)); }
  void f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
  void str(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    buffer_ += s;
  }
  void bytes(const std::vector<std::uint8_t>& b) {
    buffer_.append(reinterpret_cast<const char*>(b.data()), b.size());
  }
  void flush_if_full() {
    if (buffer_.size() >= kBufferSize) flush();
  }
  void finish() {
    flush();
    u32(static_cast<std::uint32_t>(crc_));
    file_.write(buffer_);
    file_.commit();
  }

 private:
  void flush() {
    crc_ = crc32(crc_, reinterpret_cast<const Bytef*>(buffer_.data()),
                 static_cast<uInt>(buffer_.size()));
    file_.write(buffer_);
    buffer_.clear();
  }
  AtomicFile file_;
  std::string buffer_;
  uLong crc_ = crc32(0L, Z_NULL, 0);
};

class ScoresReader {
 public:
  explicit ScoresReader(const std::filesystem::path& path)
      : path_(path), file_(std::fopen(path.c_str(), "rb"), &std::fclose) {
    if (!file_) {
      Error e(ErrorCode::kIo, "cannot open the scores file");
      e.with("file", path.string());
      throw e;
    }
  }
  void read(void* out, std::size_t n) {
    if (std::fread(out, 1, n, file_.get()) != n) fail("truncated");
    crc_ = crc32(crc_, static_cast<const Bytef*>(out), static_cast<uInt>(n));
  }
  std::uint8_t u8() {
    std::uint8_t v = 0;
    read(&v, 1);
    return v;
  }
  std::uint32_t u32() {
    unsigned char b[4];
    read(b, 4);
    return std::uint32_t{b[0]} | std::uint32_t{b[1]} << 8 | std::uint32_t{b[2]} << 16 |
           std::uint32_t{b[3]} << 24;
  }
  std::uint64_t u64() {
    const std::uint64_t lo = u32();
    return lo | std::uint64_t{u32()} << 32;
  }
  int i32() { return static_cast<int>(u32()); }
  double f64() { return std::bit_cast<double>(u64()); }
  std::string str() {
    const std::uint32_t n = u32();
    if (n > kMaxString) fail("string length out of bounds");
    std::string s(n, '\0');
    read(s.data(), n);
    return s;
  }
  void check_crc() {
    const auto expected = static_cast<std::uint32_t>(crc_);
    if (u32() != expected) fail("CRC mismatch");
    if (std::fgetc(file_.get()) != EOF) fail("bytes after the CRC");
  }
  [[noreturn]] void fail(const std::string& why) const {
    Error e(ErrorCode::kFormat, "corrupt scores file: " + why);
    e.with("file", path_.string());
    throw e;
  }

 private:
  std::filesystem::path path_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
  uLong crc_ = crc32(0L, Z_NULL, 0);
};

void write_header(ScoresWriter& w, const ScoresHeader& h) {
  for (char c : kMagic) w.u8(static_cast<std::uint8_t>(c));
  w.u32(kScoresFormatVersion);
  w.str(h.source);
  w.u32(h.shard_index);
  w.u32(h.shard_count);
  w.u64(h.listed);
  w.u64(h.listing_hash);
  w.u64(h.first);
  w.u64(h.images);
  for (double v : {h.weights.sharpness, h.weights.brightness, h.weights.contrast,
                   h.weights.resolution, h.weights.colorfulness}) {
    w.f64(v);
  }
  w.i32(h.input_width);
  w.i32(h.input_height);
  w.u32(h.descriptor_size);
}

ScoresHeader read_header(ScoresReader& r) {
  char magic[8];
  r.read(magic, sizeof magic);
  if (!std::equal(magic, magic + 8, kMagic)) r.fail("not a qcal scores file (bad magic)");
  const std::uint32_t version = r.u32();
  if (version != kScoresFormatVersion) {
    r.fail("format version " + std::to_string(version) + ", this qcal reads version " +
           std::to_string(kScoresFormatVersion));
  }
  ScoresHeader h;
  h.source = r.str();
  h.shard_index = r.u32();
  h.shard_count = r.u32();
  h.listed = r.u64();
  h.listing_hash = r.u64();
  h.first = r.u64();
  h.images = r.u64();
  h.weights = {r.f64(), r.f64(), r.f64(), r.f64(), r.f64()};
  h.input_width = r.i32();
  h.input_height = r.i32();
  h.descriptor_size = r.u32();
  if (h.shard_count == 0 || h.shard_index >= h.shard_count) r.fail("shard index out of range");
  if (h.listed > kMaxImages || h.first > h.listed || h.images > h.listed - h.first) {
    r.fail("image counts out of range");
  }
  if (h.descriptor_size > kMaxDescriptor) r.fail("descriptor size out of bounds");
  return h;
}

void write_image(ScoresWriter& w, const ScoredImage& img, std::uint32_t descriptor_size) {
  w.str(img.relative);
  w.u8(img.readable ? 1 : 0);
  if (!img.readable) {
    w.str(img.error);
    return;
  }
  const auto& m = img.measures;
  w.i32(m.width);
  w.i32(m.height);
  w.i32(m.analysis_scale);
  for (double v : {m.laplacian_var, m.mean_luma, m.std_luma, m.colorfulness}) w.f64(v);
  const auto& s = img.scores;
  for (double v : {s.sharpness, s.brightness, s.contrast, s.resolution, s.colorfulness}) w.f64(v);
  w.f64(img.total);
  if (img.descriptor.size() != descriptor_size) {
    Error e(ErrorCode::kInternal, "descriptor size differs from the scores file's");
    e.with("image", img.relative);
    throw e;
  }
  w.bytes(img.descriptor);
}

ScoredImage read_image(ScoresReader& r, std::uint32_t descriptor_size) {
  ScoredImage img;
  img.relative = r.str();
  img.readable = r.u8() != 0;
  if (!img.readable) {
    img.error = r.str();
    return img;
  }
  auto& m = img.measures;
  m.width = r.i32();
  m.height = r.i32();
  m.analysis_scale = r.i32();
  m.laplacian_var = r.f64();
  m.mean_luma = r.f64();
  m.std_luma = r.f64();
  m.colorfulness = r.f64();
  img.scores = {r.f64(), r.f64(), r.f64(), r.f64(), r.f64()};
  img.total = r.f64();
  img.descriptor.resize(descriptor_size);
  r.read(img.descriptor.data(), descriptor_size);
  return img;
}

}  // namespace

std::uint64_t hash_listing(const std::vector<std::string>& relative_paths) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const auto& p : relative_paths) {
    for (char c : p) {
      h ^= static_cast<std::uint8_t>(c);
      h *= 0x100000001b3ULL;
    }
    h *= 0x100000001b3ULL;  // the '\0' separator: h ^= 0 is a no-op
  }
  return h;
}

void write_scores_file(const std::filesystem::path& path, const ScoresHeader& header,
                       const std::vector<ScoredImage>& images) {
  ScoresWriter w(path);
  write_header(w, header);
  for (const auto& img : images) {
    write_image(w, img, header.descriptor_size);
    w.flush_if_full();
  }
  w.finish();
}

ScoresHeader read_scores_header(const std::filesystem::path& path) {
  ScoresReader r(path);
  return read_header(r);
}

ScoresHeader read_scores_file(const std::filesystem::path& path,
                              const std::function<void(ScoredImage&&)>& on_image) {
  ScoresReader r(path);
  ScoresHeader h = read_header(r);
  for (std::uint64_t i = 0; i < h.images; ++i) on_image(read_image(r, h.descriptor_size));
  r.check_crc();
  return h;
}

}  // namespace qcal::dataset
