// StatsSet: observation bookkeeping, shard merging and the .qcs binary format.
//
// Layout (all integers little-endian, floats as IEEE-754 bit patterns):
//   "QCALSTAT" u32 version
//   str model_fingerprint, u64 samples, u32 n + n * str data_fingerprints, str description,
//   u8 synthetic, [version 2: u32 shard_index, u32 shard_count, u64 n + n * u64 sample_digests,]
//   u32 num_bins, u8 histogram, u32 tensor_count
//   per tensor (name order): str name, u64 count, u64 nonfinite, f32 min, f32 max,
//     u32 batches, batches * f32 mins, batches * f32 maxs,
//     u8 has_histogram [, u8 has_range, i32 range_exponent, num_bins * u64 counts]
//   u32 crc32 (zlib) of everything before it
// where str is u32 length + bytes.
#include "calib/stats_file.hpp"

#include <zlib.h>

#include <bit>
#include <cstdio>
#include <cstring>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace qcal::calib {
namespace {

constexpr char kMagic[8] = {'Q', 'C', 'A', 'L', 'S', 'T', 'A', 'T'};
// Sanity limits for reading: a corrupt length field must not become a huge allocation.
constexpr std::uint64_t kMaxString = 1u << 20;
constexpr std::uint64_t kMaxBatches = 1u << 28;

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    for (int b = 0; b < 4; ++b) out_.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
  }
  void u64(std::uint64_t v) {
    for (int b = 0; b < 8; ++b) out_.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
  }
  void f32(float v) { u32(std::bit_cast<std::uint32_t>(v)); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(std::string_view bytes, const std::string& what) : bytes_(bytes), what_(what) {}
  void need(std::uint64_t n) {
    if (n > bytes_.size() - pos_) fail("truncated");
  }
  std::uint8_t u8() {
    need(1);
    return static_cast<std::uint8_t>(bytes_[pos_++]);
  }
  std::uint32_t u32() {
    need(4);
    std::uint32_t v = 0;
    for (int b = 0; b < 4; ++b)
      v |= std::uint32_t{static_cast<std::uint8_t>(bytes_[pos_++])} << (8 * b);
    return v;
  }
  std::uint64_t u64() {
    need(8);
    std::uint64_t v = 0;
    for (int b = 0; b < 8; ++b)
      v |= std::uint64_t{static_cast<std::uint8_t>(bytes_[pos_++])} << (8 * b);
    return v;
  }
  float f32() { return std::bit_cast<float>(u32()); }
  std::string str() {
    const std::uint32_t n = u32();
    if (n > kMaxString) fail("string length out of bounds");
    need(n);
    std::string s(bytes_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  [[noreturn]] void fail(const std::string& why) const {
    Error e(ErrorCode::kFormat, "corrupt stats file: " + why);
    e.with("file", what_);
    throw e;
  }
  std::size_t pos() const { return pos_; }

 private:
  std::string_view bytes_;
  std::string what_;
  std::size_t pos_ = 0;
};

}  // namespace

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (char c : bytes) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hex64(std::uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

StatsSet::StatsSet(CollectOptions options) : options_(options) {}

void StatsSet::add_tensor(const std::string& name) {
  tensors_.try_emplace(name, TensorStats(options_));
}

void StatsSet::observe(const std::string& name, const TensorView& view, std::int64_t sample,
                       const MinMaxScan* known) {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) it = tensors_.try_emplace(name, TensorStats(options_)).first;
  it->second.observe(name, view, sample, known);
}

namespace {

// The parts' statistics, or an empty list when none was observed.
std::vector<const TensorStats*> union_parts(const std::map<std::string, TensorStats>& tensors,
                                            const std::string& name,
                                            const std::vector<std::string>& parts) {
  std::vector<const TensorStats*> out;
  for (const auto& p : parts) {
    auto it = tensors.find(p);
    if (it != tensors.end()) out.push_back(&it->second);
  }
  if (!out.empty() && out.size() != parts.size()) {
    Error e(ErrorCode::kInternal,
            "a tensor's statistics are derived from tensors of which only some were observed");
    e.with("tensor", name);
    throw e;
  }
  return out;
}

}  // namespace

void StatsSet::observe_union(const std::string& name, const std::vector<std::string>& parts,
                             std::int64_t sample) {
  const auto ps = union_parts(tensors_, name, parts);
  if (ps.empty()) return;
  auto it = tensors_.find(name);
  if (it == tensors_.end()) it = tensors_.try_emplace(name, TensorStats(options_)).first;
  it->second.observe_union(name, ps, sample);
}

void StatsSet::union_histogram(const std::string& name, const std::vector<std::string>& parts) {
  const auto ps = union_parts(tensors_, name, parts);
  auto it = tensors_.find(name);
  if (ps.empty() || it == tensors_.end()) return;
  it->second.union_histogram(ps);
}

const TensorStats& StatsSet::at(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    Error e(ErrorCode::kInvalidArgument, "no statistics for this tensor");
    e.with("tensor", name);
    throw e;
  }
  return it->second;
}

void StatsSet::merge(const StatsSet& other) {
  if (provenance_.model_fingerprint != other.provenance_.model_fingerprint) {
    throw_invalid("statistics come from different models (fingerprint " +
                  provenance_.model_fingerprint + " vs " + other.provenance_.model_fingerprint +
                  ")");
  }
  if (options_.num_bins != other.options_.num_bins) {
    throw_invalid("statistics use different histogram bin counts (" +
                  std::to_string(options_.num_bins) + " vs " +
                  std::to_string(other.options_.num_bins) + ")");
  }
  if (tensors_.size() != other.tensors_.size()) {
    throw_invalid("statistics cover different tensors (" + std::to_string(tensors_.size()) +
                  " vs " + std::to_string(other.tensors_.size()) + ")");
  }
  for (const auto& [name, stats] : other.tensors_) {
    if (!tensors_.count(name)) {
      Error e(ErrorCode::kInvalidArgument, "statistics cover different tensors");
      e.with("tensor", name);
      throw e;
    }
  }
  for (const auto& [name, stats] : other.tensors_) tensors_.at(name).merge(stats);
  options_.histogram = options_.histogram && other.options_.histogram;
  provenance_.samples += other.provenance_.samples;
  provenance_.data_fingerprints.insert(provenance_.data_fingerprints.end(),
                                       other.provenance_.data_fingerprints.begin(),
                                       other.provenance_.data_fingerprints.end());
  if (provenance_.data_description != other.provenance_.data_description) {
    provenance_.data_description += " + " + other.provenance_.data_description;
  }
  provenance_.synthetic = provenance_.synthetic || other.provenance_.synthetic;
  provenance_.sample_digests.insert(provenance_.sample_digests.end(),
                                    other.provenance_.sample_digests.begin(),
                                    other.provenance_.sample_digests.end());
}

std::string StatsSet::serialize() const {
  Writer w;
  w.bytes().append(kMagic, sizeof kMagic);
  w.u32(kStatsFormatVersion);
  w.str(provenance_.model_fingerprint);
  w.u64(provenance_.samples);
  w.u32(static_cast<std::uint32_t>(provenance_.data_fingerprints.size()));
  for (const auto& f : provenance_.data_fingerprints) w.str(f);
  w.str(provenance_.data_description);
  w.u8(provenance_.synthetic ? 1 : 0);
  w.u32(provenance_.shard_index);
  w.u32(provenance_.shard_count);
  w.u64(provenance_.sample_digests.size());
  for (std::uint64_t d : provenance_.sample_digests) w.u64(d);
  w.u32(static_cast<std::uint32_t>(options_.num_bins));
  w.u8(options_.histogram ? 1 : 0);
  w.u32(static_cast<std::uint32_t>(tensors_.size()));
  for (const auto& [name, s] : tensors_) {
    w.str(name);
    w.u64(s.count());
    w.u64(s.nonfinite());
    w.f32(s.min());
    w.f32(s.max());
    w.u32(static_cast<std::uint32_t>(s.batch_mins().size()));
    for (float v : s.batch_mins()) w.f32(v);
    for (float v : s.batch_maxs()) w.f32(v);
    const auto& h = s.histogram();
    w.u8(h ? 1 : 0);
    if (h) {
      w.u8(h->has_range() ? 1 : 0);
      w.u32(static_cast<std::uint32_t>(h->range_exponent()));
      for (auto c : h->counts()) w.u64(c);
    }
  }
  const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(w.bytes().data()),
                         static_cast<uInt>(w.bytes().size()));
  w.u32(static_cast<std::uint32_t>(crc));
  return std::move(w.bytes());
}

StatsSet StatsSet::deserialize(std::string_view bytes, const std::string& what) {
  Reader r(bytes, what);
  if (bytes.size() < sizeof kMagic + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    r.fail("not a qcal stats file (magic QCALSTAT missing)");
  }
  const std::size_t body = bytes.size() - 4;
  const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(body));
  std::uint32_t stored = 0;
  for (int b = 0; b < 4; ++b)
    stored |= std::uint32_t{static_cast<std::uint8_t>(bytes[body + b])} << (8 * b);
  Reader head(bytes.substr(0, body), what);
  head.need(sizeof kMagic);
  for (std::size_t k = 0; k < sizeof kMagic; ++k) head.u8();
  const std::uint32_t version = head.u32();
  if (version != 1 && version != kStatsFormatVersion) {
    head.fail("format version " + std::to_string(version) + ", this qcal reads versions 1 to " +
              std::to_string(kStatsFormatVersion));
  }
  if (stored != static_cast<std::uint32_t>(crc)) head.fail("checksum mismatch");
  StatsProvenance prov;
  prov.model_fingerprint = head.str();
  prov.samples = head.u64();
  const std::uint32_t shards = head.u32();
  if (shards > kMaxString) head.fail("shard count out of bounds");
  for (std::uint32_t k = 0; k < shards; ++k) prov.data_fingerprints.push_back(head.str());
  prov.data_description = head.str();
  prov.synthetic = head.u8() != 0;
  if (version >= 2) {
    prov.shard_index = head.u32();
    prov.shard_count = head.u32();
    if (prov.shard_count != 0 && prov.shard_index >= prov.shard_count) {
      head.fail("shard index out of range");
    }
    const std::uint64_t digests = head.u64();
    if (digests > kMaxBatches) head.fail("sample count out of bounds");
    head.need(digests * 8);
    prov.sample_digests.resize(digests);
    for (auto& d : prov.sample_digests) d = head.u64();
  }
  CollectOptions options;
  options.num_bins = static_cast<int>(head.u32());
  options.histogram = head.u8() != 0;
  if (options.num_bins < 2 || options.num_bins > (1 << 20) ||
      !std::has_single_bit(static_cast<unsigned>(options.num_bins))) {
    head.fail("bin count out of bounds");
  }
  StatsSet set(options);
  set.provenance_ = std::move(prov);
  const std::uint32_t count = head.u32();
  for (std::uint32_t t = 0; t < count; ++t) {
    std::string name = head.str();
    const std::uint64_t n = head.u64();
    const std::uint64_t nonfinite = head.u64();
    const float mn = head.f32();
    const float mx = head.f32();
    const std::uint32_t batches = head.u32();
    if (batches > kMaxBatches) head.fail("batch count out of bounds");
    head.need(std::uint64_t{batches} * 8);
    std::vector<float> mins(batches), maxs(batches);
    for (auto& v : mins) v = head.f32();
    for (auto& v : maxs) v = head.f32();
    std::optional<AbsHistogram> hist;
    if (head.u8() != 0) {
      const bool has_range = head.u8() != 0;
      const auto exponent = static_cast<std::int32_t>(head.u32());
      head.need(std::uint64_t(options.num_bins) * 8);
      std::vector<std::uint64_t> counts(static_cast<std::size_t>(options.num_bins));
      for (auto& c : counts) c = head.u64();
      try {
        hist = AbsHistogram::from_state(has_range, exponent, std::move(counts));
      } catch (Error& e) {
        e.with("file", what).with("tensor", name);
        throw;
      }
    }
    try {
      set.tensors_.emplace(name, TensorStats::from_state(n, nonfinite, mn, mx, std::move(mins),
                                                         std::move(maxs), std::move(hist)));
    } catch (Error& e) {
      e.with("file", what).with("tensor", name);
      throw;
    }
  }
  if (head.pos() != body) head.fail("trailing bytes");
  return set;
}

void StatsSet::save(const std::filesystem::path& path) const {
  write_file_atomic(path, serialize());
}

StatsSet StatsSet::load(const std::filesystem::path& path) {
  return deserialize(read_file(path), path.string());
}

}  // namespace qcal::calib
