// Opset upgrade before Q/DQ placement: QuantizeLinear/DequantizeLinear need opset 10 and
// per-channel DequantizeLinear (per output channel weights) needs 13, while PaddleOCR exports
// are opset 9 to 11. ONNX's own version converter (libonnx) does the op rewrites (Clip, Slice,
// Squeeze, Upsample...); the result is checked against the original in the engine.
#pragma once

#include <span>
#include <string>

#include "core/tensor.hpp"

namespace qcal::exporter {

// The model's default-domain opset (0 when it declares none); throws on bytes that are not ONNX.
int model_opset(const std::string& model_bytes, const std::string& what);

// The model converted to `target_opset`. Softmax, LogSoftmax and Hardmax below opset 13 are
// first given axis -1 when they act on their input's last axis (rank from the engine's shape
// inference at `input_shapes`, planned only when such a node exists), so that the converter's
// 12->13 rewrite needs no shapes; one on
// another axis, external weight data, or a conversion the converter refuses is a kUnsupported
// error naming the model (and node).
std::string upgrade_opset(const std::string& model_bytes, const std::string& what, int target_opset,
                          std::span<const Shape> input_shapes);

// Runs both models in the engine on `inputs` and throws kNumeric naming the output when any
// output's relative L2 error exceeds 1e-5 (the conversion changed what the model computes).
void check_same_outputs(const std::string& original_bytes, const std::string& converted_bytes,
                        const std::string& what, std::span<const Tensor> inputs);

}  // namespace qcal::exporter
