// Pooling (see pool.hpp). Each (batch, channel) plane is pooled by one thread; windows are clipped
// to the input once per output row/column, so the inner loops carry no padding tests.
#include "ops/pool.hpp"

#include <cmath>
#include <limits>

#include "core/checked.hpp"
#include "ops/op_util.hpp"

namespace qcal::ops {
namespace {

// Window of output index o along one dim: input range [lo, hi) (clipped) and, for
// count_include_pad, the window size clipped to the padded extent.
struct Window {
  std::int64_t lo, hi, padded_count;
};

inline Window window_of(const PoolGeometry& g, int d, std::int64_t o) {
  const std::int64_t start = o * g.stride[d] - g.pad_begin[d];
  const std::int64_t extent = (g.kernel[d] - 1) * g.dilation[d] + 1;
  const std::int64_t end = start + extent;
  Window w{};
  w.padded_count =
      (std::min(end, g.in[d] + g.pad_end[d]) - start + g.dilation[d] - 1) / g.dilation[d];
  // First and one-past-last valid taps inside [0, in).
  std::int64_t first = start;
  if (first < 0) first += ((-first + g.dilation[d] - 1) / g.dilation[d]) * g.dilation[d];
  std::int64_t last = std::min(end, g.in[d]);
  w.lo = first;
  w.hi = std::max(first, last);
  return w;
}

template <typename T>
void pool_plane(const PoolAttrs& attrs, const PoolGeometry& g, const T* in, T* out,
                std::int64_t* indices, std::int64_t index_base) {
  const std::int64_t in_hw = g.in[1] * g.in[2];
  for (std::int64_t od = 0; od < g.out[0]; ++od) {
    const Window wd = window_of(g, 0, od);
    for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
      const Window wh = window_of(g, 1, oh);
      for (std::int64_t ow = 0; ow < g.out[2]; ++ow) {
        const Window ww = window_of(g, 2, ow);
        const std::int64_t o = (od * g.out[1] + oh) * g.out[2] + ow;
        if (attrs.is_max && !indices) {
          // Branch-free max (the compare is unpredictable); NaN inputs are skipped like ORT's.
          T best = std::numeric_limits<T>::lowest();
          for (std::int64_t d = wd.lo; d < wd.hi; d += g.dilation[0]) {
            for (std::int64_t h = wh.lo; h < wh.hi; h += g.dilation[1]) {
              const T* row = in + d * in_hw + h * g.in[2];
              for (std::int64_t w = ww.lo; w < ww.hi; w += g.dilation[2])
                best = row[w] > best ? row[w] : best;
            }
          }
          out[o] = best;
        } else if (attrs.is_max) {
          T best = std::numeric_limits<T>::lowest();
          std::int64_t best_index = -1;
          for (std::int64_t d = wd.lo; d < wd.hi; d += g.dilation[0]) {
            for (std::int64_t h = wh.lo; h < wh.hi; h += g.dilation[1]) {
              const T* row = in + d * in_hw + h * g.in[2];
              for (std::int64_t w = ww.lo; w < ww.hi; w += g.dilation[2]) {
                if (row[w] > best || best_index < 0) {
                  best = row[w];
                  best_index = d * in_hw + h * g.in[2] + w;
                }
              }
            }
          }
          out[o] = best;
          if (indices) {
            std::int64_t idx = best_index < 0 ? 0 : best_index;
            if (attrs.storage_order == 1 && best_index >= 0) {
              // Column-major position within the plane: the first spatial dim varies fastest.
              const std::int64_t d = best_index / in_hw, h = (best_index / g.in[2]) % g.in[1],
                                 w = best_index % g.in[2];
              if (g.spatial == 1)
                idx = w;
              else if (g.spatial == 2)
                idx = h + w * g.in[1];
              else
                idx = d + h * g.in[0] + w * g.in[0] * g.in[1];
            }
            indices[o] = index_base + idx;
          }
        } else {
          double sum = 0.0;
          std::int64_t count = 0;
          for (std::int64_t d = wd.lo; d < wd.hi; d += g.dilation[0]) {
            for (std::int64_t h = wh.lo; h < wh.hi; h += g.dilation[1]) {
              const T* row = in + d * in_hw + h * g.in[2];
              for (std::int64_t w = ww.lo; w < ww.hi; w += g.dilation[2]) {
                sum += static_cast<double>(row[w]);
                ++count;
              }
            }
          }
          const std::int64_t divisor =
              attrs.count_include_pad ? wd.padded_count * wh.padded_count * ww.padded_count : count;
          out[o] = divisor > 0 ? static_cast<T>(sum / static_cast<double>(divisor)) : T{0};
        }
      }
    }
  }
}

class PoolKernel : public NodeKernel {
 public:
  PoolKernel(const NodeDef& node, PoolAttrs attrs) : NodeKernel(node), attrs_(std::move(attrs)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 1, 1);
    if (attrs_.is_max) {
      require_dtype(node_, inputs[0].dtype,
                    {DType::kFloat32, DType::kFloat64, DType::kInt8, DType::kUInt8}, "input");
    } else {
      require_dtype(node_, inputs[0].dtype, {DType::kFloat32, DType::kFloat64}, "input");
    }
    if (!shape_known(inputs[0].shape)) {
      throw node_.error(ErrorCode::kUnsupported, "pooling needs a known input shape");
    }
    const PoolGeometry g = infer_pool(node_, attrs_, inputs[0].shape);
    const Shape out = pool_output_shape(g);
    std::vector<TensorInfo> result{{inputs[0].dtype, out, nullptr}};
    if (node_.outputs.size() > 1) {
      if (!attrs_.is_max) throw node_.error(ErrorCode::kFormat, "AveragePool has one output");
      result.push_back({DType::kInt64, out, nullptr});
    }
    return result;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& x = *inputs[0];
    const PoolGeometry g = infer_pool(node_, attrs_, x.shape());
    const Shape out_shape = pool_output_shape(g);
    ensure_output(*outputs[0], x.dtype(), out_shape);
    std::int64_t* indices = nullptr;
    if (outputs.size() > 1 && outputs[1]) {
      ensure_output(*outputs[1], DType::kInt64, out_shape);
      indices = outputs[1]->data<std::int64_t>();
    }
    const std::int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
    const std::int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
    dispatch<TypeList<float, double, std::int8_t, std::uint8_t>>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* py = outputs[0]->data<T>();
      parallel_for(g.batch * g.channels, 1, ctx.num_threads,
                   [&](std::int64_t begin, std::int64_t end) {
                     for (std::int64_t p = begin; p < end; ++p) {
                       pool_plane<T>(attrs_, g, px + p * in_plane, py + p * out_plane,
                                     indices ? indices + p * out_plane : nullptr, p * in_plane);
                     }
                   });
    });
  }

 private:
  PoolAttrs attrs_;
};

class GlobalPoolKernel : public NodeKernel {
 public:
  GlobalPoolKernel(const NodeDef& node, bool is_max) : NodeKernel(node), is_max_(is_max) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 1, 1);
    require_dtype(node_, inputs[0].dtype, {DType::kFloat32}, "input");
    if (inputs[0].shape.size() < 2) {
      throw node_.error(ErrorCode::kInvalidArgument, "input must have rank >= 2 (N, C, ...)");
    }
    return {{DType::kFloat32, out_shape(inputs[0].shape), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& x = *inputs[0];
    ensure_output(*outputs[0], DType::kFloat32, out_shape(x.shape()));
    const std::int64_t planes = x.shape()[0] * x.shape()[1];
    const std::int64_t size = planes ? x.numel() / planes : 0;
    const float* px = x.data<float>();
    float* py = outputs[0]->data<float>();
    parallel_for(planes, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(size, 1)),
                 ctx.num_threads, [&](std::int64_t begin, std::int64_t end) {
                   for (std::int64_t p = begin; p < end; ++p) {
                     const float* v = px + p * size;
                     if (is_max_) {
                       float best = -std::numeric_limits<float>::infinity();
                       for (std::int64_t i = 0; i < size; ++i) best = v[i] > best ? v[i] : best;
                       py[p] = best;
                     } else {
                       double sum = 0.0;  // double: planes of 10^4..10^5 values
                       for (std::int64_t i = 0; i < size; ++i) sum += v[i];
                       py[p] = static_cast<float>(sum / static_cast<double>(size));
                     }
                   }
                 });
  }

 private:
  static Shape out_shape(const Shape& s) {
    Shape out = s;
    for (std::size_t d = 2; d < out.size(); ++d) out[d] = 1;
    return out;
  }
  bool is_max_;
};

}  // namespace

PoolGeometry infer_pool(const NodeDef& node, const PoolAttrs& attrs, const Shape& shape) {
  const auto k = static_cast<std::int64_t>(attrs.kernel_shape.size());
  if (k < 1 || k > 3) {
    throw node.error(ErrorCode::kUnsupported,
                     "kernel_shape must have 1 to 3 dims, got " + std::to_string(k));
  }
  if (static_cast<std::int64_t>(shape.size()) != k + 2) {
    throw node.error(ErrorCode::kInvalidArgument,
                     "input " + shape_to_string(shape) + " does not match kernel_shape of " +
                         std::to_string(k) + " dims (expected N, C and " + std::to_string(k) +
                         " spatial dims)");
  }
  auto check_len = [&](const std::vector<std::int64_t>& v, std::size_t n, const char* name) {
    if (!v.empty() && v.size() != n) {
      throw node.error(ErrorCode::kInvalidArgument, std::string(name) + " has " +
                                                        std::to_string(v.size()) +
                                                        " values, expected " + std::to_string(n));
    }
  };
  check_len(attrs.strides, static_cast<std::size_t>(k), "strides");
  check_len(attrs.dilations, static_cast<std::size_t>(k), "dilations");
  check_len(attrs.pads, static_cast<std::size_t>(2 * k), "pads");
  PoolGeometry g;
  g.spatial = static_cast<int>(k);
  g.batch = shape[0];
  g.channels = shape[1];
  const int offset = 3 - g.spatial;  // spatial dims right-aligned in the 3-slot arrays
  for (int i = 0; i < g.spatial; ++i) {
    const int d = offset + i;
    g.in[d] = shape[static_cast<std::size_t>(2 + i)];
    g.kernel[d] = attrs.kernel_shape[static_cast<std::size_t>(i)];
    g.stride[d] = attrs.strides.empty() ? 1 : attrs.strides[static_cast<std::size_t>(i)];
    g.dilation[d] = attrs.dilations.empty() ? 1 : attrs.dilations[static_cast<std::size_t>(i)];
    if (g.kernel[d] < 1 || g.stride[d] < 1 || g.dilation[d] < 1) {
      throw node.error(ErrorCode::kInvalidArgument,
                       "kernel_shape, strides and dilations must be >= 1");
    }
    const std::int64_t extent = (g.kernel[d] - 1) * g.dilation[d] + 1;
    if (attrs.auto_pad == "SAME_UPPER" || attrs.auto_pad == "SAME_LOWER") {
      g.out[d] = (g.in[d] + g.stride[d] - 1) / g.stride[d];
      const std::int64_t total =
          std::max<std::int64_t>(0, (g.out[d] - 1) * g.stride[d] + extent - g.in[d]);
      g.pad_begin[d] = attrs.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pad_end[d] = total - g.pad_begin[d];
    } else {
      if (attrs.auto_pad == "NOTSET" && !attrs.pads.empty()) {
        g.pad_begin[d] = attrs.pads[static_cast<std::size_t>(i)];
        g.pad_end[d] = attrs.pads[static_cast<std::size_t>(i + k)];
        if (g.pad_begin[d] < 0 || g.pad_end[d] < 0) {
          throw node.error(ErrorCode::kInvalidArgument, "pads must be >= 0");
        }
      }
      const std::int64_t span = g.in[d] + g.pad_begin[d] + g.pad_end[d] - extent;
      if (span < 0) {
        throw node.error(ErrorCode::kInvalidArgument, "kernel (extent " + std::to_string(extent) +
                                                          ") is larger than the padded input " +
                                                          shape_to_string(shape));
      }
      g.out[d] =
          (attrs.ceil_mode ? (span + g.stride[d] - 1) / g.stride[d] : span / g.stride[d]) + 1;
      // ceil_mode: a last window that would start in the end padding is dropped.
      if (attrs.ceil_mode && (g.out[d] - 1) * g.stride[d] >= g.in[d] + g.pad_begin[d]) --g.out[d];
    }
    if (g.kernel[d] > 0 && (g.pad_begin[d] >= extent || g.pad_end[d] >= extent) &&
        attrs.auto_pad == "NOTSET") {
      throw node.error(ErrorCode::kInvalidArgument, "pads must be smaller than the kernel");
    }
  }
  if (attrs.auto_pad != "NOTSET" && attrs.auto_pad != "SAME_UPPER" &&
      attrs.auto_pad != "SAME_LOWER" && attrs.auto_pad != "VALID") {
    throw node.error(ErrorCode::kInvalidArgument, "unknown auto_pad '" + attrs.auto_pad + "'");
  }
  checked_numel(pool_output_shape(g), "pool output");
  return g;
}

Shape pool_output_shape(const PoolGeometry& g) {
  Shape out{g.batch, g.channels};
  for (int i = 3 - g.spatial; i < 3; ++i) out.push_back(g.out[i]);
  return out;
}

void pool_f32_ref(const PoolAttrs& attrs, const PoolGeometry& g, const float* in, float* out) {
  const std::int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const std::int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
  for (std::int64_t p = 0; p < g.batch * g.channels; ++p) {
    for (std::int64_t o = 0; o < out_plane; ++o) {
      const std::int64_t out_w = o % g.out[2], out_h = (o / g.out[2]) % g.out[1],
                         out_d = o / (g.out[1] * g.out[2]);
      const std::int64_t out_pos[3] = {out_d, out_h, out_w};
      double sum = 0.0, best = -INFINITY;
      std::int64_t count = 0, padded = 1;
      for (int d = 0; d < 3; ++d) {
        const std::int64_t start = out_pos[d] * g.stride[d] - g.pad_begin[d];
        const std::int64_t end =
            std::min(start + (g.kernel[d] - 1) * g.dilation[d] + 1, g.in[d] + g.pad_end[d]);
        padded *= (end - start + g.dilation[d] - 1) / g.dilation[d];
      }
      for (std::int64_t kd = 0; kd < g.kernel[0]; ++kd) {
        for (std::int64_t kh = 0; kh < g.kernel[1]; ++kh) {
          for (std::int64_t kw = 0; kw < g.kernel[2]; ++kw) {
            const std::int64_t in_d = out_d * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
            const std::int64_t in_h = out_h * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
            const std::int64_t in_w = out_w * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
            if (in_d < 0 || in_d >= g.in[0] || in_h < 0 || in_h >= g.in[1] || in_w < 0 ||
                in_w >= g.in[2])
              continue;
            const double v = in[p * in_plane + (in_d * g.in[1] + in_h) * g.in[2] + in_w];
            sum += v;
            best = std::max(best, v);
            ++count;
          }
        }
      }
      out[p * out_plane + o] = static_cast<float>(
          attrs.is_max ? best
                       : sum / static_cast<double>(attrs.count_include_pad ? padded : count));
    }
  }
}

std::unique_ptr<Kernel> make_pool(const NodeDef& node) {
  PoolAttrs attrs;
  attrs.is_max = node.op_type == "MaxPool";
  attrs.auto_pad = node.attr_string("auto_pad", "NOTSET");
  attrs.kernel_shape = node.require_ints("kernel_shape");
  attrs.strides = node.attr_ints("strides");
  attrs.pads = node.attr_ints("pads");
  attrs.dilations = node.attr_ints("dilations");
  attrs.ceil_mode = node.attr_int("ceil_mode", 0);
  attrs.count_include_pad = node.attr_int("count_include_pad", 0);
  attrs.storage_order = node.attr_int("storage_order", 0);
  return std::make_unique<PoolKernel>(node, std::move(attrs));
}

std::unique_ptr<Kernel> make_global_pool(const NodeDef& node) {
  return std::make_unique<GlobalPoolKernel>(node, node.op_type == "GlobalMaxPool");
}

}  // namespace qcal::ops
