// Gemm and MatMul: BLAS fast paths against the references on seeded sweeps (transposes, C
// broadcasts, batched and broadcast MatMul, 1-D operands).
#include "compute_test_util.hpp"
#include "core/error.hpp"
#include "ops/gemm.hpp"
#include "ops/matmul.hpp"

namespace qcal::ops {
namespace {

NodeDef node_of(const char* op) {
  NodeDef n;
  n.name = std::string("the_") + op;
  n.op_type = op;
  n.opset = 17;
  return n;
}

TEST(GemmF32Blas, MatchesReferenceOnSeededSweep) {
  Rng rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    GemmAttrs attrs;
    attrs.transA = static_cast<std::int64_t>(rng.next_below(2));
    attrs.transB = static_cast<std::int64_t>(rng.next_below(2));
    attrs.alpha = trial % 3 == 0 ? 0.5f : 1.f;
    attrs.beta = trial % 4 == 0 ? 2.f : 1.f;
    const std::int64_t m = 1 + static_cast<std::int64_t>(rng.next_below(40));
    const std::int64_t n = 1 + static_cast<std::int64_t>(rng.next_below(40));
    const std::int64_t k = 1 + static_cast<std::int64_t>(rng.next_below(70));
    const Shape a = attrs.transA ? Shape{k, m} : Shape{m, k};
    const Shape b = attrs.transB ? Shape{n, k} : Shape{k, n};
    const Shape c_choices[] = {Shape{}, Shape{n}, Shape{1, n}, Shape{m, 1}, Shape{m, n}, Shape{1}};
    const std::size_t ci = rng.next_below(7);
    const Shape* c = ci < 6 ? &c_choices[ci] : nullptr;
    const auto g = infer_gemm(attrs, a, b, c, node_of("Gemm"));
    const auto av = test::random_floats(rng, shape_numel(a));
    const auto bv = test::random_floats(rng, shape_numel(b));
    const auto cv = test::random_floats(rng, c ? shape_numel(*c) : 1);
    auto ref = test::poisoned(m * n);
    auto fast = test::poisoned(m * n);
    gemm_f32_ref(attrs, g, av.data(), bv.data(), c ? cv.data() : nullptr, ref.data());
    gemm_f32_fast(attrs, g, av.data(), bv.data(), c ? cv.data() : nullptr, fast.data(),
                  1 + trial % 2);
    test::expect_close(fast, ref, k, "gemm trial " + std::to_string(trial));
  }
  EXPECT_THROW(infer_gemm({}, {2, 3}, {4, 5}, nullptr, node_of("Gemm")), Error);
  const Shape bad_c{3, 4};
  EXPECT_THROW(infer_gemm({}, {2, 3}, {3, 5}, &bad_c, node_of("Gemm")), Error);
}

TEST(MatMulF32Blas, MatchesReferenceOnSeededSweep) {
  Rng rng(11);
  const std::vector<std::pair<Shape, Shape>> fixed = {{{5}, {5}},
                                                      {{5}, {5, 3}},
                                                      {{4, 5}, {5}},
                                                      {{2, 3, 4, 5}, {5, 6}},
                                                      {{3, 1, 4, 5}, {2, 5, 6}},
                                                      {{1, 4, 5}, {3, 5, 2}},
                                                      {{6, 7}, {2, 7, 3}},
                                                      {{2, 3, 0, 5}, {5, 4}}};
  for (int trial = 0; trial < 40; ++trial) {
    Shape a, b;
    if (trial < static_cast<int>(fixed.size())) {
      std::tie(a, b) = fixed[static_cast<std::size_t>(trial)];
    } else {
      const std::int64_t m = 1 + static_cast<std::int64_t>(rng.next_below(20));
      const std::int64_t n = 1 + static_cast<std::int64_t>(rng.next_below(20));
      const std::int64_t k = 1 + static_cast<std::int64_t>(rng.next_below(40));
      const std::int64_t b0 = 1 + static_cast<std::int64_t>(rng.next_below(3));
      const std::int64_t b1 = 1 + static_cast<std::int64_t>(rng.next_below(3));
      a = rng.next_below(2) ? Shape{b0, b1, m, k} : Shape{b1, m, k};
      b = rng.next_below(2) ? Shape{b0, rng.next_below(2) ? b1 : 1, k, n} : Shape{k, n};
    }
    const auto g = infer_matmul(a, b, node_of("MatMul"));
    const auto av = test::random_floats(rng, shape_numel(a));
    const auto bv = test::random_floats(rng, shape_numel(b));
    const std::int64_t out_n = shape_numel(g.out_shape);
    auto ref = test::poisoned(out_n);
    auto fast = test::poisoned(out_n);
    matmul_f32_ref(g, av.data(), bv.data(), ref.data());
    matmul_f32_fast(g, av.data(), bv.data(), fast.data(), 1 + trial % 2);
    test::expect_close(fast, ref, g.k, "matmul " + shape_to_string(a) + " x " + shape_to_string(b));
  }
  EXPECT_EQ(infer_matmul({5}, {5}, node_of("MatMul")).out_shape, Shape{});
  EXPECT_EQ(infer_matmul({3, 1, 4, 5}, {2, 5, 6}, node_of("MatMul")).out_shape,
            (Shape{3, 2, 4, 6}));
  EXPECT_THROW(infer_matmul({2, 3, 4}, {3, 4, 5}, node_of("MatMul")), Error);
  EXPECT_THROW(infer_matmul({4, 5}, {4, 6}, node_of("MatMul")), Error);
}

}  // namespace
}  // namespace qcal::ops
