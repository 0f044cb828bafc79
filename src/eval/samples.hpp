// The evaluation data: preprocessed tensors (.npy / .npz) or images run through a preprocess
// recipe, one sample at a time, with each image's name and letterbox geometry when known.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/model.hpp"
#include "eval/detection.hpp"
#include "eval/report.hpp"
#include "eval/runtime.hpp"

namespace qcal::eval {

struct EvalSample {
  std::string name;  // image file name, or "<file>[i]" for tensor data
  TensorMap inputs;  // by model input name, each with the model's shape (batch 1)
  // Where the image sits in the network input (from the recipe's resize step); absent for
  // tensor data and for recipes whose geometry qcal cannot invert (torchvision resize, crops).
  std::optional<Letterbox> geometry;
  ReportImage source;  // the decoded image, only when asked for (thumbnails)
};

class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual std::size_t size() const = 0;
  virtual bool has_images() const = 0;  // sample names are image files (labels can apply)
  // The i-th sample; with_source also fills EvalSample::source.
  virtual EvalSample get(std::size_t index, bool with_source) = 0;
};

// DATA is:
// - an .npy of [N, ...] for a single-input model: each row (with a batch axis of 1 added when
//   the row lacks it) is one sample;
// - an .npz whose members are named after the model inputs ([N, ...] each), or a single member
//   for a single-input model;
// - an image file or a folder of images (recursive, sorted), which needs `recipe` (a preset
//   name or a recipe/DX-COM .json): the same preprocessing the model was calibrated with.
// `limit` > 0 keeps the first `limit` samples. Shapes are checked against the model's inputs
// up front; errors name the file and the input.
std::unique_ptr<SampleSource> open_samples(const std::filesystem::path& data,
                                           const std::string& recipe, const engine::Model& model,
                                           std::size_t limit = 0);

}  // namespace qcal::eval
