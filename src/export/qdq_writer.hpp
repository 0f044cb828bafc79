// Writes the QDQ ONNX model: the original model with QuantizeLinear/DequantizeLinear pairs on
// the planned activations and int8 per-channel weights behind DequantizeLinear. Protobuf stays
// inside the .cpp; callers pass and receive bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "calib/range_select.hpp"
#include "export/qdq_placement.hpp"

namespace qcal::exporter {

// The graph of an ONNX model as the placement rules see it. Throws kFormat naming `what`.
GraphView read_graph_view(const std::string& model_bytes, const std::string& what);

enum class ActivationType { kInt8Symmetric, kUInt8Asymmetric };

struct QdqResult {
  std::string model_bytes;           // serialized ModelProto, checker-clean
  std::size_t activation_pairs = 0;  // Q/DQ pairs inserted on activations
  std::size_t weights = 0;           // weight initializers stored as int8
  std::vector<std::string> warnings;
};

// activation_params: quantization parameters of every tensor in plan.activations (a missing
// one throws kInternal naming it). The model's default-domain opset must be >= 13 for
// per-channel weights (per-axis DequantizeLinear); opsets 10..12 get per-tensor weights and a
// warning; below 10 is kUnsupported. The result passes onnx::checker::check_model.
QdqResult write_qdq_model(const std::string& model_bytes, const std::string& what,
                          const PlacementPlan& plan,
                          const std::map<std::string, calib::QuantParams>& activation_params,
                          ActivationType activation_type);

// Runs the ONNX checker on serialized model bytes; throws kFormat with the checker's message.
void check_onnx_model(const std::string& model_bytes, const std::string& what);

// Per-channel symmetric int8 weight quantization: scale_c = max|w_c| / 127 (1/127 for an all-zero
// channel), q = round_half_even(w / scale_c) clamped to [-127, 127]. axis -1: one scale.
struct QuantizedWeight {
  std::vector<std::int8_t> values;
  std::vector<float> scales;
};
QuantizedWeight quantize_weight_symmetric(const std::vector<float>& values,
                                          const std::vector<std::int64_t>& shape, int axis);

}  // namespace qcal::exporter
