// Internal to engine/: onnx.TensorProto <-> qcal::Tensor, with external data confined to the
// model folder. Includes protobuf types, so only engine/ .cpp files include it.
#pragma once

#include <filesystem>
#include <string>

#include "core/tensor.hpp"
#include "onnx/onnx_pb.h"

namespace qcal::engine::detail {

// The qcal dtype of an ONNX TensorProto.DataType; kUndefined when qcal has none (string,
// bfloat16, complex).
DType dtype_from_onnx(int onnx_type);
// The ONNX name of a TensorProto.DataType ("bfloat16", "string", "float32"...), for errors.
std::string onnx_dtype_name(int onnx_type);

// Converts a TensorProto. `base_dir` is the model's folder for external data (empty: external
// data is an error). Throws kFormat/kLimit/kUnsupported with the tensor's name attached.
Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::filesystem::path& base_dir);

}  // namespace qcal::engine::detail
