// ONNX loader: ModelProto -> engine::Model (inputs/outputs, NodeDefs, constants, opsets), with
// every size checked and every problem reported with the node or tensor at fault.
#include "engine/model.hpp"

#include <atomic>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>

#include "core/atomic_file.hpp"
#include "core/checked.hpp"
#include "core/error.hpp"
#include "engine/tensor_proto.hpp"
#include "ops/kernel.hpp"

namespace qcal::engine {

// Fills a Model's private fields; a friend so the public class stays protobuf-free.
struct ModelBuilder {
  static Model build(const onnx::ModelProto& proto, const std::filesystem::path& base_dir,
                     const LoadOptions& options);
};

namespace {

std::string normalize_domain(const std::string& domain) {
  return domain == "ai.onnx" ? std::string() : domain;
}

ValueInfo value_info_from_proto(const onnx::ValueInfoProto& proto, const char* role) {
  ValueInfo info;
  info.name = proto.name();
  if (info.name.empty())
    throw Error(ErrorCode::kFormat, std::string("graph ") + role + " without a name");
  if (!proto.type().has_tensor_type()) {
    throw Error(ErrorCode::kUnsupported, std::string("graph ") + role + " is not a tensor")
        .with("tensor", info.name);
  }
  const auto& tt = proto.type().tensor_type();
  info.dtype = detail::dtype_from_onnx(tt.elem_type());
  if (info.dtype == DType::kUndefined && tt.elem_type() != onnx::TensorProto::UNDEFINED) {
    // An unsupported declared type (bfloat16, string, ...) must not turn into "any dtype".
    throw Error(ErrorCode::kUnsupported, std::string("graph ") + role + " has element type " +
                                             detail::onnx_dtype_name(tt.elem_type()) +
                                             ", which qcal does not support")
        .with("tensor", info.name);
  }
  if (tt.has_shape()) {
    for (const auto& dim : tt.shape().dim()) {
      if (dim.has_dim_value()) {
        if (dim.dim_value() < 0) {
          throw Error(ErrorCode::kFormat, "negative dimension " + std::to_string(dim.dim_value()))
              .with("tensor", info.name);
        }
        info.shape.push_back(dim.dim_value());
        info.dim_params.emplace_back();
      } else {
        info.shape.push_back(-1);
        info.dim_params.push_back(dim.has_dim_param() ? dim.dim_param() : std::string());
      }
    }
  }
  return info;
}

ops::AttrValue attr_from_proto(const onnx::AttributeProto& a, const ops::NodeDef& node,
                               const std::filesystem::path& base_dir) {
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::FLOAT:
      return a.f();
    case A::INT:
      return static_cast<std::int64_t>(a.i());
    case A::STRING:
      return a.s();
    case A::TENSOR: {
      try {
        return detail::tensor_from_proto(a.t(), base_dir);
      } catch (Error& e) {
        e.with("node", node.name).with("attribute", a.name());
        throw;
      }
    }
    case A::FLOATS:
      return std::vector<float>(a.floats().begin(), a.floats().end());
    case A::INTS:
      return std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
    case A::STRINGS:
      return std::vector<std::string>(a.strings().begin(), a.strings().end());
    default:
      break;
  }
  // Old files may leave `type` unset; infer it from the one field present.
  if (a.type() == A::UNDEFINED) {
    if (a.has_f()) return a.f();
    if (a.has_i()) return static_cast<std::int64_t>(a.i());
    if (a.has_s()) return a.s();
    if (a.has_t()) return detail::tensor_from_proto(a.t(), base_dir);
    if (a.ints_size()) return std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
    if (a.floats_size()) return std::vector<float>(a.floats().begin(), a.floats().end());
  }
  throw node.error(ErrorCode::kUnsupported,
                   "attribute '" + a.name() +
                       "' has a type qcal does not support (graphs, "
                       "sparse tensors and type protos are not supported)");
}

// The value of a Constant node as a tensor.
Tensor constant_value(const ops::NodeDef& node) {
  if (node.outputs.size() != 1) throw node.error(ErrorCode::kFormat, "Constant needs one output");
  if (node.attributes.size() != 1) {
    throw node.error(ErrorCode::kFormat, "Constant needs exactly one value attribute");
  }
  const auto& [key, value] = *node.attributes.begin();
  if (key == "value") {
    if (const auto* t = std::get_if<Tensor>(&value)) return *t;
  } else if (key == "value_float") {
    if (const auto* f = std::get_if<float>(&value)) return Tensor::scalar(*f);
  } else if (key == "value_int") {
    if (const auto* i = std::get_if<std::int64_t>(&value)) return Tensor::scalar(*i);
  } else if (key == "value_floats") {
    if (const auto* v = std::get_if<std::vector<float>>(&value)) {
      return Tensor::from_values<float>({static_cast<std::int64_t>(v->size())}, *v);
    }
  } else if (key == "value_ints") {
    if (const auto* v = std::get_if<std::vector<std::int64_t>>(&value)) {
      return Tensor::from_values<std::int64_t>({static_cast<std::int64_t>(v->size())}, *v);
    }
  }
  throw node.error(ErrorCode::kUnsupported, "Constant attribute '" + key + "' is not supported");
}

}  // namespace

Model ModelBuilder::build(const onnx::ModelProto& proto, const std::filesystem::path& base_dir,
                          const LoadOptions& options) {
  Model m;
  m.ir_version_ = proto.ir_version();
  m.producer_ = proto.producer_name();
  if (proto.producer_version().size()) m.producer_ += " " + proto.producer_version();
  for (const auto& op : proto.opset_import()) {
    m.opsets_[normalize_domain(op.domain())] = static_cast<int>(op.version());
  }
  // IR version 3+ requires opset_import; older files imply opset 1 which qcal does not run.
  if (!m.opsets_.count("")) {
    throw Error(ErrorCode::kUnsupported, "model imports no ai.onnx opset (qcal loads opset " +
                                             std::to_string(kMinSupportedOpset) + " to " +
                                             std::to_string(kMaxSupportedOpset) + ")");
  }
  const int opset = m.opsets_.at("");
  if (opset > kMaxSupportedOpset || opset < kMinSupportedOpset) {
    throw Error(ErrorCode::kUnsupported, "ai.onnx opset " + std::to_string(opset) +
                                             " is not supported (qcal loads opset " +
                                             std::to_string(kMinSupportedOpset) + " to " +
                                             std::to_string(kMaxSupportedOpset) + ")");
  }
  if (!proto.has_graph()) throw Error(ErrorCode::kFormat, "model has no graph");
  const auto& graph = proto.graph();

  std::set<std::string> initializer_set;
  for (const auto& init : graph.initializer()) {
    if (init.name().empty()) throw Error(ErrorCode::kFormat, "initializer without a name");
    if (!initializer_set.insert(init.name()).second) {
      throw Error(ErrorCode::kFormat, "initializer defined twice").with("tensor", init.name());
    }
    m.constants_[init.name()] = detail::tensor_from_proto(init, base_dir);
    m.initializer_names_.push_back(init.name());
  }
  if (graph.sparse_initializer_size()) {
    throw Error(ErrorCode::kUnsupported, "sparse initializers are not supported");
  }
  // Models from IR < 4 list initializers among the inputs too; those are not real inputs.
  for (const auto& in : graph.input()) {
    if (initializer_set.count(in.name())) continue;
    m.inputs_.push_back(value_info_from_proto(in, "input"));
  }
  for (const auto& out : graph.output()) m.outputs_.push_back(value_info_from_proto(out, "output"));
  if (m.outputs_.empty()) throw Error(ErrorCode::kFormat, "model has no outputs");

  std::set<std::string> produced;
  for (const auto& v : m.inputs_) produced.insert(v.name);
  for (int index = 0; index < graph.node_size(); ++index) {
    const auto& np = graph.node(index);
    ops::NodeDef node;
    node.op_type = np.op_type();
    node.domain = normalize_domain(np.domain());
    node.name = np.name().empty() ? node.op_type + "_" + std::to_string(index) : np.name();
    auto it = m.opsets_.find(node.domain);
    if (it == m.opsets_.end()) {
      throw node.error(ErrorCode::kFormat,
                       "node's domain '" + node.domain + "' is not in the model's opset imports");
    }
    node.opset = it->second;
    node.inputs.assign(np.input().begin(), np.input().end());
    node.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& a : np.attribute()) {
      if (!a.ref_attr_name().empty()) {
        throw node.error(ErrorCode::kUnsupported, "attribute references are not supported");
      }
      node.attributes[a.name()] = attr_from_proto(a, node, base_dir);
    }
    for (const auto& out : node.outputs) {
      if (out.empty()) continue;
      if (!produced.insert(out).second || initializer_set.count(out)) {
        throw node.error(ErrorCode::kFormat, "tensor '" + out + "' is produced twice");
      }
    }
    if (node.domain.empty() && node.op_type == "Constant") {
      m.constants_[node.outputs.at(0)] = constant_value(node);
      continue;
    }
    m.nodes_.push_back(std::move(node));
  }
  // Every consumed tensor must come from somewhere: a missing initializer is a load error.
  for (const auto& node : m.nodes_) {
    for (const auto& in : node.inputs) {
      if (!in.empty() && !produced.count(in) && !m.constants_.count(in)) {
        throw node
            .error(ErrorCode::kFormat, "input tensor '" + in +
                                           "' is not a graph input, an initializer or "
                                           "any node's output")
            .with("tensor", in);
      }
    }
  }
  for (const auto& out : m.outputs_) {
    if (!produced.count(out.name) && !m.constants_.count(out.name)) {
      throw Error(ErrorCode::kFormat, "graph output is produced by no node")
          .with("tensor", out.name);
    }
  }
  if (options.check_ops) m.check_supported();
  return m;
}

namespace {
std::atomic<std::uint64_t> g_parse_count{0};
}  // namespace

std::uint64_t Model::parse_count() { return g_parse_count.load(); }

Model Model::load_from_bytes(std::string_view bytes, const std::filesystem::path& base_dir,
                             const LoadOptions& options) {
  g_parse_count.fetch_add(1);
  if (bytes.empty()) throw Error(ErrorCode::kFormat, "the model file is empty (0 bytes)");
  onnx::ModelProto proto;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw Error(ErrorCode::kLimit,
                "model file is larger than 2 GiB (protobuf's limit); store "
                "the weights as external data");
  }
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw Error(ErrorCode::kFormat,
                "not a valid ONNX model (protobuf parse failed: truncated or "
                "corrupt file)");
  }
  return ModelBuilder::build(proto, base_dir, options);
}

Model Model::load(const std::filesystem::path& path, const LoadOptions& options) {
  // read_file: regular files only (inspect /dev/zero read until memory ran out), naming the file.
  const std::string bytes = read_file(path);
  try {
    std::filesystem::path base = path.parent_path();
    if (base.empty()) base = ".";
    Model m = load_from_bytes(bytes, base, options);
    m.path_ = path;
    return m;
  } catch (Error& e) {
    e.with("file", path.string());
    throw;
  }
}

int Model::onnx_opset() const {
  auto it = opsets_.find("");
  return it == opsets_.end() ? 0 : it->second;
}

std::vector<UnsupportedNode> Model::unsupported_nodes() const {
  std::vector<UnsupportedNode> out;
  for (const auto& node : nodes_) {
    if (!ops::find_op(node.domain, node.op_type, node.opset)) {
      out.push_back({node.name, node.op_type, node.domain, node.opset});
    }
  }
  return out;
}

void Model::check_supported() const {
  const auto missing = unsupported_nodes();
  if (missing.empty()) return;
  std::string message = std::to_string(missing.size()) + " node(s) use ops qcal does not support:";
  for (const auto& n : missing) {
    message += "\n  node '" + n.name + "': " + (n.domain.empty() ? "" : n.domain + ".") +
               n.op_type + " (opset " + std::to_string(n.opset) + ")";
  }
  throw Error(ErrorCode::kUnsupported, message);
}

int Model::input_index(std::string_view name) const {
  for (std::size_t i = 0; i < inputs_.size(); ++i) {
    if (inputs_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int Model::output_index(std::string_view name) const {
  for (std::size_t i = 0; i < outputs_.size(); ++i) {
    if (outputs_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace qcal::engine
