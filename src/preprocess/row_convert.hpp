// Row kernels of the pipeline's fused final pass: one channel of an interleaved 8-bit row turned
// into float32 through the recipe's arithmetic chain (or copied as bytes). Vectorised with
// AVX-512 or AVX2 where the CPU has them (chosen at run time), else OpenCV's 128-bit universal
// intrinsics (SSE2, NEON). Every variant performs per element the same float32 operations in the
// same order as apply_chain (the file is built with -ffp-contract=off, so no FMA fusing), which
// is what numpy computes on a float32 array: the results are bit-identical whichever runs.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "preprocess/recipe.hpp"

namespace qcal::preprocess {

// The arithmetic steps after the image steps, for one image channel, in recipe order:
// (kind, (operand, normalize's std)). Operands are already rounded to float32.
using ArithmeticChain = std::vector<std::pair<StepKind, std::pair<float, float>>>;

// One value through the chain: the definition every kernel reproduces.
float apply_chain(float v, const ArithmeticChain& chain);

// out[x] = apply_chain(in[x * ch + src_c]) for x in [0, n).
void convert_row_u8_f32(const std::uint8_t* in, int ch, int src_c, int n,
                        const ArithmeticChain& chain, float* out);

// out[x] = in[x * ch + src_c] for x in [0, n).
void extract_row_u8(const std::uint8_t* in, int ch, int src_c, int n, std::uint8_t* out);

// The kernels, for tests that run each one this CPU supports against apply_chain.
enum class RowKernel { kSimd128, kAvx2, kAvx512 };
std::vector<RowKernel> supported_row_kernels();
const char* row_kernel_name(RowKernel k);  // "simd128", "avx2", "avx512"
// The one convert_row_u8_f32 uses on this CPU (the widest supported).
RowKernel row_convert_kernel();
void convert_row_u8_f32_with(RowKernel k, const std::uint8_t* in, int ch, int src_c, int n,
                             const ArithmeticChain& chain, float* out);

}  // namespace qcal::preprocess
