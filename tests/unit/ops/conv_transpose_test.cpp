// ConvTranspose: oneDNN deconvolution against the reference on a seeded sweep (groups,
// strides, dilations, pads, output_padding, 1-D/2-D).
#include "ops/conv_transpose.hpp"

#include "compute_test_util.hpp"
#include "core/error.hpp"

namespace qcal::ops {
namespace {

TEST(ConvTransposeF32OneDnn, MatchesReferenceOnSeededSweep) {
  NodeDef node;
  node.name = "deconv";
  node.op_type = "ConvTranspose";
  Rng rng(99);
  int tested = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const std::size_t nsp = trial % 8 == 0 ? 1 : 2;
    ConvTransposeAttrs attrs;
    attrs.group = trial % 5 == 0 ? 2 : 1;
    const std::int64_t cin = attrs.group * (1 + static_cast<std::int64_t>(rng.next_below(6)));
    const std::int64_t cout_g = 1 + static_cast<std::int64_t>(rng.next_below(6));
    Shape x{1 + static_cast<std::int64_t>(rng.next_below(2)), cin};
    Shape w{cin, cout_g};
    for (std::size_t i = 0; i < nsp; ++i) {
      const std::int64_t k = 1 + static_cast<std::int64_t>(rng.next_below(4));
      x.push_back(2 + static_cast<std::int64_t>(rng.next_below(9)));
      w.push_back(k);
      attrs.strides.push_back(1 + static_cast<std::int64_t>(rng.next_below(3)));
      attrs.dilations.push_back(1 + static_cast<std::int64_t>(rng.next_below(2)));
      attrs.output_padding.push_back(0);
    }
    for (std::size_t i = 0; i < 2 * nsp; ++i) attrs.pads.push_back(static_cast<std::int64_t>(rng.next_below(2)));
    if (trial % 3 == 0) attrs.output_padding[0] = std::min<std::int64_t>(attrs.strides[0] - 1, 1);
    const bool bias = trial % 2 == 0;
    const Shape b{attrs.group * cout_g};
    ConvTransposeGeometry g;
    try {
      g = infer_conv_transpose(attrs, x, w, bias ? &b : nullptr, node);
    } catch (const Error&) {
      continue;
    }
    ConvTransposeF32OneDnn fast_kernel;
    if (!fast_kernel.supports(g)) continue;
    ++tested;
    const auto xv = test::random_floats(rng, shape_numel(x));
    const auto wv = test::random_floats(rng, shape_numel(w));
    const auto bv = test::random_floats(rng, b[0]);
    const std::int64_t n = shape_numel(g.out_shape());
    auto ref = test::poisoned(n);
    auto fast = test::poisoned(n);
    conv_transpose_f32_ref(g, xv.data(), wv.data(), bias ? bv.data() : nullptr, ref.data());
    fast_kernel.run(g, xv.data(), Tensor::from_values<float>(w, wv), bias ? bv.data() : nullptr,
                    fast.data(), true);
    test::expect_close(fast, ref, cin * shape_numel(w) / (cin * cout_g),
                       "trial " + std::to_string(trial) + " x " + shape_to_string(x) + " w " +
                           shape_to_string(w));
  }
  EXPECT_GE(tested, 30);
}

}  // namespace
}  // namespace qcal::ops
