// Model summary: op histogram, parameter count, FLOPs of the compute ops from planned shapes.
#include "engine/inspect.hpp"

#include <memory>
#include <sstream>

#include "core/checked.hpp"
#include "core/error.hpp"
#include "engine/session.hpp"

namespace qcal::engine {
namespace {

std::vector<std::int64_t> parse_dims(const std::string& spec) {
  std::vector<std::int64_t> dims;
  std::stringstream ss(spec);
  std::string part;
  while (std::getline(ss, part, 'x')) {
    try {
      std::size_t used = 0;
      const long long v = std::stoll(part, &used);
      if (used != part.size() || v <= 0) throw std::invalid_argument(part);
      dims.push_back(v);
    } catch (const std::exception&) {
      throw Error(ErrorCode::kInvalidArgument,
                  "--input-size '" + spec + "' is not like 640, 480x640 or 1x3x640x640");
    }
  }
  if (dims.empty()) throw Error(ErrorCode::kInvalidArgument, "--input-size is empty");
  return dims;
}

// 2 x multiply-adds of the compute ops; elementwise ops are not counted (they are memory-bound
// and a few percent of the total in vision models).
std::int64_t node_flops(const Session::NodeShapes& ns) {
  const auto& op = ns.node->op_type;
  if (!ns.node->domain.empty() || ns.outputs.empty()) return 0;
  const auto numel = [](const Shape& s) { return shape_numel(s); };
  if (op == "Conv" && ns.inputs.size() >= 2 && ns.inputs[1].size() >= 3) {
    const Shape& w = ns.inputs[1];
    std::int64_t per_out = 1;
    for (std::size_t i = 1; i < w.size(); ++i) per_out = checked_mul(per_out, w[i]);
    return checked_mul(2, checked_mul(numel(ns.outputs[0]), per_out));
  }
  if (op == "ConvTranspose" && ns.inputs.size() >= 2 && ns.inputs[1].size() >= 3) {
    const Shape& w = ns.inputs[1];
    std::int64_t per_in = 1;
    for (std::size_t i = 1; i < w.size(); ++i) per_in = checked_mul(per_in, w[i]);
    return checked_mul(2, checked_mul(numel(ns.inputs[0]), per_in));
  }
  if ((op == "Gemm" || op == "MatMul") && ns.inputs.size() >= 2 && !ns.inputs[0].empty()) {
    const Shape& a = ns.inputs[0];
    std::int64_t k = a.back();
    if (op == "Gemm" && ns.node->attr_int("transA", 0)) k = a[0];
    return checked_mul(2, checked_mul(numel(ns.outputs[0]), k));
  }
  return 0;
}

}  // namespace

std::vector<Shape> resolve_input_shapes(const Model& model, const std::string& size_spec) {
  std::vector<Shape> shapes;
  for (const auto& in : model.inputs()) shapes.push_back(in.shape);
  if (!size_spec.empty()) {
    if (shapes.empty()) throw Error(ErrorCode::kInvalidArgument, "the model has no inputs");
    const auto dims = parse_dims(size_spec);
    Shape& first = shapes[0];
    if (dims.size() == first.size()) {
      first = dims;
    } else {
      if (!first.empty() && first[0] < 0) first[0] = 1;
      std::size_t next = 0;
      for (auto& d : first) {
        if (d >= 0) continue;
        d = dims[std::min(next, dims.size() - 1)];
        ++next;
      }
    }
  }
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    for (auto d : shapes[i]) {
      if (d < 0) {
        throw Error(ErrorCode::kInvalidArgument,
                    "input has dynamic dimensions " + shape_to_string(shapes[i]) +
                        "; give --input-size (e.g. 640 or 1x3x640x640)")
            .with("tensor", model.inputs()[i].name);
      }
    }
  }
  return shapes;
}

ModelSummary summarize_model(const Model& model, std::span<const Shape> input_shapes) {
  ModelSummary s;
  for (const auto& node : model.nodes()) {
    ++s.op_counts[node.domain.empty() ? node.op_type : node.domain + "." + node.op_type];
  }
  for (const auto& name : model.initializer_names()) {
    const Tensor& t = model.constants().at(name);
    s.parameter_count = checked_add(s.parameter_count, t.numel());
    s.parameter_bytes = checked_add(s.parameter_bytes, static_cast<std::int64_t>(t.nbytes()));
  }
  s.unsupported = model.unsupported_nodes();
  if (input_shapes.empty()) {
    s.flops_note = "no input size";
    return s;
  }
  s.input_shapes.assign(input_shapes.begin(), input_shapes.end());
  if (!s.unsupported.empty()) {
    s.flops_note = "unsupported ops";
    return s;
  }
  // Shape inference only: planning allocates the activation arena, no kernel runs except
  // constant folding of shape subgraphs.
  Session session(std::make_shared<const Model>(model), SessionOptions{1, false});
  std::int64_t total = 0;
  for (const auto& ns : session.node_shapes(input_shapes))
    total = checked_add(total, node_flops(ns));
  s.flops = total;
  return s;
}

}  // namespace qcal::engine
