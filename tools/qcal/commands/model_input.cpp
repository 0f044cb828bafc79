// Model input lookup via engine::Model (ops are not checked: pack only needs the input).
#include "commands/model_input.hpp"

#include "core/error.hpp"
#include "engine/model.hpp"

namespace qcal::cli {

preprocess::ModelInputInfo read_model_input(const std::filesystem::path& model_path,
                                            const std::string& input_name) {
  engine::LoadOptions options;
  options.check_ops = false;
  const engine::Model model = engine::Model::load(model_path, options);
  const auto& inputs = model.inputs();
  std::string names;
  for (const auto& in : inputs)
    names += (names.empty() ? "" : ", ") + in.name + " " + shape_to_string(in.shape);
  const engine::ValueInfo* chosen = nullptr;
  if (!input_name.empty()) {
    for (const auto& in : inputs) {
      if (in.name == input_name) chosen = &in;
    }
    if (!chosen) {
      throw Error(ErrorCode::kInvalidArgument,
                  "model has no input '" + input_name + "' (inputs: " + names + ")")
          .with("model", model_path.string());
    }
  } else if (inputs.size() == 1) {
    chosen = &inputs[0];
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                "model has " + std::to_string(inputs.size()) +
                    " inputs; choose one with --input-name (inputs: " + names + ")")
        .with("model", model_path.string());
  }
  preprocess::ModelInputInfo info;
  info.name = chosen->name;
  info.shape = chosen->shape;
  info.source = model_path.string();
  return info;
}

}  // namespace qcal::cli
