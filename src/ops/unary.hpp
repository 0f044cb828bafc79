// Unary elementwise ops and activations: Abs Neg Reciprocal Sqrt Exp Log Floor Ceil Round Erf
// Sigmoid Tanh Relu LeakyRelu Clip HardSigmoid HardSwish Elu Selu Celu Softplus Softsign Mish
// ThresholdedRelu Gelu Sign Sin Cos Not Cast CastLike. (PRelu broadcasts: see elementwise.hpp.)
#pragma once

#include <span>

#include "ops/kernel.hpp"

namespace qcal::ops {

enum class UnaryOp {
  kAbs,
  kNeg,
  kReciprocal,
  kSqrt,
  kExp,
  kLog,
  kFloor,
  kCeil,
  kRound,
  kErf,
  kSigmoid,
  kTanh,
  kRelu,
  kLeakyRelu,
  kClip,
  kHardSigmoid,
  kHardSwish,
  kElu,
  kSelu,
  kCelu,
  kSoftplus,
  kSoftsign,
  kMish,
  kThresholdedRelu,
  kGelu,
  kSign,
  kSin,
  kCos,
  kNot,
  kCast,
};

struct UnaryAttrs {
  UnaryOp op = UnaryOp::kRelu;
  float alpha = 0.0f;  // LeakyRelu 0.01, Elu/Celu/ThresholdedRelu 1, HardSigmoid 0.2, Selu 1.6733
  float beta = 0.0f;   // HardSigmoid 0.5
  float gamma = 0.0f;  // Selu 1.0507
  float min = 0.0f;    // Clip opset < 11 (attributes); later opsets take inputs
  float max = 0.0f;
  bool clip_inputs = false;          // Clip opset >= 11: min/max are optional inputs 1 and 2
  std::string approximate = "none";  // Gelu: "none" (erf) or "tanh"
  DType to = DType::kUndefined;      // Cast; CastLike takes input 1's dtype at plan time
  bool cast_like = false;
};

UnaryAttrs parse_unary_attrs(const NodeDef& node);
std::vector<TensorInfo> infer_unary(const NodeDef& node, const UnaryAttrs& attrs,
                                    std::span<const TensorInfo> inputs);
// Reference kernel for float ops (Clip uses attrs.min/max).
void unary_f32_ref(const UnaryAttrs& attrs, const float* in, float* out, std::int64_t count);
std::unique_ptr<Kernel> make_unary(const NodeDef& node);

// The fast float kernels, exposed for tests and the benchmark.
void sigmoid_f32(const float* in, float* out, std::int64_t count);
// exp(x) by Cephes-style range reduction and a degree-6 polynomial: max relative error about
// 2e-7 over [-87, 88]; inputs are clamped there (exp(-87) ~ 1.6e-38, exp(88) ~ 1.7e38).
float exp_poly_f32(float x);

// ONNX TensorProto data type number to DType (throws for unsupported types).
DType dtype_from_onnx(const NodeDef& node, std::int64_t onnx_type);

}  // namespace qcal::ops
