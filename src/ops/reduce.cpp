// Reductions (see reduce.hpp). Reduced axes that form one contiguous block are walked in place as
// [outer, reduce, inner]; other axis sets are first gathered (strided_copy) so the reduced axes
// come last. Float inputs accumulate in double, integers in int64; each output is reduced by one
// thread in index order, so results do not depend on the thread count.
#include "ops/reduce.hpp"

#include <cmath>
#include <limits>
#include <numeric>

#include "ops/op_util.hpp"

namespace qcal::ops {
namespace {

const Tensor* const_value(std::span<const TensorInfo> inputs, std::size_t i) {
  const TensorInfo* info = input_info(inputs, i);
  return info ? info->value : nullptr;
}

template <typename T>
using AccumulatorOf =
    std::conditional_t<std::is_floating_point_v<T>, double,
                       std::conditional_t<std::is_unsigned_v<T>, std::uint64_t, std::int64_t>>;

// Reduces `count` values at stride `stride`.
template <typename T>
T reduce_one(ReduceOp op, const T* x, std::int64_t count, std::int64_t stride) {
  using A = AccumulatorOf<T>;
  switch (op) {
    case ReduceOp::kMax:
    case ReduceOp::kMin: {
      if (count == 0) {
        if constexpr (std::is_floating_point_v<T>) {
          return op == ReduceOp::kMax ? -std::numeric_limits<T>::infinity()
                                      : std::numeric_limits<T>::infinity();
        } else {
          return op == ReduceOp::kMax ? std::numeric_limits<T>::lowest()
                                      : std::numeric_limits<T>::max();
        }
      }
      T best = x[0];
      for (std::int64_t r = 1; r < count; ++r) {
        const T v = x[r * stride];
        if constexpr (std::is_floating_point_v<T>) {
          if (v != v) return v;  // NaN propagates
        }
        if (op == ReduceOp::kMax ? v > best : v < best) best = v;
      }
      return best;
    }
    case ReduceOp::kProd: {
      A acc = 1;
      for (std::int64_t r = 0; r < count; ++r)
        acc = static_cast<A>(acc * static_cast<A>(x[r * stride]));
      return static_cast<T>(acc);
    }
    case ReduceOp::kLogSumExp: {
      if constexpr (std::is_floating_point_v<T>) {
        if (count == 0) return -std::numeric_limits<T>::infinity();
        double m = static_cast<double>(x[0]);
        for (std::int64_t r = 1; r < count; ++r)
          m = std::max(m, static_cast<double>(x[r * stride]));
        if (std::isinf(m)) return static_cast<T>(m);
        double s = 0.0;
        for (std::int64_t r = 0; r < count; ++r)
          s += std::exp(static_cast<double>(x[r * stride]) - m);
        return static_cast<T>(m + std::log(s));
      } else {
        double s = 0.0;
        for (std::int64_t r = 0; r < count; ++r) s += std::exp(static_cast<double>(x[r * stride]));
        return static_cast<T>(std::log(s));
      }
    }
    default:
      break;
  }
  A acc = 0;
  for (std::int64_t r = 0; r < count; ++r) {
    const A v = static_cast<A>(x[r * stride]);
    switch (op) {
      case ReduceOp::kL1:
        acc += v < 0 ? static_cast<A>(0 - v) : v;
        break;
      case ReduceOp::kL2:
      case ReduceOp::kSumSquare:
        acc += v * v;
        break;
      default:
        acc += v;
        break;
    }
  }
  switch (op) {
    case ReduceOp::kMean:
      if constexpr (std::is_floating_point_v<T>) {
        return static_cast<T>(acc / static_cast<double>(count));  // 0/0 = NaN for an empty set
      } else {
        return count ? static_cast<T>(acc / static_cast<A>(count)) : T{0};
      }
    case ReduceOp::kL2:
      return static_cast<T>(std::sqrt(static_cast<double>(acc)));
    case ReduceOp::kLogSum:
      return static_cast<T>(std::log(static_cast<double>(acc)));
    default:
      return static_cast<T>(acc);
  }
}

// Splits shape into [outer, reduce, inner] when the sorted axes are one contiguous block.
bool contiguous_block(const Shape& shape, std::span<const std::int64_t> axes, std::int64_t& outer,
                      std::int64_t& reduce, std::int64_t& inner) {
  // Size-1 dims never break contiguity: compare positions ignoring them.
  for (std::size_t i = 1; i < axes.size(); ++i) {
    for (std::int64_t d = axes[i - 1] + 1; d < axes[i]; ++d) {
      if (shape[static_cast<std::size_t>(d)] != 1) return false;
    }
  }
  outer = reduce = inner = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const auto di = static_cast<std::int64_t>(d);
    if (di < axes.front())
      outer *= shape[d];
    else if (di > axes.back())
      inner *= shape[d];
    else
      reduce *= shape[d];
  }
  return true;
}

class ReduceKernel : public NodeKernel {
 public:
  ReduceKernel(const NodeDef& node, ReduceAttrs attrs)
      : NodeKernel(node), attrs_(std::move(attrs)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 1, attrs_.axes_from_input ? 2 : 1);
    require_dtype(node_, inputs[0].dtype,
                  {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kInt8,
                   DType::kUInt8, DType::kUInt32, DType::kUInt64},
                  "data");
    std::optional<std::vector<std::int64_t>> axes = attrs_.axes;
    if (input_info(inputs, 1)) {
      require_dtype(node_, inputs[1].dtype, {DType::kInt64}, "axes");
      const Tensor* value = const_value(inputs, 1);
      if (!value) {
        // Unknown axes: the rank still follows from their count (axes are unique).
        const std::int64_t rank = static_cast<std::int64_t>(inputs[0].shape.size());
        const std::int64_t count = inputs[1].shape.size() == 1 ? inputs[1].shape[0] : -1;
        if (count < 0 || count > rank) {
          throw node_.error(ErrorCode::kInvalidArgument,
                            "axes must be a 1-D tensor of known length");
        }
        std::int64_t out_rank = rank;
        if (!attrs_.keepdims)
          out_rank = count == 0 ? (attrs_.noop_with_empty_axes ? rank : 0) : rank - count;
        return {{inputs[0].dtype, Shape(static_cast<std::size_t>(out_rank), -1), nullptr}};
      }
      axes = tensor_to_ints(node_, *value, "axes");
    }
    const auto rank = static_cast<std::int64_t>(inputs[0].shape.size());
    const auto resolved = resolve_reduce_axes(node_, attrs_, rank, axes);
    return {{inputs[0].dtype, infer_reduce(node_, attrs_, inputs[0].shape, resolved), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& in = *inputs[0];
    std::optional<std::vector<std::int64_t>> axes = attrs_.axes;
    if (const Tensor* t = input_tensor(inputs, 1)) axes = tensor_to_ints(node_, *t, "axes");
    const auto rank = static_cast<std::int64_t>(in.shape().size());
    const auto resolved = resolve_reduce_axes(node_, attrs_, rank, axes);
    ensure_output(*outputs[0], in.dtype(), infer_reduce(node_, attrs_, in.shape(), resolved));
    Tensor& out = *outputs[0];
    if (out.numel() == 0) return;
    if (resolved.empty()) {  // noop_with_empty_axes
      copy_bytes(in, out);
      return;
    }
    std::int64_t outer = 1, reduce = 1, inner = 1;
    const Tensor* src = &in;
    if (!contiguous_block(in.shape(), resolved, outer, reduce, inner)) {
      // Gather kept axes first, reduced axes last.
      std::vector<std::int64_t> dims, strides;
      const auto in_strides = contiguous_strides(in.shape());
      for (int pass = 0; pass < 2; ++pass) {
        for (std::int64_t d = 0; d < rank; ++d) {
          const bool reduced = std::find(resolved.begin(), resolved.end(), d) != resolved.end();
          if (reduced != (pass == 1)) continue;
          dims.push_back(in.shape()[static_cast<std::size_t>(d)]);
          strides.push_back(in_strides[d]);
          (pass == 0 ? outer : reduce) *= dims.back();
        }
      }
      inner = 1;
      if (scratch_.empty() || scratch_.dtype() != in.dtype() || scratch_.shape() != dims) {
        scratch_ = Tensor(in.dtype(), dims);
      }
      strided_copy(in.raw_data(), dtype_size(in.dtype()), dims, strides, scratch_.raw_data(),
                   ctx.num_threads);
      src = &scratch_;
    }
    dispatch<NumericTypes>(in.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* x = src->data<T>();
      T* y = out.data<T>();
      const ReduceOp op = attrs_.op;
      parallel_for(outer * inner,
                   std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(reduce, 1)),
                   ctx.num_threads, [&](std::int64_t begin, std::int64_t end) {
                     for (std::int64_t item = begin; item < end; ++item) {
                       const std::int64_t o = item / inner, i = item % inner;
                       y[item] = reduce_one<T>(op, x + o * reduce * inner + i, reduce, inner);
                     }
                   });
    });
  }

 private:
  ReduceAttrs attrs_;
  Tensor scratch_;
};

class ArgReduceKernel : public NodeKernel {
 public:
  ArgReduceKernel(const NodeDef& node, ArgReduceAttrs attrs) : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 1, 1);
    require_dtype(node_, inputs[0].dtype,
                  {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kInt8,
                   DType::kUInt8},
                  "data");
    return {{DType::kInt64, out_shape(inputs[0].shape), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& in = *inputs[0];
    ensure_output(*outputs[0], DType::kInt64, out_shape(in.shape()));
    const auto rank = static_cast<std::int64_t>(in.shape().size());
    const std::int64_t axis = attrs_.axis < 0 ? attrs_.axis + rank : attrs_.axis;
    std::int64_t outer = 1, reduce = in.shape()[static_cast<std::size_t>(axis)], inner = 1;
    for (std::int64_t d = 0; d < rank; ++d) {
      if (d < axis) outer *= in.shape()[d];
      if (d > axis) inner *= in.shape()[d];
    }
    std::int64_t* y = outputs[0]->data<std::int64_t>();
    dispatch<NumericTypes>(in.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* x = in.data<T>();
      const bool is_max = attrs_.is_max, last = attrs_.select_last_index != 0;
      parallel_for(outer * inner, 256, ctx.num_threads, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t item = begin; item < end; ++item) {
          const T* p = x + (item / inner) * reduce * inner + item % inner;
          std::int64_t best = 0;
          for (std::int64_t r = 1; r < reduce; ++r) {
            const T v = p[r * inner], b = p[best * inner];
            const bool better = is_max ? (last ? v >= b : v > b) : (last ? v <= b : v < b);
            if (better) best = r;
          }
          y[item] = best;
        }
      });
    });
  }

 private:
  Shape out_shape(const Shape& shape) const {
    const auto rank = static_cast<std::int64_t>(shape.size());
    const std::int64_t axis = normalize_axis(node_, attrs_.axis, rank);
    if (shape[static_cast<std::size_t>(axis)] == 0) {
      throw node_.error(ErrorCode::kInvalidArgument,
                        "cannot take the arg-extremum of an empty axis");
    }
    Shape out;
    for (std::int64_t d = 0; d < rank; ++d) {
      if (d != axis)
        out.push_back(shape[static_cast<std::size_t>(d)]);
      else if (attrs_.keepdims)
        out.push_back(1);
    }
    return out;
  }

  ArgReduceAttrs attrs_;
};

}  // namespace

std::vector<std::int64_t> resolve_reduce_axes(
    const NodeDef& node, const ReduceAttrs& attrs, std::int64_t rank,
    const std::optional<std::vector<std::int64_t>>& axes) {
  std::vector<std::int64_t> out;
  if (!axes || axes->empty()) {
    if (attrs.noop_with_empty_axes) return out;
    out.resize(static_cast<std::size_t>(rank));
    std::iota(out.begin(), out.end(), 0);
    return out;
  }
  out = normalize_axes(node, *axes, rank);
  std::sort(out.begin(), out.end());
  return out;
}

Shape infer_reduce(const NodeDef& node, const ReduceAttrs& attrs, const Shape& data_shape,
                   std::span<const std::int64_t> axes) {
  (void)node;
  if (axes.empty()) return data_shape;  // no-op
  Shape out;
  for (std::size_t d = 0; d < data_shape.size(); ++d) {
    const bool reduced =
        std::find(axes.begin(), axes.end(), static_cast<std::int64_t>(d)) != axes.end();
    if (!reduced)
      out.push_back(data_shape[d]);
    else if (attrs.keepdims)
      out.push_back(1);
  }
  return out;
}

void reduce_f32_ref(ReduceOp op, const float* in, std::int64_t outer, std::int64_t reduce,
                    std::int64_t inner, float* out) {
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < inner; ++i) {
      double acc = op == ReduceOp::kProd ? 1.0 : 0.0;
      double best = op == ReduceOp::kMax ? -INFINITY : INFINITY;
      for (std::int64_t r = 0; r < reduce; ++r) {
        const double v = in[(o * reduce + r) * inner + i];
        switch (op) {
          case ReduceOp::kMax:
            best = std::max(best, v);
            break;
          case ReduceOp::kMin:
            best = std::min(best, v);
            break;
          case ReduceOp::kProd:
            acc *= v;
            break;
          case ReduceOp::kL1:
            acc += std::fabs(v);
            break;
          case ReduceOp::kL2:
          case ReduceOp::kSumSquare:
            acc += v * v;
            break;
          case ReduceOp::kLogSumExp:
            acc += std::exp(v);
            break;
          default:
            acc += v;
            break;
        }
      }
      double y = acc;
      if (op == ReduceOp::kMax || op == ReduceOp::kMin) y = best;
      if (op == ReduceOp::kMean) y = acc / static_cast<double>(reduce);
      if (op == ReduceOp::kL2) y = std::sqrt(acc);
      if (op == ReduceOp::kLogSum || op == ReduceOp::kLogSumExp) y = std::log(acc);
      out[o * inner + i] = static_cast<float>(y);
    }
  }
}

std::unique_ptr<Kernel> make_reduce(const NodeDef& node) {
  static const std::pair<const char*, ReduceOp> kNames[] = {
      {"ReduceSum", ReduceOp::kSum},
      {"ReduceMean", ReduceOp::kMean},
      {"ReduceMax", ReduceOp::kMax},
      {"ReduceMin", ReduceOp::kMin},
      {"ReduceProd", ReduceOp::kProd},
      {"ReduceL1", ReduceOp::kL1},
      {"ReduceL2", ReduceOp::kL2},
      {"ReduceLogSum", ReduceOp::kLogSum},
      {"ReduceLogSumExp", ReduceOp::kLogSumExp},
      {"ReduceSumSquare", ReduceOp::kSumSquare},
  };
  ReduceAttrs attrs;
  bool found = false;
  for (const auto& [name, op] : kNames) {
    if (node.op_type == name) {
      attrs.op = op;
      found = true;
    }
  }
  if (!found) throw node.error(ErrorCode::kInternal, "not a reduce op");
  attrs.keepdims = node.attr_int("keepdims", 1);
  attrs.noop_with_empty_axes = node.attr_int("noop_with_empty_axes", 0);
  // Axes moved from attribute to input: ReduceSum at opset 13, the others at 18.
  attrs.axes_from_input = node.opset >= (attrs.op == ReduceOp::kSum ? 13 : 18);
  if (!attrs.axes_from_input && node.has("axes")) attrs.axes = node.attr_ints("axes");
  return std::make_unique<ReduceKernel>(node, std::move(attrs));
}

std::unique_ptr<Kernel> make_arg_reduce(const NodeDef& node) {
  ArgReduceAttrs attrs;
  attrs.is_max = node.op_type == "ArgMax";
  attrs.axis = node.attr_int("axis", 0);
  attrs.keepdims = node.attr_int("keepdims", 1);
  attrs.select_last_index = node.attr_int("select_last_index", 0);
  return std::make_unique<ArgReduceKernel>(node, attrs);
}

}  // namespace qcal::ops
