// The op registry: one table, one line per (domain, op, opset range). No macros, no static
// self-registration (it silently drops ops when statically linked).
#include "ops/conv.hpp"
#include "ops/conv_transpose.hpp"
#include "ops/gemm.hpp"
#include "ops/identity.hpp"
#include "ops/matmul.hpp"
#include "ops/kernel.hpp"

namespace qcal::ops {
namespace {

// Sorted by op_type for readability; lookups scan it (a few hundred rows at most, at load time).
constexpr OpRegistration kOps[] = {
    {"", "Conv", 1, 23, make_conv},
    {"", "ConvTranspose", 1, 23, make_conv_transpose},
    {"", "Gemm", 7, 23, make_gemm},
    {"", "Identity", 1, 23, make_identity},
    {"", "MatMul", 1, 23, make_matmul},
};

}  // namespace

std::span<const OpRegistration> op_registry() { return kOps; }

const OpRegistration* find_op(std::string_view domain, std::string_view op_type, int opset) {
  const std::string_view normalized = domain == "ai.onnx" ? std::string_view{} : domain;
  for (const auto& row : kOps) {
    if (row.factory && row.domain == normalized && row.op_type == op_type &&
        opset >= row.since_opset && opset <= row.until_opset) {
      return &row;
    }
  }
  return nullptr;
}

}  // namespace qcal::ops
