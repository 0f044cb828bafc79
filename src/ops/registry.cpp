// The op registry: one table, one line per (domain, op, opset range). No macros, no static
// self-registration (it silently drops ops when statically linked).
#include "ops/concat_split.hpp"
#include "ops/conv.hpp"
#include "ops/conv_transpose.hpp"
#include "ops/elementwise.hpp"
#include "ops/gather.hpp"
#include "ops/gemm.hpp"
#include "ops/identity.hpp"
#include "ops/kernel.hpp"
#include "ops/matmul.hpp"
#include "ops/normalization.hpp"
#include "ops/pad_tile.hpp"
#include "ops/pool.hpp"
#include "ops/qdq.hpp"
#include "ops/reduce.hpp"
#include "ops/resize.hpp"
#include "ops/shape_ops.hpp"
#include "ops/softmax.hpp"
#include "ops/topk.hpp"
#include "ops/transpose_slice.hpp"
#include "ops/unary.hpp"

namespace qcal::ops {
namespace {

// Sorted by op_type for readability; lookups scan it (a few hundred rows at most, at load time).
constexpr OpRegistration kOps[] = {
    {"", "Abs", 6, 23, make_unary},
    {"", "Add", 7, 23, make_binary},
    {"", "And", 7, 23, make_binary},
    {"", "ArgMax", 1, 23, make_arg_reduce},
    {"", "ArgMin", 1, 23, make_arg_reduce},
    {"", "AveragePool", 7, 23, make_pool},
    {"", "BatchNormalization", 7, 23, make_batch_normalization},
    {"", "Cast", 6, 23, make_unary},
    {"", "CastLike", 15, 23, make_unary},
    {"", "Ceil", 6, 23, make_unary},
    {"", "Celu", 12, 23, make_unary},
    {"", "Clip", 6, 23, make_unary},
    {"", "Concat", 1, 23, make_concat},
    {"", "Constant", 1, 23, make_constant},
    {"", "ConstantOfShape", 9, 23, make_constant_of_shape},
    {"", "Conv", 1, 23, make_conv},
    {"", "ConvTranspose", 1, 23, make_conv_transpose},
    {"", "Cos", 7, 23, make_unary},
    {"", "DequantizeLinear", 10, 23, make_dequantize_linear},
    {"", "Div", 7, 23, make_binary},
    {"", "Elu", 6, 23, make_unary},
    {"", "Equal", 7, 23, make_binary},
    {"", "Erf", 9, 23, make_unary},
    {"", "Exp", 6, 23, make_unary},
    {"", "Expand", 8, 23, make_expand},
    {"", "Flatten", 1, 23, make_flatten},
    {"", "Floor", 6, 23, make_unary},
    {"", "Gather", 1, 23, make_gather},
    {"", "GatherElements", 11, 23, make_gather_elements},
    {"", "Gelu", 20, 23, make_unary},
    {"", "Gemm", 7, 23, make_gemm},
    {"", "GlobalAveragePool", 1, 23, make_global_pool},
    {"", "GlobalMaxPool", 1, 23, make_global_pool},
    {"", "Greater", 7, 23, make_binary},
    {"", "GreaterOrEqual", 12, 23, make_binary},
    {"", "HardSigmoid", 6, 23, make_unary},
    {"", "HardSwish", 14, 23, make_unary},
    {"", "Identity", 1, 23, make_identity},
    {"", "InstanceNormalization", 6, 23, make_instance_normalization},
    {"", "LayerNormalization", 17, 23, make_layer_normalization},
    {"", "LeakyRelu", 6, 23, make_unary},
    {"", "Less", 7, 23, make_binary},
    {"", "LessOrEqual", 12, 23, make_binary},
    {"", "Log", 6, 23, make_unary},
    {"", "LogSoftmax", 1, 23, make_softmax},
    {"", "MatMul", 1, 23, make_matmul},
    {"", "Max", 6, 23, make_binary},
    {"", "MaxPool", 1, 23, make_pool},
    {"", "Mean", 6, 23, make_binary},
    {"", "Min", 6, 23, make_binary},
    {"", "Mish", 18, 23, make_unary},
    {"", "Mod", 10, 23, make_binary},
    {"", "Mul", 7, 23, make_binary},
    {"", "Neg", 6, 23, make_unary},
    {"", "Not", 1, 23, make_unary},
    {"", "Or", 7, 23, make_binary},
    {"", "Pad", 2, 23, make_pad},
    {"", "Pow", 7, 23, make_binary},
    {"", "PRelu", 7, 23, make_binary},
    {"", "QuantizeLinear", 10, 23, make_quantize_linear},
    {"", "Range", 11, 23, make_range},
    {"", "Reciprocal", 6, 23, make_unary},
    {"", "ReduceL1", 1, 23, make_reduce},
    {"", "ReduceL2", 1, 23, make_reduce},
    {"", "ReduceLogSum", 1, 23, make_reduce},
    {"", "ReduceLogSumExp", 1, 23, make_reduce},
    {"", "ReduceMax", 1, 23, make_reduce},
    {"", "ReduceMean", 1, 23, make_reduce},
    {"", "ReduceMin", 1, 23, make_reduce},
    {"", "ReduceProd", 1, 23, make_reduce},
    {"", "ReduceSum", 1, 23, make_reduce},
    {"", "ReduceSumSquare", 1, 23, make_reduce},
    {"", "Relu", 6, 23, make_unary},
    {"", "Reshape", 5, 23, make_reshape},
    {"", "Resize", 10, 23, make_resize},
    {"", "Round", 11, 23, make_unary},
    {"", "Selu", 6, 23, make_unary},
    {"", "Shape", 1, 23, make_shape},
    {"", "Sigmoid", 6, 23, make_unary},
    {"", "Sign", 9, 23, make_unary},
    {"", "Sin", 7, 23, make_unary},
    {"", "Size", 1, 23, make_size},
    {"", "Slice", 1, 23, make_slice},
    {"", "Softmax", 1, 23, make_softmax},
    {"", "Softplus", 1, 23, make_unary},
    {"", "Softsign", 1, 23, make_unary},
    {"", "Split", 2, 23, make_split},
    {"", "Sqrt", 6, 23, make_unary},
    {"", "Squeeze", 1, 23, make_squeeze},
    {"", "Sub", 7, 23, make_binary},
    {"", "Sum", 6, 23, make_binary},
    {"", "Tanh", 6, 23, make_unary},
    {"", "ThresholdedRelu", 10, 23, make_unary},
    {"", "Tile", 6, 23, make_tile},
    {"", "TopK", 1, 23, make_topk},
    {"", "Transpose", 1, 23, make_transpose},
    {"", "Unsqueeze", 1, 23, make_unsqueeze},
    {"", "Upsample", 7, 9, make_resize},
    {"", "Where", 9, 23, make_where},
    {"", "Xor", 7, 23, make_binary},
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
