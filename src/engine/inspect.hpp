// Model summary for `qcal inspect`: IO, opsets, op counts, parameters, FLOPs at an input size,
// unsupported nodes.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "engine/model.hpp"

namespace qcal::engine {

struct ModelSummary {
  std::map<std::string, int> op_counts;  // "Conv" -> 64 (domain-qualified when not ai.onnx)
  std::int64_t parameter_count = 0;      // elements of all initializers
  std::int64_t parameter_bytes = 0;
  std::vector<Shape> input_shapes;  // the shapes FLOPs were computed for (empty: none)
  // Multiply-adds x 2 of Conv, ConvTranspose, Gemm and MatMul at input_shapes; -1 when not
  // computed (dynamic input without a size, or unsupported ops).
  std::int64_t flops = -1;
  std::string flops_note;  // why flops is -1
  std::vector<UnsupportedNode> unsupported;
};

// Input shapes from a size spec: "" uses the declared shapes (all dims must be fixed);
// "1x3x640x640" gives the first input's full shape; "640" or "480x640" fills the dynamic
// dims of the first input (a dynamic batch dim 0 becomes 1). Throws kInvalidArgument.
std::vector<Shape> resolve_input_shapes(const Model& model, const std::string& size_spec);

ModelSummary summarize_model(const Model& model, std::span<const Shape> input_shapes);

}  // namespace qcal::engine
