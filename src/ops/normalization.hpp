// Normalization: BatchNormalization (inference form), InstanceNormalization,
// LayerNormalization (opset 17; optional Mean/InvStdDev outputs).
#pragma once

#include <span>

#include "ops/kernel.hpp"

namespace qcal::ops {

struct BatchNormalizationAttrs {
  float epsilon = 1e-5f;
};
void infer_batch_normalization(const NodeDef& node, std::span<const TensorInfo> inputs);
// y = (x - mean) / sqrt(var + epsilon) * scale + bias, per channel (dim 1).
void batch_normalization_f32_ref(const float* x, const Shape& shape, const float* scale,
                                 const float* bias, const float* mean, const float* var,
                                 float epsilon, float* y);
std::unique_ptr<Kernel> make_batch_normalization(const NodeDef& node);

struct InstanceNormalizationAttrs {
  float epsilon = 1e-5f;
};
std::unique_ptr<Kernel> make_instance_normalization(const NodeDef& node);

struct LayerNormalizationAttrs {
  std::int64_t axis = -1;
  float epsilon = 1e-5f;
  std::int64_t stash_type = 1;
};
// Normalises groups of `size` contiguous values; scale/bias have `size` values (bias optional).
void layer_normalization_f32_ref(const float* x, std::int64_t groups, std::int64_t size,
                                 const float* scale, const float* bias, float epsilon, float* y);
std::unique_ptr<Kernel> make_layer_normalization(const NodeDef& node);

}  // namespace qcal::ops
