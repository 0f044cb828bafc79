// The elementwise chain the engine fused into a Conv (attributes "qcal_postops" = op names,
// "qcal_postops_alpha" / "qcal_postops_beta" = their parameters, set by engine/graph.cpp):
// parsed once, applied in order by the reference kernels, mapped to oneDNN eltwise post-ops by
// the fast ones.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <variant>
#include <vector>

#include "ops/ir.hpp"

namespace qcal::ops {

// One fused elementwise op.
struct FusedOp {
  enum class Kind { kNone, kRelu, kClip, kLeakyRelu, kHardSwish, kSwish, kSigmoid, kMul, kAdd };
  Kind kind = Kind::kNone;
  // clip: min; leakyrelu: slope; swish: beta in x * sigmoid(beta * x); mul: factor; add: addend
  float alpha = 0.f;
  float beta = 0.f;  // clip: max

  static Kind kind_from_name(const std::string& name, const NodeDef& node) {
    if (name == "relu") return Kind::kRelu;
    if (name == "clip") return Kind::kClip;
    if (name == "leakyrelu") return Kind::kLeakyRelu;
    if (name == "hardswish") return Kind::kHardSwish;
    if (name == "swish") return Kind::kSwish;
    if (name == "sigmoid") return Kind::kSigmoid;
    if (name == "mul") return Kind::kMul;
    if (name == "add") return Kind::kAdd;
    throw node.error(ErrorCode::kInternal, "unknown fused activation '" + name + "'");
  }

  // The ONNX definition of each op (Relu, Clip, LeakyRelu, HardSwish, x*Sigmoid(x), Sigmoid,
  // Mul/Add by a scalar constant).
  float apply(float x) const {
    switch (kind) {
      case Kind::kNone:
        return x;
      case Kind::kRelu:
        return x > 0.f ? x : 0.f;
      case Kind::kClip:
        return x < alpha ? alpha : (x > beta ? beta : x);
      case Kind::kLeakyRelu:
        return x >= 0.f ? x : alpha * x;
      case Kind::kHardSwish: {
        const float t = x / 6.f + 0.5f;
        return x * (t < 0.f ? 0.f : (t > 1.f ? 1.f : t));
      }
      case Kind::kSwish:
        return x / (1.f + std::exp(-alpha * x));
      case Kind::kSigmoid:
        return 1.f / (1.f + std::exp(-x));
      case Kind::kMul:
        return x * alpha;
      case Kind::kAdd:
        return x + alpha;
    }
    return x;
  }
};

// The chain, applied first to last to the Conv's output (bias included).
struct FusedActivation {
  std::vector<FusedOp> ops;

  bool empty() const { return ops.empty(); }

  static FusedActivation from_node(const NodeDef& node) {
    FusedActivation a;
    std::vector<std::string> names;
    if (auto it = node.attributes.find("qcal_postops"); it != node.attributes.end()) {
      const auto* list = std::get_if<std::vector<std::string>>(&it->second);
      if (!list) throw node.error(ErrorCode::kInternal, "qcal_postops must be a list of strings");
      names = *list;
    }
    const std::vector<float> alphas = node.attr_floats("qcal_postops_alpha");
    const std::vector<float> betas = node.attr_floats("qcal_postops_beta");
    if (alphas.size() != names.size() || betas.size() != names.size()) {
      throw node.error(ErrorCode::kInternal, "fused post-op attributes differ in length");
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      a.ops.push_back({FusedOp::kind_from_name(names[i], node), alphas[i], betas[i]});
    }
    return a;
  }

  float apply(float x) const {
    for (const auto& op : ops) x = op.apply(x);
    return x;
  }
};

}  // namespace qcal::ops
