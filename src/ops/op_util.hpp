// Helpers shared by the op families: axis handling, constant-input reading, numpy broadcasting
// plans, dtype dispatch and deterministic parallel loops.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/minmax_scan.hpp"
#include "core/tensor.hpp"
#include "ops/ir.hpp"
#include "ops/kernel.hpp"

namespace qcal::ops {

// Broadcasting and strided-walk helpers use fixed arrays (no allocation in run()); ranks above
// this are rejected in infer().
inline constexpr int kMaxRank = 8;

// True when every dimension is known (no -1).
bool shape_known(std::span<const std::int64_t> shape);
// Number of elements of a known shape (checked).
std::int64_t known_numel(std::span<const std::int64_t> shape);

// Maps a possibly negative axis into [0, rank); throws naming the node when out of range.
std::int64_t normalize_axis(const NodeDef& node, std::int64_t axis, std::int64_t rank,
                            const char* what = "axis");
// Normalizes a list of axes, rejecting duplicates.
std::vector<std::int64_t> normalize_axes(const NodeDef& node, std::span<const std::int64_t> axes,
                                         std::int64_t rank, const char* what = "axes");

// Reads an int64 or int32 tensor as int64 values; throws for other dtypes.
std::vector<std::int64_t> tensor_to_ints(const NodeDef& node, const Tensor& t, const char* what);
// Reads a float-ish scalar/vector (float32, float64, int types) as doubles.
std::vector<double> tensor_to_doubles(const NodeDef& node, const Tensor& t, const char* what);

// The info of input i, or an undefined info when absent.
inline const TensorInfo* input_info(std::span<const TensorInfo> inputs, std::size_t i) {
  return i < inputs.size() && inputs[i].dtype != DType::kUndefined ? &inputs[i] : nullptr;
}
inline const Tensor* input_tensor(std::span<const Tensor* const> inputs, std::size_t i) {
  return i < inputs.size() ? inputs[i] : nullptr;
}
// Throws unless inputs [min_count, max_count] are given and the first min_count are present.
void require_inputs(const NodeDef& node, std::span<const TensorInfo> inputs, std::size_t min_count,
                    std::size_t max_count);
// Throws unless the dtype is one of `allowed`.
void require_dtype(const NodeDef& node, DType dtype, std::initializer_list<DType> allowed,
                   const char* what);
// Throws when rank exceeds kMaxRank.
void require_rank_supported(const NodeDef& node, std::size_t rank);

// numpy multidirectional broadcasting of known or partly known (-1) shapes; throws on mismatch.
Shape broadcast_shapes(const NodeDef& node, std::span<const Shape> shapes);

// Ensures an output tensor has the given dtype and shape: the engine preallocates outputs of
// fully inferred shapes; outputs with a -1 in their inferred shape arrive empty.
void ensure_output(Tensor& out, DType dtype, const Shape& shape);

// A strided walk of an input broadcast to an output: dims merged where possible, element
// strides 0 on broadcast dimensions. Built in run() without allocation.
struct BroadcastPlan {
  int rank = 0;                                                 // after merging; >= 1
  std::array<std::int64_t, kMaxRank> dims{};                    // output dims
  std::array<std::array<std::int64_t, kMaxRank>, 3> strides{};  // per operand, in elements
};
// Builds a plan for up to 3 operand shapes broadcast to `out_shape`.
BroadcastPlan make_broadcast_plan(std::span<const std::int64_t> out_shape,
                                  std::span<const std::span<const std::int64_t>> operand_shapes);

// Row-major strides (in elements) of a shape.
std::array<std::int64_t, kMaxRank> contiguous_strides(std::span<const std::int64_t> shape);

// Runs body(begin, end) over [0, n) split into equal static chunks, at most num_threads of them
// and none smaller than `grain` items. Each item is computed by exactly one thread, so results do
// not depend on the thread count as long as items are independent.
template <typename Body>
void parallel_for(std::int64_t n, std::int64_t grain, int num_threads, const Body& body) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  std::int64_t chunks =
      std::min<std::int64_t>(num_threads < 1 ? 1 : num_threads, (n + grain - 1) / grain);
  if (chunks <= 1) {
    body(std::int64_t{0}, n);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(static_cast <int>(chunks))
  for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
    const std::int64_t begin = n * chunk / chunks;
    const std::int64_t end = n * (chunk + 1) / chunks;
    body(begin, end);
  }
}

// Values per block in parallel_for_minmax: 16 KiB, so the block just written (and the input
// block just read) are still in L1 when they are scanned.
inline constexpr std::int64_t kMinMaxBlock = 4096;

// parallel_for over a float32 map whose element i of `out` (and, when given, of `in`) is
// written (read) by body's [begin, end) call containing i: runs the body block by block and
// fills the scans `req` asks for (ops::MinMaxRequest) from each block right after it is
// computed. Blocks only split the same items differently, so the outputs are the same bytes;
// the scans combine exactly (min/max are order-free), whatever the thread count. `in` may be
// null when the kernel cannot report its input.
template <typename Body>
void parallel_for_minmax(std::int64_t n, std::int64_t grain, int num_threads, MinMaxRequest* req,
                         const float* in, const float* out, const Body& body) {
  const bool want_out = req != nullptr && req->want_output && out != nullptr;
  const bool want_in = req != nullptr && req->want_input && in != nullptr;
  if (!want_out && !want_in) {
    parallel_for(n, grain, num_threads, body);
    return;
  }
  std::mutex mutex;
  bool any = false;
  MinMaxScan total_in, total_out;
  parallel_for(n, grain, num_threads, [&](std::int64_t begin, std::int64_t end) {
    MinMaxScan chunk_in, chunk_out;
    for (std::int64_t b = begin; b < end; b += kMinMaxBlock) {
      const std::int64_t e = std::min(end, b + kMinMaxBlock);
      body(b, e);
      const auto count = static_cast<std::size_t>(e - b);
      if (want_out) {
        const MinMaxScan s = scan_min_max({out + b, count});
        chunk_out = b == begin ? s : merge_min_max(chunk_out, s);
      }
      if (want_in) {
        const MinMaxScan s = scan_min_max({in + b, count});
        chunk_in = b == begin ? s : merge_min_max(chunk_in, s);
      }
    }
    if (begin >= end) return;
    const std::lock_guard<std::mutex> lock(mutex);
    total_out = any ? merge_min_max(total_out, chunk_out) : chunk_out;
    total_in = any ? merge_min_max(total_in, chunk_in) : chunk_in;
    any = true;
  });
  if (!any) return;  // n == 0: nothing to report (the observer reads the empty view)
  if (want_out) {
    req->output = total_out;
    req->output_done = true;
  }
  if (want_in) {
    req->input = total_in;
    req->input_done = true;
  }
}

// Walks output elements [begin, end) of a plan row by row, calling
// row(operand_offsets, output_offset, count); only per-row index arithmetic.
template <int N, typename RowFn>
void walk_rows(const BroadcastPlan& plan, std::int64_t begin, std::int64_t end, const RowFn& row) {
  const int r = plan.rank;
  const std::int64_t inner = plan.dims[r - 1];
  std::array<std::int64_t, kMaxRank> idx{};
  std::int64_t rest = begin / inner;
  std::int64_t col = begin % inner;
  for (int d = r - 2; d >= 0; --d) {
    idx[d] = rest % plan.dims[d];
    rest /= plan.dims[d];
  }
  std::int64_t pos = begin;
  while (pos < end) {
    std::array<std::int64_t, N> off{};
    for (int k = 0; k < N; ++k) {
      std::int64_t o = col * plan.strides[k][r - 1];
      for (int d = 0; d < r - 1; ++d) o += idx[d] * plan.strides[k][d];
      off[k] = o;
    }
    const std::int64_t n = std::min(inner - col, end - pos);
    row(off, pos, n);
    pos += n;
    col = 0;
    for (int d = r - 2; d >= 0; --d) {
      if (++idx[d] < plan.dims[d]) break;
      idx[d] = 0;
    }
  }
}

// Copies `in` broadcast to out's shape (Expand, and the first operand of variadic ops).
void broadcast_copy(const Tensor& in, Tensor& out, int num_threads);

// Copies a strided view of `src` into contiguous `dst`: dst[i0..ik] = src[sum i_d * strides[d]]
// (strides in elements, may be negative or 0). Adjacent dims that stay contiguous are merged;
// an inner stride of 1 becomes memcpy. Used by Transpose and Slice.
// `minmax_f32`, when given, is filled for the copy's output as parallel_for_minmax does; pass it
// only for float32 data.
void strided_copy(const void* src, std::size_t element_size, std::span<const std::int64_t> dims,
                  std::span<const std::int64_t> strides, void* dst, int num_threads,
                  MinMaxRequest* minmax_f32 = nullptr);

// Elements per parallel chunk for cheap elementwise work: below this, threads cost more than
// they save.
inline constexpr std::int64_t kElementwiseGrain = 16384;

// Dtype dispatch: calls f(T{}) with the C++ type of `dtype`, or returns false when the dtype is
// not in the list.
template <typename... Ts>
struct TypeList {};

template <typename F, typename T, typename... Rest>
bool dispatch_impl(DType dtype, F& f, TypeList<T, Rest...>) {
  if (dtype == dtype_of<T>()) {
    f(T{});
    return true;
  }
  if constexpr (sizeof...(Rest) > 0) {
    return dispatch_impl(dtype, f, TypeList<Rest...>{});
  } else {
    return false;
  }
}
template <typename List, typename F>
bool dispatch(DType dtype, F&& f) {
  return dispatch_impl(dtype, f, List{});
}

using AllTypes = TypeList<float, double, std::int64_t, std::int32_t, std::int8_t, std::uint8_t,
                          std::int16_t, std::uint16_t, std::uint32_t, std::uint64_t, bool>;
using NumericTypes = TypeList<float, double, std::int64_t, std::int32_t, std::int8_t, std::uint8_t,
                              std::int16_t, std::uint16_t, std::uint32_t, std::uint64_t>;
using FloatTypes = TypeList<float, double>;

// Copies a tensor's bytes into a preallocated output of the same byte size (memmove: the engine
// may hand the same buffer in and out).
void copy_bytes(const Tensor& in, Tensor& out);

// Base class holding the node for error messages.
class NodeKernel : public Kernel {
 public:
  explicit NodeKernel(const NodeDef& node) : node_(node) {}

 protected:
  NodeDef node_;
};

}  // namespace qcal::ops
