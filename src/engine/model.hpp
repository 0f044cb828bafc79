// An ONNX model loaded into qcal's own IR: graph inputs/outputs, nodes (ops::NodeDef),
// constants (initializers and Constant nodes), opsets. No protobuf type appears here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.hpp"
#include "ops/ir.hpp"

namespace qcal::engine {

// Highest ai.onnx opset qcal loads. Ops whose semantics did not change past 17 are registered
// up to this opset in ops/registry.cpp; a node whose op changed is reported as unsupported.
inline constexpr int kMaxSupportedOpset = 21;
inline constexpr int kMinSupportedOpset = 7;

// A graph input or output as declared in the model.
struct ValueInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  Shape shape;                          // -1 for a dimension not fixed by the model
  std::vector<std::string> dim_params;  // per dimension: the symbolic name ("batch"), or ""
};

// A node the op registry cannot run.
struct UnsupportedNode {
  std::string name;
  std::string op_type;
  std::string domain;
  int opset = 0;
};

struct LoadOptions {
  // Throw at load time when any node is unsupported (the error lists all of them). `inspect`
  // turns this off to report them instead.
  bool check_ops = true;
};

class Model {
 public:
  // Reads and validates an .onnx file. External data files are read relative to the model's
  // folder and must stay inside it. Throws qcal::Error (kIo, kFormat, kUnsupported, kLimit)
  // naming the file and the node or tensor at fault.
  static Model load(const std::filesystem::path& path, const LoadOptions& options = {});
  // The same from bytes in memory (fuzzing, tests); external data resolves against base_dir
  // (none allowed when base_dir is empty).
  static Model load_from_bytes(std::string_view bytes, const std::filesystem::path& base_dir,
                               const LoadOptions& options = {});
  // Models parsed so far in this process (load and load_from_bytes): tests count a pipeline's
  // parses with it.
  static std::uint64_t parse_count();

  const std::vector<ValueInfo>& inputs() const { return inputs_; }
  const std::vector<ValueInfo>& outputs() const { return outputs_; }
  // Nodes in file order, Constant nodes removed (their values are in constants()).
  const std::vector<ops::NodeDef>& nodes() const { return nodes_; }
  // Initializers and Constant-node values by tensor name.
  const std::map<std::string, Tensor>& constants() const { return constants_; }
  // Names of the tensors that came from initializers (the model's weights), not Constant nodes.
  const std::vector<std::string>& initializer_names() const { return initializer_names_; }
  // Opset per domain ("" is ai.onnx).
  const std::map<std::string, int>& opsets() const { return opsets_; }
  int onnx_opset() const;
  std::int64_t ir_version() const { return ir_version_; }
  const std::string& producer() const { return producer_; }
  const std::filesystem::path& path() const { return path_; }

  // Every node no registered kernel covers (op, domain, opset).
  std::vector<UnsupportedNode> unsupported_nodes() const;
  // Throws kUnsupported listing every unsupported node; no-op when all are supported.
  void check_supported() const;

  // Index of an input/output by name, or -1.
  int input_index(std::string_view name) const;
  int output_index(std::string_view name) const;

 private:
  friend struct ModelBuilder;
  std::vector<ValueInfo> inputs_;
  std::vector<ValueInfo> outputs_;
  std::vector<ops::NodeDef> nodes_;
  std::map<std::string, Tensor> constants_;
  std::vector<std::string> initializer_names_;
  std::map<std::string, int> opsets_;
  std::int64_t ir_version_ = 0;
  std::string producer_;
  std::filesystem::path path_;
};

// Reads a serialized onnx.TensorProto (.pb, as in the ONNX backend test data). Throws kFormat
// naming the file when the content is malformed or the dtype unsupported.
Tensor read_tensor_pb(const std::filesystem::path& path);
// The name stored in a TensorProto .pb file ("" when none).
std::string read_tensor_pb_name(const std::filesystem::path& path);

}  // namespace qcal::engine
