// Pooling: MaxPool (optional Indices output, storage_order, dilations, ceil_mode), AveragePool
// (count_include_pad, ceil_mode, dilations), GlobalAveragePool, GlobalMaxPool. 1 to 3 spatial dims.
#pragma once

#include <span>
#include <string>

#include "ops/kernel.hpp"

namespace qcal::ops {

struct PoolAttrs {
  bool is_max = true;
  std::string auto_pad = "NOTSET";  // NOTSET, SAME_UPPER, SAME_LOWER, VALID
  std::vector<std::int64_t> kernel_shape;
  std::vector<std::int64_t> strides;    // default 1
  std::vector<std::int64_t> pads;       // begins then ends; default 0
  std::vector<std::int64_t> dilations;  // default 1
  std::int64_t ceil_mode = 0;
  std::int64_t count_include_pad = 0;
  std::int64_t storage_order = 0;
};

// Resolved geometry, padded to 3 spatial dims (missing dims: size 1, kernel 1).
struct PoolGeometry {
  std::int64_t batch = 0, channels = 0;
  std::array<std::int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, kernel{1, 1, 1}, stride{1, 1, 1},
      pad_begin{0, 0, 0}, pad_end{0, 0, 0}, dilation{1, 1, 1};
  int spatial = 0;
};
PoolGeometry infer_pool(const NodeDef& node, const PoolAttrs& attrs, const Shape& shape);
Shape pool_output_shape(const PoolGeometry& g);
// Reference: one output at a time, window walked with plain loops.
void pool_f32_ref(const PoolAttrs& attrs, const PoolGeometry& g, const float* in, float* out);
std::unique_ptr<Kernel> make_pool(const NodeDef& node);
std::unique_ptr<Kernel> make_global_pool(const NodeDef& node);

}  // namespace qcal::ops
