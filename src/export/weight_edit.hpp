// Edits of a float ONNX model's constant tensors for the weight-side algorithms (bias
// correction, cross-layer equalization in quantize/): read float weights, replace them, add a
// bias to a layer that has none. Protobuf stays inside the .cpp; callers pass and receive bytes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qcal::exporter {

// A float32 constant: an initializer or a Constant node's `value`.
struct FloatTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

// The float32 constants named `names` (initializers or Constant outputs). A name that is not a
// float32 constant is absent from the result (the caller decides whether that is an error).
std::map<std::string, FloatTensor> read_float_constants(const std::string& model_bytes,
                                                        const std::string& what,
                                                        const std::vector<std::string>& names);

// A per-output-channel bias change of one layer (Conv, ConvTranspose, Gemm, MatMul), by node
// name (nodes without a name are addressed as "#<index>" in graph order).
struct BiasShift {
  std::string node;
  std::vector<double> shift;  // added to the bias, one per output channel
};

// Replaces constants (same element count, shape kept) and adds bias shifts; returns the new
// model bytes. A layer's bias is written as a new initializer (a shared bias is never changed
// under another layer): Conv/ConvTranspose get input 2, Gemm input C (divided by beta; a scalar
// or [1, N] C is widened to [N]), MatMul an Add after it that takes over its output name. Throws
// kInvalidArgument naming the node when a shift does not fit it (channel count, a Gemm C of
// another shape).
std::string edit_float_model(const std::string& model_bytes, const std::string& what,
                             const std::map<std::string, FloatTensor>& replacements,
                             const std::vector<BiasShift>& shifts);

// The name a node is addressed by in BiasShift: its name, or "#<index>" when it has none.
std::string node_key(const std::string& node_name, std::size_t index);

}  // namespace qcal::exporter
