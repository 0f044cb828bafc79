// Reads a model's image input (name and declared shape) for pack/config/check --model, through
// the engine's ONNX loader.
#pragma once

#include <filesystem>
#include <string>

#include "preprocess/model_fit.hpp"

namespace qcal::cli {

// The graph input named `input_name`, or the only one when empty. Throws naming the model when
// it has several inputs and none was chosen, or when the name is not an input.
preprocess::ModelInputInfo read_model_input(const std::filesystem::path& model,
                                            const std::string& input_name);

}  // namespace qcal::cli
