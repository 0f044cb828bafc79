// Module-internal helpers on ONNX protobuf types, shared by export's .cpp files (the protobuf
// types do not appear in export's public headers).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace qcal::exporter {

// Parses model bytes; throws kFormat naming `what` when they are not a ModelProto.
onnx::ModelProto parse_model(const std::string& bytes, const std::string& what);

// The default-domain opset the model imports (0 when none).
int default_opset(const onnx::ModelProto& model);

}  // namespace qcal::exporter
