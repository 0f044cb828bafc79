// Gemm (ONNX opset 7-22): Y = alpha * A' * B' + beta * C, C broadcast to [M, N]. Attributes,
// shape inference, reference kernel, factory (fast path: gemm_f32_blas).
#pragma once

#include <cstdint>
#include <memory>

#include "ops/kernel.hpp"

namespace qcal::ops {

struct GemmAttrs {
  float alpha = 1.f;
  float beta = 1.f;
  std::int64_t transA = 0;
  std::int64_t transB = 0;
  static GemmAttrs from_node(const NodeDef& node);
};

struct GemmGeometry {
  std::int64_t m = 0, n = 0, k = 0;
  Shape c_shape;  // empty when C is omitted (or rank 0: scalar)
  bool has_c = false;
};

GemmGeometry infer_gemm(const GemmAttrs& attrs, const Shape& a, const Shape& b, const Shape* c,
                        const NodeDef& node);
// C's value for output element (row, col) under unidirectional broadcasting.
float gemm_c_at(const GemmGeometry& g, const float* c, std::int64_t row, std::int64_t col);
void gemm_f32_ref(const GemmAttrs& attrs, const GemmGeometry& g, const float* a, const float* b,
                  const float* c, float* y);
// The fast path: broadcast beta*C into Y, then one sgemm with beta = 1.
void gemm_f32_fast(const GemmAttrs& attrs, const GemmGeometry& g, const float* a, const float* b,
                   const float* c, float* y, int num_threads);

std::unique_ptr<Kernel> make_gemm(const NodeDef& node);

}  // namespace qcal::ops
