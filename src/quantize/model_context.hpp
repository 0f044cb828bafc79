// One run's model, read and parsed once and handed to every step of the pipeline: the user's
// file (named in every output), its fingerprint, the bytes Q/DQ goes into (the file's, or the
// opset-upgraded model, kept in memory), the engine's Model of those bytes and their GraphView.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/model.hpp"
#include "export/qdq_placement.hpp"
#include "preprocess/model_fit.hpp"
#include "preprocess/sample_data.hpp"

namespace qcal::quantize {

struct ModelContext {
  std::filesystem::path path;                  // the user's model file
  std::string fingerprint;                     // FNV-1a of the file's bytes (statistics files)
  int file_opset = 0;                          // the file's default-domain opset
  int opset = 0;                               // of `bytes`
  std::string bytes;                           // the model Q/DQ goes into
  std::shared_ptr<const engine::Model> model;  // parsed from `bytes`
  exporter::GraphView graph;                   // of `bytes`
  std::vector<std::string> warnings;           // what preparing the model did

  // Where external data resolves.
  std::filesystem::path base_dir() const;
  // The inputs as the sample-data layer checks data against them (named after `path`).
  std::vector<preprocess::ModelInputInfo> inputs() const;
};

// The same model with other float bytes (weights changed by bias correction or equalization):
// `bytes` parsed into the engine's Model and the GraphView; path, fingerprint and opsets kept.
ModelContext derive_context(const ModelContext& base, std::string bytes);

// Reads and parses the model file (ops unchecked: a run that only merges statistics needs no
// kernels; a Session checks them when it plans).
ModelContext read_model(const std::filesystem::path& path);

// QuantizeLinear/DequantizeLinear need opset 10, per-channel weights opset 13: a model below
// that is converted to opset 13 (ONNX's version converter) in memory, and checked against the
// original in the engine on the first sample of `data` (when given and the model has one input).
// When the conversion is refused, a model at opset 10 to 12 keeps its opset with per-tensor
// weights (the writer's warning); below 10 it is an error naming the model.
void prepare_for_qdq(ModelContext& context, bool per_channel, preprocess::SampleData* data);

// Runs both models on `inputs` and throws kNumeric naming the output when any output's relative
// L2 error exceeds 1e-5 (the conversion changed what the model computes).
void check_same_outputs(const engine::Model& original, const engine::Model& converted,
                        const std::string& what, const std::vector<Tensor>& inputs);

}  // namespace qcal::quantize
