// Calibration config writers (DX-COM JSON, Ultralytics YAML, RKNN list).
#include "preprocess/npu_config.hpp"

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/list_file.hpp"
#include "preprocess/recipe_json.hpp"
#include "preprocess/sources.hpp"

namespace fs = std::filesystem;

namespace qcal::preprocess {
namespace {

std::string exact_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  if (!ext.empty() && ext[0] == '.') ext.erase(0, 1);
  return ext;
}

// YAML double-quoted scalar.
std::string yaml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// DX-COM's file_extensions: the requested list (warning about images it would skip), or DX-COM's
// usual list plus every exact-case extension present.
std::vector<std::string> dxcom_extensions(const ConfigRequest& req, const fs::path& dataset,
                                          const std::vector<fs::path>& all,
                                          std::vector<std::string>& warnings) {
  std::vector<std::string> exts = req.file_extensions;
  if (exts.empty()) {
    // DX-COM's usual list plus every exact-case extension present, so nothing is skipped.
    exts = {"jpeg", "jpg", "png"};
    std::set<std::string> found;
    for (const auto& p : all) found.insert(exact_extension(p));
    for (const auto& e : found) {
      if (std::find(exts.begin(), exts.end(), e) == exts.end()) {
        exts.push_back(e);
        std::size_t n = 0;
        for (const auto& p : all) n += exact_extension(p) == e ? 1 : 0;
        warnings.push_back(
            "added \"" + e +
            "\" to file_extensions: DX-COM matches extensions case-sensitively and would skip " +
            std::to_string(n) + " file(s) such as " +
            std::find_if(all.begin(), all.end(), [&](const fs::path& p) {
              return exact_extension(p) == e;
            })->string());
      }
    }
  } else {
    const auto missed = list_missed_images(dataset, exts);
    if (!missed.empty()) {
      std::set<std::string> kinds;
      for (const auto& p : missed) kinds.insert(exact_extension(p));
      std::string list;
      for (const auto& k : kinds) list += (list.empty() ? "" : ", ") + k;
      warnings.push_back(std::to_string(missed.size()) +
                         " image(s) in the folder have extensions not in file_extensions (" + list +
                         "); DX-COM matches case-sensitively and will skip them, e.g. " +
                         missed.front().string());
    }
  }
  return exts;
}

// A DX-COM JSON config: the recipe with its layout steps spelled out, the input shape, the folder.
void write_dxcom_config(const ConfigRequest& req, const fs::path& dataset,
                        const std::vector<fs::path>& all, ConfigResult& r) {
  const ShapeInfo info = infer_shape(req.recipe);
  for (std::int64_t d : info.shape) {
    if (d < 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  "the recipe's output " + shape_to_string(info.shape) +
                      " depends on the image size; DX-COM needs a fixed input shape (add a fixed "
                      "resize or centercrop)");
    }
  }
  const std::vector<std::string> exts = dxcom_extensions(req, dataset, all, r.warnings);
  r.file_extensions = exts;
  r.images_found = list_dxcom_images(dataset, exts).size();
  if (r.images_found == 0) {
    Error e(ErrorCode::kIo, "no images in the dataset folder match file_extensions");
    e.with("path", dataset.string());
    throw e;
  }
  DxcomConfig c;
  c.inputs = {{req.input_name, info.shape}};
  c.calibration_num = req.calibration_num;
  c.calibration_method = req.calibration_method;
  c.dataset_path = dataset.string();
  c.file_extensions = exts;
  c.recipe = req.recipe;
  // DX-COM applies only what is listed: spell out the layout steps a qcal recipe may imply.
  const bool has_layout =
      std::any_of(c.recipe.steps.begin(), c.recipe.steps.end(), [](const Step& s) {
        return s.kind == StepKind::kTranspose || s.kind == StepKind::kExpandDim;
      });
  if (!has_layout) {
    if (c.recipe.layout.value_or(Layout::kNCHW) == Layout::kNCHW) {
      Step t;
      t.kind = StepKind::kTranspose;
      t.axis = {2, 0, 1};
      c.recipe.steps.push_back(t);
    }
    Step e;
    e.kind = StepKind::kExpandDim;
    e.axis = {0};
    c.recipe.steps.push_back(e);
  }
  r.text = dxcom_config_to_json(c).dump(2) + "\n";
}

// Ultralytics INT8 export (data=calibration.yaml) reads the `val` split; labels are not
// needed for calibration. `names` is required by its dataset checker.
std::string ultralytics_yaml(const fs::path& dataset) {
  return "# Ultralytics dataset YAML written by `qcal config --format ultralytics`: INT8 "
         "calibration images.\n"
         "# Use: yolo export model=M.pt format=engine int8=True data=<this file>\n"
         "path: " +
         yaml_quote(dataset.string()) +
         "\n"
         "train: .\n"
         "val: .\n"
         "names:\n"
         "  0: object\n";
}

}  // namespace

ConfigResult make_calibration_config(const ConfigRequest& req) {
  std::error_code ec;
  if (!fs::is_directory(req.dataset, ec)) {
    Error e(ErrorCode::kIo, "dataset folder does not exist");
    e.with("path", req.dataset.string());
    throw e;
  }
  if (req.calibration_num <= 0)
    throw Error(ErrorCode::kInvalidArgument, "--calibration-num must be positive");
  const fs::path dataset = fs::absolute(req.dataset).lexically_normal();
  const std::vector<fs::path> all = list_files(dataset, kImageExtensions);
  if (all.empty()) {
    Error e(ErrorCode::kIo,
            "no image files (jpg, jpeg, png, bmp, tif, tiff, webp, any letter case) in the dataset "
            "folder");
    e.with("path", dataset.string());
    throw e;
  }
  ConfigResult r;

  if (req.format == ConfigFormat::kDxcom) {
    write_dxcom_config(req, dataset, all, r);
  } else if (req.format == ConfigFormat::kUltralytics) {
    r.images_found = all.size();
    r.text = ultralytics_yaml(dataset);
  } else {
    // RKNN-Toolkit2 dataset.txt: one image path per line, the first calibration_num images.
    r.images_found = all.size();
    const std::size_t n =
        std::min<std::size_t>(all.size(), static_cast<std::size_t>(req.calibration_num));
    for (std::size_t i = 0; i < n; ++i) r.text += list_line(all[i]) + "\n";
  }
  if (static_cast<std::size_t>(req.calibration_num) > r.images_found) {
    r.warnings.push_back("calibration_num " + std::to_string(req.calibration_num) +
                         " exceeds the " + std::to_string(r.images_found) +
                         " image(s) the compiler will find in " + dataset.string());
  }
  return r;
}

}  // namespace qcal::preprocess
