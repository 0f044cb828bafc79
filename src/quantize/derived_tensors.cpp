// Statistics derived from other tensors' (see derived_tensors.hpp).
#include "quantize/derived_tensors.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "ops/resize.hpp"
#include "ops/transpose_slice.hpp"

namespace qcal::quantize {
namespace {

bool fixed_shape(const Shape& s) {
  return std::all_of(s.begin(), s.end(), [](std::int64_t d) { return d >= 0; });
}

// A nearest Resize repeating each value more often than this is observed directly: its union
// would merge the input's histogram that many times per batch.
constexpr std::int64_t kMaxResizeCopies = 64;

// Candidates for derivation, in file order (a tensor's first rule wins):
// - forward: a Concat's output from its inputs; a value-moving op's output from its input; a
//   nearest Resize's output from its input repeated k times, when every input element appears
//   exactly k times (integer-factor upsampling; ops::resize_copy_multiplicity);
// - backward: a tensor from the outputs of Slices that partition it along one axis (C2f's
//   channel split), or from all outputs of a Split.
// Backward rules never derive a Slice or Split output, so the rules cannot form a cycle.
std::vector<DerivedTensor> derivation_candidates(const engine::Model& model,
                                                 const std::set<std::string>& observed,
                                                 const ShapeMap& shapes) {
  static const std::set<std::string> kMovesValues = {"Reshape",   "Flatten",   "Squeeze",
                                                     "Unsqueeze", "Transpose", "Identity"};
  auto seen = [&](const std::string& t) { return !t.empty() && observed.count(t) != 0; };
  auto constant_input = [&](const ops::NodeDef& node) {
    return [&model, &node](std::size_t i) -> const Tensor* {
      if (i >= node.inputs.size() || node.inputs[i].empty()) return nullptr;
      const auto it = model.constants().find(node.inputs[i]);
      return it == model.constants().end() ? nullptr : &it->second;
    };
  };
  std::vector<DerivedTensor> out;
  std::map<std::string, std::vector<const ops::NodeDef*>> slices_of;  // data input -> Slices
  for (const auto& node : model.nodes()) {
    if (!node.domain.empty() || node.inputs.empty() || !seen(node.inputs[0])) continue;
    const std::string& op = node.op_type;
    if (node.outputs.size() == 1 && seen(node.outputs[0])) {
      if (op == "Concat") {
        if (std::all_of(node.inputs.begin(), node.inputs.end(), seen))
          out.push_back({node.outputs[0], node.inputs});
      } else if (kMovesValues.count(op)) {
        out.push_back({node.outputs[0], {node.inputs[0]}});
      } else if (op == "Resize" || op == "Upsample") {
        const auto in_shape = shapes.find(node.inputs[0]);
        if (in_shape == shapes.end()) continue;
        std::int64_t copies = 0;
        try {
          copies = ops::resize_copy_multiplicity(node, in_shape->second, constant_input(node));
        } catch (const Error&) {
          copies = 0;  // not resolvable statically: observed directly
        }
        if (copies >= 1 && copies <= kMaxResizeCopies) {
          out.push_back({node.outputs[0], std::vector<std::string>(static_cast<std::size_t>(copies),
                                                                   node.inputs[0])});
        }
      } else if (op == "Slice") {
        slices_of[node.inputs[0]].push_back(&node);
      }
    } else if (op == "Split" && !node.outputs.empty() &&
               std::all_of(node.outputs.begin(), node.outputs.end(), seen)) {
      out.push_back({node.inputs[0], node.outputs});
    }
  }
  for (const auto& [data, nodes] : slices_of) {
    const auto shape_it = shapes.find(data);
    if (shape_it == shapes.end() || !fixed_shape(shape_it->second)) continue;
    const Shape& shape = shape_it->second;
    // Each Slice must keep every dim whole except one common axis, with step 1; their ranges
    // along it must tile [0, dim) without gap or overlap.
    struct Piece {
      std::int64_t start, end;
      std::string name;
    };
    std::vector<Piece> pieces;
    std::int64_t axis = -1;
    bool ok = true;
    for (const ops::NodeDef* node : nodes) {
      ops::SliceRegion r;
      try {
        r = ops::resolve_slice(*node, shape, constant_input(*node));
      } catch (const Error&) {
        ok = false;
        break;
      }
      std::int64_t cut = -1;
      for (std::size_t d = 0; d < shape.size() && ok; ++d) {
        if (r.start[d] == 0 && r.step[d] == 1 && r.count[d] == shape[d]) continue;
        if (cut >= 0 || r.step[d] != 1) ok = false;
        cut = static_cast<std::int64_t>(d);
      }
      if (!ok) break;
      if (cut < 0) cut = axis >= 0 ? axis : 0;  // the whole tensor: one piece along any axis
      if (axis >= 0 && cut != axis) {
        ok = false;
        break;
      }
      axis = cut;
      const auto a = static_cast<std::size_t>(axis);
      if (r.count[a] > 0) pieces.push_back({r.start[a], r.start[a] + r.count[a], node->outputs[0]});
    }
    if (!ok || pieces.empty()) continue;
    std::sort(pieces.begin(), pieces.end(),
              [](const Piece& x, const Piece& y) { return x.start < y.start; });
    std::int64_t next = 0;
    std::vector<std::string> parts;
    for (const auto& piece : pieces) {
      if (piece.start != next) {
        ok = false;
        break;
      }
      next = piece.end;
      parts.push_back(piece.name);
    }
    if (ok && next == shape[static_cast<std::size_t>(axis)])
      out.push_back({data, std::move(parts)});
  }
  return out;
}

}  // namespace

// The candidates that can be derived, in an order where every part is observed directly or
// derived earlier. A candidate whose parts never become available is observed directly.
std::vector<DerivedTensor> find_derived(const engine::Model& model,
                                        const std::set<std::string>& observed,
                                        const ShapeMap& shapes) {
  std::vector<DerivedTensor> pending;
  std::set<std::string> names;
  for (auto& c : derivation_candidates(model, observed, shapes)) {
    if (names.insert(c.name).second) pending.push_back(std::move(c));
  }
  std::set<std::string> available;  // observed directly, or derived earlier in `out`
  for (const auto& t : observed) {
    if (!names.count(t)) available.insert(t);
  }
  std::vector<DerivedTensor> out;
  while (!pending.empty()) {
    bool progress = false;
    for (auto it = pending.begin(); it != pending.end();) {
      if (std::all_of(it->parts.begin(), it->parts.end(),
                      [&](const std::string& p) { return available.count(p) != 0; })) {
        available.insert(it->name);
        out.push_back(std::move(*it));
        it = pending.erase(it);
        progress = true;
      } else {
        ++it;
      }
    }
    if (!progress) {
      // Observe the first stuck candidate directly; that may unblock others.
      available.insert(pending.front().name);
      pending.erase(pending.begin());
    }
  }
  return out;
}

// Shapes of the tensors the session's nodes read and produce for these input shapes.
ShapeMap planned_shapes(engine::Session& session, std::span<const Shape> input_shapes) {
  ShapeMap shapes;
  for (const auto& ns : session.node_shapes(input_shapes)) {
    for (std::size_t i = 0; i < ns.inputs.size() && i < ns.node->inputs.size(); ++i) {
      if (!ns.node->inputs[i].empty()) shapes[ns.node->inputs[i]] = ns.inputs[i];
    }
    for (std::size_t i = 0; i < ns.outputs.size() && i < ns.node->outputs.size(); ++i) {
      if (!ns.node->outputs[i].empty()) shapes[ns.node->outputs[i]] = ns.outputs[i];
    }
  }
  return shapes;
}

std::vector<DerivedTensor> derived_tensors(const engine::Model& model,
                                           const std::vector<std::string>& observed) {
  // Shapes (for the Slice and Resize rules) when every input's shape is fixed.
  std::vector<Shape> input_shapes;
  for (const auto& in : model.inputs()) input_shapes.push_back(in.shape);
  const bool fixed = std::all_of(input_shapes.begin(), input_shapes.end(), fixed_shape);
  ShapeMap shapes;
  if (fixed) {
    // Not owned: the session lives only in this block.
    engine::SessionOptions o;
    o.fuse = false;
    engine::Session session(
        std::shared_ptr<const engine::Model>(std::shared_ptr<const engine::Model>{}, &model), o);
    shapes = planned_shapes(session, input_shapes);
  }
  return find_derived(model, std::set<std::string>(observed.begin(), observed.end()), shapes);
}

}  // namespace qcal::quantize
