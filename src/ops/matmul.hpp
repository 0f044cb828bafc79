// MatMul (ONNX opset 1-22): numpy matmul semantics (1-D promotion, broadcast batch dims).
// Shape inference, reference kernel, the fast path (one sgemm per batch, or one sgemm for all
// batches when B is shared), factory.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ops/kernel.hpp"

namespace qcal::ops {

struct MatMulGeometry {
  std::int64_t m = 0, n = 0, k = 0;
  Shape out_shape;
  std::vector<std::int64_t> a_offsets;  // per output batch: element offset of its A matrix
  std::vector<std::int64_t> b_offsets;  // per output batch: element offset of its B matrix
  bool b_shared = false;                // every batch uses the same B (and A batches are dense)
};

MatMulGeometry infer_matmul(const Shape& a, const Shape& b, const NodeDef& node);
void matmul_f32_ref(const MatMulGeometry& g, const float* a, const float* b, float* y);
void matmul_f32_fast(const MatMulGeometry& g, const float* a, const float* b, float* y,
                     int num_threads);

std::unique_ptr<Kernel> make_matmul(const NodeDef& node);

}  // namespace qcal::ops
