// Shared CLI plumbing: the flags every verb spells the same way, the registration signature,
// and default data locations.
#pragma once

#include <CLI/CLI.hpp>
#include <array>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/shard.hpp"

namespace qcal::cli {

// Exit codes: 0 ok, 1 error, 2 usage, 3 a command that ran but some inputs failed or checks
// did not pass (documented per verb), 70 internal error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitPartial = 3;
inline constexpr int kExitInternal = 70;

struct CommonOptions {
  int threads = 0;  // 0: all cores
  std::uint64_t seed = 42;
  bool json = false;
  bool quiet = false;
};

// Adds the shared flags a verb uses (pass false to leave one out).
void add_threads_flag(CLI::App* cmd, CommonOptions& o);
void add_seed_flag(CLI::App* cmd, CommonOptions& o);
void add_json_flag(CLI::App* cmd, CommonOptions& o);
void add_quiet_flag(CLI::App* cmd, CommonOptions& o);
// --size W H (the preset's size for a model with a dynamic input size) and its value.
void add_size_option(CLI::App* cmd, std::vector<int>& size);
std::optional<std::array<int, 2>> parse_size_wh(const std::vector<int>& size);
// --shard I/N | auto | auto/N (core/shard.hpp), described by `what` ("videos", "images", ...).
void add_shard_option(CLI::App* cmd, std::string& shard, const std::string& what);
// The shard a --shard value names (none for an empty value); logs which shard and where its
// index and count came from on stderr unless quiet.
std::optional<Shard> resolve_shard(const std::string& text, bool quiet);
// Resolves threads == 0 to the number of cores.
int resolve_threads(int threads);

// A verb registers its subcommand and returns the function main calls when it was chosen.
using Runner = std::function<int()>;
using Register = Runner (*)(CLI::App& app);

// Folder with the npm-provided models (scripts/setup.sh): $QCAL_DEPS, else the compiled-in one.
std::filesystem::path deps_dir();
// Debian opencv-doc sample data folder.
std::filesystem::path opencv_data_dir();

// True when stderr is a terminal (progress bars only then).
bool stderr_is_tty();

}  // namespace qcal::cli
