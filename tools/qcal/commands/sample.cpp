// `qcal sample`: wiring for dataset::sample_subset; the list goes to -o or stdout.
#include "dataset/sample.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "core/output_paths.hpp"

namespace qcal::cli {

namespace {

struct SampleArgs {
  std::string src;
  std::size_t n = 100;
  std::string output;
  std::string relative_to;
  bool allow_fewer = false;
  CommonOptions common;
};

int run_sample(const SampleArgs& a) {
  dataset::SampleOptions o;
  o.src = a.src;
  o.n = a.n;
  o.seed = a.common.seed;
  o.relative_to = a.relative_to;
  o.allow_fewer = a.allow_fewer;
  if (a.output != "-") o.output = a.output;
  if (!o.output.empty()) {
    check_output_file(o.output, "-o");
    RunPaths().input(a.src, "the source").output(o.output, "-o").check();
  }
  const auto r = dataset::sample_subset(o);
  if (a.common.json) {
    // The summary, with the paths (the list itself when it is not written to a file).
    nlohmann::json j = {
        {"src", a.src},          {"candidates", r.candidates},  {"chosen", r.lines.size()},
        {"seed", a.common.seed}, {"output", o.output.string()}, {"paths", r.lines}};
    std::cout << j.dump(2) << "\n";
  } else if (o.output.empty()) {
    for (const auto& line : r.lines) std::cout << line << "\n";
  }
  if (!a.common.quiet) {
    std::fprintf(stderr, "sampled %zu of %zu candidates (seed %llu)%s%s\n", r.lines.size(),
                 r.candidates, static_cast<unsigned long long>(a.common.seed),
                 o.output.empty() ? "" : " into ", o.output.string().c_str());
  }
  return kExitOk;
}

}  // namespace

Runner register_sample(CLI::App& app) {
  auto a = std::make_shared<SampleArgs>();
  auto* cmd = app.add_subcommand("sample", "Write a reproducible random subset of image paths");
  cmd->footer(
      "The candidates are sorted byte-wise and drawn with qcal's portable RNG: the same seed and "
      "the same files give the same subset on every machine. Output: one path per line, sorted.");
  cmd->add_option("src", a->src,
                  "Folder searched recursively for images, or a list file (one path per line, "
                  "'#' comments; relative entries are kept as written)")
      ->required();
  cmd->add_option("-n,--num-samples", a->n, "Number of paths to draw")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("-o,--output", a->output,
                  "Output list file (default or '-': stdout; with --json the paths are in the "
                  "JSON)");
  cmd->add_option("--relative-to", a->relative_to, "Write paths relative to this folder");
  cmd->add_flag("--allow-fewer", a->allow_fewer,
                "Take all candidates when n exceeds them instead of failing");
  add_seed_flag(cmd, a->common);
  add_json_flag(cmd, a->common);
  add_quiet_flag(cmd, a->common);
  return [a] { return run_sample(*a); };
}

}  // namespace qcal::cli
