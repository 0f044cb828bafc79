// Calibration-set selection: parallel scoring, threshold, and the four strategies.
#include "dataset/select.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/checked.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/rng.hpp"
#include "dataset/parallel.hpp"
#include "dataset/score_file.hpp"
#include "dataset/select_output.hpp"

namespace fs = std::filesystem;

namespace qcal::dataset {

namespace {

std::string fmt(const char* format, double a, double b = 0.0) {
  char buf[128];
  std::snprintf(buf, sizeof buf, format, a, b);
  return buf;
}

// Candidate positions ordered best first: higher score, then lower position.
std::vector<std::size_t> rank_by_score(const std::vector<double>& scores) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  return order;
}

// Exact squared distance of two 8-bit descriptors: at most dim * 255^2, which fits 32 bits for
// the dims qcal uses (192); the plain loop vectorises.
std::uint32_t squared_distance(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) {
  std::uint32_t d = 0;
  for (std::size_t i = 0; i < dim; ++i) {
    const int diff = int{a[i]} - int{b[i]};
    d += static_cast<std::uint32_t>(diff * diff);
  }
  return d;
}

std::string reason(const std::string& strategy_text, std::size_t rank, std::size_t count) {
  return strategy_text + std::to_string(rank) + " of " + std::to_string(count);
}

using Picks = std::vector<std::pair<std::size_t, std::string>>;  // position, reason

void choose_top(const std::vector<std::size_t>& ranked, std::size_t n, Picks& picked) {
  for (std::size_t r = 0; r < n; ++r) {
    picked.emplace_back(ranked[r], reason("top: quality rank ", r + 1, ranked.size()));
  }
}

// Half (rounded up) are the best; the rest come one from each of m equal-size strata of the
// remaining candidates ranked by quality, a seeded draw inside each stratum.
void choose_hybrid(const std::vector<double>& scores, const std::vector<std::size_t>& ranked,
                   std::size_t n, Rng& rng, Picks& picked) {
  const std::size_t count = ranked.size();
  const std::size_t n_top = (n + 1) / 2;
  for (std::size_t r = 0; r < n_top; ++r) {
    picked.emplace_back(ranked[r], reason("hybrid: best half, quality rank ", r + 1, count));
  }
  const std::size_t rest = count - n_top;
  const std::size_t m = n - n_top;
  for (std::size_t j = 0; j < m; ++j) {
    const std::size_t lo = j * rest / m;
    const std::size_t hi = (j + 1) * rest / m;
    const std::size_t r = n_top + lo + static_cast<std::size_t>(rng.next_below(hi - lo));
    picked.emplace_back(
        ranked[r],
        "hybrid: quality stratum " + std::to_string(j + 1) + " of " + std::to_string(m) +
            " (scores " +
            fmt("%.1f-%.1f", scores[ranked[n_top + hi - 1]], scores[ranked[n_top + lo]]) + ")");
  }
}

// Greedy farthest-point (Gonzalez's 2-approximation of k-center): start from the best image,
// then repeatedly add the candidate farthest (in descriptor space) from everything chosen; ties
// go to the better rank. One pass over the candidates per step, in memory order: O(N * K * dim)
// time, O(N) memory besides the descriptors (docs/scale.md).
void choose_diverse(const DescriptorTable& table, const std::vector<std::size_t>& ranked,
                    std::size_t n, Picks& picked) {
  const std::size_t count = ranked.size();
  if (n == 0) return;
  if (table.values.size() != count * table.dim) {
    throw Error(ErrorCode::kInternal, "diverse: descriptor table does not match the candidates");
  }
  std::vector<std::uint32_t> rank_of(count);
  for (std::size_t r = 0; r < count; ++r) rank_of[ranked[r]] = static_cast<std::uint32_t>(r);
  std::vector<std::uint32_t> nearest(count, UINT32_MAX);
  std::vector<char> taken(count, 0);
  std::size_t current = ranked[0];
  picked.emplace_back(current, "diverse: the best image starts the farthest-point walk");
  taken[current] = 1;
  const std::uint8_t* rows = table.values.data();
  for (std::size_t step = 1; step < n; ++step) {
    const std::uint8_t* chosen = rows + current * table.dim;
    std::uint32_t best = 0;
    std::size_t best_pos = count;
    for (std::size_t pos = 0; pos < count; ++pos) {
      const std::uint32_t d = squared_distance(rows + pos * table.dim, chosen, table.dim);
      nearest[pos] = std::min(nearest[pos], d);
      if (taken[pos]) continue;
      if (best_pos == count || nearest[pos] > best ||
          (nearest[pos] == best && rank_of[pos] < rank_of[best_pos])) {
        best = nearest[pos];
        best_pos = pos;
      }
    }
    current = best_pos;
    taken[current] = 1;
    // Descriptor values are 8-bit; the distance is reported on the 0..1 scale (value / 255).
    picked.emplace_back(
        current, fmt("diverse: farthest-point step %.0f, descriptor distance "
                     "%.4f to the nearest chosen image",
                     static_cast<double>(step + 1), std::sqrt(static_cast<double>(best)) / 255.0));
  }
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_-./,=:+@%") == std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

const char* strategy_name(Strategy s) {
  switch (s) {
    case Strategy::kHybrid:
      return "hybrid";
    case Strategy::kTop:
      return "top";
    case Strategy::kUniform:
      return "uniform";
    case Strategy::kDiverse:
      return "diverse";
  }
  return "?";
}

Strategy parse_strategy(const std::string& name) {
  if (name == "hybrid") return Strategy::kHybrid;
  if (name == "top") return Strategy::kTop;
  if (name == "uniform") return Strategy::kUniform;
  if (name == "diverse") return Strategy::kDiverse;
  throw_invalid("--strategy must be hybrid, top, uniform or diverse, not '" + name + "'");
}

double threshold_for(std::vector<double> totals, std::size_t n) {
  if (n == 0) return 100.0;
  if (totals.size() < n) return -1.0;
  std::sort(totals.begin(), totals.end(), std::greater<>());
  return std::floor(totals[n - 1] * 10.0) / 10.0;
}

std::vector<std::size_t> choose(const std::vector<double>& scores,
                                const DescriptorTable& descriptors, std::size_t n,
                                Strategy strategy, std::uint64_t seed,
                                std::vector<std::string>* reasons) {
  const std::size_t count = scores.size();
  n = std::min(n, count);
  Picks picked;
  Rng rng(seed);
  const auto ranked = rank_by_score(scores);
  switch (strategy) {
    case Strategy::kTop:
      choose_top(ranked, n, picked);
      break;
    case Strategy::kUniform:
      for (std::size_t pos : sample_indices(count, n, rng)) {
        picked.emplace_back(
            pos, "uniform: seeded random draw among the " + std::to_string(count) + " candidates");
      }
      break;
    case Strategy::kHybrid:
      choose_hybrid(scores, ranked, n, rng, picked);
      break;
    case Strategy::kDiverse:
      choose_diverse(descriptors, ranked, n, picked);
      break;
  }
  std::sort(picked.begin(), picked.end());
  std::vector<std::size_t> out;
  for (auto& [pos, why] : picked) {
    out.push_back(pos);
    if (reasons) reasons->push_back(std::move(why));
  }
  return out;
}

fs::path holdout_dir_of(const SelectOptions& options) {
  if (!options.holdout_dir.empty()) return options.holdout_dir;
  fs::path out = options.out_dir;
  if (!out.has_filename()) out = out.parent_path();  // "calib/" -> "calib"
  return out.parent_path() / (out.filename().string() + "_holdout");
}

namespace {

void check_scoring_options(const SelectOptions& options) {
  if (options.input_width <= 0 || options.input_height <= 0) {
    throw_invalid("--input-size must be two positive numbers (width height)");
  }
  std::error_code ec;
  if (!fs::is_directory(options.src_dir, ec)) {
    Error e(ErrorCode::kIo, "source folder does not exist or is not a folder");
    e.with("path", options.src_dir.string());
    throw e;
  }
}

void check_choice_options(const SelectOptions& options) {
  if (options.n == 0) throw_invalid("-n must be at least 1");
  if (!(options.threshold >= 0 && options.threshold <= 100)) {
    throw_invalid("--threshold must be in 0..100");
  }
}

// `inner` relative to `outer` when it is inside it (or is it: "."); "" otherwise.
std::string nested_in(const fs::path& inner, const fs::path& outer) {
  const std::string rel =
      fs::weakly_canonical(inner).lexically_relative(fs::weakly_canonical(outer)).generic_string();
  return !rel.empty() && rel.rfind("..", 0) != 0 ? rel : std::string();
}

// The images under SRC_DIR, without those in an OUT_DIR or held-out folder inside it (earlier
// selections: never score those copies again).
std::vector<fs::path> list_sources(const SelectOptions& options) {
  std::vector<std::string> skip;
  for (const fs::path& dir : {options.out_dir, holdout_dir_of(options)}) {
    if (auto rel = nested_in(dir, options.src_dir); !rel.empty()) skip.push_back(rel);
  }
  std::vector<fs::path> files;
  for (auto& f : list_files(options.src_dir, kImageExtensions)) {
    const std::string rel = f.lexically_relative(options.src_dir).generic_string();
    const bool inside = std::any_of(skip.begin(), skip.end(), [&](const std::string& s) {
      return s == "." || rel.rfind(s + "/", 0) == 0;
    });
    if (!inside) files.push_back(std::move(f));
  }
  return files;
}

// The held-out folder's check (holdout > 0): distinct from OUT_DIR and neither inside the other.
std::vector<fs::path> prepare_holdout(const SelectOptions& options) {
  if (options.holdout == 0) return {};
  const fs::path dir = holdout_dir_of(options);
  if (!nested_in(dir, options.out_dir).empty() || !nested_in(options.out_dir, dir).empty()) {
    Error e(ErrorCode::kInvalidArgument,
            "the held-out folder must be outside the output folder (and not contain it): "
            "calibration would read the held-out images");
    e.with("path", dir.string()).with("output", options.out_dir.string());
    throw e;
  }
  return prepare_holdout_dir(dir);
}

// --holdout N: N readable images, a seeded uniform draw over all of them (before selection, so
// the split stands for the data, not for what selection leaves), marked held out. The draw uses
// its own stream (seed ^ "holdout") so the selection's draws keep their meaning.
void draw_holdout(const SelectOptions& options, SelectReport& report) {
  if (options.holdout == 0) return;
  if (options.holdout >= report.readable) {
    Error e(ErrorCode::kInvalidArgument,
            "--holdout " + std::to_string(options.holdout) + " leaves nothing to select from: " +
                std::to_string(report.readable) + " images are readable");
    e.with("path", options.src_dir.string());
    throw e;
  }
  std::vector<std::size_t> readable;
  for (std::size_t i = 0; i < report.images.size(); ++i) {
    if (report.images[i].readable) readable.push_back(i);
  }
  constexpr std::uint64_t kHoldoutStream = 0x686f6c646f7574ULL;  // "holdout"
  Rng rng(options.seed ^ kHoldoutStream);
  for (std::size_t k : sample_indices(readable.size(), options.holdout, rng)) {
    report.images[readable[k]].held_out = true;
  }
  report.held_out = options.holdout;
  report.holdout_dir = holdout_dir_of(options);
}

// The sorted image listing of src_dir, less an OUT_DIR inside it (earlier selections: never
// score those copies again).
std::vector<fs::path> list_images(const fs::path& src_dir, const fs::path& out_dir) {
  std::string out_in_src;
  if (!out_dir.empty()) {
    out_in_src = fs::weakly_canonical(out_dir)
                     .lexically_relative(fs::weakly_canonical(src_dir))
                     .generic_string();
  }
  const bool nested = !out_in_src.empty() && out_in_src.rfind("..", 0) != 0;
  std::vector<fs::path> files;
  for (auto& f : list_files(src_dir, kImageExtensions)) {
    const std::string rel = f.lexically_relative(src_dir).generic_string();
    if (nested && (out_in_src == "." || rel.rfind(out_in_src + "/", 0) == 0)) continue;
    files.push_back(std::move(f));
  }
  return files;
}

// Scores files[begin, end) into images (one slot each), in parallel; per-image errors are
// recorded in the slot.
std::vector<ScoredImage> score_files(const SelectOptions& options,
                                     const std::vector<fs::path>& files, ShardRange range,
                                     bool need_descriptor, const SelectProgressFn& progress) {
  std::vector<ScoredImage> images(range.end - range.begin);
  std::atomic<std::size_t> done{0};
  parallel_for(images.size(), options.threads, [&](std::size_t k) {
    const fs::path& file = files[range.begin + k];
    ScoredImage& img = images[k];
    img.path = file;
    img.relative = file.lexically_relative(options.src_dir).generic_string();
    try {
      img.measures = measure_image(file, need_descriptor ? &img.descriptor : nullptr);
      img.scores = score_measures(img.measures, options.input_width, options.input_height);
      img.total = total_score(img.scores, options.weights);
      img.readable = true;
    } catch (const Error& e) {
      img.error = e.message();
    }
    const std::size_t now = done.fetch_add(1) + 1;
    if (progress) progress(now, images.size());
  });
  return images;
}

// No image scored: the error gives each image's reason, as the skipped lines do when some are
// readable (the first few, then a count).
[[noreturn]] void throw_none_readable(const SelectOptions& options, const SelectReport& report) {
  const std::size_t found = report.images.size();
  if (found == 0) {
    Error e(ErrorCode::kInvalidArgument,
            "no images found (looked for .jpg .jpeg .png .bmp .tif .tiff .webp)");
    e.with("path", options.src_dir.string());
    throw e;
  }
  constexpr std::size_t kShown = 10;
  std::string message = "none of the " + std::to_string(found) + " images could be read:";
  for (std::size_t i = 0; i < found && i < kShown; ++i) {
    const ScoredImage& img = report.images[i];
    message += "\n  " + (img.path.empty() ? img.relative : img.path.string()) + ": " + img.error;
  }
  if (found > kShown) message += "\n  ... and " + std::to_string(found - kShown) + " more";
  Error e(ErrorCode::kInvalidArgument, message);
  e.with("path", options.src_dir.string());
  throw e;
}

// When fewer than n candidates pass: the message (and the error unless allow_fewer).
void handle_shortfall(const SelectOptions& options, const std::vector<double>& readable_totals,
                      std::size_t candidates, SelectReport& report) {
  std::string msg = "only " + std::to_string(candidates) + " of " +
                    std::to_string(report.readable) + " readable images score at least " +
                    fmt("%.1f", options.threshold) + ", fewer than the " +
                    std::to_string(options.n) + " requested; ";
  const double t = threshold_for(readable_totals, options.n);
  if (t >= 0) {
    msg += "--threshold " + fmt("%.1f", t) + " would give " + std::to_string(options.n);
  } else {
    msg += "only " + std::to_string(report.readable) +
           " images are readable, so -n can be at most that";
  }
  if (!options.allow_fewer) {
    Error e(ErrorCode::kInvalidArgument, msg + " (or pass --allow-fewer)");
    e.with("path", options.src_dir.string());
    throw e;
  }
  report.fewer_than_requested = true;
  report.shortfall_message = msg;
}

// Threshold, strategy and outputs on scored images (report.images, in listing order); the
// same for one machine and for the reduce of shards. Descriptors are moved into one table.
void finish_selection(const SelectOptions& options, SelectReport& report,
                      const std::vector<fs::path>& previous,
                      const std::vector<fs::path>& previous_holdout) {
  for (const auto& img : report.images) report.readable += img.readable ? 1 : 0;
  if (report.readable == 0) throw_none_readable(options, report);
  draw_holdout(options, report);
  std::vector<std::size_t> candidates;
  std::vector<double> readable_totals;
  for (std::size_t i = 0; i < report.images.size(); ++i) {
    auto& img = report.images[i];
    if (!img.readable || img.held_out) continue;
    readable_totals.push_back(img.total);
    img.passed = img.total >= options.threshold;
    if (img.passed) candidates.push_back(i);
  }
  report.passed = candidates.size();
  if (candidates.size() < options.n) {
    handle_shortfall(options, readable_totals, candidates.size(), report);
  }
  std::vector<double> scores;
  std::vector<std::uint8_t> table;
  const bool diverse = options.strategy == Strategy::kDiverse;
  const std::size_t dim = diverse ? kDescriptorSide * kDescriptorSide * 3 : 0;
  if (diverse) table.reserve(candidates.size() * dim);
  for (std::size_t i : candidates) {
    auto& img = report.images[i];
    scores.push_back(img.total);
    if (!diverse) continue;
    if (img.descriptor.size() != dim) {
      Error e(ErrorCode::kInternal, "diverse: an image has no descriptor");
      e.with("image", img.relative);
      throw e;
    }
    table.insert(table.end(), img.descriptor.begin(), img.descriptor.end());
    std::vector<std::uint8_t>().swap(img.descriptor);  // one copy at a time: peak memory
  }
  for (auto& img : report.images) std::vector<std::uint8_t>().swap(img.descriptor);
  std::vector<std::string> reasons;
  const auto chosen =
      choose(scores, {table, dim}, options.n, options.strategy, options.seed, &reasons);
  for (std::size_t k = 0; k < chosen.size(); ++k) {
    ScoredImage& img = report.images[candidates[chosen[k]]];
    img.selected = true;
    img.reason = reasons[k];
    if (img.path.empty()) img.path = options.src_dir / img.relative;
  }
  report.selected = chosen.size();
  write_selection(options, report, previous);
  if (options.holdout > 0) write_holdout(options, report, previous_holdout);
}

Error scores_error(const std::string& message, const fs::path& file) {
  Error e(ErrorCode::kInvalidArgument, message);
  e.with("file", file.string());
  return e;
}

// The shards' headers, ordered by shard index, checked to be every shard of one listing
// scored with the same weights and input size.
std::vector<std::pair<ScoresHeader, fs::path>> check_shards(const std::vector<fs::path>& files) {
  if (files.empty()) throw_invalid("--from-scores needs at least one scores file");
  std::vector<std::pair<ScoresHeader, fs::path>> shards;
  for (const auto& f : files) shards.emplace_back(read_scores_header(f), f);
  std::stable_sort(shards.begin(), shards.end(), [](const auto& a, const auto& b) {
    return a.first.shard_index < b.first.shard_index;
  });
  const ScoresHeader& first = shards.front().first;
  if (shards.size() != first.shard_count) {
    throw scores_error("the scores files are " + std::to_string(shards.size()) + " of " +
                           std::to_string(first.shard_count) +
                           " shards; give every shard's file exactly once",
                       shards.front().second);
  }
  std::uint64_t next = 0;
  for (std::size_t k = 0; k < shards.size(); ++k) {
    const auto& [h, path] = shards[k];
    const bool same = h.source == first.source && h.shard_count == first.shard_count &&
                      h.listed == first.listed && h.listing_hash == first.listing_hash;
    if (!same) {
      throw scores_error("this scores file comes from another listing (source '" + h.source +
                             "', " + std::to_string(h.listed) + " images, shard of " +
                             std::to_string(h.shard_count) + ") than " +
                             shards.front().second.string(),
                         path);
    }
    if (h.shard_index != k) {
      throw scores_error("shard " + std::to_string(h.shard_index < k ? h.shard_index : k) + " of " +
                             std::to_string(h.shard_count) +
                             (h.shard_index < k ? " is given twice" : " is missing"),
                         path);
    }
    if (h.first != next) throw scores_error("the shard's block does not follow the previous", path);
    next = h.first + h.images;
    const auto& w = h.weights;
    const auto& w0 = first.weights;
    if (w.sharpness != w0.sharpness || w.brightness != w0.brightness || w.contrast != w0.contrast ||
        w.resolution != w0.resolution || w.colorfulness != w0.colorfulness ||
        h.input_width != first.input_width || h.input_height != first.input_height ||
        h.descriptor_size != first.descriptor_size) {
      throw scores_error("this shard was scored with other --weights or --input-size than " +
                             shards.front().second.string(),
                         path);
    }
  }
  if (next != first.listed) {
    throw scores_error("the shards hold " + std::to_string(next) + " of the " +
                           std::to_string(first.listed) + " listed images",
                       shards.back().second);
  }
  return shards;
}

}  // namespace

ScoreShardReport score_images(const SelectOptions& options, const fs::path& scores_file,
                              const SelectProgressFn& progress) {
  check_scoring_options(options);
  if (scores_file.empty()) throw_invalid("--save-scores needs a file name");
  const std::vector<fs::path> files = list_images(options.src_dir, {});
  const Shard shard = options.shard.value_or(Shard{});
  const ShardRange range = shard_range(shard, files.size());
  std::vector<std::string> relative;
  relative.reserve(files.size());
  for (const auto& f : files)
    relative.push_back(f.lexically_relative(options.src_dir).generic_string());

  ScoreShardReport report;
  report.listed = files.size();
  std::vector<ScoredImage> images = score_files(options, files, range, true, progress);
  ScoresHeader h;
  h.source = options.src_dir.generic_string();
  h.shard_index = static_cast<std::uint32_t>(shard.index);
  h.shard_count = static_cast<std::uint32_t>(shard.count);
  h.listed = files.size();
  h.listing_hash = hash_listing(relative);
  h.first = range.begin;
  h.images = images.size();
  h.weights = options.weights;
  h.input_width = options.input_width;
  h.input_height = options.input_height;
  h.descriptor_size = kDescriptorSide * kDescriptorSide * 3;
  write_scores_file(scores_file, h, images);
  report.scored = images.size();
  for (auto& img : images) {
    if (img.readable) {
      ++report.readable;
    } else {
      report.unreadable.push_back(std::move(img));
    }
  }
  return report;
}

SelectReport select_from_scores(SelectOptions options, const std::vector<fs::path>& scores_files) {
  check_choice_options(options);
  const auto shards = check_shards(scores_files);
  const ScoresHeader& first = shards.front().first;
  options.src_dir = first.source;
  options.weights = first.weights;
  options.input_width = first.input_width;
  options.input_height = first.input_height;
  const auto previous = prepare_out_dir(options.out_dir);
  const auto previous_holdout = prepare_holdout(options);
  SelectReport report;
  check_alloc(first.listed * sizeof(ScoredImage), "the images of the scores files");
  report.images.reserve(first.listed);
  for (const auto& [header, path] : shards) {
    read_scores_file(path, [&](ScoredImage&& img) {
      if (!img.readable) img.path = options.src_dir / img.relative;
      report.images.push_back(std::move(img));
    });
  }
  finish_selection(options, report, previous, previous_holdout);
  return report;
}

SelectReport select_calibration_set(const SelectOptions& options,
                                    const SelectProgressFn& progress) {
  check_choice_options(options);
  check_scoring_options(options);
  // Refuses a folder with unrelated files before any work.
  const auto previous = prepare_out_dir(options.out_dir);
  const auto previous_holdout = prepare_holdout(options);
  const std::vector<fs::path> files = list_sources(options);
  SelectReport report;
  report.images = score_files(options, files, {0, files.size()},
                              options.strategy == Strategy::kDiverse, progress);
  finish_selection(options, report, previous, previous_holdout);
  return report;
}

std::string reproduce_select_command(const SelectOptions& o) {
  const auto& w = o.weights;
  const std::string weights = fmt("%g,%g", w.sharpness, w.brightness) + "," +
                              fmt("%g,%g", w.contrast, w.resolution) + "," +
                              fmt("%g", w.colorfulness);
  return "qcal select " + shell_quote(o.src_dir.string()) + " -o " +
         shell_quote(o.out_dir.string()) + " -n " + std::to_string(o.n) + " --threshold " +
         fmt("%g", o.threshold) + " --seed " + std::to_string(o.seed) + " --strategy " +
         strategy_name(o.strategy) + " --weights " + weights + " --input-size " +
         std::to_string(o.input_width) + " " + std::to_string(o.input_height) +
         (o.link ? " --link" : "") + (o.allow_fewer ? " --allow-fewer" : "") +
         (o.holdout > 0 ? " --holdout " + std::to_string(o.holdout) + " --holdout-dir " +
                              shell_quote(holdout_dir_of(o).string())
                        : std::string());
}

}  // namespace qcal::dataset
