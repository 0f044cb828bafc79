// An activation the engine fused into a Conv (attributes "qcal_activation", "_alpha", "_beta",
// set by engine/graph.cpp): parsed once, applied by the reference kernels, mapped to oneDNN
// post-ops by the fast ones.
#pragma once

#include <cmath>
#include <string>

#include "ops/ir.hpp"

namespace qcal::ops {

struct FusedActivation {
  enum class Kind { kNone, kRelu, kClip, kLeakyRelu, kHardSwish, kSwish };
  Kind kind = Kind::kNone;
  float alpha = 0.f;  // clip: min; leakyrelu: slope; swish: beta in x * sigmoid(beta * x)
  float beta = 0.f;   // clip: max

  static FusedActivation from_node(const NodeDef& node) {
    FusedActivation a;
    const std::string name = node.attr_string("qcal_activation", "");
    a.alpha = node.attr_float("qcal_activation_alpha", 0.f);
    a.beta = node.attr_float("qcal_activation_beta", 0.f);
    if (name.empty()) a.kind = Kind::kNone;
    else if (name == "relu") a.kind = Kind::kRelu;
    else if (name == "clip") a.kind = Kind::kClip;
    else if (name == "leakyrelu") a.kind = Kind::kLeakyRelu;
    else if (name == "hardswish") a.kind = Kind::kHardSwish;
    else if (name == "swish") a.kind = Kind::kSwish;
    else throw node.error(ErrorCode::kInternal, "unknown fused activation '" + name + "'");
    return a;
  }

  // The ONNX definition of each op (Relu, Clip, LeakyRelu, HardSwish, x*Sigmoid(x)).
  float apply(float x) const {
    switch (kind) {
      case Kind::kNone: return x;
      case Kind::kRelu: return x > 0.f ? x : 0.f;
      case Kind::kClip: return x < alpha ? alpha : (x > beta ? beta : x);
      case Kind::kLeakyRelu: return x >= 0.f ? x : alpha * x;
      case Kind::kHardSwish: {
        const float t = x / 6.f + 0.5f;
        return x * (t < 0.f ? 0.f : (t > 1.f ? 1.f : t));
      }
      case Kind::kSwish: return x / (1.f + std::exp(-alpha * x));
    }
    return x;
  }
};

}  // namespace qcal::ops
