// Row conversion kernels (see row_convert.hpp). The x86 variants are compiled with target
// attributes and picked once at run time, so the binary still runs on any x86-64.
#include "preprocess/row_convert.hpp"

#include <opencv2/core/hal/intrin.hpp>

#if defined(__x86_64__) && defined(__GNUC__)
#define QCAL_ROW_CONVERT_X86 1
#include <immintrin.h>
#endif

namespace qcal::preprocess {

float apply_chain(float v, const ArithmeticChain& chain) {
  for (const auto& [kind, p] : chain) {
    switch (kind) {
      case StepKind::kMul:
        v = v * p.first;
        break;
      case StepKind::kAdd:
        v = v + p.first;
        break;
      case StepKind::kSubtract:
        v = v - p.first;
        break;
      case StepKind::kDiv:
        v = v / p.first;
        break;
      case StepKind::kNormalize:
        v = (v - p.first) / p.second;
        break;
      default:
        break;
    }
  }
  return v;
}

namespace {

#if QCAL_ROW_CONVERT_X86
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*() and trip -Wmaybe-uninitialized
// (a known false positive): silenced for these kernels only.
#pragma GCC diagnostic push
#if !defined(__clang__)
#pragma GCC diagnostic ignored \
    "-Wmaybe-uninitialized"  // GCC 12's AVX-512 intrinsics (false positive)
#endif
// pshufb masks taking channel k of 16 three-channel pixels (48 bytes, loaded as three 16-byte
// vectors) into 16 bytes: kPick[k][j][i] is the byte of load j that holds pixel i's channel k,
// or -128 (gives 0, OR-ed with the other loads' picks).
struct PickMasks {
  alignas(16) signed char m[3][3][16];
};
constexpr PickMasks make_pick_masks() {
  PickMasks p{};
  for (int k = 0; k < 3; ++k) {
    for (int j = 0; j < 3; ++j) {
      for (int i = 0; i < 16; ++i) {
        const int byte = 3 * i + k - 16 * j;
        p.m[k][j][i] = static_cast<signed char>(byte >= 0 && byte < 16 ? byte : -128);
      }
    }
  }
  return p;
}
constexpr PickMasks kPick = make_pick_masks();

// Channel src_c of pixels [x, x + 16) as 16 bytes (SSSE3, implied by both targets below).
#define QCAL_PICK16(in, x, m0, m1, m2)                                                             \
  _mm_or_si128(                                                                                    \
      _mm_or_si128(                                                                                \
          _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>((in) + 3 * (x))), m0), \
          _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>((in) + 3 * (x) + 16)), \
                           m1)),                                                                   \
      _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>((in) + 3 * (x) + 32)),     \
                       m2))

__attribute__((target("avx512f"))) inline __m512 chain16(__m512 v, const ArithmeticChain& chain) {
  for (const auto& [kind, p] : chain) {
    const __m512 a = _mm512_set1_ps(p.first);
    switch (kind) {
      case StepKind::kMul:
        v = _mm512_mul_ps(v, a);
        break;
      case StepKind::kAdd:
        v = _mm512_add_ps(v, a);
        break;
      case StepKind::kSubtract:
        v = _mm512_sub_ps(v, a);
        break;
      case StepKind::kDiv:
        v = _mm512_div_ps(v, a);
        break;
      case StepKind::kNormalize:
        v = _mm512_div_ps(_mm512_sub_ps(v, a), _mm512_set1_ps(p.second));
        break;
      default:
        break;
    }
  }
  return v;
}

// Returns how many leading elements it wrote (a multiple of 16).
__attribute__((target("avx512f"))) int convert_avx512(const std::uint8_t* in, int ch, int src_c,
                                                      int n, const ArithmeticChain& chain,
                                                      float* out) {
  int x = 0;
  if (ch == 3) {
    const __m128i m0 = _mm_load_si128(reinterpret_cast<const __m128i*>(kPick.m[src_c][0]));
    const __m128i m1 = _mm_load_si128(reinterpret_cast<const __m128i*>(kPick.m[src_c][1]));
    const __m128i m2 = _mm_load_si128(reinterpret_cast<const __m128i*>(kPick.m[src_c][2]));
    for (; x + 16 <= n; x += 16) {
      const __m128i g = QCAL_PICK16(in, x, m0, m1, m2);
      _mm512_storeu_ps(out + x, chain16(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(g)), chain));
    }
  } else if (ch == 1) {
    for (; x + 16 <= n; x += 16) {
      const __m128i g = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + x));
      _mm512_storeu_ps(out + x, chain16(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(g)), chain));
    }
  }
  return x;
}

__attribute__((target("avx2"))) inline __m256 chain8(__m256 v, const ArithmeticChain& chain) {
  for (const auto& [kind, p] : chain) {
    const __m256 a = _mm256_set1_ps(p.first);
    switch (kind) {
      case StepKind::kMul:
        v = _mm256_mul_ps(v, a);
        break;
      case StepKind::kAdd:
        v = _mm256_add_ps(v, a);
        break;
      case StepKind::kSubtract:
        v = _mm256_sub_ps(v, a);
        break;
      case StepKind::kDiv:
        v = _mm256_div_ps(v, a);
        break;
      case StepKind::kNormalize:
        v = _mm256_div_ps(_mm256_sub_ps(v, a), _mm256_set1_ps(p.second));
        break;
      default:
        break;
    }
  }
  return v;
}

__attribute__((target("avx2"))) int convert_avx2(const std::uint8_t* in, int ch, int src_c, int n,
                                                 const ArithmeticChain& chain, float* out) {
  int x = 0;
  auto store16 = [&](float* o, __m128i g) __attribute__((target("avx2"))) {
    _mm256_storeu_ps(o, chain8(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(g)), chain));
    _mm256_storeu_ps(o + 8,
                     chain8(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(g, 8))), chain));
  };
  if (ch == 3) {
    const __m128i m0 = _mm_load_si128(reinterpret_cast<const __m128i*>(kPick.m[src_c][0]));
    const __m128i m1 = _mm_load_si128(reinterpret_cast<const __m128i*>(kPick.m[src_c][1]));
    const __m128i m2 = _mm_load_si128(reinterpret_cast<const __m128i*>(kPick.m[src_c][2]));
    for (; x + 16 <= n; x += 16) store16(out + x, QCAL_PICK16(in, x, m0, m1, m2));
  } else if (ch == 1) {
    for (; x + 16 <= n; x += 16)
      store16(out + x, _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + x)));
  }
  return x;
}
#undef QCAL_PICK16
#pragma GCC diagnostic pop

std::vector<RowKernel> detect_kernels() {
  __builtin_cpu_init();
  std::vector<RowKernel> k = {RowKernel::kSimd128};
  if (__builtin_cpu_supports("avx2")) k.push_back(RowKernel::kAvx2);
  if (__builtin_cpu_supports("avx512f")) k.push_back(RowKernel::kAvx512);
  return k;
}
#else
std::vector<RowKernel> detect_kernels() { return {RowKernel::kSimd128}; }
#endif

// Detected once, on first use (not at static initialisation, whose order across files is open).
const std::vector<RowKernel>& kernels() {
  static const std::vector<RowKernel> kKernels = detect_kernels();
  return kKernels;
}

// The portable kernel: convert with 128-bit universal intrinsics, then the chain one operation
// at a time over the written values (the compiler vectorises those loops).
void convert_simd128(const std::uint8_t* in, int ch, int src_c, int n, const ArithmeticChain& chain,
                     float* o) {
  int x = 0;
#if CV_SIMD128
  auto store16 = [](float* d, const cv::v_uint8x16& v) {
    cv::v_uint16x8 lo;
    cv::v_uint16x8 hi;
    cv::v_expand(v, lo, hi);
    cv::v_uint32x4 q0;
    cv::v_uint32x4 q1;
    cv::v_uint32x4 q2;
    cv::v_uint32x4 q3;
    cv::v_expand(lo, q0, q1);
    cv::v_expand(hi, q2, q3);
    cv::v_store(d, cv::v_cvt_f32(cv::v_reinterpret_as_s32(q0)));
    cv::v_store(d + 4, cv::v_cvt_f32(cv::v_reinterpret_as_s32(q1)));
    cv::v_store(d + 8, cv::v_cvt_f32(cv::v_reinterpret_as_s32(q2)));
    cv::v_store(d + 12, cv::v_cvt_f32(cv::v_reinterpret_as_s32(q3)));
  };
  if (ch == 3) {
    for (; x + 16 <= n; x += 16) {
      cv::v_uint8x16 c0;
      cv::v_uint8x16 c1;
      cv::v_uint8x16 c2;
      cv::v_load_deinterleave(in + 3 * x, c0, c1, c2);
      store16(o + x, src_c == 0 ? c0 : src_c == 1 ? c1 : c2);
    }
  } else if (ch == 1) {
    for (; x + 16 <= n; x += 16) store16(o + x, cv::v_load(in + x));
  }
#endif
  for (; x < n; ++x) o[x] = static_cast<float>(in[x * ch + src_c]);
  for (const auto& [kind, p] : chain) {
    const float a = p.first;
    const float b = p.second;
    switch (kind) {
      case StepKind::kMul:
        for (int i = 0; i < n; ++i) o[i] = o[i] * a;
        break;
      case StepKind::kAdd:
        for (int i = 0; i < n; ++i) o[i] = o[i] + a;
        break;
      case StepKind::kSubtract:
        for (int i = 0; i < n; ++i) o[i] = o[i] - a;
        break;
      case StepKind::kDiv:
        for (int i = 0; i < n; ++i) o[i] = o[i] / a;
        break;
      case StepKind::kNormalize:
        for (int i = 0; i < n; ++i) o[i] = (o[i] - a) / b;
        break;
      default:
        break;
    }
  }
}

}  // namespace

void convert_row_u8_f32_with(RowKernel k, const std::uint8_t* in, int ch, int src_c, int n,
                             const ArithmeticChain& chain, float* out) {
  int x = 0;
  switch (k) {
#if QCAL_ROW_CONVERT_X86
    case RowKernel::kAvx512:
      x = convert_avx512(in, ch, src_c, n, chain, out);
      break;
    case RowKernel::kAvx2:
      x = convert_avx2(in, ch, src_c, n, chain, out);
      break;
#else
    case RowKernel::kAvx512:
    case RowKernel::kAvx2:
#endif
    case RowKernel::kSimd128:
      convert_simd128(in, ch, src_c, n, chain, out);
      return;
  }
  for (; x < n; ++x) out[x] = apply_chain(static_cast<float>(in[x * ch + src_c]), chain);
}

void convert_row_u8_f32(const std::uint8_t* in, int ch, int src_c, int n,
                        const ArithmeticChain& chain, float* out) {
  static const RowKernel kKernel = row_convert_kernel();
  convert_row_u8_f32_with(kKernel, in, ch, src_c, n, chain, out);
}

void extract_row_u8(const std::uint8_t* in, int ch, int src_c, int n, std::uint8_t* o) {
  int x = 0;
#if CV_SIMD128
  if (ch == 3) {
    for (; x + 16 <= n; x += 16) {
      cv::v_uint8x16 c0;
      cv::v_uint8x16 c1;
      cv::v_uint8x16 c2;
      cv::v_load_deinterleave(in + 3 * x, c0, c1, c2);
      cv::v_store(o + x, src_c == 0 ? c0 : src_c == 1 ? c1 : c2);
    }
  }
#endif
  for (; x < n; ++x) o[x] = in[x * ch + src_c];
}

std::vector<RowKernel> supported_row_kernels() { return kernels(); }

RowKernel row_convert_kernel() { return kernels().back(); }

const char* row_kernel_name(RowKernel k) {
  switch (k) {
    case RowKernel::kAvx512:
      return "avx512";
    case RowKernel::kAvx2:
      return "avx2";
    case RowKernel::kSimd128:
      break;
  }
  return "simd128";
}

}  // namespace qcal::preprocess
