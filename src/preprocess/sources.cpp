// Image source resolution for pack/check/config.
#include "preprocess/sources.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/list_file.hpp"

namespace fs = std::filesystem;

namespace qcal::preprocess {
namespace {

std::string exact_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  if (!ext.empty() && ext[0] == '.') ext.erase(0, 1);
  return ext;
}

}  // namespace

fs::path resolve_dataset_path(const DxcomConfig& config, const fs::path& config_path) {
  fs::path d(config.dataset_path);
  if (config.dataset_path.empty()) {
    Error e(ErrorCode::kInvalidArgument, "DX-COM config has no default_loader.dataset_path");
    e.with("file", config_path.string());
    throw e;
  }
  if (d.is_absolute()) return d;
  std::error_code ec;
  fs::path beside = config_path.parent_path() / d;
  if (fs::exists(beside, ec)) return beside.lexically_normal();
  return d;
}

std::vector<fs::path> list_dxcom_images(const fs::path& dataset,
                                        const std::vector<std::string>& extensions) {
  std::vector<fs::path> all = list_files(dataset, kImageExtensions);
  std::vector<fs::path> out;
  for (auto& p : all) {
    if (std::find(extensions.begin(), extensions.end(), exact_extension(p)) != extensions.end())
      out.push_back(p);
  }
  return out;
}

std::vector<fs::path> list_missed_images(const fs::path& dataset,
                                         const std::vector<std::string>& extensions) {
  std::vector<fs::path> all = list_files(dataset, kImageExtensions);
  std::vector<fs::path> out;
  for (auto& p : all) {
    if (std::find(extensions.begin(), extensions.end(), exact_extension(p)) == extensions.end())
      out.push_back(p);
  }
  return out;
}

ImageSource resolve_image_source(const fs::path& arg) {
  std::error_code ec;
  if (!fs::exists(arg, ec)) {
    Error e(ErrorCode::kIo,
            "image source does not exist (expected a folder, a list file or a DX-COM config)");
    e.with("path", arg.string());
    throw e;
  }
  ImageSource src;
  if (fs::is_directory(arg, ec)) {
    src.kind = "directory";
    src.images = list_files(arg, kImageExtensions);
    if (src.images.empty()) {
      Error e(ErrorCode::kIo, "no image files (jpg, jpeg, png, bmp, tif, tiff, webp) in folder");
      e.with("path", arg.string());
      throw e;
    }
    return src;
  }
  if (extension_lower(arg) == "json") {
    src.kind = "dxcom-config";
    DxcomConfig cfg = load_dxcom_config(arg);
    const fs::path dataset = resolve_dataset_path(cfg, arg);
    if (!fs::is_directory(dataset, ec)) {
      Error e(ErrorCode::kIo, "the config's dataset_path is not a folder");
      e.with("dataset_path", dataset.string()).with("file", arg.string());
      throw e;
    }
    std::vector<std::string> exts = cfg.file_extensions;
    if (exts.empty()) exts = {"jpeg", "jpg", "png"};
    src.images = list_dxcom_images(dataset, exts);
    if (src.images.empty()) {
      Error e(ErrorCode::kIo,
              "no images in the config's dataset_path match its file_extensions (matched "
              "case-sensitively)");
      e.with("dataset_path", dataset.string()).with("file", arg.string());
      throw e;
    }
    if (static_cast<std::size_t>(cfg.calibration_num) < src.images.size()) {
      src.images.resize(static_cast<std::size_t>(cfg.calibration_num));
    }
    src.config = std::move(cfg);
    return src;
  }
  src.kind = "list";
  src.images = read_list_file(arg, arg.parent_path());
  if (src.images.empty()) {
    Error e(ErrorCode::kIo, "list file names no images");
    e.with("file", arg.string());
    throw e;
  }
  return src;
}

}  // namespace qcal::preprocess
