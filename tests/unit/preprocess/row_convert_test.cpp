// Every row kernel this CPU runs (AVX-512, AVX2, the portable one) against apply_chain, bit for
// bit: chains of each arithmetic step with awkward operands, 1- and 3-channel rows of every
// length around the vector widths, every byte value.
#include "preprocess/row_convert.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

namespace qcal::preprocess {
namespace {

std::vector<ArithmeticChain> chains() {
  using K = StepKind;
  return {
      {},
      {{K::kDiv, {255.0f, 0.0f}}},                                   // yolo
      {{K::kDiv, {255.0f, 0.0f}}, {K::kNormalize, {0.5f, 0.5f}}},    // edgeface
      {{K::kMul, {0.0039215689f, 0.0f}}, {K::kAdd, {-0.5f, 0.0f}}},  // FMA bait
      {{K::kSubtract, {123.675f, 0.0f}}, {K::kDiv, {58.395f, 0.0f}}},
      {{K::kNormalize, {0.485f * 255, 0.229f * 255}},
       {K::kMul, {3.0f, 0.0f}},
       {K::kAdd, {1e-7f, 0.0f}}},
      {{K::kDiv, {0.0f, 0.0f}}},                             // inf and NaN
      {{K::kMul, {1e30f, 0.0f}}, {K::kMul, {1e30f, 0.0f}}},  // overflow
  };
}

TEST(RowConvert, EveryKernelMatchesApplyChainBitForBit) {
  const auto kernels = supported_row_kernels();
  ASSERT_FALSE(kernels.empty());
  std::mt19937 rng(7);
  for (RowKernel k : kernels) {
    SCOPED_TRACE(row_kernel_name(k));
    for (const auto& chain : chains()) {
      for (int ch : {1, 3}) {
        for (int n : {0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 100, 256, 640}) {
          std::vector<std::uint8_t> in(static_cast<std::size_t>(std::max(n, 256) * ch));
          for (std::size_t i = 0; i < in.size(); ++i)
            in[i] = static_cast<std::uint8_t>(n >= 256 ? (i / ch + i) % 256 : rng() % 256);
          for (int c = 0; c < ch; ++c) {
            std::vector<float> got(static_cast<std::size_t>(n) + 1, -12345.0f);
            convert_row_u8_f32_with(k, in.data(), ch, c, n, chain, got.data());
            for (int x = 0; x < n; ++x) {
              const float want =
                  apply_chain(static_cast<float>(in[static_cast<std::size_t>(x * ch + c)]), chain);
              ASSERT_EQ(std::memcmp(&got[static_cast<std::size_t>(x)], &want, sizeof want), 0)
                  << "n " << n << " ch " << ch << " c " << c << " x " << x << ": "
                  << got[static_cast<std::size_t>(x)] << " vs " << want;
            }
            EXPECT_EQ(got[static_cast<std::size_t>(n)], -12345.0f) << "wrote past the row";
          }
        }
      }
    }
  }
}

// The reference itself: numpy's float32 order of operations (x / 255 rounded, then normalize).
TEST(RowConvert, ApplyChainIsFloat32InRecipeOrder) {
  const ArithmeticChain edgeface = {{StepKind::kDiv, {255.0f, 0.0f}},
                                    {StepKind::kNormalize, {0.5f, 0.5f}}};
  for (int v = 0; v < 256; ++v) {
    const float a = static_cast<float>(v) / 255.0f;
    const float want = (a - 0.5f) / 0.5f;
    EXPECT_EQ(apply_chain(static_cast<float>(v), edgeface), want) << v;
  }
}

TEST(RowConvert, ExtractsOneChannel) {
  std::vector<std::uint8_t> in(3 * 40);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<std::uint8_t>(i * 5);
  for (int c = 0; c < 3; ++c) {
    std::vector<std::uint8_t> out(40);
    extract_row_u8(in.data(), 3, c, 40, out.data());
    for (int x = 0; x < 40; ++x)
      EXPECT_EQ(out[static_cast<std::size_t>(x)], in[static_cast<std::size_t>(3 * x + c)]);
  }
}

}  // namespace
}  // namespace qcal::preprocess
