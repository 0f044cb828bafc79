// The min/max scan: intrinsics for AVX-512/AVX2/SSE2 picked at run time, a scalar tail.
#include "core/minmax_scan.hpp"

#include <cmath>

#if defined(__x86_64__) || defined(__SSE2__)
#include <immintrin.h>
#endif

namespace qcal {
namespace {

float canonical_zero(float v) { return v == 0.0f ? 0.0f : v; }

}  // namespace

namespace {

// Scalar min/max over [i, n) folded into lo/hi; `nan` records any NaN (comparisons with NaN are
// false, so NaN never enters lo/hi here). Infinities enter lo/hi and are detected from them.
void scan_tail(const float* data, std::size_t i, std::size_t n, float& lo, float& hi, bool& nan) {
  for (; i < n; ++i) {
    const float v = data[i];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    nan = nan || v != v;
  }
}

// The vector paths: min/max lanes plus an "unordered" (NaN) flag, several vectors in flight so
// the loop runs at load throughput. min/max are exact, so lane order and width cannot change the
// answer (zeros are canonicalised by the caller). The compiler does not vectorise the scalar
// min/max without -ffinite-math-only, which IEEE NaN handling forbids, hence intrinsics; the
// widest ISA the CPU has is picked at run time.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"))) std::size_t scan_avx512(const float* data, std::size_t n,
                                                           float& lo, float& hi, bool& nan) {
  std::size_t i = 0;
  if (n < 64) return 0;
  __m512 vlo[4], vhi[4];
  __mmask16 unord = 0;
  for (int k = 0; k < 4; ++k) vlo[k] = vhi[k] = _mm512_set1_ps(data[0]);
  for (; i + 64 <= n; i += 64) {
    for (int k = 0; k < 4; ++k) {
      const __m512 v = _mm512_loadu_ps(data + i + 16 * k);
      vlo[k] = _mm512_mask_min_ps(vlo[k], 0xFFFF, vlo[k], v);
      vhi[k] = _mm512_mask_max_ps(vhi[k], 0xFFFF, vhi[k], v);
      unord = static_cast<__mmask16>(unord | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q));
    }
  }
  // The masked forms with an all-ones mask: GCC 12's unmasked ones read an "undefined" vector
  // that -Wmaybe-uninitialized flags. The four accumulators fold into one before the lanes are
  // read (kernels scan 4096-value blocks, so this tail is paid often).
  const __m512 l =
      _mm512_mask_min_ps(vlo[0], 0xFFFF, _mm512_mask_min_ps(vlo[0], 0xFFFF, vlo[0], vlo[1]),
                         _mm512_mask_min_ps(vlo[2], 0xFFFF, vlo[2], vlo[3]));
  const __m512 h =
      _mm512_mask_max_ps(vhi[0], 0xFFFF, _mm512_mask_max_ps(vhi[0], 0xFFFF, vhi[0], vhi[1]),
                         _mm512_mask_max_ps(vhi[2], 0xFFFF, vhi[2], vhi[3]));
  alignas(64) float bl[16], bh[16];
  _mm512_store_ps(bl, l);
  _mm512_store_ps(bh, h);
  for (int k = 0; k < 16; ++k) {
    lo = bl[k] < lo ? bl[k] : lo;
    hi = bh[k] > hi ? bh[k] : hi;
  }
  nan = nan || unord != 0;
  return i;
}

__attribute__((target("avx2"))) std::size_t scan_avx2(const float* data, std::size_t n, float& lo,
                                                      float& hi, bool& nan) {
  std::size_t i = 0;
  if (n < 32) return 0;
  __m256 vlo[4], vhi[4], unord[4];
  for (int k = 0; k < 4; ++k) {
    vlo[k] = vhi[k] = _mm256_set1_ps(data[0]);
    unord[k] = _mm256_setzero_ps();
  }
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      const __m256 v = _mm256_loadu_ps(data + i + 8 * k);
      vlo[k] = _mm256_min_ps(vlo[k], v);
      vhi[k] = _mm256_max_ps(vhi[k], v);
      unord[k] = _mm256_or_ps(unord[k], _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
  }
  const __m256 l = _mm256_min_ps(_mm256_min_ps(vlo[0], vlo[1]), _mm256_min_ps(vlo[2], vlo[3]));
  const __m256 h = _mm256_max_ps(_mm256_max_ps(vhi[0], vhi[1]), _mm256_max_ps(vhi[2], vhi[3]));
  const __m256 u = _mm256_or_ps(_mm256_or_ps(unord[0], unord[1]), _mm256_or_ps(unord[2], unord[3]));
  alignas(32) float bl[8], bh[8];
  _mm256_store_ps(bl, l);
  _mm256_store_ps(bh, h);
  for (int k = 0; k < 8; ++k) {
    lo = bl[k] < lo ? bl[k] : lo;
    hi = bh[k] > hi ? bh[k] : hi;
  }
  nan = nan || _mm256_movemask_ps(u) != 0;
  return i;
}
#endif

#if defined(__SSE2__)
std::size_t scan_sse2(const float* data, std::size_t n, float& lo, float& hi, bool& nan) {
  std::size_t i = 0;
  if (n < 16) return 0;
  __m128 vlo[4], vhi[4], unord[4];
  for (int k = 0; k < 4; ++k) {
    vlo[k] = vhi[k] = _mm_set1_ps(data[0]);
    unord[k] = _mm_setzero_ps();
  }
  for (; i + 16 <= n; i += 16) {
    for (int k = 0; k < 4; ++k) {
      const __m128 v = _mm_loadu_ps(data + i + 4 * k);
      vlo[k] = _mm_min_ps(vlo[k], v);
      vhi[k] = _mm_max_ps(vhi[k], v);
      unord[k] = _mm_or_ps(unord[k], _mm_cmpunord_ps(v, v));
    }
  }
  const __m128 l = _mm_min_ps(_mm_min_ps(vlo[0], vlo[1]), _mm_min_ps(vlo[2], vlo[3]));
  const __m128 h = _mm_max_ps(_mm_max_ps(vhi[0], vhi[1]), _mm_max_ps(vhi[2], vhi[3]));
  const __m128 u = _mm_or_ps(_mm_or_ps(unord[0], unord[1]), _mm_or_ps(unord[2], unord[3]));
  alignas(16) float bl[4], bh[4];
  _mm_store_ps(bl, l);
  _mm_store_ps(bh, h);
  for (int k = 0; k < 4; ++k) {
    lo = bl[k] < lo ? bl[k] : lo;
    hi = bh[k] > hi ? bh[k] : hi;
  }
  nan = nan || _mm_movemask_ps(u) != 0;
  return i;
}
#endif

using ScanFn = std::size_t (*)(const float*, std::size_t, float&, float&, bool&);

ScanFn pick_scan() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return scan_avx512;
  if (__builtin_cpu_supports("avx2")) return scan_avx2;
#endif
#if defined(__SSE2__)
  return scan_sse2;
#else
  return nullptr;
#endif
}

}  // namespace

MinMaxScan scan_min_max(std::span<const float> values) {
  MinMaxScan r;
  if (values.empty()) return r;
  static const ScanFn kScan = pick_scan();
  const float* data = values.data();
  const std::size_t n = values.size();
  // data[0] seeds lo/hi; if it is NaN the vector path or the tail sees it again.
  float lo = data[0], hi = data[0];
  bool nan = data[0] != data[0];
  const std::size_t done = kScan ? kScan(data, n, lo, hi, nan) : 0;
  scan_tail(data, done, n, lo, hi, nan);
  // Without NaN, min/max include every value, so Inf shows in them.
  r.all_finite = !nan && std::isfinite(lo) && std::isfinite(hi);
  r.min = canonical_zero(lo);
  r.max = canonical_zero(hi);
  return r;
}

}  // namespace qcal
