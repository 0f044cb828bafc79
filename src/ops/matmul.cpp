// MatMul: numpy-style shape inference and broadcasting, reference and BLAS-backed kernels.
#include "ops/matmul.hpp"

#include <algorithm>

#include "core/checked.hpp"
#include "ops/gemm_f32_blas.hpp"

namespace qcal::ops {

MatMulGeometry infer_matmul(const Shape& a_in, const Shape& b_in, const NodeDef& node) {
  if (a_in.empty() || b_in.empty()) {
    throw node.error(ErrorCode::kFormat, "MatMul inputs must have rank >= 1");
  }
  Shape a = a_in;
  Shape b = b_in;
  const bool a_vec = a.size() == 1;
  const bool b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  MatMulGeometry g;
  g.m = a[a.size() - 2];
  g.k = a.back();
  g.n = b.back();
  if (b[b.size() - 2] != g.k) {
    throw node.error(ErrorCode::kFormat, "MatMul inner dimensions differ: " +
                                             shape_to_string(a_in) + " x " + shape_to_string(b_in));
  }
  const std::size_t rank = std::max(a.size(), b.size()) - 2;
  Shape a_batch(rank, 1), b_batch(rank, 1), batch(rank, 1);
  std::copy(a.begin(), a.end() - 2,
            a_batch.begin() + static_cast<std::ptrdiff_t>(rank - (a.size() - 2)));
  std::copy(b.begin(), b.end() - 2,
            b_batch.begin() + static_cast<std::ptrdiff_t>(rank - (b.size() - 2)));
  for (std::size_t i = 0; i < rank; ++i) {
    if (a_batch[i] != b_batch[i] && a_batch[i] != 1 && b_batch[i] != 1) {
      throw node.error(ErrorCode::kFormat,
                       "MatMul batch dimensions do not broadcast: " + shape_to_string(a_in) +
                           " x " + shape_to_string(b_in));
    }
    batch[i] = a_batch[i] == 1 ? b_batch[i] : a_batch[i];
  }
  const std::int64_t count = checked_numel(batch, "MatMul batch");
  checked_numel(Shape{count, g.m, g.n}, "MatMul output");
  // Offsets by walking the batch index with numpy broadcasting (size-1 dims repeat).
  std::vector<std::int64_t> a_stride(rank, 0), b_stride(rank, 0);
  std::int64_t as = g.m * g.k, bs = g.k * g.n;
  for (std::size_t i = rank; i-- > 0;) {
    a_stride[i] = a_batch[i] == 1 ? 0 : as;
    b_stride[i] = b_batch[i] == 1 ? 0 : bs;
    as *= a_batch[i];
    bs *= b_batch[i];
  }
  g.a_offsets.resize(static_cast<std::size_t>(count));
  g.b_offsets.resize(static_cast<std::size_t>(count));
  std::vector<std::int64_t> index(rank, 0);
  for (std::int64_t t = 0; t < count; ++t) {
    std::int64_t ao = 0, bo = 0;
    for (std::size_t i = 0; i < rank; ++i) {
      ao += index[i] * a_stride[i];
      bo += index[i] * b_stride[i];
    }
    g.a_offsets[static_cast<std::size_t>(t)] = ao;
    g.b_offsets[static_cast<std::size_t>(t)] = bo;
    for (std::size_t i = rank; i-- > 0;) {
      if (++index[i] < batch[i]) break;
      index[i] = 0;
    }
  }
  g.b_shared =
      std::all_of(g.b_offsets.begin(), g.b_offsets.end(), [](std::int64_t o) { return o == 0; });
  for (std::int64_t t = 0; g.b_shared && t < count; ++t) {
    g.b_shared = g.a_offsets[static_cast<std::size_t>(t)] == t * g.m * g.k;
  }
  g.out_shape = batch;
  if (!a_vec) g.out_shape.push_back(g.m);
  if (!b_vec) g.out_shape.push_back(g.n);
  return g;
}

void matmul_f32_ref(const MatMulGeometry& g, const float* a, const float* b, float* y) {
  for (std::size_t t = 0; t < g.a_offsets.size(); ++t) {
    const float* at = a + g.a_offsets[t];
    const float* bt = b + g.b_offsets[t];
    float* yt = y + static_cast<std::int64_t>(t) * g.m * g.n;
    for (std::int64_t row = 0; row < g.m; ++row) {
      for (std::int64_t col = 0; col < g.n; ++col) {
        float acc = 0.f;
        for (std::int64_t i = 0; i < g.k; ++i) acc += at[row * g.k + i] * bt[i * g.n + col];
        yt[row * g.n + col] = acc;
      }
    }
  }
}

void matmul_f32_fast(const MatMulGeometry& g, const float* a, const float* b, float* y,
                     int num_threads) {
  const auto count = static_cast<std::int64_t>(g.a_offsets.size());
  if (g.k == 0) {
    std::fill(y, y + count * g.m * g.n, 0.f);
    return;
  }
  if (g.b_shared) {
    // All A batches are one dense [count*M, K] matrix times the shared B.
    gemm_f32_blas(false, false, count * g.m, g.n, g.k, 1.f, a, g.k, b, g.n, 0.f, y, g.n,
                  num_threads);
    return;
  }
  for (std::int64_t t = 0; t < count; ++t) {
    gemm_f32_blas(false, false, g.m, g.n, g.k, 1.f, a + g.a_offsets[static_cast<std::size_t>(t)],
                  g.k, b + g.b_offsets[static_cast<std::size_t>(t)], g.n, 0.f, y + t * g.m * g.n,
                  g.n, num_threads);
  }
}

namespace {

class MatMulKernel : public Kernel {
 public:
  explicit MatMulKernel(const NodeDef& node) : node_(node) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    if (inputs.size() != 2 || inputs[0].dtype == DType::kUndefined ||
        inputs[1].dtype == DType::kUndefined) {
      throw node_.error(ErrorCode::kFormat, "MatMul needs inputs A and B");
    }
    if (inputs[0].dtype != DType::kFloat32 || inputs[1].dtype != DType::kFloat32) {
      throw node_.error(ErrorCode::kUnsupported, "MatMul supports float32");
    }
    geometry_ = infer_matmul(inputs[0].shape, inputs[1].shape, node_);
    a_shape_ = inputs[0].shape;
    b_shape_ = inputs[1].shape;
    return {TensorInfo{DType::kFloat32, geometry_.out_shape, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    if (inputs[0]->shape() != a_shape_ || inputs[1]->shape() != b_shape_) {
      a_shape_ = inputs[0]->shape();
      b_shape_ = inputs[1]->shape();
      geometry_ = infer_matmul(a_shape_, b_shape_, node_);
    }
    matmul_f32_fast(geometry_, inputs[0]->data<float>(), inputs[1]->data<float>(),
                    outputs[0]->data<float>(), ctx.num_threads);
  }

 private:
  NodeDef node_;
  MatMulGeometry geometry_;
  Shape a_shape_, b_shape_;
};

}  // namespace

std::unique_ptr<Kernel> make_matmul(const NodeDef& node) {
  return std::make_unique<MatMulKernel>(node);
}

}  // namespace qcal::ops
