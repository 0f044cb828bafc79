// Row-major float32 GEMM through OpenBLAS (cblas_sgemm): C = alpha * op(A) op(B) + beta * C.
// Thin wrapper so Gemm and MatMul share one call site; never a hand-written GEMM.
#pragma once

#include <cstdint>

namespace qcal::ops {

void gemm_f32_blas(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                   float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                   float beta, float* c, std::int64_t ldc, int num_threads);

}  // namespace qcal::ops
