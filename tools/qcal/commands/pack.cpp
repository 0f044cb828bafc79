// `qcal pack`: calibration tensors for compilers and for qcal (.npy, .npz, RKNN folder).
#include "preprocess/pack.hpp"

#include <iostream>
#include <memory>
#include <optional>

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

struct PackArgs {
  CommonOptions common;
  std::string images;
  std::string recipe;
  std::string model;
  std::vector<int> size;
  std::string input_name;
  std::string output;
  std::int64_t limit = 0;
  bool force = false;
  std::int64_t synthetic = 0;
  std::string shape;
};

Shape parse_shape(const std::string& text) {
  Shape shape;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t x = text.find_first_of("x,", pos);
    const std::string part = text.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(part, &used);
    } catch (...) {
      used = 0;
    }
    if (used != part.size() || part.empty() || v <= 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  "--shape '" + text + "' must be positive dimensions like 1x3x640x640");
    }
    shape.push_back(v);
    if (x == std::string::npos) break;
    pos = x + 1;
  }
  return shape;
}

void warn_synthetic(std::int64_t n, const Shape& shape) {
  std::cerr
      << "qcal: WARNING: ************************************************************\n"
      << "qcal: WARNING: writing " << n << " SYNTHETIC samples of " << shape_to_string(shape)
      << " (uniform random 0..1), NOT real images.\n"
      << "qcal: WARNING: INT8 ranges calibrated on random data do not match what the camera\n"
      << "qcal: WARNING: sends; expect accuracy loss. Use real frames (qcal sample) when you can.\n"
      << "qcal: WARNING: The sidecar records \"synthetic\": true.\n"
      << "qcal: WARNING: ************************************************************\n";
}

void print_result(const pp::PackResult& r, const PackArgs& a) {
  if (a.common.json) {
    nlohmann::json j = {{"output", r.output.string()},
                        {"sidecar", r.sidecar.string()},
                        {"format", pp::pack_format_name(r.format)},
                        {"count", r.count},
                        {"shape", r.shape},
                        {"dtype", std::string(dtype_name(r.dtype))},
                        {"data_xxh3_64", r.fingerprint},
                        {"synthetic", r.synthetic}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "packed " << r.count << (r.synthetic ? " SYNTHETIC" : "") << " samples "
              << shape_to_string(r.shape) << " " << dtype_name(r.dtype) << " -> "
              << r.output.string() << " (" << pp::pack_format_name(r.format) << "; metadata "
              << r.sidecar.string() << ")\n";
  }
}

// No output may be, hold or lie inside an input: the images (a folder, or each listed file), the
// list or config, the recipe, the model.
void check_pack_paths(const PackArgs& a, const std::vector<std::filesystem::path>& images) {
  const pp::PackFormat format = pp::pack_format_for(a.output);
  std::filesystem::path out = a.output;
  if (format == pp::PackFormat::kDirectory && out.filename().empty()) out = out.parent_path();
  RunPaths paths;
  paths.input(a.images, "IMAGES").input(a.model, "--model");
  if (!a.recipe.empty() && !pp::is_preset_name(a.recipe)) paths.input(a.recipe, "--recipe");
  for (const auto& image : images) paths.input(image, "the image " + image.string());
  paths.output(
      out, "-o",
      format == pp::PackFormat::kDirectory ? OutputKind::kFolderReplaced : OutputKind::kFile);
  paths.output(pp::pack_sidecar_path(out, format), "the metadata file");
  paths.check();
}

int run_pack(const PackArgs& a) {
  pp::PackOptions options;
  options.threads = resolve_threads(a.common.threads);
  options.force = a.force;
  std::optional<std::array<int, 2>> size_wh;
  if (!a.size.empty()) {
    if (a.size.size() != 2 || a.size[0] <= 0 || a.size[1] <= 0) {
      throw Error(ErrorCode::kInvalidArgument, "--size needs two positive numbers: W H");
    }
    size_wh = std::array<int, 2>{a.size[0], a.size[1]};
  }
  std::optional<pp::ModelInputInfo> model;
  if (!a.model.empty()) model = read_model_input(a.model, a.input_name);
  if (!a.common.quiet && !a.common.json && stderr_is_tty()) {
    options.progress = [](std::int64_t done, std::int64_t total) {
      std::cerr << "\rqcal pack: " << done << "/" << total << std::flush;
      if (done == total) std::cerr << "\n";
    };
  }

  if (a.synthetic > 0) {
    Shape shape;
    if (!a.shape.empty()) {
      shape = parse_shape(a.shape);
    } else if (model && std::all_of(model->shape.begin(), model->shape.end(),
                                    [](std::int64_t d) { return d > 0; })) {
      shape = model->shape;
      shape[0] = 1;
    } else {
      throw Error(ErrorCode::kInvalidArgument,
                  "--synthetic needs --shape (e.g. 1x3x640x640) or a --model with a static input");
    }
    options.input_name = model ? model->name : (a.input_name.empty() ? "input" : a.input_name);
    check_pack_paths(a, {});
    if (model) {
      Shape want(model->shape.begin() + (model->shape.empty() ? 0 : 1), model->shape.end());
      options.expect_sample_shape = want;
      options.expect_source = "model input '" + model->name + "'";
    }
    options.recipe =
        pp::make_preset("yolo");  // unused for synthetic data; not written to the sidecar
    if (!a.common.quiet) warn_synthetic(a.synthetic, shape);
    const pp::PackResult r =
        pp::pack_synthetic(a.synthetic, shape, a.common.seed, a.output, options);
    print_result(r, a);
    return kExitOk;
  }

  if (a.images.empty())
    throw Error(ErrorCode::kInvalidArgument,
                "give IMAGES (a folder, a list file or a DX-COM config)");
  pp::ImageSource source = pp::resolve_image_source(a.images);
  std::vector<std::filesystem::path> images = source.images;
  check_pack_paths(a, images);
  if (a.limit > 0 && static_cast<std::size_t>(a.limit) < images.size())
    images.resize(static_cast<std::size_t>(a.limit));

  if (model) {
    std::string recipe = a.recipe;
    if (recipe.empty()) {
      if (!source.config)
        throw Error(ErrorCode::kInvalidArgument,
                    "give --recipe (yolo, yolo-resize, yunet, edgeface or a recipe .json)");
      recipe = a.images;  // the config's own preprocessings
    }
    options.recipe = pp::fit_recipe_to_model(recipe, *model, size_wh);
    options.input_name = model->name;
    options.expect_sample_shape = Shape(model->shape.begin() + 1, model->shape.end());
    options.expect_source = "model input '" + model->name + "' of " + a.model;
  } else {
    if (!a.recipe.empty()) {
      if (pp::is_preset_name(a.recipe)) {
        options.recipe = size_wh ? pp::make_preset(a.recipe, (*size_wh)[0], (*size_wh)[1])
                                 : pp::make_preset(a.recipe);
      } else {
        if (size_wh)
          throw Error(ErrorCode::kInvalidArgument,
                      "--size applies to presets; a recipe file sets its own sizes");
        options.recipe = pp::resolve_recipe(a.recipe);
      }
    } else if (source.config) {
      options.recipe = source.config->recipe;
    } else {
      throw Error(ErrorCode::kInvalidArgument,
                  "give --recipe (yolo, yolo-resize, yunet, edgeface or a recipe .json)");
    }
    options.input_name = !a.input_name.empty()                ? a.input_name
                         : !options.recipe.input_name.empty() ? options.recipe.input_name
                                                              : "input";
    if (source.config && source.config->inputs.size() == 1) {
      // The config's declared input is what DX-COM will feed: hold the recipe to it.
      const auto& [name, shape] = source.config->inputs[0];
      options.expect_sample_shape = Shape(shape.begin() + (shape.empty() ? 0 : 1), shape.end());
      options.expect_source = "the config's input '" + name + "'";
      if (a.input_name.empty()) options.input_name = name;
    }
  }
  if (!a.common.quiet) {
    std::cerr << "qcal pack: " << images.size() << " image(s) from " << source.kind << " "
              << a.images << ", recipe "
              << (options.recipe.name.empty() ? a.recipe : options.recipe.name) << ", "
              << options.threads << " thread(s)\n";
  }
  const pp::PackResult r = pp::pack_images(images, a.output, options);
  print_result(r, a);
  return kExitOk;
}

}  // namespace

Runner register_pack(CLI::App& app) {
  auto args = std::make_shared<PackArgs>();
  CLI::App* cmd = app.add_subcommand("pack",
                                     "Preprocess images into calibration tensors: OUT.npy "
                                     "([N,C,H,W], ModelOpt), OUT.npz (keyed by input name), "
                                     "or a folder of per-sample .npy + dataset.txt (RKNN)");
  cmd->add_option("images", args->images,
                  "A folder, a list file (one path per line, as `qcal sample` writes) or a DX-COM "
                  "config .json");
  cmd->add_option("--recipe,-r", args->recipe,
                  "Preset (yolo, yolo-resize, yunet, edgeface) or a recipe/DX-COM .json; default: "
                  "the config's");
  cmd->add_option(
      "--model,-m", args->model,
      "ONNX model: presets take its input name, size and layout; the recipe must fit it");
  cmd->add_option("--size", args->size,
                  "W H: preset size when there is no model or its input size is dynamic")
      ->expected(2);
  cmd->add_option("--input-name", args->input_name,
                  "Model input name (npz key; chooses the input of a multi-input model)");
  cmd->add_option("-o,--output", args->output, "OUT.npy, OUT.npz, or a folder")->required();
  cmd->add_option("-n,--num-samples,--limit", args->limit,
                  "Pack at most this many images (the first ones in order)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--force", args->force, "Replace an existing output folder");
  cmd->add_option("--synthetic", args->synthetic,
                  "Write N samples of uniform random data instead of images (only on request; "
                  "recorded as synthetic)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--shape", args->shape, "Sample shape for --synthetic, e.g. 1x3x640x640");
  add_threads_flag(cmd, args->common);
  add_seed_flag(cmd, args->common);
  add_json_flag(cmd, args->common);
  add_quiet_flag(cmd, args->common);
  return [args] { return run_pack(*args); };
}

}  // namespace qcal::cli
