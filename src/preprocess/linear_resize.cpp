// Bilinear 8-bit resize, bit-identical to OpenCV 4.6's cv::resize(INTER_LINEAR) (tested against it
// on a sweep of sizes in tests/unit/preprocess/linear_resize_test.cpp). OpenCV's fixed-point
// scheme, restated:
// - per output column dx: fx = float((dx + 0.5) * scale_x - 0.5), sx = floor(fx), fx -= sx;
//   sx < 0 clamps to (0, fx = 0); sx >= width - 1 clamps to (width - 1, fx = 0) and those
//   columns (from the first with sx + 1 >= width, "xmax") use S[sx] * 2048 alone; the weights
//   are round-half-even((1 - fx) * 2048) and round-half-even(fx * 2048) as int16;
// - horizontal pass per source row, exact int32: D = S[sx] * a0 + S[sx + cn] * a1 (0..255 * 2048);
// - per output row dy the same fy, sy (not clamped; the two source rows sy and sy + 1 are clamped
//   to the image), weights b0, b1, and the vertical pass
//   out = ((b0 * (D0 >> 4)) >> 16) + ((b1 * (D1 >> 4)) >> 16) + 2) >> 2 (arithmetic shifts; the
//   scalar form of OpenCV's vector kernel, which it also uses for the tail). Only D >> 4 is ever
//   used, and it fits int16 (0..32640): the horizontal pass stores it so, and the vertical pass
//   runs on 16-bit lanes, (b * (D >> 4)) >> 16 being the high half of a 16x16-bit product
//   (mulhi), as in OpenCV's own SIMD code; twice the lanes per instruction and half the bytes
//   per buffered row of the 32-bit form.
// - scale_x = 1 / (double(dst_width) / src_width); an exact 2x downscale in both directions is
//   handed to INTER_AREA by OpenCV (not covered here).
// The vector kernels: the horizontal pass takes a block of outputs (16 with AVX-512 VBMI, 8 with
// AVX2) whose taps all lie in one window of source bytes (64 or 16) loaded once, picks each
// output's two tap bytes with a byte permute (vpermb / pshufb, indices planned once per size),
// widens them to 16-bit pairs and multiplies-adds them with the packed weights (pmaddwd). A block
// whose window would pass the end of the row loads only the row's bytes (a masked load, or a
// copy for AVX2); a block whose taps do not fit a window (strong downscales) runs the scalar
// code. The vertical pass is a few 16-bit multiplies (high half), adds and shifts.
#include "preprocess/linear_resize.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#define QCAL_LINEAR_RESIZE_X86 1
#include <immintrin.h>
#endif

namespace qcal::preprocess {
namespace {

constexpr int kCoefScale = 2048;  // OpenCV's INTER_RESIZE_COEF_SCALE (11 bits)

int floor_to_int(float v) {  // OpenCV's cvFloor(float)
  const int i = static_cast<int>(v);
  return i - (static_cast<float>(i) > v ? 1 : 0);
}

std::int16_t weight(float f) {  // saturate_cast<short>(f * 2048): round half to even
  return static_cast<std::int16_t>(std::lrint(f * static_cast<float>(kCoefScale)));
}

struct Plan {
  int src_w = 0, src_h = 0, dst_w = 0, dst_h = 0, cn = 0;
  int row_elems = 0;  // dst_w * cn
  int row_bytes = 0;  // src_w * cn
  int xmax = 0;       // elements [xmax, row_elems) use tap 0 alone
  // Horizontal blocks of the vector kernel: `block` outputs each, per block the window's first
  // source byte (-1: scalar block) and 2 * block byte indices into it (tap 0, tap 1 per output).
  int block = 0;
  std::vector<std::int32_t> block_base;
  std::vector<std::uint8_t> block_idx;
  std::vector<std::int32_t> xofs;    // per element: tap 0's byte offset in a source row
  std::vector<std::int16_t> a0, a1;  // per element: the two weights
  std::vector<std::int32_t> a01;     // per element: a0 | a1 << 16 (pmaddwd operand)
  std::vector<int> yofs;             // per output row: sy (unclamped)
  std::vector<std::int16_t> b0, b1;
};

bool applicable(const cv::Mat& src, int width, int height) {
  if (src.depth() != CV_8U || (src.channels() != 1 && src.channels() != 3) || src.empty())
    return false;
  if (width <= 0 || height <= 0 || (width == src.cols && height == src.rows)) return false;
  // OpenCV: scale = 1 / inv_scale; an integer scale of exactly 2 in both directions is INTER_AREA.
  const double scale_x = 1. / (static_cast<double>(width) / src.cols);
  const double scale_y = 1. / (static_cast<double>(height) / src.rows);
  const int iscale_x = static_cast<int>(std::lrint(scale_x));
  const int iscale_y = static_cast<int>(std::lrint(scale_y));
  const bool area_fast =
      std::abs(scale_x - iscale_x) < DBL_EPSILON && std::abs(scale_y - iscale_y) < DBL_EPSILON;
  if (area_fast && iscale_x == 2 && iscale_y == 2) return false;
  // Offsets and products stay far inside int32 for any image OpenCV accepts; refuse the absurd.
  return static_cast<std::int64_t>(src.cols) * src.channels() < (std::int64_t{1} << 30) &&
         static_cast<std::int64_t>(width) * src.channels() < (std::int64_t{1} << 30);
}

void plan_blocks(Plan& p, int block, int window, int row_bytes) {
  p.block = block;
  const int blocks = p.row_elems / block;
  p.block_base.assign(static_cast<std::size_t>(blocks), -1);
  p.block_idx.assign(static_cast<std::size_t>(blocks) * 2 * static_cast<std::size_t>(block), 0);
  for (int b = 0; b < blocks; ++b) {
    const int j0 = b * block;
    const int base = p.xofs[static_cast<std::size_t>(j0)];
    bool fits = true;  // a window past the row's end loads only the row's bytes
    for (int i = 0; i < block && fits; ++i) {
      const int j = j0 + i;
      const int t0 = p.xofs[static_cast<std::size_t>(j)] - base;
      // Past xmax tap 1 has weight 0 (fx was clamped to 0): any byte in the window will do.
      const int t1 = j < p.xmax ? t0 + p.cn : t0;
      fits = t0 >= 0 && t1 < window && base + t1 < row_bytes;
      p.block_idx[static_cast<std::size_t>(2 * j)] = static_cast<std::uint8_t>(t0);
      p.block_idx[static_cast<std::size_t>(2 * j + 1)] = static_cast<std::uint8_t>(t1);
    }
    if (fits) p.block_base[static_cast<std::size_t>(b)] = base;
  }
}

// block/window: the vector kernel's (0: scalar only).
Plan make_plan(const cv::Mat& src, int width, int height, int block, int window) {
  Plan p;
  p.src_w = src.cols;
  p.src_h = src.rows;
  p.dst_w = width;
  p.dst_h = height;
  p.cn = src.channels();
  p.row_elems = width * p.cn;
  p.row_bytes = src.cols * p.cn;
  const auto n = static_cast<std::size_t>(p.row_elems);
  p.xofs.resize(n);
  p.a0.resize(n);
  p.a1.resize(n);
  p.a01.resize(n);
  const double scale_x = 1. / (static_cast<double>(width) / src.cols);
  int xmax = width;
  for (int dx = 0; dx < width; ++dx) {
    float fx = static_cast<float>((dx + 0.5) * scale_x - 0.5);
    int sx = floor_to_int(fx);
    fx -= static_cast<float>(sx);
    if (sx < 0) {
      fx = 0;
      sx = 0;
    }
    if (sx + 1 >= src.cols) {
      xmax = std::min(xmax, dx);
      if (sx >= src.cols - 1) {
        fx = 0;
        sx = src.cols - 1;
      }
    }
    const std::int16_t w0 = weight(1.f - fx);
    const std::int16_t w1 = weight(fx);
    for (int k = 0; k < p.cn; ++k) {
      const auto j = static_cast<std::size_t>(dx * p.cn + k);
      p.xofs[j] = sx * p.cn + k;
      p.a0[j] = w0;
      p.a1[j] = w1;
      p.a01[j] = static_cast<std::int32_t>(
          static_cast<std::uint16_t>(w0) |
          (static_cast<std::uint32_t>(static_cast<std::uint16_t>(w1)) << 16));
    }
  }
  p.xmax = xmax * p.cn;
  if (block > 0) plan_blocks(p, block, window, src.cols * p.cn);
  const double scale_y = 1. / (static_cast<double>(height) / src.rows);
  p.yofs.resize(static_cast<std::size_t>(height));
  p.b0.resize(static_cast<std::size_t>(height));
  p.b1.resize(static_cast<std::size_t>(height));
  for (int dy = 0; dy < height; ++dy) {
    float fy = static_cast<float>((dy + 0.5) * scale_y - 0.5);
    const int sy = floor_to_int(fy);
    fy -= static_cast<float>(sy);
    p.yofs[static_cast<std::size_t>(dy)] = sy;
    p.b0[static_cast<std::size_t>(dy)] = weight(1.f - fy);
    p.b1[static_cast<std::size_t>(dy)] = weight(fy);
  }
  return p;
}

// Horizontal pass, elements [from, to): D >> 4 as int16.
void hpass_scalar(const Plan& p, const std::uint8_t* s, std::int16_t* d, int from, int to) {
  const int two_taps_end = std::min(to, p.xmax);
  for (int j = from; j < two_taps_end; ++j) {
    const auto u = static_cast<std::size_t>(j);
    d[j] = static_cast<std::int16_t>((s[p.xofs[u]] * p.a0[u] + s[p.xofs[u] + p.cn] * p.a1[u]) >> 4);
  }
  for (int j = std::max(from, p.xmax); j < to; ++j) {
    d[j] = static_cast<std::int16_t>((s[p.xofs[static_cast<std::size_t>(j)]] * kCoefScale) >> 4);
  }
}

// Vertical pass, elements [from, row_elems), from rows of D >> 4.
void vpass_scalar(const Plan& p, const std::int16_t* s0, const std::int16_t* s1, int b0, int b1,
                  std::uint8_t* out, int from) {
  for (int x = from; x < p.row_elems; ++x) {
    out[x] = static_cast<std::uint8_t>((((b0 * s0[x]) >> 16) + ((b1 * s1[x]) >> 16) + 2) >> 2);
  }
}

#if QCAL_LINEAR_RESIZE_X86
#pragma GCC diagnostic push
#if !defined(__clang__)
#pragma GCC diagnostic ignored \
    "-Wmaybe-uninitialized"  // GCC 12's AVX-512 intrinsics (false positive)
#endif

__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void hpass_avx512(const Plan& p,
                                                                         const std::uint8_t* s,
                                                                         std::int16_t* d) {
  const int blocks = static_cast<int>(p.block_base.size());
  for (int b = 0; b < blocks; ++b) {
    const int j0 = b * 16;
    const int base = p.block_base[static_cast<std::size_t>(b)];
    if (base < 0) {
      hpass_scalar(p, s, d, j0, j0 + 16);
      continue;
    }
    // Near the row's end only its remaining bytes are loaded (masked-out bytes are not read).
    const int avail = p.row_bytes - base;
    const __m512i window = avail >= 64
                               ? _mm512_loadu_si512(s + base)
                               : _mm512_maskz_loadu_epi8((__mmask64{1} << avail) - 1, s + base);
    const __m512i idx = _mm512_castsi256_si512(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.block_idx.data() + 2 * j0)));
    const __m256i taps = _mm512_castsi512_si256(_mm512_permutexvar_epi8(idx, window));
    const __m512i pairs = _mm512_cvtepu8_epi16(taps);
    const __m512i sum = _mm512_madd_epi16(pairs, _mm512_loadu_si512(p.a01.data() + j0));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + j0),
                        _mm512_cvtepi32_epi16(_mm512_srai_epi32(sum, 4)));
  }
  hpass_scalar(p, s, d, blocks * 16, p.row_elems);
}

__attribute__((target("avx512f,avx512bw"))) void vpass_avx512(const Plan& p, const std::int16_t* s0,
                                                              const std::int16_t* s1, int b0,
                                                              int b1, std::uint8_t* out) {
  const __m512i vb0 = _mm512_set1_epi16(static_cast<std::int16_t>(b0));
  const __m512i vb1 = _mm512_set1_epi16(static_cast<std::int16_t>(b1));
  const __m512i two = _mm512_set1_epi16(2);
  int x = 0;
  for (; x + 32 <= p.row_elems; x += 32) {
    const __m512i t0 = _mm512_mulhi_epi16(_mm512_loadu_si512(s0 + x), vb0);
    const __m512i t1 = _mm512_mulhi_epi16(_mm512_loadu_si512(s1 + x), vb1);
    const __m512i r = _mm512_srai_epi16(_mm512_add_epi16(_mm512_add_epi16(t0, t1), two), 2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + x),
                        _mm512_cvtepi16_epi8(r));  // values are 0..255
  }
  vpass_scalar(p, s0, s1, b0, b1, out, x);
}

__attribute__((target("avx2"))) void hpass_avx2(const Plan& p, const std::uint8_t* s,
                                                std::int16_t* d) {
  const int blocks = static_cast<int>(p.block_base.size());
  for (int b = 0; b < blocks; ++b) {
    const int j0 = b * 8;
    const int base = p.block_base[static_cast<std::size_t>(b)];
    if (base < 0) {
      hpass_scalar(p, s, d, j0, j0 + 8);
      continue;
    }
    // Near the row's end only its remaining bytes are read (copied into a zeroed window).
    const int avail = p.row_bytes - base;
    __m128i window;
    if (avail >= 16) {
      window = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + base));
    } else {
      alignas(16) std::uint8_t tail[16] = {};
      std::memcpy(tail, s + base, static_cast<std::size_t>(avail));
      window = _mm_load_si128(reinterpret_cast<const __m128i*>(tail));
    }
    const __m128i idx =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p.block_idx.data() + 2 * j0));
    const __m256i pairs = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(window, idx));
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.a01.data() + j0));
    const __m256i sum = _mm256_srai_epi32(_mm256_madd_epi16(pairs, w), 4);
    // 0..32640: the signed pack is exact; its lane order puts the 8 values in 64-bit lanes 0, 2.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi32(sum, sum), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + j0), _mm256_castsi256_si128(packed));
  }
  hpass_scalar(p, s, d, blocks * 8, p.row_elems);
}

__attribute__((target("avx2"))) void vpass_avx2(const Plan& p, const std::int16_t* s0,
                                                const std::int16_t* s1, int b0, int b1,
                                                std::uint8_t* out) {
  const __m256i vb0 = _mm256_set1_epi16(static_cast<std::int16_t>(b0));
  const __m256i vb1 = _mm256_set1_epi16(static_cast<std::int16_t>(b1));
  const __m256i two = _mm256_set1_epi16(2);
  int x = 0;
  for (; x + 16 <= p.row_elems; x += 16) {
    const __m256i t0 =
        _mm256_mulhi_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s0 + x)), vb0);
    const __m256i t1 =
        _mm256_mulhi_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s1 + x)), vb1);
    const __m256i r = _mm256_srai_epi16(_mm256_add_epi16(_mm256_add_epi16(t0, t1), two), 2);
    // Values are 0..255, so the unsigned pack is exact; lanes 0 and 2 hold the 16 bytes.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi16(r, r), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + x), _mm256_castsi256_si128(packed));
  }
  vpass_scalar(p, s0, s1, b0, b1, out, x);
}
#pragma GCC diagnostic pop

enum class Level { kNone, kAvx2, kAvx512 };
Level detect_level() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vbmi")) {
    return Level::kAvx512;
  }
  if (__builtin_cpu_supports("avx2")) return Level::kAvx2;
  return Level::kNone;
}
#else
enum class Level { kNone, kAvx2, kAvx512 };
Level detect_level() { return Level::kNone; }
#endif

Level level() {
  static const Level kLevel = detect_level();
  return kLevel;
}

void run(const cv::Mat& src, cv::Mat& dst, int width, int height, Level lv) {
  // The plan and the row buffers are kept per thread for the next image of the same sizes (a
  // pack worker resizes thousands): no per-image tables or allocations.
  struct Cache {
    int key[6] = {-1, -1, -1, -1, -1, -1};
    Plan plan;
    std::vector<std::int16_t> buf;
  };
  thread_local Cache cache;
  const int key[6] = {src.cols, src.rows, width, height, src.channels(), static_cast<int>(lv)};
  if (!std::equal(std::begin(key), std::end(key), std::begin(cache.key))) {
    cache.plan = lv == Level::kAvx512 ? make_plan(src, width, height, 16, 64)
                 : lv == Level::kAvx2 ? make_plan(src, width, height, 8, 16)
                                      : make_plan(src, width, height, 0, 0);
    std::copy(std::begin(key), std::end(key), std::begin(cache.key));
  }
  const Plan& p = cache.plan;
  dst.create(height, width, src.type());
  // Two horizontal-pass rows, labelled with the source row they hold (consecutive output rows
  // share source rows, so most rows are computed once).
  std::vector<std::int16_t>& buf = cache.buf;
  buf.resize(2 * static_cast<std::size_t>(p.row_elems));
  std::int16_t* rows[2] = {buf.data(), buf.data() + p.row_elems};
  int held[2] = {-1, -1};
  auto hpass = [&](int r, std::int16_t* d) {
    const std::uint8_t* s = src.ptr<std::uint8_t>(r);
#if QCAL_LINEAR_RESIZE_X86
    if (lv == Level::kAvx512) return hpass_avx512(p, s, d);
    if (lv == Level::kAvx2) return hpass_avx2(p, s, d);
#endif
    hpass_scalar(p, s, d, 0, p.row_elems);
  };
  auto find = [&](int r) { return held[0] == r ? 0 : held[1] == r ? 1 : -1; };
  for (int dy = 0; dy < height; ++dy) {
    const int sy = p.yofs[static_cast<std::size_t>(dy)];
    const int r0 = std::clamp(sy, 0, p.src_h - 1);
    const int r1 = std::clamp(sy + 1, 0, p.src_h - 1);
    int s0 = find(r0);
    if (s0 < 0) {
      s0 = find(r1) == 0 ? 1 : 0;  // keep r1's row if it is held
      hpass(r0, rows[s0]);
      held[s0] = r0;
    }
    int s1 = find(r1);
    if (s1 < 0) {
      s1 = 1 - s0;
      hpass(r1, rows[s1]);
      held[s1] = r1;
    }
    const int b0 = p.b0[static_cast<std::size_t>(dy)];
    const int b1 = p.b1[static_cast<std::size_t>(dy)];
    std::uint8_t* out = dst.ptr<std::uint8_t>(dy);
#if QCAL_LINEAR_RESIZE_X86
    if (lv == Level::kAvx512) {
      vpass_avx512(p, rows[s0], rows[s1], b0, b1, out);
      continue;
    }
    if (lv == Level::kAvx2) {
      vpass_avx2(p, rows[s0], rows[s1], b0, b1, out);
      continue;
    }
#endif
    vpass_scalar(p, rows[s0], rows[s1], b0, b1, out, 0);
  }
}

bool overlaps(const cv::Mat& a, const cv::Mat& b) {
  return !a.empty() && !b.empty() && a.datastart < b.dataend && b.datastart < a.dataend;
}

}  // namespace

bool resize_linear_u8(const cv::Mat& src, cv::Mat& dst, int width, int height) {
  if (level() == Level::kNone || !applicable(src, width, height) || &src == &dst ||
      overlaps(src, dst))
    return false;
  run(src, dst, width, height, level());
  return true;
}

std::vector<ResizeKernel> supported_resize_kernels() {
  std::vector<ResizeKernel> k = {ResizeKernel::kScalar};
  if (level() == Level::kAvx2 || level() == Level::kAvx512) k.push_back(ResizeKernel::kAvx2);
  if (level() == Level::kAvx512) k.push_back(ResizeKernel::kAvx512);
  return k;
}

const char* resize_kernel_name(ResizeKernel k) {
  switch (k) {
    case ResizeKernel::kAvx512:
      return "avx512";
    case ResizeKernel::kAvx2:
      return "avx2";
    case ResizeKernel::kScalar:
      break;
  }
  return "scalar";
}

bool resize_linear_u8_with(ResizeKernel k, const cv::Mat& src, cv::Mat& dst, int width,
                           int height) {
  const Level lv = k == ResizeKernel::kAvx512 ? Level::kAvx512
                   : k == ResizeKernel::kAvx2 ? Level::kAvx2
                                              : Level::kNone;
  if (static_cast<int>(lv) > static_cast<int>(level())) return false;  // not on this CPU
  if (!applicable(src, width, height) || &src == &dst || overlaps(src, dst)) return false;
  run(src, dst, width, height, lv);
  return true;
}

}  // namespace qcal::preprocess
