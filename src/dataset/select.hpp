// `qcal select`: score every image of a folder, keep those at or above a threshold, and choose
// n of them by a strategy (hybrid, top, uniform, diverse); write the copies (or links),
// calibration_analysis.json and README.md into OUT_DIR.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/shard.hpp"
#include "dataset/image_quality.hpp"

namespace qcal::dataset {

enum class Strategy { kHybrid, kTop, kUniform, kDiverse };

const char* strategy_name(Strategy s);
// "hybrid" | "top" | "uniform" | "diverse"; throws kInvalidArgument.
Strategy parse_strategy(const std::string& name);

struct SelectOptions {
  std::filesystem::path src_dir;
  std::filesystem::path out_dir;
  std::size_t n = 100;
  double threshold = 40.0;
  std::uint64_t seed = 42;
  Strategy strategy = Strategy::kHybrid;
  QualityWeights weights;
  int input_width = 640;  // the model input the resolution sub-score is judged against
  int input_height = 640;
  bool link = false;         // symbolic links instead of copies
  bool allow_fewer = false;  // select all that pass when fewer than n do
  // A held-out split: `holdout` readable images drawn (seeded, uniformly, before selection, so
  // they stand for the data as a whole) into holdout_dir; the selection never sees them.
  std::size_t holdout = 0;
  std::filesystem::path holdout_dir;  // empty: OUT_DIR with "_holdout" appended
  int threads = 1;
  // For OUT_DIR/README.md: the command line that reproduces the set (empty:
  // reproduce_select_command), and where it was run.
  std::string command_line;
  std::string working_dir;
  // Map step (score_images): score only this shard's block of the sorted listing.
  std::optional<Shard> shard;
};

struct ScoredImage {
  std::filesystem::path path;
  std::string relative;  // path relative to src_dir, generic form
  bool readable = false;
  std::string error;  // why it could not be scored
  ImageMeasures measures;
  SubScores scores;
  double total = 0.0;
  std::vector<std::uint8_t> descriptor;  // the diverse strategy's thumbnail (image_quality.hpp)
  bool passed = false;                   // total >= threshold
  bool selected = false;
  bool held_out = false;  // drawn into the held-out split (never a candidate)
  std::string reason;     // why it was selected
  std::string output;     // file name in out_dir (held out: in the held-out folder)
};

// The held-out folder of `options` (holdout_dir, or OUT_DIR + "_holdout").
std::filesystem::path holdout_dir_of(const SelectOptions& options);

struct SelectReport {
  std::vector<ScoredImage> images;  // sorted by path
  std::size_t readable = 0;
  std::size_t passed = 0;
  std::size_t selected = 0;
  std::size_t held_out = 0;
  std::filesystem::path holdout_dir;  // where the held-out split was written (holdout > 0)
  bool fewer_than_requested = false;
  std::string shortfall_message;  // set when fewer than n passed (and allow_fewer)
  std::filesystem::path analysis_path;
  std::filesystem::path readme_path;
};

// Progress: images scored so far (called from worker threads).
using SelectProgressFn = std::function<void(std::size_t done, std::size_t total)>;

// The whole verb. Throws kInvalidArgument when fewer than n images pass the threshold (unless
// allow_fewer), saying how many passed and which threshold would give n; unreadable images are
// listed in the report and skipped.
SelectReport select_calibration_set(const SelectOptions& options,
                                    const SelectProgressFn& progress = {});

// The map step of a sharded select: lists src_dir as select_calibration_set does, scores the
// shard's block of it (with descriptors) and writes the versioned scores file `scores_file`
// (dataset/score_file.hpp). Unreadable images are recorded, not thrown.
struct ScoreShardReport {
  std::size_t listed = 0;  // images in the whole listing
  std::size_t scored = 0;  // images of this shard
  std::size_t readable = 0;
  std::vector<ScoredImage> unreadable;
};
ScoreShardReport score_images(const SelectOptions& options,
                              const std::filesystem::path& scores_file,
                              const SelectProgressFn& progress = {});

// The reduce step: the shards' scores (any order; every shard of one listing exactly once)
// in place of scoring src_dir, then the same threshold, strategy and outputs as
// select_calibration_set over the whole folder. options.src_dir, weights and input size come
// from the files (kInvalidArgument naming the file when they disagree).
SelectReport select_from_scores(SelectOptions options,
                                const std::vector<std::filesystem::path>& scores_files);

// Descriptors of the candidates: row i (dim bytes) belongs to candidate i.
struct DescriptorTable {
  std::span<const std::uint8_t> values;
  std::size_t dim = 0;
};

// The strategies on candidates: scores[i] and descriptor row i of candidate i (ties broken by
// the lower index, so pass candidates in a stable order). Returns chosen candidate positions,
// sorted, and one reason per chosen position in `reasons` (same order).
std::vector<std::size_t> choose(const std::vector<double>& scores,
                                const DescriptorTable& descriptors, std::size_t n,
                                Strategy strategy, std::uint64_t seed,
                                std::vector<std::string>* reasons);

// The command line that reproduces a selection with these options (one machine, all images):
// the README's "Reproduce" section.
std::string reproduce_select_command(const SelectOptions& options);

// The highest threshold (rounded down to 0.1) that lets at least n of these totals pass;
// negative when fewer than n totals exist.
double threshold_for(std::vector<double> totals, std::size_t n);

}  // namespace qcal::dataset
