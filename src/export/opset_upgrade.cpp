// Opset upgrade with ONNX's version converter (the engine check that it changed nothing is the
// caller's: quantize/model_context.cpp).
#include "export/opset_upgrade.hpp"

#include <onnx/onnx_pb.h>
#include <onnx/version_converter/convert.h>

#include <cmath>
#include <map>
#include <memory>

#include "core/error.hpp"
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
                          const SoftmaxRanks& softmax_ranks) {
  auto model = parse_model(model_bytes, what);
  const int from = model_opset(model_bytes, what);
  const std::string goal = "converting the model from opset " + std::to_string(from) + " to " +
                           std::to_string(target_opset);
  for (const auto& t : model.graph().initializer()) {
    if (t.data_location() == onnx::TensorProto::EXTERNAL) {
      throw unsupported(goal + " is not supported for weights in external data files", what);
    }
  }
  // Input ranks of the softmax-like nodes, asked for only when one's axis is not already -1.
  std::map<std::string, std::size_t> rank_of;  // the node's output tensor -> its input's rank
  bool needs_ranks = false;
  for (const auto& node : model.graph().node()) {
    const std::string& op = node.op_type();
    if (!node.domain().empty() || (op != "Softmax" && op != "LogSoftmax" && op != "Hardmax"))
      continue;
    bool last = false;
    for (const auto& a : node.attribute()) last = last || (a.name() == "axis" && a.i() == -1);
    needs_ranks = needs_ranks || !last;
  }
  if (from < 13 && needs_ranks && softmax_ranks) rank_of = softmax_ranks();
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

}  // namespace qcal::exporter
