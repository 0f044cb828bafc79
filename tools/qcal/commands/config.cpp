// `qcal config`: calibration configs for NPU and export tools (DX-COM JSON, Ultralytics
// calibration.yaml, RKNN dataset.txt).
#include <iostream>
#include <memory>

#include "commands/commands.hpp"
#include "commands/model_input.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/output_paths.hpp"
#include "preprocess/model_fit.hpp"
#include "preprocess/npu_config.hpp"
#include "preprocess/recipe_json.hpp"

namespace qcal::cli {
namespace {

namespace pp = qcal::preprocess;

struct ConfigArgs {
  CommonOptions common;
  std::string model_type;
  std::string recipe;
  std::string dataset;
  std::string output;
  int calibration_num = 100;
  std::string method = "ema";
  std::string model;
  std::string input_name;
  std::vector<int> input_size;
  std::string format = "dxcom";
  std::vector<std::string> extensions;
};

int run_config(const ConfigArgs& a) {
  pp::ConfigRequest req;
  req.format = a.format == "ultralytics" ? pp::ConfigFormat::kUltralytics
               : a.format == "rknn"      ? pp::ConfigFormat::kRknn
                                         : pp::ConfigFormat::kDxcom;
  check_output_file(a.output, "-o");
  RunPaths paths;
  paths.input(a.dataset, "--dataset-path").input(a.model, "--model").input(a.recipe, "--recipe");
  paths.output(a.output, "-o").check();
  std::string recipe_spec = a.model_type;
  if (a.model_type == "custom") {
    if (a.recipe.empty())
      throw Error(ErrorCode::kInvalidArgument, "--model-type custom needs --recipe FILE.json");
    recipe_spec = a.recipe;
  } else if (!a.recipe.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "--recipe goes with --model-type custom");
  }
  std::optional<std::array<int, 2>> size_wh;
  if (!a.input_size.empty()) {
    if (a.input_size.size() != 2 || a.input_size[0] <= 0 || a.input_size[1] <= 0) {
      throw Error(ErrorCode::kInvalidArgument, "--input-size needs two positive numbers: W H");
    }
    size_wh = std::array<int, 2>{a.input_size[0], a.input_size[1]};
  }
  if (!a.model.empty()) {
    const pp::ModelInputInfo input = read_model_input(a.model, a.input_name);
    req.recipe = pp::fit_recipe_to_model(recipe_spec, input, size_wh);
    req.input_name = input.name;
  } else {
    if (pp::is_preset_name(recipe_spec)) {
      req.recipe = size_wh ? pp::make_preset(recipe_spec, (*size_wh)[0], (*size_wh)[1])
                           : pp::make_preset(recipe_spec);
    } else {
      if (size_wh)
        throw Error(ErrorCode::kInvalidArgument,
                    "--input-size applies to presets; a recipe file sets its own sizes");
      req.recipe = pp::resolve_recipe(recipe_spec);
    }
    req.input_name = !a.input_name.empty()            ? a.input_name
                     : !req.recipe.input_name.empty() ? req.recipe.input_name
                                                      : "input";
  }
  req.dataset = a.dataset;
  req.calibration_num = a.calibration_num;
  req.calibration_method = a.method;
  req.file_extensions = a.extensions;
  const pp::ConfigResult r = pp::make_calibration_config(req);
  for (const auto& w : r.warnings) std::cerr << "qcal: warning: " << w << "\n";
  write_file_atomic(a.output, r.text);
  if (a.common.json) {
    nlohmann::json j = {{"output", a.output},
                        {"format", a.format},
                        {"images_found", r.images_found},
                        {"calibration_num", a.calibration_num},
                        {"file_extensions", r.file_extensions},
                        {"warnings", r.warnings}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "wrote " << a.format << " config " << a.output << " (" << r.images_found
              << " image(s) found, calibration_num " << a.calibration_num << ")\n";
  }
  return kExitOk;
}

}  // namespace

Runner register_config(CLI::App& app) {
  auto args = std::make_shared<ConfigArgs>();
  CLI::App* cmd = app.add_subcommand(
      "config",
      "Write a calibration config: DX-COM JSON, Ultralytics calibration.yaml or RKNN dataset.txt");
  cmd->add_option("--model-type", args->model_type,
                  "yolo, yolo-resize, yunet, edgeface, or custom (with --recipe)")
      ->required()
      ->check(CLI::IsMember({"yolo", "yolo-resize", "yunet", "edgeface", "custom"}));
  cmd->add_option("--recipe", args->recipe, "Recipe .json for --model-type custom");
  cmd->add_option("--dataset-path", args->dataset, "Folder of calibration images")->required();
  cmd->add_option("-o,--output,--output-path", args->output, "File to write")->required();
  cmd->add_option("--calibration-num", args->calibration_num, "Images the compiler calibrates on")
      ->capture_default_str();
  cmd->add_option("--calibration-method", args->method, "DX-COM calibration method")
      ->capture_default_str()
      ->check(CLI::IsMember({"ema", "minmax", "iqr"}));
  cmd->add_option("--model,-m", args->model, "ONNX model: input name and shape come from it");
  cmd->add_option("--input-name", args->input_name,
                  "Model input name (default: the model's, or the preset's)");
  cmd->add_option("--input-size", args->input_size, "W H (needed when the model's size is dynamic)")
      ->expected(2);
  cmd->add_option("--format", args->format,
                  "dxcom (JSON), ultralytics (calibration.yaml) or rknn (dataset.txt)")
      ->capture_default_str()
      ->check(CLI::IsMember({"dxcom", "ultralytics", "rknn"}));
  cmd->add_option("--file-extensions", args->extensions,
                  "DX-COM file_extensions (case-sensitive); default: jpeg jpg png plus every case "
                  "variant found");
  add_json_flag(cmd, args->common);
  add_quiet_flag(cmd, args->common);
  return [args] { return run_config(*args); };
}

}  // namespace qcal::cli
