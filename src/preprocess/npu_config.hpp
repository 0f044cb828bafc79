// Calibration configs for external compilers, from a recipe and an image folder: DX-COM JSON,
// an Ultralytics dataset YAML (calibration.yaml) and an RKNN dataset.txt, with the warnings a
// user needs before a long compile (too few images, extensions DX-COM would skip).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "preprocess/recipe.hpp"

namespace qcal::preprocess {

enum class ConfigFormat { kDxcom, kUltralytics, kRknn };

struct ConfigRequest {
  Recipe recipe;                  // already fitted to the model / size
  std::string input_name;         // DX-COM inputs key
  std::filesystem::path dataset;  // image folder (must exist)
  int calibration_num = 100;
  std::string calibration_method = "ema";
  std::vector<std::string> file_extensions;  // empty: found in the folder (see .cpp)
  ConfigFormat format = ConfigFormat::kDxcom;
};

struct ConfigResult {
  std::string text;                   // the file content
  std::vector<std::string> warnings;  // for stderr
  std::size_t images_found = 0;       // images the target tool will see
  std::vector<std::string> file_extensions;
};

// Throws kIo naming the folder when it is missing or holds no images; kInvalidArgument when
// the recipe's output size depends on the image (DX-COM needs a fixed input shape).
ConfigResult make_calibration_config(const ConfigRequest& request);

}  // namespace qcal::preprocess
