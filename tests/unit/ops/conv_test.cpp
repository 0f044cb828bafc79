// Conv: oneDNN fast path against the reference on a seeded sweep of shapes and attributes
// (groups, depthwise, dilations, strides, pads, auto_pad, fused activations, 1-D/2-D/3-D).
#include "ops/conv.hpp"

#include "compute_test_util.hpp"
#include "core/error.hpp"
#include "ops/conv_f32_onednn.hpp"

namespace qcal::ops {
namespace {

NodeDef conv_node() {
  NodeDef n;
  n.name = "conv";
  n.op_type = "Conv";
  n.opset = 17;
  return n;
}

TEST(ConvF32OneDnn, MatchesReferenceOnSeededSweep) {
  Rng rng(2024);
  const char* pads_modes[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
  using K = FusedOp::Kind;
  const K acts[] = {K::kRelu,  K::kClip,    K::kLeakyRelu, K::kHardSwish,
                    K::kSwish, K::kSigmoid, K::kMul,       K::kAdd};
  int tested = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t nsp = trial % 10 == 0 ? 1 : (trial % 10 == 1 ? 3 : 2);
    ConvAttrs attrs;
    const std::int64_t groups_choice = static_cast<std::int64_t>(rng.next_below(3));
    const std::int64_t cin_per_group = 1 + static_cast<std::int64_t>(rng.next_below(8));
    const std::int64_t group = groups_choice == 0 ? 1 : (groups_choice == 1 ? 2 : 4);
    const std::int64_t cin = cin_per_group * group;
    const bool depthwise = trial % 7 == 3;
    const std::int64_t in_c = depthwise ? 8 : cin;
    attrs.group = depthwise ? 8 : group;
    const std::int64_t out_c =
        attrs.group * (1 + static_cast<std::int64_t>(rng.next_below(depthwise ? 2 : 6)));
    attrs.auto_pad = pads_modes[rng.next_below(4)];
    Shape x{1 + static_cast<std::int64_t>(rng.next_below(2)), in_c};
    Shape w{out_c, in_c / attrs.group};
    for (std::size_t i = 0; i < nsp; ++i) {
      const std::int64_t k = 1 + static_cast<std::int64_t>(rng.next_below(nsp == 3 ? 3 : 5));
      x.push_back(k + 3 + static_cast<std::int64_t>(rng.next_below(nsp == 3 ? 6 : 14)));
      w.push_back(k);
      attrs.strides.push_back(1 + static_cast<std::int64_t>(rng.next_below(3)));
      attrs.dilations.push_back(1 + static_cast<std::int64_t>(rng.next_below(2)));
    }
    if (attrs.auto_pad == "NOTSET") {
      for (std::size_t i = 0; i < 2 * nsp; ++i)
        attrs.pads.push_back(static_cast<std::int64_t>(rng.next_below(3)));
    }
    // A chain of 0 to 3 fused ops (PP-OCR's Conv -> Mul -> Add -> HardSwish -> Mul -> Add
    // chains run as such post-op sequences).
    const auto chain = rng.next_below(4);
    for (std::uint64_t c = 0; c < chain; ++c) {
      FusedOp op;
      op.kind = acts[rng.next_below(8)];
      // The engine puts each eltwise algorithm at most once in a chain (relu = leakyrelu).
      const auto alg = [](K kind) { return kind == K::kLeakyRelu ? K::kRelu : kind; };
      bool repeated = false;
      for (const auto& prev : attrs.activation.ops) {
        repeated = repeated ||
                   (op.kind != K::kMul && op.kind != K::kAdd && alg(prev.kind) == alg(op.kind));
      }
      if (repeated) continue;
      op.alpha = op.kind == K::kClip    ? -0.3f
                 : op.kind == K::kSwish ? 1.f
                 : op.kind == K::kMul   ? 1.7f
                                        : 0.1f;
      op.beta = 0.4f;
      attrs.activation.ops.push_back(op);
    }
    std::string chain_text;
    for (const auto& op : attrs.activation.ops)
      chain_text += std::to_string(static_cast<int>(op.kind)) + " ";
    const bool bias = rng.next_below(2) == 1;
    Shape b{out_c};
    ConvGeometry g;
    try {
      g = infer_conv(attrs, x, w, bias ? &b : nullptr, conv_node());
    } catch (const Error&) {
      continue;  // kernel larger than the padded input: skip this draw
    }
    ++tested;
    const auto xv = test::random_floats(rng, shape_numel(x));
    const auto wv = test::random_floats(rng, shape_numel(w));
    const auto bv = test::random_floats(rng, out_c);
    const std::int64_t out_n = shape_numel(g.out_shape());
    auto ref = test::poisoned(out_n);
    auto fast = test::poisoned(out_n);
    conv_f32_ref(g, xv.data(), wv.data(), bias ? bv.data() : nullptr, ref.data(), attrs.activation);
    const Tensor wt = Tensor::from_values<float>(w, wv);
    ConvF32OneDnn kernel;
    kernel.run(g, attrs.activation, xv.data(), wt, bias ? bv.data() : nullptr, fast.data(),
               trial % 2 == 0);
    // Twice: the second run takes the cached primitive and (for constant weights) cached reorder.
    fast = test::poisoned(out_n);
    kernel.run(g, attrs.activation, xv.data(), wt, bias ? bv.data() : nullptr, fast.data(),
               trial % 2 == 0);
    test::expect_close(fast, ref, shape_numel(w) / out_c,
                       "trial " + std::to_string(trial) + " x " + shape_to_string(x) + " w " +
                           shape_to_string(w) + " " + attrs.auto_pad + " " +
                           kernel.implementation() + " post-ops " + chain_text);
  }
  EXPECT_GE(tested, 45);  // few draws may be skipped (kernel larger than the padded input)
}

TEST(Conv, InferRejectsBadShapesNamingTheNode) {
  ConvAttrs attrs;
  Shape b{5};
  try {
    infer_conv(attrs, {1, 3, 8, 8}, {4, 2, 3, 3}, nullptr, conv_node());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("node: conv"), std::string::npos);
  }
  EXPECT_THROW(infer_conv(attrs, {1, 3, 8, 8}, {4, 3, 3, 3}, &b, conv_node()), Error);
  EXPECT_THROW(infer_conv(attrs, {1, 3, 2, 2}, {4, 3, 3, 3}, nullptr, conv_node()), Error);
  EXPECT_THROW(infer_conv(attrs, {1, 3}, {4, 3}, nullptr, conv_node()), Error);
}

TEST(Conv, SameUpperPadsTheEnd) {
  ConvAttrs attrs;
  attrs.auto_pad = "SAME_UPPER";
  attrs.strides = {2, 2};
  const auto g = infer_conv(attrs, {1, 1, 6, 6}, {1, 1, 4, 4}, nullptr, conv_node());
  EXPECT_EQ(g.out_size, (std::vector<std::int64_t>{3, 3}));
  EXPECT_EQ(g.pad_begin, (std::vector<std::int64_t>{1, 1}));
  EXPECT_EQ(g.pad_end, (std::vector<std::int64_t>{1, 1}));
  attrs.auto_pad = "SAME_LOWER";
  const auto g2 = infer_conv(attrs, {1, 1, 5, 5}, {1, 1, 2, 2}, nullptr, conv_node());
  EXPECT_EQ(g2.pad_begin, (std::vector<std::int64_t>{1, 1}));
  EXPECT_EQ(g2.pad_end, (std::vector<std::int64_t>{0, 0}));
}

}  // namespace
}  // namespace qcal::ops
