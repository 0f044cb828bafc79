// TopK (see topk.hpp): per row, a partial sort of indices by (value, index), so the order is
// fully defined (NaN sorts as the largest value, as numpy does).
#include "ops/topk.hpp"

#include <algorithm>
#include <cmath>

#include "ops/op_util.hpp"

namespace qcal::ops {
namespace {

class TopKKernel : public NodeKernel {
 public:
  TopKKernel(const NodeDef& node, TopKAttrs attrs) : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    const bool k_input = node_.opset >= 10;
    require_inputs(node_, inputs, k_input ? 2 : 1, k_input ? 2 : 1);
    require_dtype(node_, inputs[0].dtype,
                  {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kInt8,
                   DType::kUInt8},
                  "X");
    std::int64_t k = attrs_.k;
    if (k_input) {
      require_dtype(node_, inputs[1].dtype, {DType::kInt64}, "K");
      if (!inputs[1].value) {
        Shape s = inputs[0].shape;
        s[static_cast<std::size_t>(
            normalize_axis(node_, attrs_.axis, static_cast<std::int64_t>(s.size())))] = -1;
        return {{inputs[0].dtype, s, nullptr}, {DType::kInt64, s, nullptr}};
      }
      k = read_k(*inputs[1].value);
    }
    const Shape s = infer_topk(node_, attrs_, inputs[0].shape, k);
    return {{inputs[0].dtype, s, nullptr}, {DType::kInt64, s, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& x = *inputs[0];
    const std::int64_t k = node_.opset >= 10 ? read_k(*inputs[1]) : attrs_.k;
    const Shape s = infer_topk(node_, attrs_, x.shape(), k);
    ensure_output(*outputs[0], x.dtype(), s);
    ensure_output(*outputs[1], DType::kInt64, s);
    const auto rank = static_cast<std::int64_t>(x.shape().size());
    const std::int64_t axis = attrs_.axis < 0 ? attrs_.axis + rank : attrs_.axis;
    std::int64_t outer = 1, inner = 1;
    const std::int64_t n = x.shape()[static_cast<std::size_t>(axis)];
    for (std::int64_t d = 0; d < rank; ++d) {
      if (d < axis) outer *= x.shape()[d];
      if (d > axis) inner *= x.shape()[d];
    }
    std::int64_t* pi = outputs[1]->data<std::int64_t>();
    const bool largest = attrs_.largest != 0;
    dispatch<NumericTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* pv = outputs[0]->data<T>();
      // One scratch index vector per thread chunk (allocated per run: TopK is not on a hot path).
      parallel_for(outer * inner, 1, ctx.num_threads, [&](std::int64_t begin, std::int64_t end) {
        std::vector<std::int64_t> order(static_cast<std::size_t>(n));
        for (std::int64_t item = begin; item < end; ++item) {
          const std::int64_t o = item / inner, i = item % inner;
          const T* row = px + o * n * inner + i;
          for (std::int64_t j = 0; j < n; ++j) order[static_cast<std::size_t>(j)] = j;
          auto before = [&](std::int64_t a, std::int64_t b) {
            const T va = row[a * inner], vb = row[b * inner];
            if constexpr (std::is_floating_point_v<T>) {
              const bool na = std::isnan(va), nb = std::isnan(vb);
              if (na || nb) {
                if (na && nb) return a < b;
                return largest ? na : nb;
              }
            }
            if (va != vb) return largest ? va > vb : va < vb;
            return a < b;
          };
          std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
          for (std::int64_t j = 0; j < k; ++j) {
            const std::int64_t src = order[static_cast<std::size_t>(j)];
            pv[(o * k + j) * inner + i] = row[src * inner];
            pi[(o * k + j) * inner + i] = src;
          }
        }
      });
    });
  }

 private:
  std::int64_t read_k(const Tensor& t) const {
    const auto v = tensor_to_ints(node_, t, "K");
    if (v.size() != 1) throw node_.error(ErrorCode::kInvalidArgument, "K must hold one value");
    return v[0];
  }

  TopKAttrs attrs_;
};

}  // namespace

Shape infer_topk(const NodeDef& node, const TopKAttrs& attrs, const Shape& shape, std::int64_t k) {
  const auto rank = static_cast<std::int64_t>(shape.size());
  const std::int64_t axis = normalize_axis(node, attrs.axis, rank);
  const std::int64_t n = shape[static_cast<std::size_t>(axis)];
  if (k < 0 || (n >= 0 && k > n)) {
    throw node.error(ErrorCode::kInvalidArgument,
                     "K=" + std::to_string(k) + " is outside [0, " + std::to_string(n) + "]");
  }
  Shape out = shape;
  out[static_cast<std::size_t>(axis)] = k;
  return out;
}

std::unique_ptr<Kernel> make_topk(const NodeDef& node) {
  TopKAttrs attrs;
  attrs.axis = node.attr_int("axis", -1);
  attrs.largest = node.attr_int("largest", 1);
  attrs.sorted = node.attr_int("sorted", 1);
  if (node.opset < 10) attrs.k = node.require_int("k");
  return std::make_unique<TopKKernel>(node, attrs);
}

}  // namespace qcal::ops
