// Opset upgrade before Q/DQ placement: QuantizeLinear/DequantizeLinear need opset 10 and
// per-channel DequantizeLinear (per output channel weights) needs 13, while PaddleOCR exports
// are opset 9 to 11. ONNX's own version converter (libonnx) does the op rewrites (Clip, Slice,
// Squeeze, Upsample...); the caller checks the result against the original in the engine
// (quantize/model_context.hpp), so this module needs no engine.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>

namespace qcal::exporter {

// The model's default-domain opset (0 when it declares none); throws on bytes that are not ONNX.
int model_opset(const std::string& model_bytes, const std::string& what);

// For each softmax-like node (Softmax, LogSoftmax, Hardmax): its output tensor -> the rank of
// its input, from shape inference at the model's input shapes.
using SoftmaxRanks = std::function<std::map<std::string, std::size_t>()>;

// The model converted to `target_opset`. Softmax, LogSoftmax and Hardmax below opset 13 are
// first given axis -1 when they act on their input's last axis (ranks from `softmax_ranks`,
// called only when such a node exists), so that the converter's 12->13 rewrite needs no shapes;
// one on another axis, external weight data, or a conversion the converter refuses is a
// kUnsupported error naming the model (and node).
std::string upgrade_opset(const std::string& model_bytes, const std::string& what, int target_opset,
                          const SoftmaxRanks& softmax_ranks);

}  // namespace qcal::exporter
