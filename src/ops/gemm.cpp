// Gemm: attributes, shape inference with C's unidirectional broadcast, reference, factory.
#include "ops/gemm.hpp"

#include "ops/gemm_f32_blas.hpp"

namespace qcal::ops {

GemmAttrs GemmAttrs::from_node(const NodeDef& node) {
  GemmAttrs a;
  a.alpha = node.attr_float("alpha", 1.f);
  a.beta = node.attr_float("beta", 1.f);
  a.transA = node.attr_int("transA", 0);
  a.transB = node.attr_int("transB", 0);
  return a;
}

GemmGeometry infer_gemm(const GemmAttrs& attrs, const Shape& a, const Shape& b, const Shape* c,
                        const NodeDef& node) {
  if (a.size() != 2 || b.size() != 2) {
    throw node.error(ErrorCode::kFormat, "Gemm inputs A " + shape_to_string(a) + " and B " +
                                             shape_to_string(b) + " must be 2-D");
  }
  GemmGeometry g;
  g.m = attrs.transA ? a[1] : a[0];
  g.k = attrs.transA ? a[0] : a[1];
  const std::int64_t kb = attrs.transB ? b[1] : b[0];
  g.n = attrs.transB ? b[0] : b[1];
  if (kb != g.k) {
    throw node.error(ErrorCode::kFormat, "Gemm inner dimensions differ: A " + shape_to_string(a) +
                                             ", B " + shape_to_string(b));
  }
  if (c) {
    g.has_c = true;
    g.c_shape = *c;
    const Shape& cs = *c;
    const bool ok = cs.size() <= 2 && (cs.size() < 1 || cs.back() == 1 || cs.back() == g.n) &&
                    (cs.size() < 2 || cs[0] == 1 || cs[0] == g.m);
    if (!ok) {
      throw node.error(ErrorCode::kFormat, "Gemm C " + shape_to_string(cs) +
                                               " does not broadcast to [" + std::to_string(g.m) +
                                               ", " + std::to_string(g.n) + "]");
    }
  }
  return g;
}

float gemm_c_at(const GemmGeometry& g, const float* c, std::int64_t row, std::int64_t col) {
  const Shape& s = g.c_shape;
  if (s.empty()) return c[0];
  if (s.size() == 1) return c[s[0] == 1 ? 0 : col];
  const std::int64_t r = s[0] == 1 ? 0 : row;
  const std::int64_t q = s[1] == 1 ? 0 : col;
  return c[r * s[1] + q];
}

void gemm_f32_ref(const GemmAttrs& attrs, const GemmGeometry& g, const float* a, const float* b,
                  const float* c, float* y) {
  for (std::int64_t row = 0; row < g.m; ++row) {
    for (std::int64_t col = 0; col < g.n; ++col) {
      float acc = 0.f;
      for (std::int64_t i = 0; i < g.k; ++i) {
        const float av = attrs.transA ? a[i * g.m + row] : a[row * g.k + i];
        const float bv = attrs.transB ? b[col * g.k + i] : b[i * g.n + col];
        acc += av * bv;
      }
      float out = attrs.alpha * acc;
      if (c && g.has_c) out += attrs.beta * gemm_c_at(g, c, row, col);
      y[row * g.n + col] = out;
    }
  }
}

void gemm_f32_fast(const GemmAttrs& attrs, const GemmGeometry& g, const float* a, const float* b,
                   const float* c, float* y, int num_threads) {
  const bool with_c = c && g.has_c && attrs.beta != 0.f;
  if (with_c) {
    for (std::int64_t row = 0; row < g.m; ++row) {
      for (std::int64_t col = 0; col < g.n; ++col) {
        y[row * g.n + col] = attrs.beta * gemm_c_at(g, c, row, col);
      }
    }
  }
  if (g.k == 0) {
    if (!with_c) std::fill(y, y + g.m * g.n, 0.f);
    return;
  }
  gemm_f32_blas(attrs.transA != 0, attrs.transB != 0, g.m, g.n, g.k, attrs.alpha, a,
                attrs.transA ? g.m : g.k, b, attrs.transB ? g.k : g.n, with_c ? 1.f : 0.f, y, g.n,
                num_threads);
}

namespace {

class GemmKernel : public Kernel {
 public:
  explicit GemmKernel(const NodeDef& node) : node_(node), attrs_(GemmAttrs::from_node(node)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    if (inputs.size() < 2 || inputs[0].dtype == DType::kUndefined ||
        inputs[1].dtype == DType::kUndefined) {
      throw node_.error(ErrorCode::kFormat, "Gemm needs inputs A and B");
    }
    for (const auto& in : inputs) {
      if (in.dtype != DType::kUndefined && in.dtype != DType::kFloat32) {
        throw node_.error(ErrorCode::kUnsupported,
                          "Gemm supports float32, got " + std::string(dtype_name(in.dtype)));
      }
    }
    const bool has_c = inputs.size() > 2 && inputs[2].dtype != DType::kUndefined;
    geometry_ = infer_gemm(attrs_, inputs[0].shape, inputs[1].shape,
                           has_c ? &inputs[2].shape : nullptr, node_);
    return {TensorInfo{DType::kFloat32, {geometry_.m, geometry_.n}, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor* c = inputs.size() > 2 ? inputs[2] : nullptr;
    geometry_ = infer_gemm(attrs_, inputs[0]->shape(), inputs[1]->shape(),
                           c ? &c->shape() : nullptr, node_);
    gemm_f32_fast(attrs_, geometry_, inputs[0]->data<float>(), inputs[1]->data<float>(),
                  c ? c->data<float>() : nullptr, outputs[0]->data<float>(), ctx.num_threads);
  }

 private:
  NodeDef node_;
  GemmAttrs attrs_;
  GemmGeometry geometry_;
};

}  // namespace

std::unique_ptr<Kernel> make_gemm(const NodeDef& node) {
  return std::make_unique<GemmKernel>(node);
}

}  // namespace qcal::ops
