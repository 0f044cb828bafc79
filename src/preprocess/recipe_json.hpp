// Recipe JSON in DX-COM's own syntax (a superset): a bare `preprocessings` list, a recipe file
// {"preprocessings": [...], "dtype", "layout", "input_name"}, or a whole DX-COM config whose
// default_loader.preprocessings is the recipe. Also reads and writes DX-COM configs.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"
#include "preprocess/recipe.hpp"

namespace qcal::preprocess {

// Parses any of the three forms above; validates the result. Errors (kFormat for malformed
// JSON, kInvalidArgument for an unknown step or a bad value) name `what` (usually the file).
Recipe recipe_from_json(const nlohmann::json& j, const std::string& what);
nlohmann::json recipe_to_json(const Recipe& recipe);  // {"preprocessings": [...], ...}
nlohmann::json steps_to_json(const std::vector<Step>& steps);

// Reads a recipe file (any form); throws naming the file.
Recipe load_recipe_file(const std::filesystem::path& path);
void save_recipe_file(const std::filesystem::path& path, const Recipe& recipe);  // atomic
// A preset name or a path to a recipe/config .json.
Recipe resolve_recipe(const std::string& preset_or_path);

// A DX-COM calibration config (DEEPX dx-compiler JSON, see docs/formats.md).
struct DxcomConfig {
  std::vector<std::pair<std::string, Shape>> inputs;  // in file order
  int calibration_num = 100;
  std::string calibration_method = "ema";
  std::string dataset_path;
  std::vector<std::string> file_extensions;  // case-sensitive, as DX-COM matches them
  Recipe recipe;
  nlohmann::json extra = nlohmann::json::object();  // other top-level keys, kept as they were
};

bool is_dxcom_config(const nlohmann::json& j);
DxcomConfig dxcom_config_from_json(const nlohmann::json& j, const std::string& what);
nlohmann::json dxcom_config_to_json(const DxcomConfig& config);
DxcomConfig load_dxcom_config(const std::filesystem::path& path);
// Parses JSON text; kFormat naming `what` on a syntax error.
nlohmann::json parse_json_text(const std::string& text, const std::string& what);

}  // namespace qcal::preprocess
