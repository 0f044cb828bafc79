// Pad and Tile (see pad_tile.hpp).
#include "ops/pad_tile.hpp"

#include "core/checked.hpp"
#include "ops/op_util.hpp"

namespace qcal::ops {
namespace {

const Tensor* const_value(std::span<const TensorInfo> inputs, std::size_t i) {
  const TensorInfo* info = input_info(inputs, i);
  return info ? info->value : nullptr;
}

// Source coordinate for output coordinate `c` along a dim of size `dim` with `begin` padding,
// or -1 for the constant value. Reflect mirrors without repeating the edge (numpy 'reflect').
inline std::int64_t pad_source(std::int64_t c, std::int64_t begin, std::int64_t dim, PadMode mode) {
  std::int64_t s = c - begin;
  if (s >= 0 && s < dim) return s;
  switch (mode) {
    case PadMode::kConstant:
      return -1;
    case PadMode::kEdge:
      return s < 0 ? 0 : dim - 1;
    case PadMode::kWrap:
      return ((s % dim) + dim) % dim;
    case PadMode::kReflect: {
      if (dim == 1) return 0;
      const std::int64_t period = 2 * (dim - 1);
      s = ((s % period) + period) % period;
      return s < dim ? s : period - s;
    }
  }
  return -1;
}

template <typename T>
void pad_typed(const T* in, const Shape& in_shape, const PadAmounts& amounts, PadMode mode, T value,
               T* out, const Shape& out_shape, int num_threads) {
  const auto rank = static_cast<int>(in_shape.size());
  const auto in_strides = contiguous_strides(in_shape);
  const std::int64_t width = rank ? out_shape[static_cast<std::size_t>(rank - 1)] : 1;
  const std::int64_t rows = known_numel(out_shape) / (width ? width : 1);
  if (width == 0) return;
  parallel_for(rows, std::max<std::int64_t>(1, 16384 / width), num_threads,
               [&](std::int64_t begin, std::int64_t end) {
                 for (std::int64_t row = begin; row < end; ++row) {
                   T* dst = out + row * width;
                   // Source row offset from the outer coordinates (one division per dim per row).
                   std::int64_t rest = row, offset = 0;
                   bool constant_row = false;
                   for (int d = rank - 2; d >= 0; --d) {
                     const std::int64_t c = rest % out_shape[static_cast<std::size_t>(d)];
                     rest /= out_shape[static_cast<std::size_t>(d)];
                     const std::int64_t s =
                         pad_source(c, amounts.begin[static_cast<std::size_t>(d)],
                                    in_shape[static_cast<std::size_t>(d)], mode);
                     if (s < 0) constant_row = true;
                     offset += s * in_strides[d];
                   }
                   if (constant_row) {
                     std::fill(dst, dst + width, value);
                     continue;
                   }
                   if (rank == 0) {
                     dst[0] = in[0];
                     continue;
                   }
                   const T* src = in + offset;
                   const std::int64_t dim = in_shape[static_cast<std::size_t>(rank - 1)];
                   const std::int64_t b = amounts.begin[static_cast<std::size_t>(rank - 1)];
                   for (std::int64_t c = 0; c < width; ++c) {
                     const std::int64_t s = pad_source(c, b, dim, mode);
                     dst[c] = s < 0 ? value : src[s];
                   }
                 }
               });
}

class PadKernel : public NodeKernel {
 public:
  PadKernel(const NodeDef& node, PadAttrs attrs) : NodeKernel(node), attrs_(std::move(attrs)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    const bool from_inputs = node_.opset >= 11;
    require_inputs(node_, inputs, from_inputs ? 2 : 1, from_inputs ? 4 : 1);
    dispatch_check(inputs[0].dtype);
    if (from_inputs) {
      require_dtype(node_, inputs[1].dtype, {DType::kInt64}, "pads");
      if (input_info(inputs, 2) && inputs[2].dtype != inputs[0].dtype) {
        throw node_.error(ErrorCode::kInvalidArgument, "constant_value must have the data's dtype");
      }
      if (input_info(inputs, 3)) {
        require_dtype(node_, inputs[3].dtype, {DType::kInt64, DType::kInt32}, "axes");
      }
      const bool known =
          const_value(inputs, 1) && (!input_info(inputs, 3) || const_value(inputs, 3));
      if (!known || !shape_known(inputs[0].shape)) {
        return {{inputs[0].dtype, Shape(inputs[0].shape.size(), -1), nullptr}};
      }
    }
    if (!shape_known(inputs[0].shape)) {
      return {{inputs[0].dtype, Shape(inputs[0].shape.size(), -1), nullptr}};
    }
    const PadAmounts amounts =
        resolve(inputs[0].shape, [&](std::size_t i) { return const_value(inputs, i); });
    return {{inputs[0].dtype, out_shape(inputs[0].shape, amounts), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& in = *inputs[0];
    const PadAmounts amounts =
        resolve(in.shape(), [&](std::size_t i) { return input_tensor(inputs, i); });
    const Shape shape = out_shape(in.shape(), amounts);
    ensure_output(*outputs[0], in.dtype(), shape);
    if (outputs[0]->numel() == 0) return;
    const Tensor* value_input = input_tensor(inputs, 2);
    dispatch<NumericTypes>(in.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T value = static_cast<T>(attrs_.value);
      if (node_.opset >= 11)
        value = value_input && value_input->numel() > 0 ? *value_input->data<T>() : T{0};
      pad_typed(in.data<T>(), in.shape(), amounts, attrs_.mode, value, outputs[0]->data<T>(), shape,
                ctx.num_threads);
    });
  }

 private:
  void dispatch_check(DType dt) const {
    require_dtype(node_, dt,
                  {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kInt8,
                   DType::kUInt8, DType::kInt16, DType::kUInt16, DType::kUInt32, DType::kUInt64},
                  "data");
  }
  template <typename Get>
  PadAmounts resolve(const Shape& shape, const Get& get) const {
    if (node_.opset < 11) return infer_pad(node_, attrs_, shape, attrs_.pads, {});
    const std::vector<std::int64_t> pads = tensor_to_ints(node_, *get(1), "pads");
    std::vector<std::int64_t> axes;
    if (const Tensor* t = get(3)) axes = tensor_to_ints(node_, *t, "axes");
    return infer_pad(node_, attrs_, shape, pads, axes);
  }
  static Shape out_shape(const Shape& in, const PadAmounts& a) {
    Shape out(in.size());
    for (std::size_t d = 0; d < in.size(); ++d) out[d] = in[d] + a.begin[d] + a.end[d];
    return out;
  }

  PadAttrs attrs_;
};

void tile_recursive(std::size_t d, const Shape& in_shape, std::span<const std::int64_t> repeats,
                    const std::array<std::int64_t, kMaxRank>& in_strides,
                    const std::array<std::int64_t, kMaxRank>& out_strides, std::size_t es,
                    const std::byte* src, std::byte* dst) {
  const std::size_t rank = in_shape.size();
  if (d + 1 >= rank) {
    // Innermost: one contiguous row, then its repeats.
    const std::size_t row = static_cast<std::size_t>(rank ? in_shape[rank - 1] : 1) * es;
    const std::int64_t reps = rank ? repeats[rank - 1] : 1;
    for (std::int64_t r = 0; r < reps; ++r)
      std::memcpy(dst + static_cast<std::size_t>(r) * row, src, row);
    return;
  }
  for (std::int64_t i = 0; i < in_shape[d]; ++i) {
    tile_recursive(d + 1, in_shape, repeats, in_strides, out_strides, es,
                   src + static_cast<std::size_t>(i * in_strides[d]) * es,
                   dst + static_cast<std::size_t>(i * out_strides[d]) * es);
  }
  const std::size_t chunk = static_cast<std::size_t>(in_shape[d] * out_strides[d]) * es;
  for (std::int64_t r = 1; r < repeats[d]; ++r)
    std::memcpy(dst + static_cast<std::size_t>(r) * chunk, dst, chunk);
}

class TileKernel : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 2, 2);
    require_dtype(node_, inputs[1].dtype, {DType::kInt64}, "repeats");
    if (const Tensor* r = const_value(inputs, 1)) {
      return {{inputs[0].dtype,
               infer_tile(node_, inputs[0].shape, tensor_to_ints(node_, *r, "repeats")), nullptr}};
    }
    return {{inputs[0].dtype, Shape(inputs[0].shape.size(), -1), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext&) override {
    const Tensor& in = *inputs[0];
    const auto repeats = tensor_to_ints(node_, *inputs[1], "repeats");
    const Shape shape = infer_tile(node_, in.shape(), repeats);
    ensure_output(*outputs[0], in.dtype(), shape);
    if (outputs[0]->numel() == 0) return;
    tile_recursive(0, in.shape(), repeats, contiguous_strides(in.shape()),
                   contiguous_strides(shape), dtype_size(in.dtype()),
                   static_cast<const std::byte*>(in.raw_data()),
                   static_cast<std::byte*>(outputs[0]->raw_data()));
  }
};

}  // namespace

PadAmounts infer_pad(const NodeDef& node, const PadAttrs& attrs, const Shape& data_shape,
                     std::span<const std::int64_t> pads, std::span<const std::int64_t> axes) {
  const auto rank = static_cast<std::int64_t>(data_shape.size());
  std::vector<std::int64_t> axis_list;
  if (axes.empty()) {
    for (std::int64_t d = 0; d < rank; ++d) axis_list.push_back(d);
  } else {
    axis_list = normalize_axes(node, axes, rank);
  }
  if (pads.size() != 2 * axis_list.size()) {
    throw node.error(ErrorCode::kInvalidArgument, "pads has " + std::to_string(pads.size()) +
                                                      " values, expected " +
                                                      std::to_string(2 * axis_list.size()));
  }
  PadAmounts a;
  a.begin.assign(data_shape.size(), 0);
  a.end.assign(data_shape.size(), 0);
  for (std::size_t i = 0; i < axis_list.size(); ++i) {
    const auto d = static_cast<std::size_t>(axis_list[i]);
    a.begin[d] = pads[i];
    a.end[d] = pads[i + axis_list.size()];
    const std::int64_t dim = data_shape[d];
    const std::int64_t out = checked_add(checked_add(dim, a.begin[d], "pad"), a.end[d], "pad");
    if (out < 0) {
      throw node.error(ErrorCode::kInvalidArgument,
                       "pads crop axis " + std::to_string(d) + " below zero");
    }
    if (attrs.mode != PadMode::kConstant && (a.begin[d] > 0 || a.end[d] > 0) && dim == 0) {
      throw node.error(ErrorCode::kInvalidArgument, "cannot pad an empty axis in this mode");
    }
  }
  return a;
}

void pad_f32_ref(const float* in, const Shape& in_shape, const PadAmounts& amounts, PadMode mode,
                 float value, float* out) {
  const std::size_t rank = in_shape.size();
  Shape out_shape(rank);
  std::int64_t total = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    out_shape[d] = in_shape[d] + amounts.begin[d] + amounts.end[d];
    total *= out_shape[d];
  }
  for (std::int64_t flat = 0; flat < total; ++flat) {
    std::int64_t rest = flat, in_index = 0, in_stride = 1;
    bool outside = false;
    for (std::size_t d = rank; d-- > 0;) {
      const std::int64_t c = rest % out_shape[d];
      rest /= out_shape[d];
      const std::int64_t s = pad_source(c, amounts.begin[d], in_shape[d], mode);
      if (s < 0) outside = true;
      in_index += s * in_stride;
      in_stride *= in_shape[d];
    }
    out[flat] = outside ? value : in[in_index];
  }
}

std::unique_ptr<Kernel> make_pad(const NodeDef& node) {
  PadAttrs attrs;
  const std::string mode = node.attr_string("mode", "constant");
  if (mode == "constant")
    attrs.mode = PadMode::kConstant;
  else if (mode == "reflect")
    attrs.mode = PadMode::kReflect;
  else if (mode == "edge")
    attrs.mode = PadMode::kEdge;
  else if (mode == "wrap")
    attrs.mode = PadMode::kWrap;
  else
    throw node.error(ErrorCode::kInvalidArgument, "unknown pad mode '" + mode + "'");
  if (node.opset < 11) {
    attrs.pads = node.require_ints("pads");
    attrs.value = node.attr_float("value", 0.0f);
  }
  return std::make_unique<PadKernel>(node, std::move(attrs));
}

Shape infer_tile(const NodeDef& node, const Shape& data_shape,
                 std::span<const std::int64_t> repeats) {
  if (repeats.size() != data_shape.size()) {
    throw node.error(ErrorCode::kInvalidArgument, "repeats has " + std::to_string(repeats.size()) +
                                                      " values for rank " +
                                                      std::to_string(data_shape.size()));
  }
  Shape out(data_shape.size());
  for (std::size_t d = 0; d < out.size(); ++d) {
    if (repeats[d] < 0) throw node.error(ErrorCode::kInvalidArgument, "repeats must be >= 0");
    out[d] = data_shape[d] < 0 ? -1 : checked_mul(data_shape[d], repeats[d], "tile");
  }
  return out;
}

std::unique_ptr<Kernel> make_tile(const NodeDef& node) {
  return std::make_unique<TileKernel>(node);
}

}  // namespace qcal::ops
