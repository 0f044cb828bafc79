// QuantizeLinear and DequantizeLinear: per-tensor or per-axis (opset 13) scales and zero points,
// int8/uint8 (and int32 for DequantizeLinear). QuantizeLinear rounds half to even and saturates,
// as the ONNX spec defines.
#pragma once

#include <span>

#include "ops/kernel.hpp"

namespace qcal::ops {

struct QuantizeLinearAttrs {
  std::int64_t axis = 1;
  std::int64_t saturate = 1;  // only meaningful for float8 (unsupported)
  std::int64_t block_size = 0;
};
// Validates x/scale/zero_point and returns the output dtype (zero_point's, uint8 by default).
DType infer_quantize_linear(const NodeDef& node, const QuantizeLinearAttrs& attrs,
                            std::span<const TensorInfo> inputs);
// y = saturate(round_half_even(x / scale) + zero_point) into [qmin, qmax].
void quantize_linear_f32_ref(const float* x, std::int64_t count, float scale,
                             std::int32_t zero_point, std::int32_t qmin, std::int32_t qmax,
                             std::int32_t* y);
std::unique_ptr<Kernel> make_quantize_linear(const NodeDef& node);

struct DequantizeLinearAttrs {
  std::int64_t axis = 1;
  std::int64_t block_size = 0;
};
std::unique_ptr<Kernel> make_dequantize_linear(const NodeDef& node);

}  // namespace qcal::ops
