// --shard parsing: explicit I/N, Slurm job arrays and Kubernetes Indexed Jobs.
#include "core/shard.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "core/error.hpp"

namespace qcal {
namespace {

// Upper bound on a shard count: far beyond any job array, small enough that index * items
// cannot overflow for any realistic item count.
constexpr std::size_t kMaxShards = 1u << 20;

std::optional<std::size_t> parse_count(const std::string& text) {
  std::size_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::size_t env_number(const EnvLookup& env, const std::string& name) {
  const auto value = env(name);
  const auto n = value ? parse_count(*value) : std::nullopt;
  if (!n) {
    throw_invalid("--shard auto: " + name + " is '" + value.value_or("") +
                  "', expected a non-negative integer");
  }
  return *n;
}

Shard checked(Shard s, const std::string& what) {
  if (s.count == 0 || s.count > kMaxShards) {
    throw_invalid(what + ": the shard count must be 1.." + std::to_string(kMaxShards) + ", not " +
                  std::to_string(s.count));
  }
  if (s.index >= s.count) {
    throw_invalid(what + ": shard index " + std::to_string(s.index) + " is not below the count " +
                  std::to_string(s.count) + " (indices are 0-based)");
  }
  return s;
}

// Slurm numbers array tasks by SLURM_ARRAY_TASK_ID in MIN..MAX (step STEP); the shard index is
// the task's position in that range.
Shard slurm_shard(const EnvLookup& env) {
  const std::size_t id = env_number(env, "SLURM_ARRAY_TASK_ID");
  const std::size_t min = env("SLURM_ARRAY_TASK_MIN") ? env_number(env, "SLURM_ARRAY_TASK_MIN") : 0;
  const std::size_t step =
      env("SLURM_ARRAY_TASK_STEP") ? env_number(env, "SLURM_ARRAY_TASK_STEP") : 1;
  if (step == 0 || id < min || (id - min) % step != 0) {
    throw_invalid(
        "--shard auto: SLURM_ARRAY_TASK_ID=" + std::to_string(id) +
        " is not in the array range starting at SLURM_ARRAY_TASK_MIN=" + std::to_string(min) +
        " with step " + std::to_string(step) + " (submit the array as MIN-MAX[:STEP])");
  }
  Shard s;
  s.index = (id - min) / step;
  std::string origin = "Slurm job array: SLURM_ARRAY_TASK_ID=" + std::to_string(id);
  if (env("SLURM_ARRAY_TASK_COUNT")) {
    s.count = env_number(env, "SLURM_ARRAY_TASK_COUNT");
    origin += ", SLURM_ARRAY_TASK_COUNT=" + std::to_string(s.count);
  } else if (env("SLURM_ARRAY_TASK_MAX")) {
    const std::size_t max = env_number(env, "SLURM_ARRAY_TASK_MAX");
    if (max < min)
      throw_invalid("--shard auto: SLURM_ARRAY_TASK_MAX is below SLURM_ARRAY_TASK_MIN");
    s.count = (max - min) / step + 1;
    origin += ", SLURM_ARRAY_TASK_MAX=" + std::to_string(max);
  } else {
    throw_invalid(
        "--shard auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor "
        "SLURM_ARRAY_TASK_MAX is");
  }
  origin += ", SLURM_ARRAY_TASK_MIN=" + std::to_string(min);
  if (step != 1) origin += ", SLURM_ARRAY_TASK_STEP=" + std::to_string(step);
  s.origin = origin;
  return checked(s, "--shard auto (" + origin + ")");
}

// A Kubernetes Indexed Job sets JOB_COMPLETION_INDEX (0..completions-1) but not the count.
Shard indexed_job_shard(const EnvLookup& env, std::optional<std::size_t> count) {
  Shard s;
  s.index = env_number(env, "JOB_COMPLETION_INDEX");
  std::string origin = "Kubernetes Indexed Job: JOB_COMPLETION_INDEX=" + std::to_string(s.index);
  if (count) {
    s.count = *count;
    origin += ", count " + std::to_string(*count) + " from --shard auto/N";
  } else if (env("QCAL_SHARD_COUNT")) {
    s.count = env_number(env, "QCAL_SHARD_COUNT");
    origin += ", QCAL_SHARD_COUNT=" + std::to_string(s.count);
  } else {
    throw_invalid(
        "--shard auto: JOB_COMPLETION_INDEX is set but the shard count is not: give it as "
        "--shard auto/N or in QCAL_SHARD_COUNT (the Job's completions)");
  }
  s.origin = origin;
  return checked(s, "--shard auto (" + origin + ")");
}

Shard auto_shard(const EnvLookup& env, std::optional<std::size_t> count) {
  if (env("SLURM_ARRAY_TASK_ID")) {
    Shard s = slurm_shard(env);
    if (count && *count != s.count) {
      throw_invalid("--shard auto/" + std::to_string(*count) + " disagrees with the Slurm array (" +
                    s.origin + ")");
    }
    return s;
  }
  if (env("JOB_COMPLETION_INDEX")) return indexed_job_shard(env, count);
  throw_invalid(
      "--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX "
      "(a Kubernetes Indexed Job) is set; give --shard I/N");
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Shard parse_shard(const std::string& text, const EnvLookup& env) {
  const std::size_t slash = text.find('/');
  const std::string head = text.substr(0, slash);
  std::optional<std::size_t> count;
  if (slash != std::string::npos) {
    count = parse_count(text.substr(slash + 1));
    if (!count) throw_invalid("--shard '" + text + "': N in I/N must be a positive integer");
  }
  if (head == "auto") return auto_shard(env, count);
  const auto index = parse_count(head);
  if (!index || !count) {
    throw_invalid("--shard '" + text +
                  "': expected I/N (0-based index I of N shards), auto or auto/N");
  }
  Shard s;
  s.index = *index;
  s.count = *count;
  s.origin = "--shard " + text;
  return checked(s, "--shard '" + text + "'");
}

ShardRange shard_range(const Shard& shard, std::size_t items) {
  // The first items % count shards take one item more; no product can overflow.
  const std::size_t base = items / shard.count;
  const std::size_t extra = items % shard.count;
  const std::size_t begin = shard.index * base + std::min(shard.index, extra);
  return {begin, begin + base + (shard.index < extra ? 1 : 0)};
}

std::string describe(const Shard& shard) {
  return "shard " + std::to_string(shard.index) + "/" + std::to_string(shard.count) + " (" +
         shard.origin + ")";
}

}  // namespace qcal
