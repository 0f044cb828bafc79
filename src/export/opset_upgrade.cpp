// Opset upgrade with ONNX's version converter, and the engine check that it changed nothing.
#include "export/opset_upgrade.hpp"

#include <onnx/onnx_pb.h>
#include <onnx/version_converter/convert.h>

#include <cmath>
#include <map>
#include <memory>

#include "core/error.hpp"
#include "engine/model.hpp"
#include "engine/session.hpp"
#include "export/onnx_proto_util.hpp"

namespace qcal::exporter {
namespace {

Error unsupported(const std::string& message, const std::string& what) {
  Error e(ErrorCode::kUnsupported, message);
  e.with("file", what);
  return e;
}

}  // namespace

int model_opset(const std::string& model_bytes, const std::string& what) {
  const auto model = parse_model(model_bytes, what);
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") return static_cast<int>(o.version());
  }
  return 0;
}

std::string upgrade_opset(const std::string& model_bytes, const std::string& what, int target_opset,
                          std::span<const Shape> input_shapes) {
  auto model = parse_model(model_bytes, what);
  const int from = model_opset(model_bytes, what);
  const std::string goal = "converting the model from opset " + std::to_string(from) + " to " +
                           std::to_string(target_opset);
  for (const auto& t : model.graph().initializer()) {
    if (t.data_location() == onnx::TensorProto::EXTERNAL) {
      throw unsupported(goal + " is not supported for weights in external data files", what);
    }
  }
  // Input ranks of the softmax-like nodes, from the engine's shape inference (unfused, so the
  // nodes are the model's own).
  std::map<std::string, std::size_t> rank_of;  // the node's output tensor -> its input's rank
  bool needs_ranks = false;                    // a softmax-like node whose axis is not already -1
  for (const auto& node : model.graph().node()) {
    const std::string& op = node.op_type();
    if (!node.domain().empty() || (op != "Softmax" && op != "LogSoftmax" && op != "Hardmax"))
      continue;
    bool last = false;
    for (const auto& a : node.attribute()) last = last || (a.name() == "axis" && a.i() == -1);
    needs_ranks = needs_ranks || !last;
  }
  if (from < 13 && needs_ranks) {
    auto parsed = std::make_shared<const engine::Model>(
        engine::Model::load_from_bytes(model_bytes, std::filesystem::path(what).parent_path()));
    engine::SessionOptions o;
    o.fuse = false;
    engine::Session session(parsed, o);
    for (const auto& ns : session.node_shapes(input_shapes)) {
      const auto& op = ns.node->op_type;
      if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && !ns.inputs.empty() &&
          !ns.node->outputs.empty()) {
        rank_of[ns.node->outputs[0]] = ns.inputs[0].size();
      }
    }
  }
  for (auto& node : *model.mutable_graph()->mutable_node()) {
    const std::string& op = node.op_type();
    if (from >= 13 || !node.domain().empty() || node.output_size() == 0 ||
        (op != "Softmax" && op != "LogSoftmax" && op != "Hardmax")) {
      continue;
    }
    const std::string name = node.name().empty() ? node.output(0) : node.name();
    const auto r = rank_of.find(node.output(0));
    std::int64_t axis = 1;  // the opset < 13 default
    onnx::AttributeProto* axis_attr = nullptr;
    for (auto& a : *node.mutable_attribute()) {
      if (a.name() == "axis") {
        axis_attr = &a;
        axis = a.i();
      }
    }
    const auto rank = r == rank_of.end() ? std::int64_t{0} : static_cast<std::int64_t>(r->second);
    if (axis != -1 && (rank == 0 || axis != rank - 1)) {
      Error e = unsupported(goal + ": " + op + " on axis " + std::to_string(axis) + " of a rank-" +
                                std::to_string(rank) +
                                " input changes meaning at opset 13 and is not rewritten",
                            what);
      e.with("node", name);
      throw e;
    }
    if (!axis_attr) {
      axis_attr = node.add_attribute();
      axis_attr->set_name("axis");
      axis_attr->set_type(onnx::AttributeProto::INT);
    }
    axis_attr->set_i(-1);
  }
  onnx::ModelProto out;
  try {
    out = onnx::version_conversion::ConvertVersion(model, target_opset);
  } catch (const std::exception& ex) {
    throw unsupported(goal + " failed in ONNX's version converter: " + ex.what(), what);
  }
  return out.SerializeAsString();
}

void check_same_outputs(const std::string& original_bytes, const std::string& converted_bytes,
                        const std::string& what, std::span<const Tensor> inputs) {
  const auto base = std::filesystem::path(what).parent_path();
  std::vector<std::vector<Tensor>> results;
  std::vector<std::string> names;
  for (const std::string* bytes : {&original_bytes, &converted_bytes}) {
    auto model =
        std::make_shared<const engine::Model>(engine::Model::load_from_bytes(*bytes, base));
    if (names.empty()) {
      for (const auto& o : model->outputs()) names.push_back(o.name);
    }
    engine::Session session(model);
    results.push_back(session.run(inputs));
  }
  const auto& a = results[0];
  const auto& b = results[1];
  if (a.size() != b.size()) {
    throw unsupported("the opset conversion changed the number of model outputs", what);
  }
  for (std::size_t k = 0; k < a.size(); ++k) {
    bool same_shape = a[k].shape() == b[k].shape() && a[k].dtype() == b[k].dtype();
    double diff = 0, ref = 0;
    if (same_shape && a[k].dtype() == DType::kFloat32) {
      const auto x = a[k].values<float>();
      const auto y = b[k].values<float>();
      for (std::size_t i = 0; i < x.size(); ++i) {
        const double d = static_cast<double>(x[i]) - static_cast<double>(y[i]);
        diff += d * d;
        ref += static_cast<double>(x[i]) * static_cast<double>(x[i]);
      }
    }
    const double rel = ref > 0 ? std::sqrt(diff / ref) : std::sqrt(diff);
    if (!same_shape || !(rel <= 1e-5)) {
      Error e(ErrorCode::kNumeric,
              "the opset conversion changed the model's output (relative L2 error " +
                  std::to_string(rel) + ", shape " + shape_to_string(b[k].shape()) +
                  " instead of " + shape_to_string(a[k].shape()) + ")");
      e.with("file", what).with("tensor", k < names.size() ? names[k] : std::to_string(k));
      throw e;
    }
  }
}

}  // namespace qcal::exporter
