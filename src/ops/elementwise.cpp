// Elementwise binary/variadic ops and Where: numpy broadcasting through a merged strided plan,
// contiguous inner loops (same-shape, scalar and row broadcast) that the compiler vectorises.
#include "ops/elementwise.hpp"

#include <cmath>
#include <type_traits>

#include "ops/op_util.hpp"

namespace qcal::ops {
namespace {

constexpr bool is_comparison(BinaryOp op) {
  return op == BinaryOp::kEqual || op == BinaryOp::kLess || op == BinaryOp::kGreater ||
         op == BinaryOp::kLessOrEqual || op == BinaryOp::kGreaterOrEqual;
}
constexpr bool is_logical(BinaryOp op) {
  return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kXor;
}

// Integer division and modulo never trap: division by zero gives 0 (ONNX leaves it undefined),
// and the most negative value divided by -1 wraps.
template <typename T>
T int_div(T a, T b) {
  if (b == 0) return T{0};
  if constexpr (std::is_signed_v<T>) {
    if (b == T{-1}) return static_cast<T>(-static_cast<std::make_unsigned_t<T>>(a));
  }
  return static_cast<T>(a / b);
}

template <typename T>
T int_mod(T a, T b, bool fmod) {
  if (b == 0) return T{0};
  if constexpr (std::is_signed_v<T>) {
    if (b == T{-1}) return T{0};
    T r = static_cast<T>(a % b);
    // fmod=0: the result takes the divisor's sign (numpy/Python); fmod=1: the dividend's (C).
    if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
    return r;
  } else {
    return static_cast<T>(a % b);
  }
}

template <BinaryOp kOp, typename T>
inline auto apply_binary(T a, T b, bool fmod) {
  if constexpr (kOp == BinaryOp::kEqual)
    return a == b;
  else if constexpr (kOp == BinaryOp::kLess)
    return a < b;
  else if constexpr (kOp == BinaryOp::kGreater)
    return a > b;
  else if constexpr (kOp == BinaryOp::kLessOrEqual)
    return a <= b;
  else if constexpr (kOp == BinaryOp::kGreaterOrEqual)
    return a >= b;
  else if constexpr (kOp == BinaryOp::kAnd)
    return static_cast<bool>(a && b);
  else if constexpr (kOp == BinaryOp::kOr)
    return static_cast<bool>(a || b);
  else if constexpr (kOp == BinaryOp::kXor)
    return static_cast<bool>(static_cast<bool>(a) != static_cast<bool>(b));
  else if constexpr (std::is_same_v<T, bool>)
    return a;  // never reached: infer rejects bool
  else if constexpr (kOp == BinaryOp::kAdd)
    return static_cast<T>(a + b);
  else if constexpr (kOp == BinaryOp::kSub)
    return static_cast<T>(a - b);
  else if constexpr (kOp == BinaryOp::kMul)
    return static_cast<T>(a * b);
  else if constexpr (kOp == BinaryOp::kDiv) {
    if constexpr (std::is_floating_point_v<T>)
      return static_cast<T>(a / b);
    else
      return int_div(a, b);
  } else if constexpr (kOp == BinaryOp::kMod) {
    if constexpr (std::is_floating_point_v<T>)
      return static_cast<T>(std::fmod(a, b));
    else
      return int_mod(a, b, fmod);
  } else if constexpr (kOp == BinaryOp::kPRelu) {
    return a < T{0} ? static_cast<T>(a * b) : a;
  } else if constexpr (kOp == BinaryOp::kMin) {
    // NaN propagates (numpy.minimum), written branch-free so the loop vectorises.
    if constexpr (std::is_floating_point_v<T>)
      return (a != a || a < b) ? a : b;
    else
      return a < b ? a : b;
  } else if constexpr (kOp == BinaryOp::kMax) {
    if constexpr (std::is_floating_point_v<T>)
      return (a != a || a > b) ? a : b;
    else
      return a > b ? a : b;
  } else {
    static_assert(kOp != kOp, "Pow is handled separately");
  }
}

// Contiguous run of n output elements: operand strides are 0 (broadcast) or 1.
template <BinaryOp kOp, typename T, typename R>
inline void binary_row(const T* a, std::int64_t sa, const T* b, std::int64_t sb, R* out,
                       std::int64_t n, bool fmod) {
  if (sa && sb) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = apply_binary<kOp>(a[i], b[i], fmod);
  } else if (sa) {
    const T bv = *b;
    for (std::int64_t i = 0; i < n; ++i) out[i] = apply_binary<kOp>(a[i], bv, fmod);
  } else if (sb) {
    const T av = *a;
    for (std::int64_t i = 0; i < n; ++i) out[i] = apply_binary<kOp>(av, b[i], fmod);
  } else {
    const R v = apply_binary<kOp>(*a, *b, fmod);
    for (std::int64_t i = 0; i < n; ++i) out[i] = v;
  }
}

// parallel_for, and for float32 outputs the scan of the output when `req` asks for it.
template <typename R, typename Body>
void parallel_for_out(std::int64_t n, int num_threads, MinMaxRequest* req, const R* out,
                      const Body& body) {
  if constexpr (std::is_same_v<R, float>) {
    parallel_for_minmax(n, kElementwiseGrain, num_threads, req, nullptr, out, body);
  } else {
    parallel_for(n, kElementwiseGrain, num_threads, body);
  }
}

template <BinaryOp kOp, typename T, typename R>
void binary_typed(const T* a, std::span<const std::int64_t> a_shape, const T* b,
                  std::span<const std::int64_t> b_shape, R* out,
                  std::span<const std::int64_t> out_shape, bool fmod, int num_threads,
                  MinMaxRequest* req) {
  const std::int64_t total = known_numel(out_shape);
  const std::span<const std::int64_t> shapes[] = {a_shape, b_shape};
  const BroadcastPlan plan = make_broadcast_plan(out_shape, shapes);
  const std::int64_t sa = plan.strides[0][plan.rank - 1];
  const std::int64_t sb = plan.strides[1][plan.rank - 1];
  if (plan.rank == 1) {
    // Whole tensor is one run: split it across threads directly.
    parallel_for_out(total, num_threads, req, out, [&](std::int64_t begin, std::int64_t end) {
      binary_row<kOp>(a + begin * sa, sa, b + begin * sb, sb, out + begin, end - begin, fmod);
    });
    return;
  }
  parallel_for_out(total, num_threads, req, out, [&](std::int64_t begin, std::int64_t end) {
    walk_rows<2>(plan, begin, end,
                 [&](const std::array<std::int64_t, 2>& off, std::int64_t o, std::int64_t n) {
                   binary_row<kOp>(a + off[0], sa, b + off[1], sb, out + o, n, fmod);
                 });
  });
}

// Pow: base and exponent may differ in type (opset 12+); computed in double for integer bases
// and in float for float bases, with x*x for the common exponent 2.
template <typename T, typename E>
void pow_typed(const T* a, std::span<const std::int64_t> a_shape, const E* b,
               std::span<const std::int64_t> b_shape, T* out,
               std::span<const std::int64_t> out_shape, int num_threads) {
  const std::int64_t total = known_numel(out_shape);
  const std::span<const std::int64_t> shapes[] = {a_shape, b_shape};
  const BroadcastPlan plan = make_broadcast_plan(out_shape, shapes);
  const std::int64_t sa = plan.strides[0][plan.rank - 1];
  const std::int64_t sb = plan.strides[1][plan.rank - 1];
  auto one = [](T x, E e) -> T {
    if constexpr (std::is_same_v<T, float>) {
      return std::pow(x, static_cast<float>(e));
    } else {
      return static_cast<T>(std::pow(static_cast<double>(x), static_cast<double>(e)));
    }
  };
  parallel_for(total, kElementwiseGrain, num_threads, [&](std::int64_t begin, std::int64_t end) {
    walk_rows<2>(plan, begin, end,
                 [&](const std::array<std::int64_t, 2>& off, std::int64_t o, std::int64_t n) {
                   const T* pa = a + off[0];
                   const E* pb = b + off[1];
                   T* po = out + o;
                   if (!sb && static_cast<double>(*pb) == 2.0) {
                     for (std::int64_t i = 0; i < n; ++i)
                       po[i] = static_cast<T>(pa[i * sa] * pa[i * sa]);
                   } else {
                     for (std::int64_t i = 0; i < n; ++i) po[i] = one(pa[i * sa], pb[i * sb]);
                   }
                 });
  });
}

template <BinaryOp kOp>
bool binary_dispatch(DType dtype, const Tensor& a, const Tensor& b, Tensor& out, bool fmod,
                     int num_threads, MinMaxRequest* req) {
  return dispatch<AllTypes>(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_comparison(kOp) || is_logical(kOp)) {
      binary_typed<kOp>(a.data<T>(), a.shape(), b.data<T>(), b.shape(), out.data<bool>(),
                        out.shape(), fmod, num_threads, nullptr);
    } else {
      binary_typed<kOp>(a.data<T>(), a.shape(), b.data<T>(), b.shape(), out.data<T>(), out.shape(),
                        fmod, num_threads, req);
    }
  });
}

// `req`: the output's scan, for float32 outputs of every op but Pow (MinMaxRequest).
void run_binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out, bool fmod,
                int num_threads, MinMaxRequest* req = nullptr) {
  const DType dt = a.dtype();
  switch (op) {
    case BinaryOp::kAdd:
      binary_dispatch<BinaryOp::kAdd>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kSub:
      binary_dispatch<BinaryOp::kSub>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kMul:
      binary_dispatch<BinaryOp::kMul>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kDiv:
      binary_dispatch<BinaryOp::kDiv>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kMod:
      binary_dispatch<BinaryOp::kMod>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kMin:
      binary_dispatch<BinaryOp::kMin>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kMax:
      binary_dispatch<BinaryOp::kMax>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kEqual:
      binary_dispatch<BinaryOp::kEqual>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kLess:
      binary_dispatch<BinaryOp::kLess>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kGreater:
      binary_dispatch<BinaryOp::kGreater>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kLessOrEqual:
      binary_dispatch<BinaryOp::kLessOrEqual>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kGreaterOrEqual:
      binary_dispatch<BinaryOp::kGreaterOrEqual>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kAnd:
      binary_dispatch<BinaryOp::kAnd>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kOr:
      binary_dispatch<BinaryOp::kOr>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kXor:
      binary_dispatch<BinaryOp::kXor>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kPRelu:
      binary_dispatch<BinaryOp::kPRelu>(dt, a, b, out, fmod, num_threads, req);
      break;
    case BinaryOp::kPow:
      dispatch<NumericTypes>(a.dtype(), [&](auto base_tag) {
        using T = decltype(base_tag);
        dispatch<NumericTypes>(b.dtype(), [&](auto exp_tag) {
          using E = decltype(exp_tag);
          pow_typed(a.data<T>(), a.shape(), b.data<E>(), b.shape(), out.data<T>(), out.shape(),
                    num_threads);
        });
      });
      break;
  }
}

class BinaryKernel : public NodeKernel {
 public:
  BinaryKernel(const NodeDef& node, BinaryAttrs attrs) : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    return infer_binary(node_, attrs_, inputs);
  }

  // Float32 results are scanned block by block as they are written (run_binary; for the
  // variadic forms, by the last pass), except Pow's, Mean's and a one-input variadic's.
  MinMaxSupport minmax_support(std::span<const TensorInfo> inputs) const override {
    const bool one_pass = !attrs_.variadic || (inputs.size() >= 2 && !attrs_.mean);
    const bool ok = one_pass && attrs_.op != BinaryOp::kPow && !is_comparison(attrs_.op) &&
                    !is_logical(attrs_.op) && !inputs.empty() && inputs[0].dtype == DType::kFloat32;
    return {ok, false};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    Tensor& out = *outputs[0];
    const DType out_dtype =
        is_comparison(attrs_.op) || is_logical(attrs_.op) ? DType::kBool : inputs[0]->dtype();
    if (out.empty()) {
      std::vector<Shape> shapes;
      for (const Tensor* t : inputs) shapes.push_back(t->shape());
      out = Tensor(out_dtype, broadcast_shapes(node_, shapes));
    }
    if (out.numel() == 0) return;
    if (!attrs_.variadic) {
      run_binary(attrs_.op, *inputs[0], *inputs[1], out, attrs_.fmod != 0, ctx.num_threads,
                 ctx.minmax);
      return;
    }
    // Variadic: out = in0 broadcast, then out = op(out, in_k) in input order.
    const BinaryOp step = attrs_.mean ? BinaryOp::kAdd : attrs_.op;
    if (inputs.size() == 2 && inputs[0]->shape() == out.shape()) {
      run_binary(step, *inputs[0], *inputs[1], out, false, ctx.num_threads,
                 attrs_.mean ? nullptr : ctx.minmax);
    } else {
      broadcast_copy(*inputs[0], out, ctx.num_threads);
      for (std::size_t k = 1; k < inputs.size(); ++k) {
        // The last pass writes every output element: its scan is the output's.
        const bool last = k + 1 == inputs.size() && !attrs_.mean;
        run_binary(step, out, *inputs[k], out, false, ctx.num_threads, last ? ctx.minmax : nullptr);
      }
    }
    if (attrs_.mean) {
      dispatch<FloatTypes>(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T inv_count = T{1} / static_cast<T>(inputs.size());
        T* data = out.data<T>();
        // Multiplying by 1/N (not dividing by N): one rounding less cheap; within 1 ulp of numpy.
        for (std::int64_t i = 0; i < out.numel(); ++i) data[i] = data[i] * inv_count;
      });
    }
  }

 private:
  BinaryAttrs attrs_;
};

class WhereKernel : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    return infer_where(node_, inputs);
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& cond = *inputs[0];
    const Tensor& x = *inputs[1];
    const Tensor& y = *inputs[2];
    Tensor& out = *outputs[0];
    if (out.empty()) {
      const Shape shapes[] = {cond.shape(), x.shape(), y.shape()};
      out = Tensor(x.dtype(), broadcast_shapes(node_, shapes));
    }
    if (out.numel() == 0) return;
    const std::span<const std::int64_t> spans[] = {cond.shape(), x.shape(), y.shape()};
    const BroadcastPlan plan = make_broadcast_plan(out.shape(), spans);
    dispatch<AllTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const bool* c = cond.data<bool>();
      const T* px = x.data<T>();
      const T* py = y.data<T>();
      T* po = out.data<T>();
      const std::int64_t sc = plan.strides[0][plan.rank - 1];
      const std::int64_t sx = plan.strides[1][plan.rank - 1];
      const std::int64_t sy = plan.strides[2][plan.rank - 1];
      parallel_for(
          out.numel(), kElementwiseGrain, ctx.num_threads,
          [&](std::int64_t begin, std::int64_t end) {
            walk_rows<3>(
                plan, begin, end,
                [&](const std::array<std::int64_t, 3>& off, std::int64_t o, std::int64_t n) {
                  for (std::int64_t i = 0; i < n; ++i) {
                    po[o + i] = c[off[0] + i * sc] ? px[off[1] + i * sx] : py[off[2] + i * sy];
                  }
                });
          });
    });
  }
};

}  // namespace

BinaryAttrs parse_binary_attrs(const NodeDef& node) {
  static const std::pair<const char*, BinaryOp> kNames[] = {
      {"Add", BinaryOp::kAdd},
      {"Sub", BinaryOp::kSub},
      {"Mul", BinaryOp::kMul},
      {"Div", BinaryOp::kDiv},
      {"Pow", BinaryOp::kPow},
      {"Mod", BinaryOp::kMod},
      {"Min", BinaryOp::kMin},
      {"Max", BinaryOp::kMax},
      {"Sum", BinaryOp::kAdd},
      {"Mean", BinaryOp::kAdd},
      {"Equal", BinaryOp::kEqual},
      {"Less", BinaryOp::kLess},
      {"Greater", BinaryOp::kGreater},
      {"LessOrEqual", BinaryOp::kLessOrEqual},
      {"GreaterOrEqual", BinaryOp::kGreaterOrEqual},
      {"And", BinaryOp::kAnd},
      {"Or", BinaryOp::kOr},
      {"Xor", BinaryOp::kXor},
      {"PRelu", BinaryOp::kPRelu},
  };
  BinaryAttrs attrs;
  bool found = false;
  for (const auto& [name, op] : kNames) {
    if (node.op_type == name) {
      attrs.op = op;
      found = true;
    }
  }
  if (!found) throw node.error(ErrorCode::kInternal, "not an elementwise binary op");
  attrs.variadic = node.op_type == "Sum" || node.op_type == "Mean" || node.op_type == "Min" ||
                   node.op_type == "Max";
  attrs.mean = node.op_type == "Mean";
  attrs.fmod = node.attr_int("fmod", 0);
  if (attrs.fmod != 0 && attrs.fmod != 1) {
    throw node.error(ErrorCode::kInvalidArgument, "fmod must be 0 or 1");
  }
  if (node.has("broadcast") || node.has("axis")) {
    throw node.error(ErrorCode::kUnsupported,
                     "legacy 'broadcast'/'axis' attributes (opset < 7) are not supported");
  }
  return attrs;
}

std::vector<TensorInfo> infer_binary(const NodeDef& node, const BinaryAttrs& attrs,
                                     std::span<const TensorInfo> inputs) {
  if (attrs.variadic) {
    require_inputs(node, inputs, 1, 64);
    for (std::size_t i = 1; i < inputs.size(); ++i) {
      if (inputs[i].dtype == DType::kUndefined) {
        throw node.error(ErrorCode::kFormat, "input " + std::to_string(i) + " is missing");
      }
    }
  } else {
    require_inputs(node, inputs, 2, 2);
  }
  const DType dt = inputs[0].dtype;
  if (is_logical(attrs.op)) {
    require_dtype(node, dt, {DType::kBool}, "input");
  } else if (attrs.op == BinaryOp::kEqual) {
    require_dtype(node, dt,
                  {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kInt8,
                   DType::kUInt8, DType::kInt16, DType::kUInt16, DType::kUInt32, DType::kUInt64,
                   DType::kBool},
                  "input");
  } else {
    require_dtype(node, dt,
                  {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kInt8,
                   DType::kUInt8, DType::kInt16, DType::kUInt16, DType::kUInt32, DType::kUInt64},
                  "input");
  }
  if (attrs.mean) require_dtype(node, dt, {DType::kFloat32, DType::kFloat64}, "input");
  if (attrs.op == BinaryOp::kMod && (dt == DType::kFloat32 || dt == DType::kFloat64) &&
      attrs.fmod == 0) {
    throw node.error(ErrorCode::kInvalidArgument, "Mod on floating-point inputs requires fmod=1");
  }
  for (std::size_t i = 1; i < inputs.size(); ++i) {
    if (attrs.op == BinaryOp::kPow) {
      require_dtype(node, inputs[i].dtype,
                    {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kInt8,
                     DType::kUInt8, DType::kInt16, DType::kUInt16, DType::kUInt32, DType::kUInt64},
                    "exponent");
    } else if (inputs[i].dtype != dt) {
      throw node.error(ErrorCode::kInvalidArgument,
                       "input dtypes differ: " + std::string(dtype_name(dt)) + " and " +
                           std::string(dtype_name(inputs[i].dtype)));
    }
  }
  std::vector<Shape> shapes;
  for (const auto& in : inputs) shapes.push_back(in.shape);
  const DType out_dtype = is_comparison(attrs.op) || is_logical(attrs.op) ? DType::kBool : dt;
  Shape out_shape = broadcast_shapes(node, shapes);
  if (attrs.op == BinaryOp::kPRelu && out_shape != inputs[0].shape) {
    throw node.error(ErrorCode::kInvalidArgument,
                     "slope of shape " + shape_to_string(inputs[1].shape) +
                         " does not broadcast to X of shape " + shape_to_string(inputs[0].shape));
  }
  return {TensorInfo{out_dtype, std::move(out_shape), nullptr}};
}

void binary_f32_ref(BinaryOp op, const float* a, std::span<const std::int64_t> a_shape,
                    const float* b, std::span<const std::int64_t> b_shape, float* out,
                    std::span<const std::int64_t> out_shape) {
  const std::size_t rank = out_shape.size();
  std::int64_t total = 1;
  for (std::int64_t d : out_shape) total *= d;
  for (std::int64_t flat = 0; flat < total; ++flat) {
    // Output coordinates, then each operand's index with broadcast dims pinned to 0.
    std::int64_t a_index = 0, b_index = 0, rest = flat;
    std::int64_t a_stride = 1, b_stride = 1;
    for (std::size_t axis = rank; axis-- > 0;) {
      const std::int64_t coord = rest % out_shape[axis];
      rest /= out_shape[axis];
      const std::size_t a_off = rank - a_shape.size();
      if (axis >= a_off) {
        const std::int64_t dim = a_shape[axis - a_off];
        a_index += (dim == 1 ? 0 : coord) * a_stride;
        a_stride *= dim;
      }
      const std::size_t b_off = rank - b_shape.size();
      if (axis >= b_off) {
        const std::int64_t dim = b_shape[axis - b_off];
        b_index += (dim == 1 ? 0 : coord) * b_stride;
        b_stride *= dim;
      }
    }
    const float x = a[a_index], y = b[b_index];
    float r = 0.0f;
    switch (op) {
      case BinaryOp::kAdd:
        r = x + y;
        break;
      case BinaryOp::kSub:
        r = x - y;
        break;
      case BinaryOp::kMul:
        r = x * y;
        break;
      case BinaryOp::kDiv:
        r = x / y;
        break;
      case BinaryOp::kPow:
        r = std::pow(x, y);
        break;
      case BinaryOp::kMod:
        r = std::fmod(x, y);
        break;
      case BinaryOp::kMin:
        r = std::isnan(x) || x < y ? x : y;
        break;
      case BinaryOp::kMax:
        r = std::isnan(x) || x > y ? x : y;
        break;
      case BinaryOp::kEqual:
        r = x == y;
        break;
      case BinaryOp::kLess:
        r = x < y;
        break;
      case BinaryOp::kGreater:
        r = x > y;
        break;
      case BinaryOp::kLessOrEqual:
        r = x <= y;
        break;
      case BinaryOp::kGreaterOrEqual:
        r = x >= y;
        break;
      case BinaryOp::kAnd:
        r = (x != 0.0f) && (y != 0.0f);
        break;
      case BinaryOp::kOr:
        r = (x != 0.0f) || (y != 0.0f);
        break;
      case BinaryOp::kXor:
        r = (x != 0.0f) != (y != 0.0f);
        break;
      case BinaryOp::kPRelu:
        r = x < 0.0f ? x * y : x;
        break;
    }
    out[flat] = r;
  }
}

std::unique_ptr<Kernel> make_binary(const NodeDef& node) {
  return std::make_unique<BinaryKernel>(node, parse_binary_attrs(node));
}

std::vector<TensorInfo> infer_where(const NodeDef& node, std::span<const TensorInfo> inputs) {
  require_inputs(node, inputs, 3, 3);
  require_dtype(node, inputs[0].dtype, {DType::kBool}, "condition");
  if (inputs[1].dtype != inputs[2].dtype) {
    throw node.error(ErrorCode::kInvalidArgument,
                     "X and Y dtypes differ: " + std::string(dtype_name(inputs[1].dtype)) +
                         " and " + std::string(dtype_name(inputs[2].dtype)));
  }
  if (inputs[1].dtype == DType::kFloat16) {
    throw node.error(ErrorCode::kUnsupported, "float16 is not supported");
  }
  const Shape shapes[] = {inputs[0].shape, inputs[1].shape, inputs[2].shape};
  return {TensorInfo{inputs[1].dtype, broadcast_shapes(node, shapes), nullptr}};
}

std::unique_ptr<Kernel> make_where(const NodeDef& node) {
  return std::make_unique<WhereKernel>(node);
}

}  // namespace qcal::ops
