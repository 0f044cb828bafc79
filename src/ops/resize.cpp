// Resize and Upsample (see resize.hpp). Every mode reduces to per-dim tap tables (source index,
// weight): nearest has one tap, linear two, cubic four; zero-weight taps are dropped, so dims
// that are not resized cost nothing. Output rows combine the outer dims' taps once per row and
// the innermost dim's taps per element.
#include "ops/resize.hpp"

#include <cmath>
#include <cstring>

#include "core/checked.hpp"
#include "ops/op_util.hpp"

namespace qcal::ops {
namespace {

struct Tap {
  std::int64_t index;
  float weight;
};
// Taps of one output index along one dim; count 0 means "outside" (extrapolation_value).
struct TapSet {
  std::array<Tap, 4> taps{};
  int count = 0;
};

bool simple_nearest(const ResizeAttrs& attrs, const NodeDef& node) {
  return attrs.is_upsample || node.opset < 11;
}

std::int64_t round_nearest(const std::string& mode, double x, bool simple, bool downsample) {
  if (simple) return static_cast<std::int64_t>(downsample ? std::ceil(x) : std::floor(x));
  if (mode == "round_prefer_ceil") return static_cast<std::int64_t>(std::floor(x + 0.5));
  if (mode == "floor") return static_cast<std::int64_t>(std::floor(x));
  if (mode == "ceil") return static_cast<std::int64_t>(std::ceil(x));
  return static_cast<std::int64_t>(std::ceil(x - 0.5));  // round_prefer_floor
}

void build_taps(const NodeDef& node, const ResizeAttrs& attrs, std::int64_t in_len,
                std::int64_t out_len, double scale, double roi_start, double roi_end,
                std::vector<TapSet>& table) {
  table.assign(static_cast<std::size_t>(out_len), TapSet{});
  const bool crop = attrs.coordinate_transformation_mode == "tf_crop_and_resize";
  const bool simple = simple_nearest(attrs, node);
  for (std::int64_t o = 0; o < out_len; ++o) {
    TapSet& set = table[static_cast<std::size_t>(o)];
    const double x = resize_source_coordinate(attrs, static_cast<double>(o), scale, in_len, out_len,
                                              roi_start, roi_end);
    if (crop && (x < 0.0 || x > static_cast<double>(in_len - 1))) continue;  // outside
    auto add = [&](std::int64_t index, double weight) {
      if (weight == 0.0) return;
      set.taps[static_cast<std::size_t>(set.count++)] = {index, static_cast<float>(weight)};
    };
    if (attrs.mode == "nearest") {
      const std::int64_t i = round_nearest(attrs.nearest_mode, x, simple, scale < 1.0);
      add(std::clamp<std::int64_t>(i, 0, in_len - 1), 1.0);
    } else if (attrs.mode == "linear") {
      const double xc = std::clamp(x, 0.0, static_cast<double>(in_len - 1));
      const auto x0 = static_cast<std::int64_t>(std::floor(xc));
      const std::int64_t x1 = std::min(x0 + 1, in_len - 1);
      const double w1 = xc - static_cast<double>(x0);
      if (x1 == x0) {
        add(x0, 1.0);
      } else {
        add(x0, 1.0 - w1);
        add(x1, w1);
      }
      if (set.count == 0) add(x0, 1.0);
    } else {  // cubic
      const double a = attrs.cubic_coeff_a;
      const auto x0 = static_cast<std::int64_t>(std::floor(x));
      const double t = x - static_cast<double>(x0);
      const double s1 = t + 1.0, s2 = 1.0 - t, s3 = 2.0 - t;
      const double w[4] = {
          ((a * s1 - 5 * a) * s1 + 8 * a) * s1 - 4 * a, ((a + 2) * t - (a + 3)) * t * t + 1,
          ((a + 2) * s2 - (a + 3)) * s2 * s2 + 1, ((a * s3 - 5 * a) * s3 + 8 * a) * s3 - 4 * a};
      double total = 0.0;
      for (int k = 0; k < 4; ++k) {
        const std::int64_t i = x0 - 1 + k;
        if (attrs.exclude_outside && (i < 0 || i >= in_len)) continue;
        total += w[k];
      }
      // exclude_outside: taps outside the input get weight 0 and the rest are renormalised.
      const double norm = attrs.exclude_outside && total != 0.0 ? total : 1.0;
      // Merge taps that clamp onto the same index so the set stays at 4 entries.
      for (int k = 0; k < 4; ++k) {
        const std::int64_t i = x0 - 1 + k;
        if (attrs.exclude_outside && (i < 0 || i >= in_len)) continue;
        const std::int64_t ci = std::clamp<std::int64_t>(i, 0, in_len - 1);
        const double wk = w[k] / norm;
        bool merged = false;
        for (int j = 0; j < set.count; ++j) {
          if (set.taps[static_cast<std::size_t>(j)].index == ci) {
            set.taps[static_cast<std::size_t>(j)].weight += static_cast<float>(wk);
            merged = true;
          }
        }
        if (!merged) add(ci, wk);
      }
      if (set.count == 0) add(std::clamp<std::int64_t>(x0, 0, in_len - 1), 1.0);
    }
  }
}

// The plan for a node's scales/sizes/roi, wherever its opset and op type keep them.
ResizePlan plan_resize(const NodeDef& node, const ResizeAttrs& attrs, const Shape& shape,
                       const std::function<const Tensor*(std::size_t)>& get) {
  if (attrs.is_upsample) {
    if (node.opset >= 9) return infer_resize(node, attrs, shape, nullptr, get(1), nullptr);
    const Tensor scales = Tensor::from_values<float>(
        {static_cast<std::int64_t>(attrs.upsample_scales.size())}, attrs.upsample_scales);
    return infer_resize(node, attrs, shape, nullptr, &scales, nullptr);
  }
  if (node.opset < 11) return infer_resize(node, attrs, shape, nullptr, get(1), nullptr);
  return infer_resize(node, attrs, shape, get(1), get(2), get(3));
}

class ResizeKernel : public NodeKernel {
 public:
  ResizeKernel(const NodeDef& node, ResizeAttrs attrs)
      : NodeKernel(node), attrs_(std::move(attrs)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    const std::size_t max_inputs =
        attrs_.is_upsample ? (node_.opset >= 9 ? 2 : 1) : (node_.opset >= 11 ? 4 : 2);
    require_inputs(node_, inputs, max_inputs >= 2 && node_.opset < 11 ? max_inputs : 1, max_inputs);
    require_dtype(node_, inputs[0].dtype, {DType::kFloat32}, "X");
    if (!shape_known(inputs[0].shape)) {
      throw node_.error(ErrorCode::kUnsupported, "Resize needs a known input shape");
    }
    bool known = true;
    for (std::size_t i = 1; i < inputs.size(); ++i) {
      if (input_info(inputs, i) && !inputs[i].value) known = false;
    }
    if (!known) return {{DType::kFloat32, Shape(inputs[0].shape.size(), -1), nullptr}};
    const ResizePlan plan = plan_for(inputs[0].shape, [&](std::size_t i) {
      const TensorInfo* info = input_info(inputs, i);
      return info ? info->value : nullptr;
    });
    return {{DType::kFloat32, plan.out_shape, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& x = *inputs[0];
    const ResizePlan plan =
        plan_for(x.shape(), [&](std::size_t i) { return input_tensor(inputs, i); });
    ensure_output(*outputs[0], DType::kFloat32, plan.out_shape);
    Tensor& y = *outputs[0];
    if (y.numel() == 0) return;
    const std::size_t rank = x.shape().size();
    tables_.resize(rank);
    for (std::size_t d = 0; d < rank; ++d) {
      build_taps(node_, attrs_, x.shape()[d], plan.out_shape[d], plan.scales[d],
                 plan.roi_start.empty() ? 0.0 : plan.roi_start[d],
                 plan.roi_end.empty() ? 1.0 : plan.roi_end[d], tables_[d]);
    }
    run_tables(x, y, ctx.num_threads);
  }

 private:
  template <typename Get>
  ResizePlan plan_for(const Shape& shape, const Get& get) const {
    return plan_resize(node_, attrs_, shape, get);
  }

  void run_tables(const Tensor& x, Tensor& y, int num_threads) {
    const auto rank = static_cast<int>(x.shape().size());
    const std::int64_t width = y.shape()[static_cast<std::size_t>(rank - 1)];
    const bool inner_nearest = build_inner_index(width, rank);
    if (inner_nearest && rank >= 2 && planar_nearest(x.shape(), y.shape())) {
      run_planar_nearest(x, y, num_threads);
      return;
    }
    run_general(x, y, inner_nearest, num_threads);
  }

  // Nearest along the inner dim: a plain index table, so rows are a gather without weights.
  // Fills inner_index_ and says whether every inner tap set is one tap of weight 1.
  bool build_inner_index(std::int64_t width, int rank) {
    const auto& inner_table = tables_[static_cast<std::size_t>(rank - 1)];
    bool inner_nearest = true;
    inner_index_.resize(static_cast<std::size_t>(width));
    for (std::int64_t o = 0; o < width; ++o) {
      const TapSet& set = inner_table[static_cast<std::size_t>(o)];
      inner_nearest = inner_nearest && set.count == 1 && set.taps[0].weight == 1.0f;
      inner_index_[static_cast<std::size_t>(o)] = set.count ? set.taps[0].index : 0;
    }
    return inner_nearest;
  }

  // Fast path (YOLO-style upsampling): every dim before the last two is untouched and the last
  // two are nearest (the inner one checked by build_inner_index), so a row is (plane, y) with one
  // division and a gather or a row copy. Needs rank >= 2.
  bool planar_nearest(const Shape& in_shape, const Shape& out_shape) const {
    const auto rank = static_cast<int>(in_shape.size());
    bool planar = true;
    for (int d = 0; d < rank - 2 && planar; ++d) {
      planar = in_shape[static_cast<std::size_t>(d)] == out_shape[static_cast<std::size_t>(d)];
      for (std::int64_t o = 0; o < out_shape[static_cast<std::size_t>(d)] && planar; ++o) {
        const TapSet& set = tables_[static_cast<std::size_t>(d)][static_cast<std::size_t>(o)];
        planar = set.count == 1 && set.taps[0].index == o && set.taps[0].weight == 1.0f;
      }
    }
    if (planar) {
      const auto& y_table = tables_[static_cast<std::size_t>(rank - 2)];
      for (const TapSet& set : y_table) {
        planar = planar && set.count == 1 && set.taps[0].weight == 1.0f;
      }
    }
    return planar;
  }

  void run_planar_nearest(const Tensor& x, Tensor& y, int num_threads) const {
    const Shape& in_shape = x.shape();
    const Shape& out_shape = y.shape();
    const auto rank = static_cast<int>(in_shape.size());
    const std::int64_t width = out_shape[static_cast<std::size_t>(rank - 1)];
    const std::int64_t rows = y.numel() / width;
    const float* px = x.data<float>();
    float* py = y.data<float>();
    const std::int64_t* inner_index = inner_index_.data();
    const std::int64_t out_h = out_shape[static_cast<std::size_t>(rank - 2)];
    const std::int64_t in_w = in_shape[static_cast<std::size_t>(rank - 1)];
    const std::int64_t in_plane = in_w * in_shape[static_cast<std::size_t>(rank - 2)];
    const auto& y_table = tables_[static_cast<std::size_t>(rank - 2)];
    parallel_for(
        rows, std::max<std::int64_t>(1, 8192 / width), num_threads,
        [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t row = begin; row < end; ++row) {
            const std::int64_t plane = row / out_h, out_y = row % out_h;
            const std::int64_t src_y = y_table[static_cast<std::size_t>(out_y)].taps[0].index;
            float* dst = py + row * width;
            if (out_y > 0 && row > begin &&
                y_table[static_cast<std::size_t>(out_y - 1)].taps[0].index == src_y) {
              std::memcpy(dst, dst - width, static_cast<std::size_t>(width) * sizeof(float));
              continue;
            }
            const float* src = px + plane * in_plane + src_y * in_w;
            for (std::int64_t o = 0; o < width; ++o) dst[o] = src[inner_index[o]];
          }
        });
  }

  // Any taps: per row, the outer dims' taps combined into (offset, weight) pairs, then the inner
  // dim's taps per output element.
  void run_general(const Tensor& x, Tensor& y, bool inner_nearest, int num_threads) const {
    const Shape& in_shape = x.shape();
    const Shape& out_shape = y.shape();
    const auto rank = static_cast<int>(in_shape.size());
    const auto in_strides = contiguous_strides(in_shape);
    const std::int64_t width = out_shape[static_cast<std::size_t>(rank - 1)];
    const std::int64_t rows = y.numel() / width;
    const float* px = x.data<float>();
    float* py = y.data<float>();
    const float extrapolation = attrs_.extrapolation_value;
    const auto& inner_table = tables_[static_cast<std::size_t>(rank - 1)];
    const std::int64_t* inner_index = inner_index_.data();
    parallel_for(
        rows, std::max<std::int64_t>(1, 8192 / width), num_threads,
        [&](std::int64_t begin, std::int64_t end) {
          // Combined taps of the outer dims for one row: at most 4^(rank-1) entries, bounded by
          // kMaxRank; kept on the stack.
          constexpr int kMaxCombos = 256;
          std::array<std::int64_t, kMaxCombos> offsets{};
          std::array<float, kMaxCombos> weights{};
          std::int64_t previous_offset = -1;
          for (std::int64_t row = begin; row < end; ++row) {
            int combos = 1;
            offsets[0] = 0;
            weights[0] = 1.0f;
            bool outside = false;
            std::int64_t rest = row;
            for (int d = rank - 2; d >= 0 && !outside; --d) {
              const std::int64_t o = rest % out_shape[static_cast<std::size_t>(d)];
              rest /= out_shape[static_cast<std::size_t>(d)];
              const TapSet& set = tables_[static_cast<std::size_t>(d)][static_cast<std::size_t>(o)];
              if (set.count == 0) {
                outside = true;
                break;
              }
              const int before = combos;
              if (combos * set.count > kMaxCombos) break;  // unreachable for rank <= 4 (4^3 = 64)
              for (int t = set.count - 1; t >= 0; --t) {
                for (int c = 0; c < before; ++c) {
                  offsets[static_cast<std::size_t>(t * before + c)] =
                      offsets[static_cast<std::size_t>(c)] +
                      set.taps[static_cast<std::size_t>(t)].index * in_strides[d];
                  weights[static_cast<std::size_t>(t * before + c)] =
                      weights[static_cast<std::size_t>(c)] *
                      set.taps[static_cast<std::size_t>(t)].weight;
                }
              }
              combos = before * set.count;
            }
            float* dst = py + row * width;
            if (outside) {
              std::fill(dst, dst + width, extrapolation);
              previous_offset = -1;
              continue;
            }
            if (combos == 1 && weights[0] == 1.0f && inner_nearest) {
              // Consecutive output rows reading the same source row (upsampling) copy the previous
              // one.
              if (row > begin && offsets[0] == previous_offset) {
                std::memcpy(dst, dst - width, static_cast<std::size_t>(width) * sizeof(float));
              } else {
                const float* src = px + offsets[0];
                for (std::int64_t o = 0; o < width; ++o) dst[o] = src[inner_index[o]];
              }
              previous_offset = offsets[0];
              continue;
            }
            previous_offset = -1;
            if (combos == 1 && weights[0] == 1.0f) {
              const float* src = px + offsets[0];
              for (std::int64_t o = 0; o < width; ++o) {
                const TapSet& set = inner_table[static_cast<std::size_t>(o)];
                if (set.count == 1) {
                  dst[o] = src[set.taps[0].index] * set.taps[0].weight;
                } else if (set.count == 0) {
                  dst[o] = extrapolation;
                } else {
                  float v = 0.0f;
                  for (int t = 0; t < set.count; ++t)
                    v += src[set.taps[static_cast<std::size_t>(t)].index] *
                         set.taps[static_cast<std::size_t>(t)].weight;
                  dst[o] = v;
                }
              }
              continue;
            }
            for (std::int64_t o = 0; o < width; ++o) {
              const TapSet& set = inner_table[static_cast<std::size_t>(o)];
              if (set.count == 0) {
                dst[o] = extrapolation;
                continue;
              }
              float v = 0.0f;
              for (int c = 0; c < combos; ++c) {
                const float* src = px + offsets[static_cast<std::size_t>(c)];
                float h = 0.0f;
                for (int t = 0; t < set.count; ++t)
                  h += src[set.taps[static_cast<std::size_t>(t)].index] *
                       set.taps[static_cast<std::size_t>(t)].weight;
                v += h * weights[static_cast<std::size_t>(c)];
              }
              dst[o] = v;
            }
          }
        });
  }

  ResizeAttrs attrs_;
  std::vector<std::vector<TapSet>> tables_;
  std::vector<std::int64_t> inner_index_;
};

}  // namespace

double resize_source_coordinate(const ResizeAttrs& attrs, double x, double scale,
                                std::int64_t in_len, std::int64_t out_len, double roi_start,
                                double roi_end) {
  const std::string& m = attrs.coordinate_transformation_mode;
  if (attrs.is_upsample || m == "asymmetric") return x / scale;
  if (m == "half_pixel") return (x + 0.5) / scale - 0.5;
  // The spec's length_resized is in_len * scale as a real number (it differs from the integer
  // output length when scales, not sizes, were given).
  const double resized = static_cast<double>(in_len) * scale;
  if (m == "pytorch_half_pixel") return resized > 1.0 ? (x + 0.5) / scale - 0.5 : 0.0;
  if (m == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  if (m == "align_corners") {
    return resized == 1.0 ? 0.0 : x * static_cast<double>(in_len - 1) / (resized - 1.0);
  }
  if (m == "half_pixel_symmetric") {
    const double out_float = static_cast<double>(in_len) * scale;
    const double adjustment = static_cast<double>(out_len) / out_float;
    const double center = static_cast<double>(in_len) / 2.0;
    const double offset = center * (1.0 - adjustment);
    return offset + (x + 0.5) / scale - 0.5;
  }
  // tf_crop_and_resize
  const double span = static_cast<double>(in_len - 1);
  if (resized > 1.0) {
    return roi_start * span + x * (roi_end - roi_start) * span / (resized - 1.0);
  }
  return 0.5 * (roi_start + roi_end) * span;
}

ResizePlan infer_resize(const NodeDef& node, const ResizeAttrs& attrs, const Shape& in_shape,
                        const Tensor* roi, const Tensor* scales, const Tensor* sizes) {
  const std::size_t rank = in_shape.size();
  if (rank == 0) throw node.error(ErrorCode::kInvalidArgument, "X must have rank >= 1");
  require_rank_supported(node, rank);
  std::vector<std::int64_t> axes;
  if (attrs.axes.empty()) {
    for (std::size_t d = 0; d < rank; ++d) axes.push_back(static_cast<std::int64_t>(d));
  } else {
    axes = normalize_axes(node, attrs.axes, static_cast<std::int64_t>(rank));
  }
  ResizePlan plan;
  plan.out_shape = in_shape;
  plan.scales.assign(rank, 1.0);
  const bool has_scales = scales && scales->numel() > 0;
  const bool has_sizes = sizes && sizes->numel() > 0;
  if (has_scales == has_sizes) {
    throw node.error(ErrorCode::kInvalidArgument, "exactly one of scales and sizes must be given");
  }
  if (has_scales) {
    const auto v = tensor_to_doubles(node, *scales, "scales");
    if (v.size() != axes.size()) {
      throw node.error(ErrorCode::kInvalidArgument, "scales has " + std::to_string(v.size()) +
                                                        " values for " +
                                                        std::to_string(axes.size()) + " axes");
    }
    for (std::size_t i = 0; i < axes.size(); ++i) {
      if (!(v[i] > 0.0) || !std::isfinite(v[i])) {
        throw node.error(ErrorCode::kInvalidArgument, "scales must be positive and finite");
      }
      const auto d = static_cast<std::size_t>(axes[i]);
      plan.scales[d] = v[i];
      const double len = std::floor(static_cast<double>(in_shape[d]) * v[i]);
      if (len > 1e12) throw node.error(ErrorCode::kLimit, "Resize output is too large");
      plan.out_shape[d] = static_cast<std::int64_t>(len);
    }
  } else {
    const auto v = tensor_to_ints(node, *sizes, "sizes");
    if (v.size() != axes.size()) {
      throw node.error(ErrorCode::kInvalidArgument, "sizes has " + std::to_string(v.size()) +
                                                        " values for " +
                                                        std::to_string(axes.size()) + " axes");
    }
    for (std::int64_t s : v) {
      if (s < 0) throw node.error(ErrorCode::kInvalidArgument, "sizes must be >= 0");
    }
    if (attrs.keep_aspect_ratio_policy == "stretch") {
      for (std::size_t i = 0; i < axes.size(); ++i) {
        const auto d = static_cast<std::size_t>(axes[i]);
        plan.out_shape[d] = v[i];
        plan.scales[d] = static_cast<double>(v[i]) / static_cast<double>(in_shape[d]);
      }
    } else {
      // One scale for all axes: the smallest (not_larger) or largest (not_smaller) ratio.
      double scale = attrs.keep_aspect_ratio_policy == "not_larger" ? 1e300 : 0.0;
      for (std::size_t i = 0; i < axes.size(); ++i) {
        const double r = static_cast<double>(v[i]) /
                         static_cast<double>(in_shape[static_cast<std::size_t>(axes[i])]);
        scale = attrs.keep_aspect_ratio_policy == "not_larger" ? std::min(scale, r)
                                                               : std::max(scale, r);
      }
      for (std::int64_t a : axes) {
        const auto d = static_cast<std::size_t>(a);
        plan.scales[d] = scale;
        plan.out_shape[d] =
            static_cast<std::int64_t>(std::floor(scale * static_cast<double>(in_shape[d]) + 0.5));
      }
    }
  }
  for (std::size_t d = 0; d < rank; ++d) {
    if (in_shape[d] == 0 && plan.out_shape[d] > 0) {
      throw node.error(ErrorCode::kInvalidArgument, "cannot resize an empty dimension");
    }
  }
  if (attrs.coordinate_transformation_mode == "tf_crop_and_resize") {
    plan.roi_start.assign(rank, 0.0);
    plan.roi_end.assign(rank, 1.0);
    if (roi && roi->numel() > 0) {
      const auto r = tensor_to_doubles(node, *roi, "roi");
      if (r.size() != 2 * axes.size()) {
        throw node.error(ErrorCode::kInvalidArgument, "roi must have 2 values per axis");
      }
      for (std::size_t i = 0; i < axes.size(); ++i) {
        plan.roi_start[static_cast<std::size_t>(axes[i])] = r[i];
        plan.roi_end[static_cast<std::size_t>(axes[i])] = r[i + axes.size()];
      }
    }
  }
  checked_numel(plan.out_shape, "Resize output");
  return plan;
}

void resize_f32_ref(const ResizeAttrs& attrs, const float* in, const Shape& in_shape,
                    const ResizePlan& plan, float* out) {
  // Separable reference: resize one dim at a time with the same tap definition.
  NodeDef node;
  node.opset = attrs.is_upsample ? 9 : 13;
  std::vector<float> cur(in, in + checked_numel(in_shape));
  Shape cur_shape = in_shape;
  for (std::size_t d = 0; d < in_shape.size(); ++d) {
    std::vector<TapSet> table;
    build_taps(node, attrs, in_shape[d], plan.out_shape[d], plan.scales[d],
               plan.roi_start.empty() ? 0.0 : plan.roi_start[d],
               plan.roi_end.empty() ? 1.0 : plan.roi_end[d], table);
    Shape next_shape = cur_shape;
    next_shape[d] = plan.out_shape[d];
    std::int64_t outer = 1, inner = 1;
    for (std::size_t k = 0; k < d; ++k) outer *= cur_shape[k];
    for (std::size_t k = d + 1; k < cur_shape.size(); ++k) inner *= cur_shape[k];
    std::vector<float> next(static_cast<std::size_t>(outer * next_shape[d] * inner));
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t j = 0; j < next_shape[d]; ++j) {
        const TapSet& set = table[static_cast<std::size_t>(j)];
        for (std::int64_t i = 0; i < inner; ++i) {
          double v = set.count == 0 ? attrs.extrapolation_value : 0.0;
          for (int t = 0; t < set.count; ++t) {
            v += static_cast<double>(set.taps[static_cast<std::size_t>(t)].weight) *
                 cur[static_cast<std::size_t>(
                     (o * cur_shape[d] + set.taps[static_cast<std::size_t>(t)].index) * inner + i)];
          }
          next[static_cast<std::size_t>((o * next_shape[d] + j) * inner + i)] =
              static_cast<float>(v);
        }
      }
    }
    cur = std::move(next);
    cur_shape = next_shape;
  }
  std::copy(cur.begin(), cur.end(), out);
}

namespace {

ResizeAttrs parse_resize_attrs(const NodeDef& node) {
  ResizeAttrs attrs;
  attrs.is_upsample = node.op_type == "Upsample";
  attrs.mode = node.attr_string("mode", "nearest");
  if (attrs.mode == "bilinear") attrs.mode = "linear";  // Upsample-7 spelling
  if (attrs.mode != "nearest" && attrs.mode != "linear" &&
      (attrs.mode != "cubic" || attrs.is_upsample)) {
    throw node.error(ErrorCode::kInvalidArgument, "unknown mode '" + attrs.mode + "'");
  }
  attrs.coordinate_transformation_mode =
      node.opset < 11 ? "asymmetric"
                      : node.attr_string("coordinate_transformation_mode", "half_pixel");
  static const char* const kModes[] = {
      "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",  "align_corners",
      "asymmetric", "tf_crop_and_resize",   "tf_half_pixel_for_nn"};
  if (std::find_if(std::begin(kModes), std::end(kModes), [&](const char* m) {
        return attrs.coordinate_transformation_mode == m;
      }) == std::end(kModes)) {
    throw node.error(ErrorCode::kInvalidArgument, "unknown coordinate_transformation_mode '" +
                                                      attrs.coordinate_transformation_mode + "'");
  }
  attrs.nearest_mode = node.attr_string("nearest_mode", "round_prefer_floor");
  if (attrs.nearest_mode != "round_prefer_floor" && attrs.nearest_mode != "round_prefer_ceil" &&
      attrs.nearest_mode != "floor" && attrs.nearest_mode != "ceil") {
    throw node.error(ErrorCode::kInvalidArgument,
                     "unknown nearest_mode '" + attrs.nearest_mode + "'");
  }
  attrs.cubic_coeff_a = node.attr_float("cubic_coeff_a", -0.75f);
  attrs.exclude_outside = node.attr_int("exclude_outside", 0);
  attrs.extrapolation_value = node.attr_float("extrapolation_value", 0.0f);
  attrs.antialias = node.attr_int("antialias", 0);
  if (attrs.antialias != 0) {
    throw node.error(ErrorCode::kUnsupported, "Resize with antialias=1 is not supported");
  }
  attrs.axes = node.attr_ints("axes");
  attrs.keep_aspect_ratio_policy = node.attr_string("keep_aspect_ratio_policy", "stretch");
  if (attrs.keep_aspect_ratio_policy != "stretch" &&
      attrs.keep_aspect_ratio_policy != "not_larger" &&
      attrs.keep_aspect_ratio_policy != "not_smaller") {
    throw node.error(ErrorCode::kInvalidArgument,
                     "unknown keep_aspect_ratio_policy '" + attrs.keep_aspect_ratio_policy + "'");
  }
  if (attrs.is_upsample && node.opset < 9) attrs.upsample_scales = node.attr_floats("scales");
  return attrs;
}

}  // namespace

std::unique_ptr<Kernel> make_resize(const NodeDef& node) {
  return std::make_unique<ResizeKernel>(node, parse_resize_attrs(node));
}

std::int64_t resize_copy_multiplicity(const NodeDef& node, const Shape& in_shape,
                                      const std::function<const Tensor*(std::size_t)>& input) {
  const ResizeAttrs attrs = parse_resize_attrs(node);
  if (attrs.mode != "nearest" || !shape_known(in_shape)) return 0;
  const ResizePlan plan = plan_resize(node, attrs, in_shape, input);
  std::int64_t multiplicity = 1;
  std::vector<TapSet> table;
  for (std::size_t d = 0; d < in_shape.size(); ++d) {
    const std::int64_t in_len = in_shape[d];
    if (in_len <= 0) return 0;
    build_taps(node, attrs, in_len, plan.out_shape[d], plan.scales[d],
               plan.roi_start.empty() ? 0.0 : plan.roi_start[d],
               plan.roi_end.empty() ? 1.0 : plan.roi_end[d], table);
    std::vector<std::int64_t> hits(static_cast<std::size_t>(in_len), 0);
    for (const TapSet& set : table) {
      // One tap of weight 1 copies the value; none is extrapolation (a value not from the input).
      if (set.count != 1 || set.taps[0].weight != 1.0f) return 0;
      ++hits[static_cast<std::size_t>(set.taps[0].index)];
    }
    if (std::any_of(hits.begin(), hits.end(), [&](std::int64_t h) { return h != hits[0]; }) ||
        hits[0] == 0) {
      return 0;
    }
    multiplicity = checked_mul(multiplicity, hits[0], "Resize copy count");
  }
  return multiplicity;
}

}  // namespace qcal::ops
