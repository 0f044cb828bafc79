// --shard parsing (explicit, Slurm arrays, Kubernetes Indexed Jobs) and the block split.
#include "core/shard.hpp"

#include <gtest/gtest.h>

#include <map>

#include "core/error.hpp"

namespace qcal {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string error_of(const std::string& text, const EnvLookup& env) {
  try {
    parse_shard(text, env);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    return e.message();
  }
  return "no error";
}

TEST(Shard, ExplicitIndexOfCount) {
  const Shard s = parse_shard("2/3", env_of({}));
  EXPECT_EQ(s.index, 2u);
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(describe(s), "shard 2/3 (--shard 2/3)");
  EXPECT_NE(error_of("3/3", env_of({})).find("not below the count 3"), std::string::npos);
  EXPECT_NE(error_of("0/0", env_of({})).find("count must be"), std::string::npos);
  EXPECT_NE(error_of("1", env_of({})).find("expected I/N"), std::string::npos);
  EXPECT_NE(error_of("a/2", env_of({})).find("expected I/N"), std::string::npos);
  EXPECT_NE(error_of("1/x", env_of({})).find("positive integer"), std::string::npos);
  EXPECT_NE(error_of("-1/2", env_of({})).find("expected I/N"), std::string::npos);
}

TEST(Shard, SlurmArrayByCountOrMinMax) {
  // sbatch --array=1-3: task ids 1, 2, 3 are shards 0, 1, 2.
  Shard s = parse_shard("auto", env_of({{"SLURM_ARRAY_TASK_ID", "3"},
                                        {"SLURM_ARRAY_TASK_MIN", "1"},
                                        {"SLURM_ARRAY_TASK_COUNT", "3"}}));
  EXPECT_EQ(s.index, 2u);
  EXPECT_EQ(s.count, 3u);
  EXPECT_NE(s.origin.find("Slurm job array"), std::string::npos);
  s = parse_shard("auto", env_of({{"SLURM_ARRAY_TASK_ID", "4"},
                                  {"SLURM_ARRAY_TASK_MIN", "0"},
                                  {"SLURM_ARRAY_TASK_MAX", "4"}}));
  EXPECT_EQ(s.index, 4u);
  EXPECT_EQ(s.count, 5u);
  // --array=0-8:4 runs ids 0, 4, 8.
  s = parse_shard("auto", env_of({{"SLURM_ARRAY_TASK_ID", "8"},
                                  {"SLURM_ARRAY_TASK_MIN", "0"},
                                  {"SLURM_ARRAY_TASK_MAX", "8"},
                                  {"SLURM_ARRAY_TASK_STEP", "4"}}));
  EXPECT_EQ(s.index, 2u);
  EXPECT_EQ(s.count, 3u);
  EXPECT_NE(error_of("auto", env_of({{"SLURM_ARRAY_TASK_ID", "2"}})).find("SLURM_ARRAY_TASK_COUNT"),
            std::string::npos);
  EXPECT_NE(error_of("auto", env_of({{"SLURM_ARRAY_TASK_ID", "x"}})).find("non-negative integer"),
            std::string::npos);
  // A list array (--array=1,5,9) has ids that are not positions.
  EXPECT_NE(error_of("auto", env_of({{"SLURM_ARRAY_TASK_ID", "9"},
                                     {"SLURM_ARRAY_TASK_MIN", "1"},
                                     {"SLURM_ARRAY_TASK_COUNT", "3"}}))
                .find("not below the count 3"),
            std::string::npos);
  EXPECT_NE(
      error_of("auto/4", env_of({{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "3"}}))
          .find("disagrees"),
      std::string::npos);
}

TEST(Shard, KubernetesIndexedJob) {
  Shard s = parse_shard("auto/4", env_of({{"JOB_COMPLETION_INDEX", "3"}}));
  EXPECT_EQ(s.index, 3u);
  EXPECT_EQ(s.count, 4u);
  EXPECT_NE(s.origin.find("JOB_COMPLETION_INDEX=3"), std::string::npos);
  s = parse_shard("auto", env_of({{"JOB_COMPLETION_INDEX", "0"}, {"QCAL_SHARD_COUNT", "2"}}));
  EXPECT_EQ(s.count, 2u);
  EXPECT_NE(s.origin.find("QCAL_SHARD_COUNT=2"), std::string::npos);
  EXPECT_NE(error_of("auto", env_of({{"JOB_COMPLETION_INDEX", "0"}})).find("QCAL_SHARD_COUNT"),
            std::string::npos);
  EXPECT_NE(error_of("auto/2", env_of({{"JOB_COMPLETION_INDEX", "2"}})).find("not below"),
            std::string::npos);
  EXPECT_NE(error_of("auto", env_of({})).find("neither SLURM_ARRAY_TASK_ID"), std::string::npos);
}

TEST(Shard, BlocksCoverTheListInOrder) {
  for (std::size_t items : {0u, 1u, 2u, 7u, 100u}) {
    for (std::size_t count : {1u, 2u, 3u, 8u}) {
      std::size_t next = 0;
      for (std::size_t i = 0; i < count; ++i) {
        const ShardRange r = shard_range(Shard{i, count, ""}, items);
        EXPECT_EQ(r.begin, next);
        EXPECT_LE(r.end - r.begin, items / count + 1);
        EXPECT_GE(r.end - r.begin, items / count);
        next = r.end;
      }
      EXPECT_EQ(next, items);
    }
  }
}

}  // namespace
}  // namespace qcal
