// `qcal select`: wiring for dataset::select_calibration_set; prints the outcome on stderr.
#include "dataset/select.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "core/error.hpp"
#include "core/output_paths.hpp"

namespace qcal::cli {

namespace {

struct SelectArgs {
  std::string src;
  std::string out;
  std::size_t n = 100;
  double threshold = 40;
  std::string strategy = "hybrid";
  std::string weights = "35,20,20,15,10";
  std::vector<int> input_size = {640, 640};
  bool link = false;
  bool allow_fewer = false;
  std::string shard;
  std::string save_scores;
  std::vector<std::string> from_scores;
  std::size_t holdout = 0;
  std::string holdout_dir;
  CommonOptions common;
};

// The map step: score this shard's block of SRC and write its scores file.
int run_score_shard(const SelectArgs& a, dataset::SelectOptions& o,
                    const dataset::SelectProgressFn& progress) {
  o.shard = resolve_shard(a.shard, a.common.quiet);
  const auto r = dataset::score_images(o, a.save_scores, progress);
  if (!a.common.quiet) {
    for (const auto& img : r.unreadable) {
      std::fprintf(stderr, "  skipped %s: %s\n", img.path.string().c_str(), img.error.c_str());
    }
    std::fprintf(stderr, "scored %zu of %zu images (%zu readable) into %s\n", r.scored, r.listed,
                 r.readable, a.save_scores.c_str());
  }
  if (a.common.json) {
    nlohmann::ordered_json j;
    j["scores"] = a.save_scores;
    j["listed"] = r.listed;
    j["scored"] = r.scored;
    j["readable"] = r.readable;
    std::cout << j.dump(2) << "\n";
  }
  return kExitOk;
}

void check_select_args(const SelectArgs& a) {
  const bool map = !a.save_scores.empty();
  const bool reduce = !a.from_scores.empty();
  if (map && reduce) throw_invalid("--save-scores and --from-scores exclude each other");
  if (!a.shard.empty() && !map) {
    throw_invalid("--shard scores one block of the images: give --save-scores FILE too");
  }
  if (reduce && !a.src.empty()) {
    throw_invalid("--from-scores replaces the image folder: give one or the other");
  }
  if (!reduce && a.src.empty()) throw_invalid("give an image folder (or --from-scores FILE...)");
  if (!map && a.out.empty()) throw_invalid("an output folder is required (-o OUT_DIR)");
  if (map && !a.out.empty()) {
    throw_invalid("--save-scores writes scores only; choose with --from-scores ... -o OUT_DIR");
  }
}

int run_select(const SelectArgs& a) {
  check_select_args(a);
  dataset::SelectOptions o;
  o.src_dir = a.src;
  o.out_dir = a.out;
  o.n = a.n;
  o.threshold = a.threshold;
  o.seed = a.common.seed;
  o.strategy = dataset::parse_strategy(a.strategy);
  o.weights = dataset::parse_weights(a.weights);
  o.input_width = a.input_size.at(0);
  o.input_height = a.input_size.at(1);
  o.link = a.link;
  o.allow_fewer = a.allow_fewer;
  o.holdout = a.holdout;
  o.holdout_dir = a.holdout_dir;
  o.threads = resolve_threads(a.common.threads);
  // The reproducing command spells out every option that changes the result; the reduce step
  // fills it once the scores files gave the source, weights and input size.
  if (a.from_scores.empty()) o.command_line = dataset::reproduce_select_command(o);
  o.working_dir = std::filesystem::current_path().string();
  if (!a.out.empty()) check_output_dir(o.out_dir, "-o");
  RunPaths paths;
  paths.input(a.src, "the source folder")
      .output(a.out, "-o", OutputKind::kFolderWritten)
      .output(a.save_scores, "--save-scores");
  for (const auto& f : a.from_scores) paths.input(f, "--from-scores");
  paths.check();

  const bool show_progress = !a.common.quiet && stderr_is_tty();
  auto mutex = std::make_shared<std::mutex>();
  dataset::SelectProgressFn progress;
  if (show_progress) {
    progress = [mutex](std::size_t done, std::size_t total) {
      std::lock_guard<std::mutex> lock(*mutex);
      if (done % 16 == 0 || done == total) {
        std::fprintf(stderr, "\rscoring %zu/%zu images", done, total);
        std::fflush(stderr);
      }
    };
  }
  if (!a.save_scores.empty()) return run_score_shard(a, o, progress);
  std::vector<std::filesystem::path> from(a.from_scores.begin(), a.from_scores.end());
  const auto r = from.empty() ? dataset::select_calibration_set(o, progress)
                              : dataset::select_from_scores(o, from);
  if (show_progress) std::fprintf(stderr, "\r%60s\r", "");
  if (!a.common.quiet) {
    std::size_t unreadable = r.images.size() - r.readable;
    std::fprintf(stderr, "%zu images: %zu readable, %zu unreadable, %zu scoring >= %g\n",
                 r.images.size(), r.readable, unreadable, r.passed, a.threshold);
    for (const auto& img : r.images) {
      if (!img.readable)
        std::fprintf(stderr, "  skipped %s: %s\n", img.path.string().c_str(), img.error.c_str());
    }
    if (r.fewer_than_requested)
      std::fprintf(stderr, "qcal: warning: %s\n", r.shortfall_message.c_str());
    std::fprintf(stderr, "selected %zu (%s) into %s\nanalysis: %s\n", r.selected,
                 a.strategy.c_str(), a.out.c_str(), r.analysis_path.string().c_str());
    if (r.held_out > 0) {
      std::fprintf(stderr, "held out %zu (seeded, never selected) into %s\n", r.held_out,
                   r.holdout_dir.string().c_str());
    }
  }
  if (a.common.json) {
    nlohmann::ordered_json j;
    j["out_dir"] = a.out;
    j["found"] = r.images.size();
    j["readable"] = r.readable;
    j["passed"] = r.passed;
    j["selected"] = r.selected;
    j["held_out"] = r.held_out;
    if (r.held_out > 0) j["holdout_dir"] = r.holdout_dir.string();
    j["analysis"] = r.analysis_path.string();
    std::cout << j.dump(2) << "\n";
  }
  return kExitOk;
}

}  // namespace

Runner register_select(CLI::App& app) {
  auto a = std::make_shared<SelectArgs>();
  auto* cmd = app.add_subcommand(
      "select", "Choose a quality-scored, diverse calibration set from an image folder");
  cmd->footer(
      "Scores every image 0-100 (sharpness, brightness, contrast, resolution, colourfulness), "
      "keeps those at or above --threshold and picks n by --strategy. Writes the images (copies, "
      "or links with --link), OUT_DIR/calibration_analysis.json and OUT_DIR/README.md. OUT_DIR "
      "must be new, empty, or hold a previous selection (which is replaced).");
  cmd->add_option("src", a->src,
                  "Folder searched recursively for .jpg .jpeg .png .bmp .tif .tiff .webp");
  cmd->add_option("-o,--output", a->out, "Output folder");
  cmd->add_option("-n,--num-samples", a->n, "Number of images to select")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--threshold", a->threshold, "Minimum quality score (0-100) of a candidate")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_option("--strategy", a->strategy,
                  "hybrid: best half + quality-stratified seeded half; top: best n; uniform: "
                  "seeded random; diverse: greedy farthest-point on image thumbnails")
      ->check(CLI::IsMember({"hybrid", "top", "uniform", "diverse"}))
      ->capture_default_str();
  cmd->add_option("--weights", a->weights,
                  "Weights of sharpness,brightness,contrast,resolution,colourfulness")
      ->capture_default_str();
  cmd->add_option("--input-size", a->input_size, "Model input W H (for the resolution sub-score)")
      ->expected(2)
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--holdout", a->holdout,
                  "Also keep N other images, a seeded draw over all readable ones made before "
                  "selection, as a held-out split to evaluate on (its own folder)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--holdout-dir", a->holdout_dir,
                  "Folder for the --holdout split (default: OUT_DIR_holdout beside OUT_DIR)");
  cmd->add_flag("--link", a->link, "Symbolic links to the originals instead of copies");
  cmd->add_flag(
      "--allow-fewer", a->allow_fewer,
      "When fewer than n images pass, select them all (with a warning) instead of failing");
  add_shard_option(cmd, a->shard, "images (with --save-scores)");
  cmd->add_option("--save-scores", a->save_scores,
                  "Map step: score SRC (or its --shard) and write the scores file (.qsc) instead "
                  "of selecting");
  cmd->add_option("--from-scores", a->from_scores,
                  "Reduce step: choose from these scores files (every shard once, any order) "
                  "instead of scoring SRC; the same selection and analysis as one run over SRC")
      ->expected(1, -1);
  add_seed_flag(cmd, a->common);
  add_threads_flag(cmd, a->common);
  add_quiet_flag(cmd, a->common);
  add_json_flag(cmd, a->common);
  return [a] { return run_select(*a); };
}

}  // namespace qcal::cli
