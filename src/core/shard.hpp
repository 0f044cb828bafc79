// Shards of a map step (`--shard I/N` or `--shard auto`): which contiguous block of an ordered
// list of work items (videos, images, calibration batches) this process takes, and where the
// index and count came from (the command line, a Slurm job array, a Kubernetes Indexed Job).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace qcal {

struct Shard {
  std::size_t index = 0;  // 0-based, < count
  std::size_t count = 1;
  std::string origin;  // how index and count were found, for logs ("--shard 1/3", "Slurm ...")
};

// Reads one environment variable; empty optional when unset. The default reads the process's.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
std::optional<std::string> process_env(const std::string& name);

// Parses a --shard value:
//   "I/N"     shard I (0-based) of N;
//   "auto"    from Slurm (SLURM_ARRAY_TASK_ID, with SLURM_ARRAY_TASK_COUNT or
//             SLURM_ARRAY_TASK_MIN/MAX, and SLURM_ARRAY_TASK_STEP when set), else from a
//             Kubernetes Indexed Job (JOB_COMPLETION_INDEX, the count from QCAL_SHARD_COUNT);
//   "auto/N"  the same with the count N given (a Kubernetes Job's `completions`).
// Throws kInvalidArgument saying what was expected and which variables were read.
Shard parse_shard(const std::string& text, const EnvLookup& env = process_env);

// The half-open block [begin, end) of `items` that shard takes: items are split into `count`
// contiguous blocks whose sizes differ by at most one, in index order, so the blocks of
// shards 0..N-1 concatenated are the whole list in order.
struct ShardRange {
  std::size_t begin = 0;
  std::size_t end = 0;
};
ShardRange shard_range(const Shard& shard, std::size_t items);

// "shard 1/3 (Slurm: SLURM_ARRAY_TASK_ID=2 ...)": what a map step logs.
std::string describe(const Shard& shard);

}  // namespace qcal
