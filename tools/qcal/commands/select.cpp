// `qcal select`: wiring for dataset::select_calibration_set; prints the outcome on stderr.
#include "dataset/select.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "commands/commands.hpp"

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
  CommonOptions common;
};

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

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

int run_select(const SelectArgs& a) {
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
  o.threads = resolve_threads(a.common.threads);
  // The reproducing command spells out every option that changes the result.
  o.command_line = "qcal select " + shell_quote(a.src) + " -o " + shell_quote(a.out) + " -n " +
                   std::to_string(a.n) + " --threshold " + number(a.threshold) + " --seed " +
                   std::to_string(a.common.seed) + " --strategy " + a.strategy + " --weights " +
                   shell_quote(a.weights) + " --input-size " + std::to_string(o.input_width) + " " +
                   std::to_string(o.input_height) + (a.link ? " --link" : "") +
                   (a.allow_fewer ? " --allow-fewer" : "");
  o.working_dir = std::filesystem::current_path().string();

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
  const auto r = dataset::select_calibration_set(o, progress);
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
  }
  if (a.common.json) {
    nlohmann::ordered_json j;
    j["out_dir"] = a.out;
    j["found"] = r.images.size();
    j["readable"] = r.readable;
    j["passed"] = r.passed;
    j["selected"] = r.selected;
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
                  "Folder searched recursively for .jpg .jpeg .png .bmp .tif .tiff .webp")
      ->required();
  cmd->add_option("-o,--output", a->out, "Output folder")->required();
  cmd->add_option("-n", a->n, "Number of images to select")
      ->check(positive_number())
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
      ->check(positive_number())
      ->capture_default_str();
  cmd->add_flag("--link", a->link, "Symbolic links to the originals instead of copies");
  cmd->add_flag(
      "--allow-fewer", a->allow_fewer,
      "When fewer than n images pass, select them all (with a warning) instead of failing");
  add_seed_flag(cmd, a->common);
  add_threads_flag(cmd, a->common);
  add_quiet_flag(cmd, a->common);
  add_json_flag(cmd, a->common);
  return [a] { return run_select(*a); };
}

}  // namespace qcal::cli
