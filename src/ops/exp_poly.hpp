// The vectorisable float exp shared by the exp-based kernels (Sigmoid, Softmax, ...): header
// inline so each target_clones loop that calls it inlines and vectorises it.
#pragma once

#include <bit>
#include <cstdint>

namespace qcal::ops {

// Written without branches or float->int conversions so GCC vectorises it: n = round(x / ln 2)
// comes from the magic-number trick (adding 1.5 * 2^23 puts n in the low mantissa bits), the
// reduction uses ln 2 split in two (Cephes C1 + C2) and the polynomial is Cephes expf's
// (~2e-7 relative error). ops/ is compiled without FMA contraction (ISO mode), so every clone
// and every caller gives the same bits.
inline float exp_poly_inline(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float magic = 12582912.0f;  // 1.5 * 2^23
  const float shifted = x * 1.44269504088896341f + magic;
  const float n = shifted - magic;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const std::int32_t bits = (std::bit_cast<std::int32_t>(shifted) - 0x4B400000 + 127) << 23;
  return y * std::bit_cast<float>(bits);
}

}  // namespace qcal::ops
