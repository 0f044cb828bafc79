// Profiling CSV loading: column roles, units by suffix, row validation with reasons.
#include "plan/profile.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "plan/planner.hpp"
#include "test_support.hpp"

namespace qcal::plan {
namespace {

std::filesystem::path data(const std::string& name) {
  return std::filesystem::path(QCAL_SOURCE_DIR) / "tests/data/plan" / name;
}

ProfileSet load_text(const test::TempDir& dir, const std::string& text,
                     const ProfileColumns& cols = {}) {
  write_file_atomic(dir / "runs.csv", text);
  return load_profiles({dir / "runs.csv"}, cols);
}

TEST(Profile, SeedColumnsAreReadWithUnits) {
  ProfileSet set = load_profiles({data("jetson_runs.csv")});
  EXPECT_EQ(set.rows_read, 21u);
  EXPECT_EQ(set.runs.size(), 21u);
  EXPECT_TRUE(set.rejected.empty());
  const ProfileRun& r = set.runs.front();
  EXPECT_EQ(r.engine_name, "yolov8n_fp32_static");
  EXPECT_EQ(r.precision, "fp32");
  EXPECT_EQ(r.batch, 1);
  EXPECT_EQ(r.shape, (std::vector<std::int64_t>{1, 3, 640, 640}));
  EXPECT_DOUBLE_EQ(r.latency_ms, 24.10);
  ASSERT_TRUE(r.power_w);
  EXPECT_DOUBLE_EQ(*r.power_w, 9.12);  // 9120 mW
  ASSERT_TRUE(r.temp_c);
  EXPECT_DOUBLE_EQ(*r.temp_c, 48.0);
  ASSERT_TRUE(r.engine_size_mb);
  EXPECT_DOUBLE_EQ(*r.engine_size_mb, 12.6);
  EXPECT_EQ(r.frame_source, "YOLOvideo");
  EXPECT_EQ(r.line, 2u);
  ASSERT_EQ(set.mappings.size(), 1u);
  EXPECT_EQ(set.mappings[0].latency, "trt_latency_ms");
  EXPECT_EQ(set.mappings[0].power, "power_mW");
  EXPECT_EQ(set.mappings[0].temperature, "gpu_temp_C");
  // trt_throughput_fps, timestamp and cpu_util_pct are not used, and say so.
  EXPECT_EQ(set.mappings[0].ignored,
            (std::vector<std::string>{"timestamp", "trt_throughput_fps", "cpu_util_pct"}));
}

TEST(Profile, MalformedRowsAreCountedWithLineAndReason) {
  ProfileSet set = load_profiles({data("malformed.csv")});
  // Lines 2, 3, 4-5, 9 (unquoted shape rejoined) and 15 are usable.
  ASSERT_EQ(set.runs.size(), 5u);
  EXPECT_EQ(set.runs[2].line, 4u);
  EXPECT_EQ(set.runs[3].line, 9u);
  EXPECT_EQ(set.runs[3].shape, (std::vector<std::int64_t>{1, 3, 640, 640}));
  EXPECT_EQ(set.runs[4].line, 15u);
  EXPECT_FALSE(set.runs[4].power_w);  // empty cell: not measured, the row stays usable
  EXPECT_FALSE(set.runs[4].temp_c);
  std::vector<std::pair<std::size_t, std::string>> expected = {
      {6, "trt_latency_ms 'n/a' is not a number"},
      {7, "engine_precision is empty"},
      {8, "trt_latency_ms is empty (the row has 4 of 8 columns)"},
      {10, "has 9 cells but the header has 8"},
      {11, "trt_latency_ms -3 is not positive"},
      {12, "engine_batch 'one' is not a positive integer"},
      {13, "power_mW 'lots' is not a number"},
      {16, "unbalanced quote"},
  };
  ASSERT_EQ(set.rejected.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(set.rejected[i].line, expected[i].first) << i;
    EXPECT_NE(set.rejected[i].reason.find(expected[i].second), std::string::npos)
        << set.rejected[i].reason;
    EXPECT_NE(set.rejected[i].file.find("malformed.csv"), std::string::npos);
  }
  EXPECT_EQ(set.rows_read, set.runs.size() + set.rejected.size());
  ASSERT_EQ(set.warnings.size(), 1u);
  EXPECT_NE(set.warnings[0].find("rejoined"), std::string::npos);
}

TEST(Profile, UnitsByColumnSuffix) {
  test::TempDir dir;
  ProfileSet set = load_text(dir,
                             "precision,latency_us,power_W,temp_F,engine_size_KB\n"
                             "fp16,12500,7.5,212,2048\n");
  ASSERT_EQ(set.runs.size(), 1u);
  EXPECT_DOUBLE_EQ(set.runs[0].latency_ms, 12.5);
  EXPECT_DOUBLE_EQ(*set.runs[0].power_w, 7.5);
  EXPECT_NEAR(*set.runs[0].temp_c, 100.0, 1e-9);
  EXPECT_NEAR(*set.runs[0].engine_size_mb, 2.048, 1e-12);
  set =
      load_text(dir, "engine_precision,Latency (s),power_uW,temp_K\nint8,0.0075,5500000,323.15\n");
  ASSERT_EQ(set.runs.size(), 1u);
  EXPECT_DOUBLE_EQ(set.runs[0].latency_ms, 7.5);
  EXPECT_NEAR(*set.runs[0].power_w, 5.5, 1e-12);
  EXPECT_NEAR(*set.runs[0].temp_c, 50.0, 1e-9);
}

TEST(Profile, BatchFromShapeWhenNoBatchColumn) {
  test::TempDir dir;
  ProfileSet set = load_text(dir, "precision,shape,latency_ms\nfp16,4x3x320x320,20\nfp16,,10\n");
  ASSERT_EQ(set.runs.size(), 2u);
  EXPECT_EQ(set.runs[0].batch, 4);
  EXPECT_EQ(set.runs[1].batch, 1);
  EXPECT_TRUE(set.runs[1].shape.empty());
}

TEST(Profile, SemicolonFilesAcceptDecimalCommas) {
  test::TempDir dir;
  ProfileSet set = load_text(dir, "engine_precision;trt_latency_ms;power_mW\nFP16;12,5;7000\n");
  ASSERT_EQ(set.runs.size(), 1u);
  EXPECT_DOUBLE_EQ(set.runs[0].latency_ms, 12.5);
}

TEST(Profile, MissingLatencyOrPrecisionColumnIsAFormatError) {
  test::TempDir dir;
  try {
    load_text(dir, "engine_precision,latency\nfp16,3\n");  // no unit: not recognised
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormat);
    EXPECT_NE(e.describe().find("no latency column"), std::string::npos);
    EXPECT_NE(e.describe().find("runs.csv"), std::string::npos);
  }
  EXPECT_THROW(load_text(dir, "trt_latency_ms\n3\n"), Error);
}

TEST(Profile, AmbiguousLatencyColumnsNeedAChoice) {
  test::TempDir dir;
  std::string text = "precision,e2e_latency_ms,gpu_latency_ms\nfp16,12,10\n";
  try {
    load_text(dir, text);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("--latency-column"), std::string::npos);
    EXPECT_NE(e.describe().find("e2e_latency_ms, gpu_latency_ms"), std::string::npos);
  }
  ProfileSet set = load_text(dir, text, {"GPU_latency_ms", "", ""});
  EXPECT_DOUBLE_EQ(set.runs[0].latency_ms, 10.0);
  // trt_latency_ms outranks other latency columns.
  set = load_text(dir, "precision,e2e_latency_ms,trt_latency_ms\nfp16,12,10\n");
  EXPECT_DOUBLE_EQ(set.runs[0].latency_ms, 10.0);
  EXPECT_THROW(load_text(dir, text, {"nope", "", ""}), Error);
}

TEST(Profile, PrecisionAndShapeParsing) {
  EXPECT_EQ(canonical_precision("FP16"), "fp16");
  EXPECT_EQ(canonical_precision(" float32 "), "fp32");
  EXPECT_EQ(canonical_precision("Half"), "fp16");
  EXPECT_EQ(canonical_precision("INT8"), "int8");
  EXPECT_EQ(canonical_precision("best"), "mixed");
  EXPECT_EQ(canonical_precision("w4a16"), "w4a16");  // unknown names are kept, lower case
  EXPECT_EQ(canonical_precision("fp16?"), "");
  EXPECT_EQ(canonical_precision(""), "");
  EXPECT_EQ(parse_shape("[1, 3, 640, 640]"), (std::vector<std::int64_t>{1, 3, 640, 640}));
  EXPECT_EQ(parse_shape("(1,3,480,640)"), (std::vector<std::int64_t>{1, 3, 480, 640}));
  EXPECT_EQ(parse_shape("1x3x320x320"), (std::vector<std::int64_t>{1, 3, 320, 320}));
  EXPECT_FALSE(parse_shape("[1, 3, H, W]"));
  EXPECT_FALSE(parse_shape("[]"));
  EXPECT_FALSE(parse_shape("[1, -3]"));
  EXPECT_EQ(format_shape({1, 3, 640, 640}), "1x3x640x640");
  EXPECT_EQ(parse_number(" 12.5 "), 12.5);
  EXPECT_EQ(parse_number("+3"), 3.0);
  EXPECT_FALSE(parse_number("12.5ms"));
  EXPECT_FALSE(parse_number("nan"));
  EXPECT_FALSE(parse_number("inf"));
  EXPECT_FALSE(parse_number(""));
}

TEST(Profile, TrailingDelimiterAndExtraColumnsAreHarmless) {
  test::TempDir dir;
  ProfileSet set = load_text(dir, "precision,latency_ms,extra1,extra2\nfp16,10,a,b,\nint8,6\n");
  EXPECT_EQ(set.runs.size(), 2u);
  EXPECT_TRUE(set.rejected.empty());
}

}  // namespace
}  // namespace qcal::plan

namespace qcal::plan {
namespace {

// Seeded mutations of a real fixture (dropped, duplicated and inserted quotes, delimiters, line
// ends): loading never crashes, every row is either a run or a rejection, and errors are
// qcal::Error. Runs under ASan+UBSan in CI.
TEST(Profile, MutatedCsvNeverCrashesAndAccountsForEveryRow) {
  const std::string base = read_file(data("jetson_runs.csv"));
  test::TempDir dir;
  std::uint64_t state = 12345;
  auto next = [&state] {  // xorshift64: deterministic, no std distributions
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const char inserts[] = {'"', ',', '\n', '\r', '[', ']', ' ', 'x', '-', '\0'};
  for (int round = 0; round < 200; ++round) {
    std::string text = base;
    int edits = 1 + static_cast<int>(next() % 12);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      std::size_t pos = next() % text.size();
      switch (next() % 3) {
        case 0:
          text.erase(pos, 1 + next() % 4);
          break;
        case 1:
          text.insert(pos, 1, inserts[next() % sizeof inserts]);
          break;
        default:
          text.insert(pos, text.substr(pos, next() % 40));
          break;
      }
    }
    write_file_atomic(dir / "m.csv", text);
    try {
      ProfileSet set = load_profiles({dir / "m.csv"});
      EXPECT_EQ(set.rows_read, set.runs.size() + set.rejected.size()) << round;
      for (const auto& r : set.rejected) EXPECT_FALSE(r.reason.empty());
      if (!set.runs.empty()) {
        PlanOptions o;
        o.target_fps = 30;
        o.max_power_w = 8;
        Plan p = make_plan(set, {}, o);
        EXPECT_FALSE(p.summary.empty());
      }
    } catch (const Error&) {
      // A damaged header (no latency or precision column) is a clean error.
    }
  }
}

}  // namespace
}  // namespace qcal::plan
