// `qcal run MODEL.onnx`: wiring for engine::Session on .npy inputs or images through a
// preprocess recipe; outputs to an .npz (or a folder of .npy files).
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/npy.hpp"
#include "core/npz.hpp"
#include "core/output_paths.hpp"
#include "engine/model.hpp"
#include "engine/session.hpp"
#include "eval/samples.hpp"
#include "preprocess/recipe.hpp"
#include "preprocess/sample_data.hpp"

namespace qcal::cli {
namespace {

struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::string recipe;
  std::string output;
  std::string dump_dir;
  CommonOptions common;
};

// npz member names cannot hold '/', which ONNX names often do ("/model.22/Concat_output_0").
std::string member_name(std::string name) {
  for (auto& c : name) {
    if (c == '/') c = '_';
  }
  return name;
}

bool is_npz(const std::string& path) { return extension_lower(path) == "npz"; }

// --json: what was written, one entry per output (the array's shape as stored).
void print_run_json(const RunArgs& a, const engine::Model& model, const std::vector<Tensor>& first,
                    std::size_t samples, bool stacked) {
  nlohmann::json j;
  j["model"] = a.model;
  j["output"] = a.output;
  j["samples"] = samples;
  j["outputs"] = nlohmann::json::array();
  for (std::size_t i = 0; i < first.size(); ++i) {
    Shape shape = first[i].shape();
    if (stacked) {
      if (!shape.empty() && shape[0] == 1) shape.erase(shape.begin());
      shape.insert(shape.begin(), static_cast<std::int64_t>(samples));
    }
    j["outputs"].push_back({{"name", model.outputs()[i].name},
                            {"array", member_name(model.outputs()[i].name)},
                            {"dtype", std::string(dtype_name(first[i].dtype()))},
                            {"shape", shape}});
  }
  std::cout << j.dump(2) << "\n";
}

// Writes each output whole (npy inputs: one run).
void write_outputs(const std::string& path, const engine::Model& model,
                   const std::vector<Tensor>& outs) {
  if (is_npz(path)) {
    NpzWriter w(path);
    for (std::size_t i = 0; i < outs.size(); ++i)
      w.add(member_name(model.outputs()[i].name), outs[i]);
    w.finish();
    return;
  }
  create_output_dir(path);
  for (std::size_t i = 0; i < outs.size(); ++i) {
    write_npy(std::filesystem::path(path) / (member_name(model.outputs()[i].name) + ".npy"),
              outs[i]);
  }
}

int run_npy(const RunArgs& a, engine::Session& session, const engine::Model& model) {
  std::map<std::string, Tensor> feeds;
  for (const auto& spec : a.inputs) {
    const auto eq = spec.find('=');
    std::string name;
    std::string file = spec;
    if (eq != std::string::npos && extension_lower(spec.substr(0, eq)) != "npy") {
      name = spec.substr(0, eq);
      file = spec.substr(eq + 1);
    } else {
      if (model.inputs().size() != 1) {
        throw Error(ErrorCode::kInvalidArgument,
                    "the model has " + std::to_string(model.inputs().size()) +
                        " inputs: give --input NAME=FILE.npy for each");
      }
      name = model.inputs()[0].name;
    }
    feeds[name] = read_npy(file);
  }
  if (!a.dump_dir.empty()) {
    // Every tensor as computed (observing all disables fusion), one .npy per tensor.
    create_output_dir(a.dump_dir);
    session.set_observer([&](const std::string& name, const TensorView& v) {
      Tensor copy(v.dtype, Shape(v.shape.begin(), v.shape.end()));
      std::memcpy(copy.raw_data(), v.data, copy.nbytes());
      write_npy(std::filesystem::path(a.dump_dir) / (member_name(name) + ".npy"), copy);
    });
  }
  const auto outs = session.run(feeds);
  std::vector<Tensor> ordered;
  for (const auto& o : model.outputs()) ordered.push_back(outs.at(o.name));
  write_outputs(a.output, model, ordered);
  if (a.common.json) print_run_json(a, model, ordered, 1, false);
  if (!a.common.quiet)
    std::fprintf(stderr, "wrote %zu output(s) to %s\n", ordered.size(), a.output.c_str());
  return kExitOk;
}

// The --input paths as image data (the sample-data layer: the recipe fitted to the model's
// input), one source per path.
std::vector<std::unique_ptr<preprocess::SampleData>> open_images(const RunArgs& a,
                                                                 const engine::Model& model) {
  if (a.recipe.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "image inputs need --recipe (a preset or recipe JSON)");
  }
  if (!is_npz(a.output)) {
    throw Error(ErrorCode::kInvalidArgument, "image inputs write an .npz: give -o outputs.npz");
  }
  std::vector<std::unique_ptr<preprocess::SampleData>> sources;
  for (const auto& in : a.inputs) {
    preprocess::DataRequest r = preprocess::data_request(in, a.recipe);
    r.option = "--input";
    sources.push_back(preprocess::open_sample_data(r, eval::model_input_infos(model, a.model)));
  }
  return sources;
}

// Output i of every sample, in order (the model's batch dimension of 1 dropped, so arrays are
// [images, ...]).
void write_stacked(const std::string& path, const engine::Model& model,
                   const std::vector<std::vector<Tensor>>& all) {
  NpzWriter writer(path);
  for (std::size_t i = 0; i < all.size(); ++i) {
    Shape row = all[i][0].shape();
    if (!row.empty() && row[0] == 1) row.erase(row.begin());
    writer.begin_array(member_name(model.outputs()[i].name), all[i][0].dtype(), row);
    for (const auto& t : all[i]) writer.append_rows(t.raw_data(), 1);
    writer.end_array();
  }
  writer.finish();
}

// Images: each through the recipe, one run per image; output i of image k is row k of the
// array.
int run_images(const RunArgs& a, engine::Session& session, const engine::Model& model) {
  const auto sources = open_images(a, model);
  std::vector<std::vector<Tensor>> all(model.outputs().size());
  std::size_t images = 0;
  for (const auto& source : sources) {
    for (std::int64_t k = 0; k < source->size(); ++k, ++images) {
      auto outs = session.run(source->sample(k, false).inputs);
      for (std::size_t i = 0; i < outs.size(); ++i) {
        if (!all[i].empty() && outs[i].shape() != all[i][0].shape()) {
          throw Error(ErrorCode::kInvalidArgument,
                      "output shape changes between images; use --input per image")
              .with("image", source->sample_name(k))
              .with("tensor", model.outputs()[i].name);
        }
        all[i].push_back(std::move(outs[i]));
      }
    }
  }
  write_stacked(a.output, model, all);
  if (a.common.json) {
    std::vector<Tensor> first;
    for (const auto& outs : all) first.push_back(outs.at(0));
    print_run_json(a, model, first, images, true);
  }
  if (!a.common.quiet) {
    std::fprintf(stderr, "ran %zu image(s); wrote %s\n", images, a.output.c_str());
  }
  return kExitOk;
}

// Before any work: -o and --dump-tensors can be written, and no output is (or lies inside) an
// input.
void check_run_paths(const RunArgs& a) {
  RunPaths paths;
  paths.input(a.model, "the model");
  for (const auto& spec : a.inputs) {
    const auto eq = spec.find('=');
    const bool named = eq != std::string::npos && extension_lower(spec.substr(0, eq)) != "npy";
    paths.input(named ? spec.substr(eq + 1) : spec, "--input " + spec);
  }
  if (!a.recipe.empty() && !preprocess::is_preset_name(a.recipe)) paths.input(a.recipe, "--recipe");
  paths.output(a.output, "-o", is_npz(a.output) ? OutputKind::kFile : OutputKind::kFolderWritten);
  paths.output(a.dump_dir, "--dump-tensors", OutputKind::kFolderWritten);
  paths.check();
  if (is_npz(a.output)) {
    check_output_file(a.output, "-o");
  } else {
    check_output_dir(a.output, "-o (a folder of .npy files; or give outputs.npz)");
  }
  check_output_dir(a.dump_dir, "--dump-tensors");
}

int run_run(const RunArgs& a) {
  check_run_paths(a);
  auto model = std::make_shared<const engine::Model>(engine::Model::load(a.model));
  engine::Session session(model, {.num_threads = resolve_threads(a.common.threads)});
  const bool npy = std::all_of(a.inputs.begin(), a.inputs.end(),
                               [](const std::string& s) { return extension_lower(s) == "npy"; });
  return npy ? run_npy(a, session, *model) : run_images(a, session, *model);
}

}  // namespace

Runner register_run(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd =
      app.add_subcommand("run", "Run an ONNX model on .npy inputs or images; write the outputs");
  cmd->footer(
      "Inputs: FILE.npy (single-input model), NAME=FILE.npy (one per input), or images/folders "
      "with --recipe. Output: -o outputs.npz (arrays named after the outputs, '/' as '_'), or a "
      "folder of .npy files for .npy inputs. Images give arrays of [images, ...].");
  cmd->add_option("model", a->model, "ONNX model file")->required();
  cmd->add_option("--input,-i", a->inputs, "Input .npy (NAME=FILE.npy), or images/folders")
      ->required();
  cmd->add_option("--recipe", a->recipe,
                  "Preprocess preset (yolo, yunet, ...; fitted to the model input) or recipe JSON "
                  "for images");
  cmd->add_option("-o,--output", a->output, "outputs.npz, or a folder for .npy files")->required();
  cmd->add_option(
      "--dump-tensors", a->dump_dir,
      "Also write every intermediate tensor as FOLDER/<name>.npy (.npy inputs; '/' as '_')");
  add_threads_flag(cmd, a->common);
  add_json_flag(cmd, a->common);
  add_quiet_flag(cmd, a->common);
  return [a] { return run_run(*a); };
}

}  // namespace qcal::cli
