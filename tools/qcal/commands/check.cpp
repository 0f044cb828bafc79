// `qcal check`: prove a preprocessing config on sampled images (exit 3 when a check fails).
#include "preprocess/check.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands/commands.hpp"
#include "commands/model_input.hpp"
#include "core/error.hpp"
#include "core/output_paths.hpp"
#include "preprocess/model_fit.hpp"
#include "preprocess/recipe_json.hpp"
#include "preprocess/sources.hpp"

namespace qcal::cli {
namespace {

namespace pp = qcal::preprocess;

struct CheckArgs {
  CommonOptions common;
  std::string config;
  std::string images;
  std::string recipe;
  std::string expect;
  std::string model;
  std::string input_name;
  int num_samples = 5;
  bool visualize = false;
  std::string output_dir = "qcal-check";
};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%10.4g", v);
  return buf;
}

void print_table(const pp::CheckReport& r) {
  std::printf("%-3s %-28s %-20s %-8s %2s %10s %10s %10s %10s %5s %5s %-5s\n", "#", "image", "shape",
              "dtype", "ch", "min", "max", "mean", "std", "nan", "inf", "order");
  for (std::size_t i = 0; i < r.samples.size(); ++i) {
    const auto& s = r.samples[i];
    std::string name = s.image.filename().string();
    if (name.size() > 28) name = name.substr(0, 25) + "...";
    if (s.channels.empty()) {
      std::printf("%-3zu %-28s %s\n", i, name.c_str(), "(not processed)");
    }
    for (std::size_t c = 0; c < s.channels.size(); ++c) {
      const auto& st = s.channels[c];
      std::printf("%-3s %-28s %-20s %-8s %2zu %s %s %s %s %5lld %5lld %-5s\n",
                  c == 0 ? std::to_string(i).c_str() : "", c == 0 ? name.c_str() : "",
                  c == 0 ? shape_to_string(s.shape).c_str() : "",
                  c == 0 ? std::string(dtype_name(s.dtype)).c_str() : "", c, num(st.min).c_str(),
                  num(st.max).c_str(), num(st.mean).c_str(), num(st.std).c_str(),
                  static_cast<long long>(st.nan), static_cast<long long>(st.inf),
                  c == 0 ? s.color_evidence.c_str() : "");
    }
    for (const auto& p : s.problems) std::printf("    FAIL: %s\n", p.c_str());
  }
  for (const auto& p : r.problems) std::printf("FAIL: %s\n", p.c_str());
  std::size_t failed = 0;
  for (const auto& s : r.samples) failed += s.problems.empty() ? 0 : 1;
  std::printf("check: %zu sample(s), %zu failed, %zu recipe problem(s): %s\n", r.samples.size(),
              failed, r.problems.size(), r.ok() ? "PASS" : "FAIL");
  if (!r.contact_sheet.empty())
    std::printf("contact sheet: %s\n", r.contact_sheet.string().c_str());
}

nlohmann::json to_json(const pp::CheckReport& r) {
  nlohmann::json samples = nlohmann::json::array();
  for (const auto& s : r.samples) {
    nlohmann::json ch = nlohmann::json::array();
    for (const auto& st : s.channels) {
      ch.push_back({{"min", st.min},
                    {"max", st.max},
                    {"mean", st.mean},
                    {"std", st.std},
                    {"nan", st.nan},
                    {"inf", st.inf}});
    }
    samples.push_back({{"image", s.image.string()},
                       {"shape", s.shape},
                       {"dtype", std::string(dtype_name(s.dtype))},
                       {"channels", ch},
                       {"color_order_evidence", s.color_evidence},
                       {"problems", s.problems},
                       {"visualization", s.visualization.string()}});
  }
  return {{"ok", r.ok()},
          {"problems", r.problems},
          {"samples", samples},
          {"contact_sheet", r.contact_sheet.string()}};
}

int run_check(const CheckArgs& a) {
  if (a.config.empty() == a.images.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "give either --config X.json or IMAGES with --recipe");
  }
  pp::CheckOptions o;
  o.num_samples = a.num_samples;
  o.seed = a.common.seed;
  o.visualize = a.visualize;
  o.output_dir = a.output_dir;
  if (a.visualize) {
    check_output_dir(o.output_dir, "--output-dir");
    RunPaths paths;
    paths.input(a.images, "IMAGES").input(a.config, "--config").input(a.model, "--model");
    if (!a.recipe.empty() && !pp::is_preset_name(a.recipe)) paths.input(a.recipe, "--recipe");
    paths.output(o.output_dir, "--output-dir", OutputKind::kFolderWritten).check();
  }
  pp::ImageSource source = pp::resolve_image_source(a.config.empty() ? a.images : a.config);
  const auto fixed_size = [](const pp::ModelInputInfo& in) {
    return in.shape.size() > 1 &&
           std::all_of(in.shape.begin() + 1, in.shape.end(), [](std::int64_t d) { return d > 0; });
  };
  if (!a.recipe.empty() && !a.model.empty() && pp::is_preset_name(a.recipe) &&
      fixed_size(read_model_input(a.model, a.input_name))) {
    // A preset takes the model's input size, layout and name, as in every verb.
    o.recipe =
        pp::fit_recipe_to_model(a.recipe, read_model_input(a.model, a.input_name), std::nullopt);
  } else if (!a.recipe.empty()) {
    o.recipe = pp::resolve_recipe(a.recipe);
  } else if (source.config) {
    o.recipe = source.config->recipe;
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                "give --recipe (a preset or recipe .json) to check IMAGES");
  }
  if (!a.expect.empty()) o.expected = pp::make_preset(a.expect);
  if (!a.model.empty()) {
    const pp::ModelInputInfo input = read_model_input(a.model, a.input_name);
    o.expected_shape = input.shape;
    o.expected_source = "model input '" + input.name + "'";
  } else if (source.config && source.config->inputs.size() == 1) {
    o.expected_shape = source.config->inputs[0].second;
    o.expected_source = "the config's input '" + source.config->inputs[0].first + "'";
  }
  const pp::CheckReport r = pp::run_check(source.images, o);
  if (a.common.json) {
    std::cout << to_json(r).dump(2) << "\n";
  } else {
    print_table(r);
  }
  return r.ok() ? kExitOk : kExitPartial;
}

}  // namespace

Runner register_check(CLI::App& app) {
  auto args = std::make_shared<CheckArgs>();
  CLI::App* cmd =
      app.add_subcommand("check",
                         "Prove a preprocessing config on sampled images: shapes, per-channel "
                         "stats, NaN/Inf, range and colour-order "
                         "checks, optional side-by-side PNGs. Exit 3 when a check fails.");
  cmd->add_option("images", args->images,
                  "Images to check with --recipe (a folder or list file), instead of --config");
  cmd->add_option("--config,-c", args->config,
                  "DX-COM config .json (its dataset, recipe and input shape)");
  cmd->add_option("--recipe,-r", args->recipe, "Preset or recipe .json (overrides the config's)");
  cmd->add_option("--model-type,--expect", args->expect,
                  "The preset the model expects (yolo, yolo-resize, yunet, edgeface): "
                  "values and colour order are checked against it")
      ->check(CLI::IsMember({"yolo", "yolo-resize", "yunet", "edgeface"}));
  cmd->add_option("--model,-m", args->model, "ONNX model whose input shape the tensors must match");
  cmd->add_option("--input-name", args->input_name,
                  "Model input to check against (multi-input models)");
  cmd->add_option("--num-samples,-n", args->num_samples, "Images to sample (seeded)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--visualize", args->visualize,
                "Write original|tensor PNGs per sample and a contact sheet");
  cmd->add_option("-o,--output,--output-dir", args->output_dir, "Folder for --visualize")
      ->capture_default_str();
  add_seed_flag(cmd, args->common);
  add_json_flag(cmd, args->common);
  return [args] { return run_check(*args); };
}

}  // namespace qcal::cli
