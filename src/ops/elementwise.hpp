// Elementwise binary and variadic ops with numpy broadcasting: arithmetic (Add Sub Mul Div Pow
// Mod Min Max Sum Mean), comparisons (Equal Less Greater LessOrEqual GreaterOrEqual), logic
// (And Or Xor), PRelu (slope broadcast to X) and Where.
#pragma once

#include <span>

#include "ops/kernel.hpp"

namespace qcal::ops {

enum class BinaryOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kPow,
  kMod,
  kMin,
  kMax,
  kEqual,
  kLess,
  kGreater,
  kLessOrEqual,
  kGreaterOrEqual,
  kAnd,
  kOr,
  kXor,
  kPRelu,
};

struct BinaryAttrs {
  BinaryOp op = BinaryOp::kAdd;
  bool variadic = false;  // Sum/Mean/Min/Max take 1..N inputs
  bool mean = false;      // Mean: Sum divided by the input count
  std::int64_t fmod =
      0;  // Mod: 0 = sign of the divisor (Python), 1 = sign of the dividend (C fmod)
};

BinaryAttrs parse_binary_attrs(const NodeDef& node);
// Validates dtypes and broadcasting; the output is bool for comparisons.
std::vector<TensorInfo> infer_binary(const NodeDef& node, const BinaryAttrs& attrs,
                                     std::span<const TensorInfo> inputs);
// Reference kernel: plain per-element index arithmetic over the broadcast output.
void binary_f32_ref(BinaryOp op, const float* a, std::span<const std::int64_t> a_shape,
                    const float* b, std::span<const std::int64_t> b_shape, float* out,
                    std::span<const std::int64_t> out_shape);
std::unique_ptr<Kernel> make_binary(const NodeDef& node);

// Where(condition, X, Y), broadcasting all three.
std::vector<TensorInfo> infer_where(const NodeDef& node, std::span<const TensorInfo> inputs);
std::unique_ptr<Kernel> make_where(const NodeDef& node);

}  // namespace qcal::ops
