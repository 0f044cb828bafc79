// OpenBLAS sgemm wrapper. OpenBLAS splits M/N across threads and never K, so results do not
// depend on the thread count.
#include "ops/gemm_f32_blas.hpp"

#include <cblas.h>

namespace qcal::ops {

void gemm_f32_blas(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                   float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                   float beta, float* c, std::int64_t ldc, int num_threads) {
  if (m == 0 || n == 0) return;
  if (openblas_get_num_threads() != num_threads) openblas_set_num_threads(num_threads);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(m), static_cast<blasint>(n),
              static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

}  // namespace qcal::ops
