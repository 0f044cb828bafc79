// ConvTranspose: oneDNN deconvolution against the reference on a seeded sweep (groups,
// strides, dilations, pads, output_padding, 1-D/2-D).
#include "ops/conv_transpose.hpp"

#include <array>

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
    for (std::size_t i = 0; i < 2 * nsp; ++i)
      attrs.pads.push_back(static_cast<std::int64_t>(rng.next_below(2)));
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
    test::expect_close(
        fast, ref, cin * shape_numel(w) / (cin * cout_g),
        "trial " + std::to_string(trial) + " x " + shape_to_string(x) + " w " + shape_to_string(w));
  }
  EXPECT_GE(tested, 30);
}

// Non-overlapping ConvTranspose with few output channels (kernel == stride, PP-OCR det's last
// layer) runs as a BLAS GEMM plus scatter: against the reference, and the same bytes at 1 and 3
// threads.
TEST(ConvTransposeKernel, GemmPathMatchesReferenceAtAnyThreadCount) {
  Rng rng(7);
  for (const auto& [cin, cout, k, h, wd] : std::vector<std::array<std::int64_t, 5>>{
           {24, 1, 2, 20, 18}, {5, 3, 3, 7, 9}, {16, 15, 2, 4, 4}, {3, 1, 1, 5, 6}}) {
    NodeDef node;
    node.name = "deconv";
    node.op_type = "ConvTranspose";
    node.opset = 17;
    node.attributes["strides"] = std::vector<std::int64_t>{k, k};
    const Shape xs{2, cin, h, wd}, ws{cin, cout, k, k}, bs{cout};
    const auto xv = test::random_floats(rng, shape_numel(xs));
    const auto wv = test::random_floats(rng, shape_numel(ws));
    const auto bv = test::random_floats(rng, cout);
    const Tensor x = Tensor::from_values<float>(xs, xv), w = Tensor::from_values<float>(ws, wv),
                 b = Tensor::from_values<float>(bs, bv);
    ConvTransposeAttrs attrs;
    attrs.strides = {k, k};
    const auto g = infer_conv_transpose(attrs, xs, ws, &bs, node);
    auto ref = test::poisoned(shape_numel(g.out_shape()));
    conv_transpose_f32_ref(g, xv.data(), wv.data(), bv.data(), ref.data());
    std::vector<std::vector<float>> outs;
    for (int threads : {1, 3}) {
      auto kernel = make_conv_transpose(node);
      const std::vector<TensorInfo> infos{
          {DType::kFloat32, xs, nullptr}, {DType::kFloat32, ws, &w}, {DType::kFloat32, bs, &b}};
      const auto out_info = kernel->infer(infos);
      Tensor y(DType::kFloat32, out_info[0].shape);
      const Tensor* ins[] = {&x, &w, &b};
      Tensor* outs_ptr[] = {&y};
      kernel->run(ins, outs_ptr, RunContext{threads});
      outs.emplace_back(y.data<float>(), y.data<float>() + y.numel());
    }
    test::expect_close(outs[0], ref, cin,
                       "cin " + std::to_string(cin) + " cout " + std::to_string(cout));
    EXPECT_EQ(outs[0], outs[1]);
  }
}

}  // namespace
}  // namespace qcal::ops
