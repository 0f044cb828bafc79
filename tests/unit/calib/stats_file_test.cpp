// StatsSet and the .qcs stats file: round trip, shard merging equals one run, bad files.
#include "calib/stats_file.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <vector>

#include "calib/range_select.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "test_support.hpp"

namespace qcal::calib {
namespace {

std::vector<std::vector<float>> make_batches(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::vector<float>> out(count);
  for (std::size_t b = 0; b < count; ++b) {
    out[b].resize(4096);
    const double scale = 0.5 + rng.next_double() * 4;
    for (auto& x : out[b]) x = static_cast<float>(rng.next_normal() * scale);
  }
  return out;
}

StatsSet collect(const std::vector<std::vector<float>>& batches, std::size_t first,
                 std::size_t last, int threads) {
  CollectOptions o;
  o.threads = threads;
  StatsSet set(o);
  set.provenance().model_fingerprint = "m1";
  set.provenance().data_fingerprints = {"d" + std::to_string(first)};
  set.provenance().data_description = "test";
  set.add_tensor("a");
  set.add_tensor("b");
  for (std::size_t i = first; i < last; ++i) {
    Shape shape{static_cast<std::int64_t>(batches[i].size())};
    set.observe("a", TensorView{DType::kFloat32, shape, batches[i].data()},
                static_cast<std::int64_t>(i));
    std::vector<float> relu = batches[i];
    for (auto& x : relu) x = std::max(x, 0.0f);
    set.observe("b", TensorView{DType::kFloat32, shape, relu.data()}, static_cast<std::int64_t>(i));
  }
  set.provenance().samples = last - first;
  return set;
}

TEST(StatsFile, RoundTripIsByteIdentical) {
  test::TempDir dir;
  const auto batches = make_batches(5, 1);
  const auto set = collect(batches, 0, 5, 1);
  set.save(dir / "s.qcs");
  const auto loaded = StatsSet::load(dir / "s.qcs");
  EXPECT_EQ(loaded.serialize(), set.serialize());
  EXPECT_EQ(loaded.provenance().model_fingerprint, "m1");
  EXPECT_EQ(loaded.tensors().size(), 2u);
}

TEST(StatsFile, KeepsSampleDigestsAndShardIndexAndReadsVersion1) {
  test::TempDir dir;
  auto set = collect(make_batches(3, 1), 0, 3, 1);
  set.provenance().sample_digests = {1, 0xfedcba9876543210ULL, 3};
  set.provenance().shard_index = 1;
  set.provenance().shard_count = 4;
  const std::string bytes = set.serialize();
  const auto loaded = StatsSet::deserialize(bytes, "s.qcs");
  EXPECT_EQ(loaded.provenance().sample_digests, set.provenance().sample_digests);
  EXPECT_EQ(loaded.provenance().shard_index, 1u);
  EXPECT_EQ(loaded.provenance().shard_count, 4u);
  EXPECT_EQ(loaded.serialize(), bytes);
  // The same file in version 1 (no shard fields, no digests) still loads, without them.
  const std::size_t fields = bytes.find("test") + 4 + 1;  // after description and synthetic
  std::string v1 = bytes.substr(0, fields) + bytes.substr(fields + 4 + 4 + 8 + 3 * 8);
  v1[8] = 1;
  v1.resize(v1.size() - 4);
  const auto crc =
      crc32(0L, reinterpret_cast<const Bytef*>(v1.data()), static_cast<uInt>(v1.size()));
  for (int b = 0; b < 4; ++b) v1.push_back(static_cast<char>((crc >> (8 * b)) & 0xff));
  const auto old = StatsSet::deserialize(v1, "v1.qcs");
  EXPECT_TRUE(old.provenance().sample_digests.empty());
  EXPECT_EQ(old.provenance().shard_count, 0u);
  EXPECT_EQ(old.tensors().size(), 2u);
  // Merging concatenates the digests in order.
  auto merged = StatsSet::deserialize(bytes, "a");
  merged.merge(loaded);
  EXPECT_EQ(merged.provenance().sample_digests.size(), 6u);
  EXPECT_EQ(merged.provenance().sample_digests[3], 1u);
}

TEST(StatsFile, MergedShardsGiveTheSameRangesAsOneRun) {
  const auto batches = make_batches(9, 2);
  const auto whole = collect(batches, 0, 9, 1);
  auto merged = collect(batches, 0, 4, 2);
  // Shards travel through files, as across machines.
  merged.merge(StatsSet::deserialize(collect(batches, 4, 9, 3).serialize(), "shard2"));
  EXPECT_EQ(merged.provenance().samples, 9u);
  EXPECT_EQ(merged.provenance().data_fingerprints.size(), 2u);
  for (Method m :
       {Method::kMinMax, Method::kEma, Method::kPercentile, Method::kEntropy, Method::kMse}) {
    SelectOptions o;
    o.method = m;
    for (const char* name : {"a", "b"}) {
      const auto r1 = select_range(whole.at(name), o);
      const auto r2 = select_range(merged.at(name), o);
      EXPECT_EQ(r1.amax, r2.amax) << method_name(m) << " " << name;
      EXPECT_EQ(r1.min, r2.min) << method_name(m) << " " << name;
      EXPECT_EQ(r1.max, r2.max) << method_name(m) << " " << name;
    }
  }
}

TEST(StatsFile, ThreadCountDoesNotChangeBytes) {
  const auto batches = make_batches(3, 3);
  // Large batch so the parallel path runs.
  std::vector<std::vector<float>> big{std::vector<float>(1 << 19)};
  Rng rng(4);
  for (auto& x : big[0]) x = static_cast<float>(rng.next_normal());
  EXPECT_EQ(collect(big, 0, 1, 1).serialize(), collect(big, 0, 1, 4).serialize());
  EXPECT_EQ(collect(batches, 0, 3, 1).serialize(), collect(batches, 0, 3, 2).serialize());
}

TEST(StatsFile, RejectsOtherModelsAndCorruptFiles) {
  test::TempDir dir;
  const auto batches = make_batches(2, 5);
  auto a = collect(batches, 0, 1, 1);
  auto b = collect(batches, 1, 2, 1);
  b.provenance().model_fingerprint = "other";
  try {
    a.merge(b);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("different models"), std::string::npos);
  }
  std::string bytes = a.serialize();
  bytes[bytes.size() / 2] ^= 0x40;
  EXPECT_THROW(StatsSet::deserialize(bytes, "x.qcs"), Error);
  EXPECT_THROW(StatsSet::deserialize(bytes.substr(0, 20), "x.qcs"), Error);
  EXPECT_THROW(StatsSet::deserialize("not a stats file at all", "x.qcs"), Error);
  write_file_atomic(dir / "bad.qcs", "QCALSTAT\x02\0\0\0");
  try {
    StatsSet::load(dir / "bad.qcs");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("bad.qcs"), std::string::npos);
  }
}

}  // namespace
}  // namespace qcal::calib

namespace qcal::calib {
namespace {

TEST(SelectRanges, SameResultForAnyThreadCount) {
  const auto batches = make_batches(4, 9);
  const auto set = collect(batches, 0, 4, 1);
  for (Method m : {Method::kEntropy, Method::kMse, Method::kEma}) {
    SelectOptions o;
    o.method = m;
    const auto one = select_ranges(set.tensors(), o, 1);
    const auto four = select_ranges(set.tensors(), o, 4);
    ASSERT_EQ(one.size(), 2u);
    for (const auto& [name, r] : one) {
      EXPECT_EQ(r.amax, four.at(name).amax);
      EXPECT_EQ(r.min, four.at(name).min);
      EXPECT_EQ(r.amax, select_range(set.at(name), o).amax);
    }
  }
}

}  // namespace
}  // namespace qcal::calib
