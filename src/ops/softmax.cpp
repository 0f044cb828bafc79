// Softmax/LogSoftmax (see softmax.hpp). Max-subtracted exp with the vectorisable polynomial exp
// (unary.hpp, ~2e-7 relative error); sums accumulate in float in index order per output row, or
// per inner column across rows when the axis is not innermost (YOLOv8's DFL softmax).
#include "ops/softmax.hpp"

#include <bit>
#include <cmath>
#include <limits>

#include "ops/exp_poly.hpp"
#include "ops/op_util.hpp"
#include "ops/unary.hpp"

namespace qcal::ops {
namespace {

// Columns [i0, i1) of one [reduce, inner] slab; col_max/col_sum hold one value per column.
__attribute__((target_clones("avx512f", "avx2", "default"))) void softmax_columns_f32(
    const float* in, float* out, std::int64_t reduce, std::int64_t inner, std::int64_t i0,
    std::int64_t i1, float* col_max, float* col_sum, bool log) {
  for (std::int64_t i = i0; i < i1; ++i) {
    col_max[i] = -std::numeric_limits<float>::infinity();
    col_sum[i] = 0.0f;
  }
  for (std::int64_t r = 0; r < reduce; ++r) {
    const float* x = in + r * inner;
    for (std::int64_t i = i0; i < i1; ++i) col_max[i] = x[i] > col_max[i] ? x[i] : col_max[i];
  }
  for (std::int64_t r = 0; r < reduce; ++r) {
    const float* x = in + r * inner;
    float* y = out + r * inner;
    for (std::int64_t i = i0; i < i1; ++i) {
      const float e = exp_poly_inline(x[i] - col_max[i]);
      if (!log) y[i] = e;
      col_sum[i] += e;
    }
  }
  for (std::int64_t r = 0; r < reduce; ++r) {
    const float* x = in + r * inner;
    float* y = out + r * inner;
    if (log) {
      for (std::int64_t i = i0; i < i1; ++i) y[i] = x[i] - col_max[i] - std::log(col_sum[i]);
    } else {
      for (std::int64_t i = i0; i < i1; ++i) y[i] = y[i] / col_sum[i];
    }
  }
}

// One contiguous row of `reduce` values.
__attribute__((target_clones("avx512f", "avx2", "default"))) void softmax_row_f32(
    const float* x, float* y, std::int64_t reduce, bool log) {
  float m = -std::numeric_limits<float>::infinity();
  for (std::int64_t r = 0; r < reduce; ++r) m = x[r] > m ? x[r] : m;
  float sum = 0.0f;
  if (log) {
    for (std::int64_t r = 0; r < reduce; ++r) sum += exp_poly_inline(x[r] - m);
    const float shift = m + std::log(sum);
    for (std::int64_t r = 0; r < reduce; ++r) y[r] = x[r] - shift;
    return;
  }
  for (std::int64_t r = 0; r < reduce; ++r) y[r] = exp_poly_inline(x[r] - m);
  for (std::int64_t r = 0; r < reduce; ++r) sum += y[r];
  const float inv = 1.0f / sum;
  for (std::int64_t r = 0; r < reduce; ++r) y[r] = y[r] * inv;
}

class SoftmaxKernel : public NodeKernel {
 public:
  SoftmaxKernel(const NodeDef& node, SoftmaxAttrs attrs) : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 1, 1);
    require_dtype(node_, inputs[0].dtype, {DType::kFloat32}, "input");
    std::int64_t outer = 0, reduce = 0, inner = 0;
    infer_softmax(node_, attrs_, inputs[0].shape, outer, reduce, inner);
    if (inner > 1) {
      col_max_.resize(static_cast<std::size_t>(inner));
      col_sum_.resize(static_cast<std::size_t>(inner));
    }
    return {{inputs[0].dtype, inputs[0].shape, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& in = *inputs[0];
    ensure_output(*outputs[0], in.dtype(), in.shape());
    std::int64_t outer = 0, reduce = 0, inner = 0;
    infer_softmax(node_, attrs_, in.shape(), outer, reduce, inner);
    if (in.numel() == 0) return;
    const float* x = in.data<float>();
    float* y = outputs[0]->data<float>();
    const bool log = attrs_.log;
    if (inner == 1) {
      parallel_for(outer, std::max<std::int64_t>(1, 4096 / reduce), ctx.num_threads,
                   [&](std::int64_t begin, std::int64_t end) {
                     for (std::int64_t o = begin; o < end; ++o) {
                       softmax_row_f32(x + o * reduce, y + o * reduce, reduce, log);
                     }
                   });
      return;
    }
    if (col_max_.size() < static_cast<std::size_t>(inner)) {
      col_max_.resize(static_cast<std::size_t>(inner));
      col_sum_.resize(static_cast<std::size_t>(inner));
    }
    for (std::int64_t o = 0; o < outer; ++o) {
      const float* xs = x + o * reduce * inner;
      float* ys = y + o * reduce * inner;
      parallel_for(inner, 1024, ctx.num_threads, [&](std::int64_t begin, std::int64_t end) {
        softmax_columns_f32(xs, ys, reduce, inner, begin, end, col_max_.data(), col_sum_.data(),
                            log);
      });
    }
  }

 private:
  SoftmaxAttrs attrs_;
  std::vector<float> col_max_, col_sum_;
};

}  // namespace

void infer_softmax(const NodeDef& node, const SoftmaxAttrs& attrs, const Shape& shape,
                   std::int64_t& outer, std::int64_t& reduce, std::int64_t& inner) {
  const auto rank = static_cast<std::int64_t>(shape.size());
  if (rank == 0) throw node.error(ErrorCode::kInvalidArgument, "input must have rank >= 1");
  const std::int64_t axis = normalize_axis(node, attrs.axis, rank);
  outer = reduce = inner = 1;
  for (std::int64_t d = 0; d < rank; ++d) {
    const std::int64_t dim = shape[static_cast<std::size_t>(d)];
    if (d < axis)
      outer *= dim;
    else if (d == axis || attrs.coerce_2d)
      reduce *= dim;
    else
      inner *= dim;
  }
}

void softmax_f32_ref(bool log, const float* in, std::int64_t outer, std::int64_t reduce,
                     std::int64_t inner, float* out) {
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < inner; ++i) {
      double m = -INFINITY, sum = 0.0;
      for (std::int64_t r = 0; r < reduce; ++r)
        m = std::max(m, static_cast<double>(in[(o * reduce + r) * inner + i]));
      for (std::int64_t r = 0; r < reduce; ++r)
        sum += std::exp(in[(o * reduce + r) * inner + i] - m);
      for (std::int64_t r = 0; r < reduce; ++r) {
        const double v = in[(o * reduce + r) * inner + i] - m;
        out[(o * reduce + r) * inner + i] =
            static_cast<float>(log ? v - std::log(sum) : std::exp(v) / sum);
      }
    }
  }
}

std::unique_ptr<Kernel> make_softmax(const NodeDef& node) {
  SoftmaxAttrs attrs;
  attrs.coerce_2d = node.opset < 13;
  attrs.axis = node.attr_int("axis", attrs.coerce_2d ? 1 : -1);
  attrs.log = node.op_type == "LogSoftmax";
  return std::make_unique<SoftmaxKernel>(node, attrs);
}

}  // namespace qcal::ops
