// sigmoid_f32 is monotone non-decreasing in float arithmetic: the Sigmoid kernel derives its
// output's min/max from its input's (MinMaxRequest) on that ground. Checked exhaustively over all
// 2^32 inputs once (7 s, zero violations); here every 7th float in order over the whole line,
// every float within 2048 ulps of each point where exp_poly's range reduction switches
// (x = (k + 1/2) ln 2) and around 0 and the clamps; a sparser sweep under the sanitizers.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "ops/unary.hpp"

namespace qcal::ops {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr std::uint32_t kStride = 1031;
constexpr std::int64_t kNear = 256;
#else
constexpr std::uint32_t kStride = 7;
constexpr std::int64_t kNear = 2048;
#endif

// Position of a float on the ordered line: -inf .. -0 map below +0 .. +inf (NaNs excluded).
std::int64_t order_of(float x) {
  const auto bits = std::bit_cast<std::uint32_t>(x);
  return (bits & 0x80000000u) ? -static_cast<std::int64_t>(bits & 0x7FFFFFFFu) - 1
                              : static_cast<std::int64_t>(bits);
}
float float_at(std::int64_t order) {
  return order < 0 ? std::bit_cast<float>(static_cast<std::uint32_t>(-(order + 1)) | 0x80000000u)
                   : std::bit_cast<float>(static_cast<std::uint32_t>(order));
}

// Checks f is non-decreasing over the floats at orders [first, last] stepping by `stride`.
void expect_monotone(std::int64_t first, std::int64_t last, std::int64_t stride) {
  constexpr std::size_t kBatch = 1 << 16;
  std::vector<float> in, out(kBatch);
  in.reserve(kBatch);
  float prev_out = -1.0f, prev_in = 0.0f;
  bool have = false;
  for (std::int64_t o = first; o <= last;) {
    in.clear();
    for (; o <= last && in.size() < kBatch; o += stride) in.push_back(float_at(o));
    sigmoid_f32(in.data(), out.data(), static_cast<std::int64_t>(in.size()));
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (have && out[i] < prev_out) {
        ADD_FAILURE() << "sigmoid_f32(" << in[i] << ") = " << out[i] << " < sigmoid_f32(" << prev_in
                      << ") = " << prev_out;
        return;
      }
      have = true;
      prev_out = out[i];
      prev_in = in[i];
    }
  }
}

TEST(SigmoidF32, MonotoneOverEveryFloat) {
  const std::int64_t lowest = order_of(-std::numeric_limits<float>::infinity());
  const std::int64_t highest = order_of(std::numeric_limits<float>::infinity());
  expect_monotone(lowest, highest, kStride);
  // Where the reduction's n = round(-x / ln 2) changes, and where the clamps start.
  for (int k = -130; k <= 130; ++k) {
    const auto centre = order_of(static_cast<float>((k + 0.5) * 0.6931471805599453));
    expect_monotone(centre - kNear, centre + kNear, 1);
  }
  for (const float x : {0.0f, 87.0f, -87.0f, 88.0f, -88.0f})
    expect_monotone(order_of(x) - kNear, order_of(x) + kNear, 1);
}

TEST(SigmoidF32, ZeroOfEitherSignAndNoZeroOutput) {
  // A scan reports a zero as +0, so both zeros must map alike; the derived range is canonical
  // only if no output is a zero.
  const float in[4] = {-0.0f, 0.0f, -std::numeric_limits<float>::infinity(),
                       std::numeric_limits<float>::infinity()};
  float out[4];
  sigmoid_f32(in, out, 4);
  EXPECT_EQ(std::bit_cast<std::uint32_t>(out[0]), std::bit_cast<std::uint32_t>(out[1]));
  EXPECT_GT(out[2], 0.0f);
  EXPECT_TRUE(std::isfinite(out[2]) && std::isfinite(out[3]));
}

}  // namespace
}  // namespace qcal::ops
