// Building the executable graph: topological sort, Conv+activation fusion, kernel creation.
#include "engine/graph.hpp"

#include <map>
#include <cmath>
#include <queue>

#include "core/error.hpp"

namespace qcal::engine {

std::vector<ops::NodeDef> sort_topologically(const std::vector<ops::NodeDef>& nodes,
                                             const Model& model) {
  std::unordered_map<std::string, int> producer;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& out : nodes[i].outputs) {
      if (!out.empty()) producer[out] = static_cast<int>(i);
    }
  }
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<int>> consumers(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    std::set<int> deps;
    for (const auto& in : nodes[i].inputs) {
      if (in.empty() || model.constants().count(in)) continue;
      auto it = producer.find(in);
      if (it != producer.end()) deps.insert(it->second);
    }
    pending[i] = static_cast<int>(deps.size());
    for (int d : deps) consumers[static_cast<std::size_t>(d)].push_back(static_cast<int>(i));
  }
  // Min-heap on the file index keeps the order stable (deterministic, and close to the file's).
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  }
  std::vector<ops::NodeDef> sorted;
  sorted.reserve(nodes.size());
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    sorted.push_back(nodes[static_cast<std::size_t>(i)]);
    for (int c : consumers[static_cast<std::size_t>(i)]) {
      if (--pending[static_cast<std::size_t>(c)] == 0) ready.push(c);
    }
  }
  if (sorted.size() != nodes.size()) {
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (pending[i] > 0) throw nodes[i].error(ErrorCode::kFormat, "the graph has a cycle through this node");
    }
  }
  return sorted;
}

namespace {

// A scalar float from a constant input (Clip's min/max), or `fallback` when omitted.
bool constant_scalar(const Model& model, const ops::NodeDef& node, std::size_t index,
                     float fallback, float& out) {
  if (index >= node.inputs.size() || node.inputs[index].empty()) {
    out = fallback;
    return true;
  }
  auto it = model.constants().find(node.inputs[index]);
  if (it == model.constants().end() || it->second.dtype() != DType::kFloat32 ||
      it->second.numel() != 1) {
    return false;
  }
  out = it->second.data<float>()[0];
  return true;
}

}  // namespace

std::vector<ops::NodeDef> fuse_conv_activations(const std::vector<ops::NodeDef>& nodes,
                                                const Model& model,
                                                const std::set<std::string>& keep, bool keep_all) {
  if (keep_all) return nodes;
  std::unordered_map<std::string, std::vector<int>> consumers;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& in : nodes[i].inputs) {
      if (!in.empty()) consumers[in].push_back(static_cast<int>(i));
    }
  }
  std::set<std::string> graph_outputs;
  for (const auto& o : model.outputs()) graph_outputs.insert(o.name);
  const auto internal = [&](const std::string& name) {
    return !graph_outputs.count(name) && !keep.count(name);
  };
  const auto consumers_of = [&](const std::string& name) -> const std::vector<int>& {
    static const std::vector<int> kNone;
    auto it = consumers.find(name);
    return it == consumers.end() ? kNone : it->second;
  };

  std::vector<char> removed(nodes.size(), 0);
  std::vector<ops::NodeDef> out = nodes;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto& conv = nodes[i];
    if (conv.op_type != "Conv" || !conv.domain.empty() || conv.outputs.size() != 1) continue;
    const std::string& c = conv.outputs[0];
    if (!internal(c)) continue;
    const auto& uses = consumers_of(c);
    std::string activation;
    float alpha = 0.f;
    float beta = 0.f;
    std::vector<int> absorbed;
    std::string final_output;
    if (uses.size() == 1) {
      const auto& act = nodes[static_cast<std::size_t>(uses[0])];
      if (!act.domain.empty() || act.outputs.size() != 1) continue;
      if (act.op_type == "Relu") {
        activation = "relu";
      } else if (act.op_type == "HardSwish") {
        activation = "hardswish";
      } else if (act.op_type == "LeakyRelu") {
        activation = "leakyrelu";
        alpha = act.attr_float("alpha", 0.01f);
      } else if (act.op_type == "Clip") {
        float lo = 0.f;
        float hi = 0.f;
        if (act.opset < 11) {
          lo = act.attr_float("min", -3.402823466e38f);
          hi = act.attr_float("max", 3.402823466e38f);
        } else if (!constant_scalar(model, act, 1, -3.402823466e38f, lo) ||
                   !constant_scalar(model, act, 2, 3.402823466e38f, hi)) {
          continue;
        }
        activation = "clip";
        alpha = lo;
        beta = hi;
      } else {
        continue;
      }
      absorbed = {uses[0]};
      final_output = act.outputs[0];
    } else if (uses.size() == 2) {
      // SiLU as exported by PyTorch: s = Sigmoid(c); m = Mul(c, s) (either operand order).
      int sig = -1;
      int mul = -1;
      for (int u : uses) {
        const auto& n = nodes[static_cast<std::size_t>(u)];
        if (n.op_type == "Sigmoid" && n.domain.empty()) sig = u;
        if (n.op_type == "Mul" && n.domain.empty()) mul = u;
      }
      if (sig < 0 || mul < 0) continue;
      const auto& sn = nodes[static_cast<std::size_t>(sig)];
      const auto& mn = nodes[static_cast<std::size_t>(mul)];
      if (sn.outputs.size() != 1 || mn.outputs.size() != 1 || mn.inputs.size() != 2) continue;
      const std::string& s = sn.outputs[0];
      const bool operands = (mn.inputs[0] == c && mn.inputs[1] == s) ||
                            (mn.inputs[0] == s && mn.inputs[1] == c);
      if (!operands || !internal(s) || consumers_of(s).size() != 1) continue;
      activation = "swish";
      alpha = 1.f;
      absorbed = {sig, mul};
      final_output = mn.outputs[0];
    } else {
      continue;
    }
    auto& fused = out[i];
    fused.attributes["qcal_activation"] = activation;
    fused.attributes["qcal_activation_alpha"] = alpha;
    fused.attributes["qcal_activation_beta"] = beta;
    fused.outputs[0] = final_output;
    for (int a : absorbed) removed[static_cast<std::size_t>(a)] = 1;
  }
  std::vector<ops::NodeDef> kept;
  kept.reserve(out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!removed[i]) kept.push_back(std::move(out[i]));
  }
  return kept;
}

std::vector<ops::NodeDef> fold_conv_batchnorm(const std::vector<ops::NodeDef>& nodes,
                                              const Model& model, const std::set<std::string>& keep,
                                              bool keep_all, std::map<std::string, Tensor>& made) {
  if (keep_all) return nodes;
  std::unordered_map<std::string, int> uses;
  for (const auto& n : nodes) {
    for (const auto& in : n.inputs) ++uses[in];
  }
  for (const auto& o : model.outputs()) ++uses[o.name];  // graph outputs count as a use
  const auto constant = [&](const std::string& name) -> const Tensor* {
    auto it = model.constants().find(name);
    if (it == model.constants().end() || it->second.dtype() != DType::kFloat32) return nullptr;
    return &it->second;
  };
  std::unordered_map<std::string, int> producer;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].outputs.size() == 1) producer[nodes[i].outputs[0]] = static_cast<int>(i);
  }
  std::vector<ops::NodeDef> out = nodes;
  std::vector<char> removed(nodes.size(), 0);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto& bn = nodes[i];
    if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.inputs.size() != 5 ||
        bn.outputs.size() != 1 || bn.attr_int("training_mode", 0) != 0) {
      continue;
    }
    auto pit = producer.find(bn.inputs[0]);
    if (pit == producer.end()) continue;
    const auto ci = static_cast<std::size_t>(pit->second);
    const auto& conv = out[ci];
    if (conv.op_type != "Conv" || !conv.domain.empty() || removed[ci] || conv.inputs.size() < 2 ||
        uses[conv.outputs[0]] != 1 || keep.count(conv.outputs[0])) {
      continue;
    }
    const Tensor* w = constant(conv.inputs[1]);
    const Tensor* b = conv.inputs.size() > 2 && !conv.inputs[2].empty() ? constant(conv.inputs[2]) : nullptr;
    const Tensor* gamma = constant(bn.inputs[1]);
    const Tensor* beta = constant(bn.inputs[2]);
    const Tensor* mean = constant(bn.inputs[3]);
    const Tensor* var = constant(bn.inputs[4]);
    if (!w || !gamma || !beta || !mean || !var || w->shape().size() < 3) continue;
    if (conv.inputs.size() > 2 && !conv.inputs[2].empty() && !b) continue;
    const std::int64_t oc = w->shape()[0];
    const auto right = [oc](const Tensor* t) { return t->numel() == oc; };
    if (!right(gamma) || !right(beta) || !right(mean) || !right(var) || (b && !right(b))) continue;
    const float epsilon = bn.attr_float("epsilon", 1e-5f);
    Tensor new_w = w->clone();
    Tensor new_b(DType::kFloat32, {oc});
    const std::int64_t per_oc = w->numel() / oc;
    float* pw = new_w.data<float>();
    float* pb = new_b.data<float>();
    for (std::int64_t c = 0; c < oc; ++c) {
      const float s = gamma->data<float>()[c] / std::sqrt(var->data<float>()[c] + epsilon);
      for (std::int64_t j = 0; j < per_oc; ++j) pw[c * per_oc + j] *= s;
      pb[c] = b ? (b->data<float>()[c] - mean->data<float>()[c]) * s + beta->data<float>()[c]
                : beta->data<float>()[c] - mean->data<float>()[c] * s;
    }
    const std::string base = "qcal_bnfold/" + bn.name;
    made[base + "/W"] = new_w;
    made[base + "/B"] = new_b;
    auto& fused = out[ci];
    fused.inputs.resize(3);
    fused.inputs[1] = base + "/W";
    fused.inputs[2] = base + "/B";
    fused.outputs[0] = bn.outputs[0];
    removed[i] = 1;
  }
  std::vector<ops::NodeDef> kept;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!removed[i]) kept.push_back(std::move(out[i]));
  }
  return kept;
}

ExecGraph build_exec_graph(const Model& model, bool fuse, const std::set<std::string>& keep,
                           bool keep_all) {
  ExecGraph g;
  std::vector<ops::NodeDef> nodes = sort_topologically(model.nodes(), model);
  if (fuse) {
    nodes = fold_conv_batchnorm(nodes, model, keep, keep_all, g.folded_constants);
    nodes = fuse_conv_activations(nodes, model, keep, keep_all);
  }
  std::unordered_map<std::string, int> ids;
  const auto id_of = [&](const std::string& name) {
    auto [it, inserted] = ids.emplace(name, static_cast<int>(g.value_names.size()));
    if (inserted) {
      g.value_names.push_back(name);
      auto c = model.constants().find(name);
      auto f = g.folded_constants.find(name);
      g.constants.push_back(c != model.constants().end() ? &c->second
                            : f != g.folded_constants.end() ? &f->second
                                                            : nullptr);
    }
    return it->second;
  };
  for (const auto& in : model.inputs()) g.input_ids.push_back(id_of(in.name));
  model.check_supported();
  for (auto& node : nodes) {
    std::vector<int> ins;
    for (const auto& in : node.inputs) ins.push_back(in.empty() ? -1 : id_of(in));
    std::vector<int> outs;
    for (const auto& o : node.outputs) {
      if (o.empty()) {
        outs.push_back(static_cast<int>(g.value_names.size()));
        g.value_names.emplace_back();
        g.constants.push_back(nullptr);
      } else {
        outs.push_back(id_of(o));
      }
    }
    const ops::OpRegistration* reg = ops::find_op(node.domain, node.op_type, node.opset);
    std::unique_ptr<ops::Kernel> kernel;
    try {
      kernel = reg->factory(node);
    } catch (Error& e) {
      e.with("node", node.name).with("op", node.op_type);
      throw;
    }
    g.node_inputs.push_back(std::move(ins));
    g.node_outputs.push_back(std::move(outs));
    g.kernels.push_back(std::move(kernel));
    g.nodes.push_back(std::move(node));
  }
  for (const auto& out : model.outputs()) g.output_ids.push_back(id_of(out.name));
  return g;
}

}  // namespace qcal::engine
