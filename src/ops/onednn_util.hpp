// The process-wide oneDNN CPU engine and helpers shared by the oneDNN kernels.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include "core/tensor.hpp"
#include "ops/fused_activation.hpp"

namespace qcal::ops {

dnnl::engine& onednn_engine();
// Appends the activation as an eltwise post-op (no-op for kNone).
void append_activation(dnnl::post_ops& ops, const FusedActivation& activation);
// dims as oneDNN wants them.
dnnl::memory::dims to_dims(const Shape& shape);
// The plain (row-major) tag for a rank: a, ab, abc, abcd, abcde.
dnnl::memory::format_tag plain_tag(std::size_t rank);

}  // namespace qcal::ops
