// Helpers shared by the op families (see op_util.hpp).
#include "ops/op_util.hpp"

#include <algorithm>

#include "core/checked.hpp"

namespace qcal::ops {

bool shape_known(std::span<const std::int64_t> shape) {
  return std::all_of(shape.begin(), shape.end(), [](std::int64_t d) { return d >= 0; });
}

std::int64_t known_numel(std::span<const std::int64_t> shape) { return checked_numel(shape); }

std::int64_t normalize_axis(const NodeDef& node, std::int64_t axis, std::int64_t rank,
                            const char* what) {
  if (axis < -rank || axis >= rank) {
    throw node.error(ErrorCode::kInvalidArgument, std::string(what) + " " + std::to_string(axis) +
                                                      " is out of range for rank " +
                                                      std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

std::vector<std::int64_t> normalize_axes(const NodeDef& node, std::span<const std::int64_t> axes,
                                         std::int64_t rank, const char* what) {
  std::vector<std::int64_t> out;
  out.reserve(axes.size());
  for (std::int64_t a : axes) {
    const std::int64_t n = normalize_axis(node, a, rank, what);
    if (std::find(out.begin(), out.end(), n) != out.end()) {
      throw node.error(ErrorCode::kInvalidArgument,
                       std::string(what) + " repeats axis " + std::to_string(a));
    }
    out.push_back(n);
  }
  return out;
}

std::vector<std::int64_t> tensor_to_ints(const NodeDef& node, const Tensor& t, const char* what) {
  std::vector<std::int64_t> out;
  if (t.dtype() == DType::kInt64) {
    auto v = t.values<std::int64_t>();
    out.assign(v.begin(), v.end());
  } else if (t.dtype() == DType::kInt32) {
    auto v = t.values<std::int32_t>();
    out.assign(v.begin(), v.end());
  } else {
    throw node.error(
        ErrorCode::kInvalidArgument,
        std::string(what) + " must be int64 or int32, got " + std::string(dtype_name(t.dtype())));
  }
  return out;
}

std::vector<double> tensor_to_doubles(const NodeDef& node, const Tensor& t, const char* what) {
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(t.numel()));
  const bool ok = dispatch<NumericTypes>(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (T v : t.values<T>()) out.push_back(static_cast<double>(v));
  });
  if (!ok) {
    throw node.error(ErrorCode::kInvalidArgument, std::string(what) + " has unsupported dtype " +
                                                      std::string(dtype_name(t.dtype())));
  }
  return out;
}

void require_inputs(const NodeDef& node, std::span<const TensorInfo> inputs, std::size_t min_count,
                    std::size_t max_count) {
  if (inputs.size() < min_count || inputs.size() > max_count) {
    throw node.error(ErrorCode::kFormat,
                     node.op_type + " takes " + std::to_string(min_count) +
                         (min_count == max_count ? "" : " to " + std::to_string(max_count)) +
                         " inputs, got " + std::to_string(inputs.size()));
  }
  for (std::size_t i = 0; i < min_count; ++i) {
    if (inputs[i].dtype == DType::kUndefined) {
      throw node.error(ErrorCode::kFormat, "required input " + std::to_string(i) + " is missing");
    }
  }
  for (const auto& info : inputs) {
    if (info.dtype != DType::kUndefined) require_rank_supported(node, info.shape.size());
  }
}

void require_dtype(const NodeDef& node, DType dtype, std::initializer_list<DType> allowed,
                   const char* what) {
  if (std::find(allowed.begin(), allowed.end(), dtype) != allowed.end()) return;
  std::string list;
  for (DType d : allowed) list += (list.empty() ? "" : ", ") + std::string(dtype_name(d));
  throw node.error(
      ErrorCode::kUnsupported,
      std::string(what) + " has dtype " + std::string(dtype_name(dtype)) + "; supported: " + list);
}

void require_rank_supported(const NodeDef& node, std::size_t rank) {
  if (rank > static_cast<std::size_t>(kMaxRank)) {
    throw node.error(ErrorCode::kUnsupported, "tensor rank " + std::to_string(rank) +
                                                  " exceeds the supported " +
                                                  std::to_string(kMaxRank));
  }
}

Shape broadcast_shapes(const NodeDef& node, std::span<const Shape> shapes) {
  std::size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  require_rank_supported(node, rank);
  Shape out(rank, 1);
  for (std::size_t i = 0; i < rank; ++i) {
    // -1 (unknown) stays unknown unless another operand fixes the size.
    std::int64_t dim = 1;
    bool unknown = false;
    for (const auto& s : shapes) {
      if (i + s.size() < rank) continue;
      const std::int64_t d = s[i + s.size() - rank];
      if (d < 0) {
        unknown = true;
      } else if (d != 1) {
        if (dim != 1 && dim != d) {
          std::string all;
          for (const auto& t : shapes) all += (all.empty() ? "" : " and ") + shape_to_string(t);
          throw node.error(ErrorCode::kInvalidArgument, "shapes " + all + " do not broadcast");
        }
        dim = d;
      }
    }
    out[i] = (unknown && dim == 1) ? -1 : dim;
  }
  return out;
}

void ensure_output(Tensor& out, DType dtype, const Shape& shape) {
  if (out.empty() || out.dtype() != dtype || out.shape() != shape) out = Tensor(dtype, shape);
}

std::array<std::int64_t, kMaxRank> contiguous_strides(std::span<const std::int64_t> shape) {
  std::array<std::int64_t, kMaxRank> strides{};
  std::int64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

BroadcastPlan make_broadcast_plan(std::span<const std::int64_t> out_shape,
                                  std::span<const std::span<const std::int64_t>> operand_shapes) {
  const int rank = static_cast<int>(out_shape.size());
  const int count = static_cast<int>(operand_shapes.size());
  // Full-rank strides per operand (0 where broadcast).
  std::array<std::array<std::int64_t, kMaxRank>, 3> full{};
  for (int k = 0; k < count; ++k) {
    const auto& s = operand_shapes[static_cast<std::size_t>(k)];
    const int offset = rank - static_cast<int>(s.size());
    std::int64_t stride = 1;
    for (int i = rank - 1; i >= 0; --i) {
      const std::int64_t d = i >= offset ? s[static_cast<std::size_t>(i - offset)] : 1;
      full[k][i] = (d == 1) ? 0 : stride;
      stride *= d;
    }
  }
  // Merge adjacent dims (dropping size-1 dims) when every operand is contiguous across them.
  BroadcastPlan plan;
  int r = 0;
  for (int i = 0; i < rank; ++i) {
    const std::int64_t d = out_shape[static_cast<std::size_t>(i)];
    if (d == 1) continue;
    bool merge = r > 0;
    for (int k = 0; k < count && merge; ++k) {
      // Mergeable when the previous stride equals this stride times this dim (both 0 included).
      merge = plan.strides[k][r - 1] == full[k][i] * d;
    }
    if (merge) {
      plan.dims[r - 1] *= d;
      for (int k = 0; k < count; ++k) plan.strides[k][r - 1] = full[k][i];
    } else {
      plan.dims[r] = d;
      for (int k = 0; k < count; ++k) plan.strides[k][r] = full[k][i];
      ++r;
    }
  }
  if (r == 0) {
    plan.dims[0] = 1;
    for (int k = 0; k < count; ++k) plan.strides[k][0] = 0;
    r = 1;
  }
  plan.rank = r;
  return plan;
}

namespace {
template <typename Word>
void broadcast_copy_words(const Word* in, std::span<const std::int64_t> in_shape, Word* out,
                          std::span<const std::int64_t> out_shape, int num_threads) {
  const std::span<const std::int64_t> shapes[] = {in_shape};
  const BroadcastPlan plan = make_broadcast_plan(out_shape, shapes);
  const std::int64_t stride = plan.strides[0][plan.rank - 1];
  parallel_for(
      known_numel(out_shape), 16384, num_threads, [&](std::int64_t begin, std::int64_t end) {
        walk_rows<1>(plan, begin, end,
                     [&](const std::array<std::int64_t, 1>& off, std::int64_t o, std::int64_t n) {
                       if (stride) {
                         std::memcpy(out + o, in + off[0],
                                     static_cast<std::size_t>(n) * sizeof(Word));
                       } else {
                         std::fill(out + o, out + o + n, in[off[0]]);
                       }
                     });
      });
}
}  // namespace

void broadcast_copy(const Tensor& in, Tensor& out, int num_threads) {
  if (out.numel() == 0) return;
  switch (dtype_size(in.dtype())) {
    case 1:
      broadcast_copy_words(static_cast<const std::uint8_t*>(in.raw_data()), in.shape(),
                           static_cast<std::uint8_t*>(out.raw_data()), out.shape(), num_threads);
      break;
    case 2:
      broadcast_copy_words(static_cast<const std::uint16_t*>(in.raw_data()), in.shape(),
                           static_cast<std::uint16_t*>(out.raw_data()), out.shape(), num_threads);
      break;
    case 4:
      broadcast_copy_words(static_cast<const std::uint32_t*>(in.raw_data()), in.shape(),
                           static_cast<std::uint32_t*>(out.raw_data()), out.shape(), num_threads);
      break;
    default:
      broadcast_copy_words(static_cast<const std::uint64_t*>(in.raw_data()), in.shape(),
                           static_cast<std::uint64_t*>(out.raw_data()), out.shape(), num_threads);
      break;
  }
}

namespace {
template <typename Word>
void strided_copy_words(const Word* src, const std::array<std::int64_t, kMaxRank>& dims,
                        const std::array<std::int64_t, kMaxRank>& strides, int rank, Word* dst,
                        int num_threads, MinMaxRequest* minmax_f32 = nullptr) {
  std::int64_t total = 1;
  for (int d = 0; d < rank; ++d) total *= dims[d];
  BroadcastPlan plan;
  plan.rank = rank;
  plan.dims = dims;
  plan.strides[0] = strides;
  const std::int64_t inner_stride = strides[rank - 1];
  const auto body = [&](std::int64_t begin, std::int64_t end) {
    walk_rows<1>(plan, begin, end,
                 [&](const std::array<std::int64_t, 1>& off, std::int64_t o, std::int64_t n) {
                   const Word* s = src + off[0];
                   Word* d = dst + o;
                   if (inner_stride == 1) {
                     std::memcpy(d, s, static_cast<std::size_t>(n) * sizeof(Word));
                   } else {
                     for (std::int64_t i = 0; i < n; ++i) d[i] = s[i * inner_stride];
                   }
                 });
  };
  if constexpr (sizeof(Word) == sizeof(float)) {
    // The words are float32 bits when the caller asks for a scan (strided_copy's contract).
    parallel_for_minmax(total, 16384, num_threads, minmax_f32, nullptr,
                        reinterpret_cast<const float*>(dst), body);
  } else {
    parallel_for(total, 16384, num_threads, body);
  }
}
}  // namespace

void strided_copy(const void* src, std::size_t element_size, std::span<const std::int64_t> dims,
                  std::span<const std::int64_t> strides, void* dst, int num_threads,
                  MinMaxRequest* minmax_f32) {
  // Merge dims: drop size-1 dims, fuse d-1 and d when stride[d-1] == stride[d] * dims[d].
  std::array<std::int64_t, kMaxRank> m_dims{}, m_strides{};
  int rank = 0;
  for (std::size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == 0) return;
    if (dims[d] == 1) continue;
    if (rank > 0 && m_strides[rank - 1] == strides[d] * dims[d]) {
      m_dims[rank - 1] *= dims[d];
      m_strides[rank - 1] = strides[d];
    } else {
      m_dims[rank] = dims[d];
      m_strides[rank] = strides[d];
      ++rank;
    }
  }
  if (rank == 0) {
    m_dims[0] = 1;
    m_strides[0] = 1;
    rank = 1;
  }
  switch (element_size) {
    case 1:
      strided_copy_words(static_cast<const std::uint8_t*>(src), m_dims, m_strides, rank,
                         static_cast<std::uint8_t*>(dst), num_threads);
      break;
    case 2:
      strided_copy_words(static_cast<const std::uint16_t*>(src), m_dims, m_strides, rank,
                         static_cast<std::uint16_t*>(dst), num_threads);
      break;
    case 4:
      strided_copy_words(static_cast<const std::uint32_t*>(src), m_dims, m_strides, rank,
                         static_cast<std::uint32_t*>(dst), num_threads, minmax_f32);
      break;
    default:
      strided_copy_words(static_cast<const std::uint64_t*>(src), m_dims, m_strides, rank,
                         static_cast<std::uint64_t*>(dst), num_threads);
      break;
  }
}

void copy_bytes(const Tensor& in, Tensor& out) {
  if (in.nbytes() == 0 || in.raw_data() == out.raw_data()) return;
  std::memmove(out.raw_data(), in.raw_data(), in.nbytes());
}

}  // namespace qcal::ops
