// Concat and Split (see concat_split.hpp). Both are lists of (outer row, piece) memcpys; the
// bytes to move are split into equal ranges per thread so one large piece still uses all threads.
#include "ops/concat_split.hpp"

#include "core/checked.hpp"
#include "ops/op_util.hpp"

namespace qcal::ops {
namespace {

// Bytes below which copying stays on one thread.
constexpr std::int64_t kCopyGrainBytes = 1 << 18;

// Moves, for every outer row r and piece k, `piece_bytes[k]` bytes between the interleaved side
// (row stride `row_bytes`, pieces laid out in order) and each piece's own contiguous buffer
// (`piece_ptrs[k] + r * piece_bytes[k]`). gather=true fills the interleaved side (Concat).
void interleave_copy(std::byte* interleaved, std::span<std::byte* const> piece_ptrs,
                     std::span<const std::int64_t> piece_bytes, std::int64_t outer, bool gather,
                     int num_threads) {
  std::int64_t row_bytes = 0;
  for (std::int64_t b : piece_bytes) row_bytes += b;
  const std::int64_t total = row_bytes * outer;
  if (total == 0) return;
  const int threads = total < kCopyGrainBytes ? 1 : num_threads;
  parallel_for(total, kCopyGrainBytes / 4, threads, [&](std::int64_t begin, std::int64_t end) {
    std::int64_t pos = begin;
    std::int64_t row = pos / row_bytes;
    std::int64_t within = pos % row_bytes;
    std::size_t k = 0;
    while (within >= piece_bytes[k]) within -= piece_bytes[k++];
    while (pos < end) {
      const std::int64_t n = std::min(piece_bytes[k] - within, end - pos);
      std::byte* piece = piece_ptrs[k] + row * piece_bytes[k] + within;
      std::byte* inter = interleaved + pos;
      if (n > 0) {
        if (gather) {
          std::memcpy(inter, piece, static_cast<std::size_t>(n));
        } else {
          std::memcpy(piece, inter, static_cast<std::size_t>(n));
        }
      }
      pos += n;
      within = 0;
      if (++k == piece_bytes.size()) {
        k = 0;
        ++row;
      }
    }
  });
}

const Tensor* const_value(std::span<const TensorInfo> inputs, std::size_t i) {
  const TensorInfo* info = input_info(inputs, i);
  return info ? info->value : nullptr;
}

class ConcatKernel : public NodeKernel {
 public:
  ConcatKernel(const NodeDef& node, ConcatAttrs attrs) : NodeKernel(node), attrs_(attrs) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 1, 4096);
    std::vector<Shape> shapes;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].dtype != inputs[0].dtype) {
        throw node_.error(ErrorCode::kInvalidArgument,
                          "input " + std::to_string(i) + " has dtype " +
                              std::string(dtype_name(inputs[i].dtype)) + ", expected " +
                              std::string(dtype_name(inputs[0].dtype)));
      }
      shapes.push_back(inputs[i].shape);
    }
    return {{inputs[0].dtype, infer_concat(node_, attrs_, shapes), nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    Tensor& out = *outputs[0];
    if (out.empty()) {
      std::vector<Shape> shapes;
      for (const Tensor* t : inputs) shapes.push_back(t->shape());
      out = Tensor(inputs[0]->dtype(), infer_concat(node_, attrs_, shapes));
    }
    const auto rank = static_cast<std::int64_t>(out.shape().size());
    const std::int64_t axis = attrs_.axis < 0 ? attrs_.axis + rank : attrs_.axis;
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t d = 0; d < rank; ++d) {
      if (d < axis) outer *= out.shape()[d];
      if (d > axis) inner *= out.shape()[d];
    }
    const auto es = static_cast<std::int64_t>(dtype_size(out.dtype()));
    // Up to a few inputs per node in practice; a small vector per run is the price of generality.
    pieces_.clear();
    sizes_.clear();
    for (const Tensor* t : inputs) {
      pieces_.push_back(const_cast<std::byte*>(static_cast<const std::byte*>(t->raw_data())));
      sizes_.push_back(t->shape()[static_cast<std::size_t>(axis)] * inner * es);
    }
    interleave_copy(static_cast<std::byte*>(out.raw_data()), pieces_, sizes_, outer, true,
                    ctx.num_threads);
  }

 private:
  ConcatAttrs attrs_;
  std::vector<std::byte*> pieces_;
  std::vector<std::int64_t> sizes_;
};

class SplitKernel : public NodeKernel {
 public:
  SplitKernel(const NodeDef& node, SplitAttrs attrs) : NodeKernel(node), attrs_(std::move(attrs)) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    require_inputs(node_, inputs, 1, node_.opset >= 13 ? 2 : 1);
    const auto rank = static_cast<std::int64_t>(inputs[0].shape.size());
    const std::int64_t axis = normalize_axis(node_, attrs_.axis, rank);
    const std::size_t count = output_count();
    std::vector<std::int64_t> split = attrs_.split;
    if (input_info(inputs, 1)) {
      require_dtype(node_, inputs[1].dtype, {DType::kInt64}, "split");
      const Tensor* value = const_value(inputs, 1);
      if (!value) {
        std::vector<TensorInfo> out;
        for (std::size_t k = 0; k < count; ++k) {
          Shape s = inputs[0].shape;
          s[static_cast<std::size_t>(axis)] = -1;
          out.push_back({inputs[0].dtype, s, nullptr});
        }
        return out;
      }
      split = tensor_to_ints(node_, *value, "split");
    }
    const std::int64_t dim = inputs[0].shape[static_cast<std::size_t>(axis)];
    if (dim < 0) {
      throw node_.error(ErrorCode::kUnsupported, "Split along an axis of unknown size");
    }
    const auto sizes = infer_split_sizes(node_, dim, split, count);
    std::vector<TensorInfo> out;
    for (std::int64_t size : sizes) {
      Shape s = inputs[0].shape;
      s[static_cast<std::size_t>(axis)] = size;
      out.push_back({inputs[0].dtype, s, nullptr});
    }
    return out;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext& ctx) override {
    const Tensor& in = *inputs[0];
    const auto rank = static_cast<std::int64_t>(in.shape().size());
    const std::int64_t axis = attrs_.axis < 0 ? attrs_.axis + rank : attrs_.axis;
    std::vector<std::int64_t> split = attrs_.split;
    if (const Tensor* t = input_tensor(inputs, 1)) split = tensor_to_ints(node_, *t, "split");
    const auto sizes =
        infer_split_sizes(node_, in.shape()[static_cast<std::size_t>(axis)], split, outputs.size());
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t d = 0; d < rank; ++d) {
      if (d < axis) outer *= in.shape()[d];
      if (d > axis) inner *= in.shape()[d];
    }
    const auto es = static_cast<std::int64_t>(dtype_size(in.dtype()));
    pieces_.clear();
    bytes_.clear();
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      Shape s = in.shape();
      s[static_cast<std::size_t>(axis)] = sizes[k];
      ensure_output(*outputs[k], in.dtype(), s);
      pieces_.push_back(static_cast<std::byte*>(outputs[k]->raw_data()));
      bytes_.push_back(sizes[k] * inner * es);
    }
    interleave_copy(const_cast<std::byte*>(static_cast<const std::byte*>(in.raw_data())), pieces_,
                    bytes_, outer, false, ctx.num_threads);
  }

 private:
  std::size_t output_count() const { return node_.outputs.empty() ? 1 : node_.outputs.size(); }

  SplitAttrs attrs_;
  std::vector<std::byte*> pieces_;
  std::vector<std::int64_t> bytes_;
};

}  // namespace

Shape infer_concat(const NodeDef& node, const ConcatAttrs& attrs, std::span<const Shape> shapes) {
  const Shape& first = shapes[0];
  const auto rank = static_cast<std::int64_t>(first.size());
  const std::int64_t axis = normalize_axis(node, attrs.axis, rank);
  Shape out = first;
  out[static_cast<std::size_t>(axis)] = 0;
  for (const Shape& s : shapes) {
    if (s.size() != first.size()) {
      throw node.error(
          ErrorCode::kInvalidArgument,
          "inputs have different ranks: " + shape_to_string(first) + " and " + shape_to_string(s));
    }
    for (std::size_t d = 0; d < s.size(); ++d) {
      if (static_cast<std::int64_t>(d) == axis) continue;
      if (s[d] >= 0 && out[d] >= 0 && s[d] != out[d]) {
        throw node.error(ErrorCode::kInvalidArgument,
                         "inputs " + shape_to_string(first) + " and " + shape_to_string(s) +
                             " differ outside axis " + std::to_string(axis));
      }
      if (out[d] < 0) out[d] = s[d];
    }
    std::int64_t& a = out[static_cast<std::size_t>(axis)];
    const std::int64_t d = s[static_cast<std::size_t>(axis)];
    a = (a < 0 || d < 0) ? -1 : checked_add(a, d, "concat");
  }
  return out;
}

std::vector<std::int64_t> infer_split_sizes(const NodeDef& node, std::int64_t dim,
                                            std::span<const std::int64_t> split,
                                            std::size_t output_count) {
  if (!split.empty()) {
    if (split.size() != output_count) {
      throw node.error(ErrorCode::kInvalidArgument, "split has " + std::to_string(split.size()) +
                                                        " entries for " +
                                                        std::to_string(output_count) + " outputs");
    }
    std::int64_t sum = 0;
    for (std::int64_t s : split) {
      if (s < 0) throw node.error(ErrorCode::kInvalidArgument, "split sizes must be >= 0");
      sum = checked_add(sum, s, "split");
    }
    if (sum != dim) {
      throw node.error(ErrorCode::kInvalidArgument, "split sizes sum to " + std::to_string(sum) +
                                                        ", the axis has " + std::to_string(dim));
    }
    return {split.begin(), split.end()};
  }
  const auto n = static_cast<std::int64_t>(output_count);
  if (node.opset >= 18) {
    // ceil(dim / n) each, the last one smaller.
    const std::int64_t chunk = (dim + n - 1) / n;
    std::vector<std::int64_t> sizes;
    std::int64_t left = dim;
    for (std::int64_t k = 0; k < n; ++k) {
      sizes.push_back(std::min(chunk, left));
      left -= sizes.back();
    }
    return sizes;
  }
  if (dim % n != 0) {
    throw node.error(ErrorCode::kInvalidArgument, "axis of size " + std::to_string(dim) +
                                                      " does not split evenly into " +
                                                      std::to_string(n) + " outputs");
  }
  return std::vector<std::int64_t>(output_count, dim / n);
}

std::unique_ptr<Kernel> make_concat(const NodeDef& node) {
  ConcatAttrs attrs;
  attrs.axis = node.opset >= 4 ? node.require_int("axis") : node.attr_int("axis", 1);
  return std::make_unique<ConcatKernel>(node, attrs);
}

std::unique_ptr<Kernel> make_split(const NodeDef& node) {
  SplitAttrs attrs;
  attrs.axis = node.attr_int("axis", 0);
  if (node.opset < 13) attrs.split = node.attr_ints("split");
  if (node.has("num_outputs")) {
    attrs.num_outputs = node.attr_int("num_outputs", 0);
    if (*attrs.num_outputs != static_cast<std::int64_t>(node.outputs.size())) {
      throw node.error(ErrorCode::kInvalidArgument, "num_outputs does not match the output count");
    }
  }
  return std::make_unique<SplitKernel>(node, std::move(attrs));
}

}  // namespace qcal::ops
