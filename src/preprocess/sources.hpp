// Where calibration images come from: a folder, a list file (as `qcal sample` writes), or a
// DX-COM config (its dataset_path, matched with DX-COM's case-sensitive file_extensions).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "preprocess/recipe_json.hpp"

namespace qcal::preprocess {

struct ImageSource {
  std::vector<std::filesystem::path> images;  // in a fixed, byte-wise sorted (or list) order
  std::optional<DxcomConfig> config;          // set when the argument was a DX-COM config
  std::string kind;                           // "directory", "list", "dxcom-config"
};

// Resolves IMAGES for pack/check. A .json file is read as a DX-COM config; a folder is listed
// recursively for image files of any letter case; any other file is a list file (paths relative
// to the list's folder). Throws kIo naming the path when it does not exist or holds no images.
ImageSource resolve_image_source(const std::filesystem::path& arg);

// The dataset folder of a DX-COM config: absolute as is; relative to the config's folder when
// it exists there, else to the working directory (how a user running DX-COM there sees it).
std::filesystem::path resolve_dataset_path(const DxcomConfig& config,
                                           const std::filesystem::path& config_path);

// Files under dataset that DX-COM would load: extension (after the last dot) exactly equal to
// one of `extensions` (case-sensitive, as DX-COM matches), sorted byte-wise.
std::vector<std::filesystem::path> list_dxcom_images(const std::filesystem::path& dataset,
                                                     const std::vector<std::string>& extensions);

// Image files under dataset (any case) whose exact extension is not in `extensions`: what DX-COM
// would silently skip.
std::vector<std::filesystem::path> list_missed_images(const std::filesystem::path& dataset,
                                                      const std::vector<std::string>& extensions);

}  // namespace qcal::preprocess
