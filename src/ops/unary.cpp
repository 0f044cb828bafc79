// Unary elementwise ops: one parallel map per op with the op chosen outside the loop; Sigmoid
// uses a vectorisable polynomial exp compiled for AVX-512/AVX2/baseline (picked at load time).
#include "ops/unary.hpp"

#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/exp_poly.hpp"
#include "ops/op_util.hpp"

namespace qcal::ops {

float exp_poly_f32(float x) { return exp_poly_inline(x); }

__attribute__((target_clones("avx512f", "avx2", "default"))) void sigmoid_f32(const float* in,
                                                                              float* out,
                                                                              std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    // NaN stays NaN: the clamps keep it and the arithmetic propagates it.
    out[i] = 1.0f / (1.0f + exp_poly_inline(-in[i]));
  }
}

namespace {

template <typename T>
T sign_of(T v) {
  if constexpr (std::is_unsigned_v<T>) {
    return v > 0 ? T{1} : T{0};
  } else {
    return v > 0 ? T{1} : (v < 0 ? T{-1} : T{0});
  }
}

// Float-to-integer casts: NaN gives 0 and out-of-range values saturate, so the conversion is never
// undefined behaviour (ONNX leaves these cases unspecified).
template <typename To, typename From>
To cast_value(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != From{0};
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (!(v == v)) return To{0};
    const double d = static_cast<double>(v);
    if (d <= static_cast<double>(std::numeric_limits<To>::lowest())) {
      return std::numeric_limits<To>::lowest();
    }
    if (d >= static_cast<double>(std::numeric_limits<To>::max())) {
      return std::numeric_limits<To>::max();
    }
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

float gelu_one(float x, bool tanh_approx) {
  if (tanh_approx) {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), computed in double then rounded once.
    const double xd = x;
    return static_cast<float>(
        0.5 * xd * (1.0 + std::tanh(0.7978845608028654 * (xd + 0.044715 * xd * xd * xd))));
  }
  return static_cast<float>(0.5 * static_cast<double>(x) *
                            (1.0 + std::erf(static_cast<double>(x) * 0.7071067811865476)));
}

// Applies fn to every element, in parallel static chunks; float to float maps also fill the
// scans `req` asks for (parallel_for_minmax).
template <typename T, typename R, typename Fn>
void map_elements(const T* in, R* out, std::int64_t count, int num_threads, MinMaxRequest* req,
                  const Fn& fn) {
  const auto body = [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) out[i] = fn(in[i]);
  };
  if constexpr (std::is_same_v<T, float> && std::is_same_v<R, float>) {
    parallel_for_minmax(count, kElementwiseGrain, num_threads, req, in, out, body);
  } else {
    parallel_for(count, kElementwiseGrain, num_threads, body);
  }
}

template <typename T, typename R, typename Fn>
void map_elements(const T* in, R* out, std::int64_t count, int num_threads, const Fn& fn) {
  map_elements(in, out, count, num_threads, nullptr, fn);
}

// Sigmoid on type T. For float, when the input is scanned anyway and all finite, the output's
// min/max is sigmoid_f32 of the input's: the kernel is monotone non-decreasing over every float
// (checked over all 2^32 inputs; ops test SigmoidF32.MonotoneOverEveryFloat sweeps them) and never
// yields a zero, so one scan instead of two, the same bits. Otherwise the output is scanned.
template <typename T>
void run_sigmoid(const T* in, T* out, std::int64_t n, int threads, MinMaxRequest* req) {
  if constexpr (std::is_same_v<T, float>) {
    const bool derive = req != nullptr && req->want_input && req->want_output;
    MinMaxRequest input_only;
    if (derive) input_only.want_input = true;
    parallel_for_minmax(n, kElementwiseGrain, threads, derive ? &input_only : req, in, out,
                        [&](std::int64_t begin, std::int64_t end) {
                          sigmoid_f32(in + begin, out + begin, end - begin);
                        });
    if (derive && input_only.input_done) {
      req->input = input_only.input;
      req->input_done = true;
      if (input_only.input.all_finite) {
        const float ends[2] = {input_only.input.min, input_only.input.max};
        float mapped[2];
        sigmoid_f32(ends, mapped, 2);
        req->output = {mapped[0], mapped[1], true};
        req->output_done = true;
      }
    }
  } else {
    map_elements(in, out, n, threads, req, [](T x) { return T{1} / (T{1} + std::exp(-x)); });
  }
}

// Float ops on type T (float or double), op chosen outside the loop.
template <typename T>
void run_float_unary(const UnaryAttrs& a, const T* in, T* out, std::int64_t n, int threads,
                     T clip_min, T clip_max, MinMaxRequest* req) {
  const T alpha = static_cast<T>(a.alpha), beta = static_cast<T>(a.beta);
  const T gamma = static_cast<T>(a.gamma);
  switch (a.op) {
    case UnaryOp::kAbs:
      map_elements(in, out, n, threads, req, [](T x) { return std::abs(x); });
      break;
    case UnaryOp::kNeg:
      map_elements(in, out, n, threads, req, [](T x) { return -x; });
      break;
    case UnaryOp::kReciprocal:
      map_elements(in, out, n, threads, req, [](T x) { return T{1} / x; });
      break;
    case UnaryOp::kSqrt:
      map_elements(in, out, n, threads, req, [](T x) { return std::sqrt(x); });
      break;
    case UnaryOp::kExp:
      map_elements(in, out, n, threads, req, [](T x) { return std::exp(x); });
      break;
    case UnaryOp::kLog:
      map_elements(in, out, n, threads, req, [](T x) { return std::log(x); });
      break;
    case UnaryOp::kFloor:
      map_elements(in, out, n, threads, req, [](T x) { return std::floor(x); });
      break;
    case UnaryOp::kCeil:
      map_elements(in, out, n, threads, req, [](T x) { return std::ceil(x); });
      break;
    case UnaryOp::kRound:
      // Round half to even: nearbyint under the default rounding mode.
      map_elements(in, out, n, threads, req, [](T x) { return std::nearbyint(x); });
      break;
    case UnaryOp::kErf:
      map_elements(in, out, n, threads, req, [](T x) { return std::erf(x); });
      break;
    case UnaryOp::kSigmoid:
      run_sigmoid(in, out, n, threads, req);
      break;
    case UnaryOp::kTanh:
      map_elements(in, out, n, threads, req, [](T x) { return std::tanh(x); });
      break;
    case UnaryOp::kRelu:
      map_elements(in, out, n, threads, req, [](T x) { return x > T{0} ? x : T{0}; });
      break;
    case UnaryOp::kLeakyRelu:
      map_elements(in, out, n, threads, req, [=](T x) { return x < T{0} ? alpha * x : x; });
      break;
    case UnaryOp::kClip:
      // max then min: when min > max every output is max (ONNX Clip-13).
      map_elements(in, out, n, threads, req, [=](T x) {
        const T lo = x < clip_min ? clip_min : x;
        return lo > clip_max ? clip_max : lo;
      });
      break;
    case UnaryOp::kHardSigmoid:
      map_elements(in, out, n, threads, req, [=](T x) {
        const T y = alpha * x + beta;
        return y < T{0} ? T{0} : (y > T{1} ? T{1} : y);
      });
      break;
    case UnaryOp::kHardSwish:
      // x * max(0, min(1, x/6 + 0.5)); alpha = 1/6 as in the spec.
      map_elements(in, out, n, threads, req, [](T x) {
        const T y = x * static_cast<T>(1.0 / 6.0) + static_cast<T>(0.5);
        return x * (y < T{0} ? T{0} : (y > T{1} ? T{1} : y));
      });
      break;
    case UnaryOp::kElu:
      map_elements(in, out, n, threads, req,
                   [=](T x) { return x < T{0} ? alpha * (std::exp(x) - T{1}) : x; });
      break;
    case UnaryOp::kSelu:
      map_elements(in, out, n, threads, req, [=](T x) {
        return x <= T{0} ? gamma * (alpha * std::exp(x) - alpha) : gamma * x;
      });
      break;
    case UnaryOp::kCelu:
      map_elements(in, out, n, threads, req, [=](T x) {
        return (x > T{0} ? x : T{0}) + std::min(T{0}, alpha * (std::exp(x / alpha) - T{1}));
      });
      break;
    case UnaryOp::kSoftplus:
      // log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
      map_elements(in, out, n, threads, req,
                   [](T x) { return (x > T{0} ? x : T{0}) + std::log1p(std::exp(-std::abs(x))); });
      break;
    case UnaryOp::kSoftsign:
      map_elements(in, out, n, threads, req, [](T x) { return x / (T{1} + std::abs(x)); });
      break;
    case UnaryOp::kMish:
      map_elements(in, out, n, threads, req, [](T x) {
        const T softplus = (x > T{0} ? x : T{0}) + std::log1p(std::exp(-std::abs(x)));
        return x * std::tanh(softplus);
      });
      break;
    case UnaryOp::kThresholdedRelu:
      map_elements(in, out, n, threads, req, [=](T x) { return x > alpha ? x : T{0}; });
      break;
    case UnaryOp::kGelu: {
      const bool tanh_approx = a.approximate == "tanh";
      map_elements(in, out, n, threads, req, [=](T x) {
        return static_cast<T>(gelu_one(static_cast<float>(x), tanh_approx));
      });
      break;
    }
    case UnaryOp::kSign:
      map_elements(in, out, n, threads, req, [](T x) { return sign_of(x); });
      break;
    case UnaryOp::kSin:
      map_elements(in, out, n, threads, req, [](T x) { return std::sin(x); });
      break;
    case UnaryOp::kCos:
      map_elements(in, out, n, threads, req, [](T x) { return std::cos(x); });
      break;
    case UnaryOp::kNot:
    case UnaryOp::kCast:
      break;  // handled by the caller
  }
}

// Integer-capable ops (Abs, Neg, Sign, Relu, Clip) on integer types.
template <typename T>
void run_int_unary(const UnaryAttrs& a, const T* in, T* out, std::int64_t n, int threads,
                   T clip_min, T clip_max) {
  switch (a.op) {
    case UnaryOp::kAbs:
      map_elements(in, out, n, threads, [](T x) {
        if constexpr (std::is_signed_v<T>) {
          return static_cast<T>(x < 0 ? static_cast<T>(-static_cast<std::make_unsigned_t<T>>(x))
                                      : x);
        } else {
          return x;
        }
      });
      break;
    case UnaryOp::kNeg:
      map_elements(in, out, n, threads, [](T x) {
        return static_cast<T>(-static_cast<std::make_unsigned_t<T>>(x));  // wraps, never UB
      });
      break;
    case UnaryOp::kSign:
      map_elements(in, out, n, threads, [](T x) { return sign_of(x); });
      break;
    case UnaryOp::kRelu:
      map_elements(in, out, n, threads, [](T x) { return x > T{0} ? x : T{0}; });
      break;
    case UnaryOp::kClip:
      map_elements(in, out, n, threads, [=](T x) {
        const T lo = x < clip_min ? clip_min : x;
        return lo > clip_max ? clip_max : lo;
      });
      break;
    default:
      break;  // rejected by infer
  }
}

bool op_takes_ints(UnaryOp op) {
  return op == UnaryOp::kAbs || op == UnaryOp::kNeg || op == UnaryOp::kSign ||
         op == UnaryOp::kRelu || op == UnaryOp::kClip;
}

class UnaryKernel : public NodeKernel {
 public:
  UnaryKernel(const NodeDef& node, UnaryAttrs attrs) : NodeKernel(node), attrs_(std::move(attrs)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    if (attrs_.cast_like && inputs.size() == 2) attrs_.to = inputs[1].dtype;
    return infer_unary(node_, attrs_, inputs);
  }

  // Float32 maps scan their input and output block by block (map_elements).
  MinMaxSupport minmax_support(std::span<const TensorInfo> inputs) const override {
    const bool ok = attrs_.op != UnaryOp::kCast && attrs_.op != UnaryOp::kNot && !inputs.empty() &&
                    inputs[0].dtype == DType::kFloat32;
    return {ok, ok};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& in = *inputs[0];
    Tensor& out = *outputs[0];
    const DType out_dtype = attrs_.op == UnaryOp::kCast ? attrs_.to : in.dtype();
    ensure_output(out, out_dtype, in.shape());
    const std::int64_t n = in.numel();
    const int threads = ctx.num_threads;
    if (attrs_.op == UnaryOp::kCast) {
      dispatch<AllTypes>(in.dtype(), [&](auto from_tag) {
        using From = decltype(from_tag);
        dispatch<AllTypes>(out_dtype, [&](auto to_tag) {
          using To = decltype(to_tag);
          if constexpr (std::is_same_v<From, To>) {
            copy_bytes(in, out);
          } else {
            map_elements(in.data<From>(), out.data<To>(), n, threads,
                         [](From x) { return cast_value<To>(x); });
          }
        });
      });
      return;
    }
    if (attrs_.op == UnaryOp::kNot) {
      map_elements(in.data<bool>(), out.data<bool>(), n, threads, [](bool x) { return !x; });
      return;
    }
    dispatch<NumericTypes>(in.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T clip_min = std::numeric_limits<T>::lowest();
      T clip_max = std::numeric_limits<T>::max();
      if (attrs_.op == UnaryOp::kClip) {
        if (attrs_.clip_inputs) {
          const Tensor* lo = input_tensor(inputs, 1);
          const Tensor* hi = input_tensor(inputs, 2);
          if (lo) clip_min = *lo->data<T>();
          if (hi) clip_max = *hi->data<T>();
        } else if constexpr (std::is_floating_point_v<T>) {
          clip_min = static_cast<T>(attrs_.min);
          clip_max = static_cast<T>(attrs_.max);
        }
      }
      if constexpr (std::is_floating_point_v<T>) {
        run_float_unary<T>(attrs_, in.data<T>(), out.data<T>(), n, threads, clip_min, clip_max,
                           ctx.minmax);
      } else {
        run_int_unary<T>(attrs_, in.data<T>(), out.data<T>(), n, threads, clip_min, clip_max);
      }
    });
  }

 private:
  UnaryAttrs attrs_;
};

}  // namespace

DType dtype_from_onnx(const NodeDef& node, std::int64_t onnx_type) {
  switch (onnx_type) {
    case 1:
      return DType::kFloat32;
    case 2:
      return DType::kUInt8;
    case 3:
      return DType::kInt8;
    case 4:
      return DType::kUInt16;
    case 5:
      return DType::kInt16;
    case 6:
      return DType::kInt32;
    case 7:
      return DType::kInt64;
    case 9:
      return DType::kBool;
    case 11:
      return DType::kFloat64;
    case 12:
      return DType::kUInt32;
    case 13:
      return DType::kUInt64;
    default:
      throw node.error(ErrorCode::kUnsupported,
                       "ONNX data type " + std::to_string(onnx_type) +
                           " is not supported (float16, bfloat16, string and float8 are not)");
  }
}

UnaryAttrs parse_unary_attrs(const NodeDef& node) {
  static const std::pair<const char*, UnaryOp> kNames[] = {
      {"Abs", UnaryOp::kAbs},
      {"Neg", UnaryOp::kNeg},
      {"Reciprocal", UnaryOp::kReciprocal},
      {"Sqrt", UnaryOp::kSqrt},
      {"Exp", UnaryOp::kExp},
      {"Log", UnaryOp::kLog},
      {"Floor", UnaryOp::kFloor},
      {"Ceil", UnaryOp::kCeil},
      {"Round", UnaryOp::kRound},
      {"Erf", UnaryOp::kErf},
      {"Sigmoid", UnaryOp::kSigmoid},
      {"Tanh", UnaryOp::kTanh},
      {"Relu", UnaryOp::kRelu},
      {"LeakyRelu", UnaryOp::kLeakyRelu},
      {"Clip", UnaryOp::kClip},
      {"HardSigmoid", UnaryOp::kHardSigmoid},
      {"HardSwish", UnaryOp::kHardSwish},
      {"Elu", UnaryOp::kElu},
      {"Selu", UnaryOp::kSelu},
      {"Celu", UnaryOp::kCelu},
      {"Softplus", UnaryOp::kSoftplus},
      {"Softsign", UnaryOp::kSoftsign},
      {"Mish", UnaryOp::kMish},
      {"ThresholdedRelu", UnaryOp::kThresholdedRelu},
      {"Gelu", UnaryOp::kGelu},
      {"Sign", UnaryOp::kSign},
      {"Sin", UnaryOp::kSin},
      {"Cos", UnaryOp::kCos},
      {"Not", UnaryOp::kNot},
      {"Cast", UnaryOp::kCast},
      {"CastLike", UnaryOp::kCast},
  };
  UnaryAttrs attrs;
  bool found = false;
  for (const auto& [name, op] : kNames) {
    if (node.op_type == name) {
      attrs.op = op;
      found = true;
    }
  }
  if (!found) throw node.error(ErrorCode::kInternal, "not a unary op");
  switch (attrs.op) {
    case UnaryOp::kLeakyRelu:
      attrs.alpha = node.attr_float("alpha", 0.01f);
      break;
    case UnaryOp::kElu:
    case UnaryOp::kCelu:
    case UnaryOp::kThresholdedRelu:
      attrs.alpha = node.attr_float("alpha", 1.0f);
      break;
    case UnaryOp::kHardSigmoid:
      attrs.alpha = node.attr_float("alpha", 0.2f);
      attrs.beta = node.attr_float("beta", 0.5f);
      break;
    case UnaryOp::kSelu:
      attrs.alpha = node.attr_float("alpha", 1.67326319217681884765625f);
      attrs.gamma = node.attr_float("gamma", 1.05070102214813232421875f);
      break;
    case UnaryOp::kClip:
      attrs.clip_inputs = node.opset >= 11;
      attrs.min = node.attr_float("min", -std::numeric_limits<float>::infinity());
      attrs.max = node.attr_float("max", std::numeric_limits<float>::infinity());
      break;
    case UnaryOp::kGelu:
      attrs.approximate = node.attr_string("approximate", "none");
      if (attrs.approximate != "none" && attrs.approximate != "tanh") {
        throw node.error(ErrorCode::kInvalidArgument,
                         "approximate must be 'none' or 'tanh', got '" + attrs.approximate + "'");
      }
      break;
    case UnaryOp::kCast:
      attrs.cast_like = node.op_type == "CastLike";
      if (!attrs.cast_like) attrs.to = dtype_from_onnx(node, node.require_int("to"));
      break;
    default:
      break;
  }
  if (attrs.op == UnaryOp::kCelu && attrs.alpha == 0.0f) {
    throw node.error(ErrorCode::kInvalidArgument, "Celu alpha must be non-zero");
  }
  return attrs;
}

std::vector<TensorInfo> infer_unary(const NodeDef& node, const UnaryAttrs& attrs,
                                    std::span<const TensorInfo> inputs) {
  if (attrs.op == UnaryOp::kClip && attrs.clip_inputs) {
    require_inputs(node, inputs, 1, 3);
    for (std::size_t i = 1; i < inputs.size(); ++i) {
      if (inputs[i].dtype == DType::kUndefined) continue;
      if (inputs[i].dtype != inputs[0].dtype) {
        throw node.error(ErrorCode::kInvalidArgument, std::string(i == 1 ? "min" : "max") +
                                                          " must have the input's dtype " +
                                                          std::string(dtype_name(inputs[0].dtype)));
      }
      if (shape_known(inputs[i].shape) && known_numel(inputs[i].shape) != 1) {
        throw node.error(ErrorCode::kInvalidArgument, std::string(i == 1 ? "min" : "max") +
                                                          " must be a scalar, got shape " +
                                                          shape_to_string(inputs[i].shape));
      }
    }
  } else if (attrs.cast_like) {
    require_inputs(node, inputs, 2, 2);
  } else {
    require_inputs(node, inputs, 1, 1);
  }
  const DType dt = inputs[0].dtype;
  DType out_dtype = dt;
  if (attrs.op == UnaryOp::kCast) {
    require_dtype(node, dt,
                  {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kInt8,
                   DType::kUInt8, DType::kInt16, DType::kUInt16, DType::kUInt32, DType::kUInt64,
                   DType::kBool},
                  "input");
    if (attrs.cast_like) {
      require_dtype(node, attrs.to,
                    {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kInt8,
                     DType::kUInt8, DType::kInt16, DType::kUInt16, DType::kUInt32, DType::kUInt64,
                     DType::kBool},
                    "target_type");
    }
    out_dtype = attrs.to;
  } else if (attrs.op == UnaryOp::kNot) {
    require_dtype(node, dt, {DType::kBool}, "input");
  } else if (op_takes_ints(attrs.op)) {
    require_dtype(node, dt,
                  {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kInt8,
                   DType::kUInt8, DType::kInt16, DType::kUInt16, DType::kUInt32, DType::kUInt64},
                  "input");
  } else {
    require_dtype(node, dt, {DType::kFloat32, DType::kFloat64}, "input");
  }
  return {TensorInfo{out_dtype, inputs[0].shape, nullptr}};
}

void unary_f32_ref(const UnaryAttrs& attrs, const float* in, float* out, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    const double x = in[i];
    double y = 0.0;
    switch (attrs.op) {
      case UnaryOp::kAbs:
        y = std::fabs(x);
        break;
      case UnaryOp::kNeg:
        y = -x;
        break;
      case UnaryOp::kReciprocal:
        y = 1.0 / x;
        break;
      case UnaryOp::kSqrt:
        y = std::sqrt(x);
        break;
      case UnaryOp::kExp:
        y = std::exp(x);
        break;
      case UnaryOp::kLog:
        y = std::log(x);
        break;
      case UnaryOp::kFloor:
        y = std::floor(x);
        break;
      case UnaryOp::kCeil:
        y = std::ceil(x);
        break;
      case UnaryOp::kRound:
        y = std::nearbyint(x);
        break;
      case UnaryOp::kErf:
        y = std::erf(x);
        break;
      case UnaryOp::kSigmoid:
        y = 1.0 / (1.0 + std::exp(-x));
        break;
      case UnaryOp::kTanh:
        y = std::tanh(x);
        break;
      case UnaryOp::kRelu:
        y = x > 0 ? x : 0;
        break;
      case UnaryOp::kLeakyRelu:
        y = x < 0 ? attrs.alpha * x : x;
        break;
      case UnaryOp::kClip:
        y = std::min<double>(std::max<double>(x, attrs.min), attrs.max);
        break;
      case UnaryOp::kHardSigmoid:
        y = std::clamp(static_cast<double>(attrs.alpha) * x + attrs.beta, 0.0, 1.0);
        break;
      case UnaryOp::kHardSwish:
        y = x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0);
        break;
      case UnaryOp::kElu:
        y = x < 0 ? attrs.alpha * (std::exp(x) - 1.0) : x;
        break;
      case UnaryOp::kSelu:
        y = x <= 0 ? attrs.gamma * (attrs.alpha * std::exp(x) - attrs.alpha) : attrs.gamma * x;
        break;
      case UnaryOp::kCelu:
        y = std::max(0.0, x) + std::min(0.0, attrs.alpha * (std::exp(x / attrs.alpha) - 1.0));
        break;
      case UnaryOp::kSoftplus:
        y = std::log(1.0 + std::exp(x));
        break;
      case UnaryOp::kSoftsign:
        y = x / (1.0 + std::fabs(x));
        break;
      case UnaryOp::kMish:
        y = x * std::tanh(std::log(1.0 + std::exp(x)));
        break;
      case UnaryOp::kThresholdedRelu:
        y = x > attrs.alpha ? x : 0.0;
        break;
      case UnaryOp::kGelu:
        y = attrs.approximate == "tanh"
                ? 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
                : 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
        break;
      case UnaryOp::kSign:
        y = x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
        break;
      case UnaryOp::kSin:
        y = std::sin(x);
        break;
      case UnaryOp::kCos:
        y = std::cos(x);
        break;
      case UnaryOp::kNot:
        y = x == 0.0 ? 1.0 : 0.0;
        break;
      case UnaryOp::kCast:
        y = x;
        break;
    }
    out[i] = static_cast<float>(y);
  }
}

std::unique_ptr<Kernel> make_unary(const NodeDef& node) {
  return std::make_unique<UnaryKernel>(node, parse_unary_attrs(node));
}

}  // namespace qcal::ops
