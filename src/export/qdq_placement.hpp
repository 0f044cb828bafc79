// Where QuantizeLinear/DequantizeLinear go in a model, decided on a protobuf-free view of the
// graph: TensorRT/ONNX Runtime QDQ rules (quantize the inputs of compute ops and of the ops
// TensorRT fuses with them, keep shape plumbing and numerically fragile heads in float).
// docs/quantization.md explains each rule.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace qcal::exporter {

struct GraphNode {
  std::string name;
  std::string op_type;
  std::string domain;  // "" or "ai.onnx" for the default domain
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::map<std::string, std::int64_t> int_attributes;  // group, transA, transB
};

struct GraphView {
  std::vector<GraphNode> nodes;  // topological order (as ONNX requires)
  std::set<std::string> initializers;
  std::map<std::string, std::vector<std::int64_t>> initializer_shapes;
  std::vector<std::string> inputs;  // graph inputs that are not initializers
  std::vector<std::string> outputs;
};

struct PlacementOptions {
  bool per_channel = true;                    // weights per output channel (else per tensor)
  std::vector<std::string> exclude;           // node names or regexes (full match) kept in float
  bool keep_probability_inputs_float = true;  // compute ops fed by Softmax/Sigmoid stay float
  // Compute ops with no int8 compute op downstream (the layers producing the outputs), and
  // compute ops feeding only those through plumbing (one linear map), stay float;
  // `--quantize-output-layers` turns it off.
  bool keep_output_layers_float = true;
  // A residual Add's input that comes straight from an int8 compute op (and feeds only the
  // Add) stays float: TensorRT fuses the Add into that op. `--quantize-residual-inputs`
  // quantizes both Add inputs.
  bool fuse_residual_add = true;
  // Nodes (exact names) kept float by a calibrate rule, with the reason ranges.json shows
  // (the dominant-noise rule, quantize/dominant_noise.hpp). Applied like --exclude.
  std::map<std::string, std::string> float_reasons;
};

// One use of a tensor by a node input that gets the tensor's dequantized version.
struct TensorUse {
  std::size_t node = 0;
  std::size_t input = 0;
};

struct WeightPlan {
  int axis = -1;  // per-channel axis, -1 per tensor
  std::vector<TensorUse> uses;
};

struct PlacementPlan {
  std::map<std::string, std::vector<TensorUse>> activations;  // tensor -> rewired uses
  std::map<std::string, WeightPlan> weights;                  // initializer -> axis and uses
  std::vector<std::string> float_nodes;  // "node (op): reason" for quantizable ops kept float
  std::vector<std::string> warnings;     // e.g. an --exclude pattern that matched no node
};

PlacementPlan plan_qdq(const GraphView& graph, const PlacementOptions& options);

// Op classes used by the rules.
bool is_compute_op(const std::string& op_type);      // Conv, ConvTranspose, MatMul, Gemm
bool is_fusible_op(const std::string& op_type);      // Add, Concat, pooling, Resize
bool is_plumbing_op(const std::string& op_type);     // Reshape, Transpose, Slice, Gather, ...
bool is_probability_op(const std::string& op_type);  // Softmax, Sigmoid

}  // namespace qcal::exporter
