// Building the executable graph: topological sort, Conv+activation fusion, kernel creation.
#include "engine/graph.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <queue>

#include "core/error.hpp"
#include "ops/conv_chain.hpp"

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
      if (pending[i] > 0)
        throw nodes[i].error(ErrorCode::kFormat, "the graph has a cycle through this node");
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

namespace {

// A float32 constant holding one value whose rank does not exceed `max_rank` (so broadcasting
// it against the Conv output leaves the shape unchanged).
bool scalar_constant(const Model& model, const std::string& name, std::size_t max_rank,
                     float& out) {
  auto it = model.constants().find(name);
  if (it == model.constants().end() || it->second.dtype() != DType::kFloat32 ||
      it->second.numel() != 1 || it->second.shape().size() > max_rank) {
    return false;
  }
  out = it->second.data<float>()[0];
  return true;
}

// The other input of a two-input node one of whose inputs is `x`; "" when not so.
std::string other_input(const ops::NodeDef& n, const std::string& x) {
  if (n.inputs.size() != 2) return "";
  if (n.inputs[0] == x && n.inputs[1] != x) return n.inputs[1];
  if (n.inputs[1] == x && n.inputs[0] != x) return n.inputs[0];
  return "";
}

// Node indices reading each tensor.
std::unordered_map<std::string, std::vector<int>> consumer_map(
    const std::vector<ops::NodeDef>& nodes) {
  std::unordered_map<std::string, std::vector<int>> consumers;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& in : nodes[i].inputs) {
      if (!in.empty()) consumers[in].push_back(static_cast<int>(i));
    }
  }
  return consumers;
}

std::set<std::string> output_names(const Model& model) {
  std::set<std::string> names;
  for (const auto& o : model.outputs()) names.insert(o.name);
  return names;
}

struct FusedStep {
  std::string op;  // FusedOp name (ops/fused_activation.hpp)
  float alpha = 0.f;
  float beta = 0.f;
  std::vector<int> absorbed;  // node indices
  std::string output;
};

bool plain(const ops::NodeDef& n, const char* op) {
  return n.op_type == op && n.domain.empty() && n.outputs.size() == 1;
}

// Clip's (min, max): attributes before opset 11, constant inputs after; false when an input is
// not a constant scalar.
bool clip_bounds(const Model& model, const ops::NodeDef& clip, float& lo, float& hi) {
  if (clip.opset < 11) {
    lo = clip.attr_float("min", -3.402823466e38f);
    hi = clip.attr_float("max", 3.402823466e38f);
    return true;
  }
  return constant_scalar(model, clip, 1, -3.402823466e38f, lo) &&
         constant_scalar(model, clip, 2, 3.402823466e38f, hi);
}

// Finds the elementwise steps that can follow a Conv's output, one at a time.
class PostOpMatcher {
 public:
  PostOpMatcher(const std::vector<ops::NodeDef>& nodes, const Model& model,
                const std::set<std::string>& keep)
      : nodes_(nodes),
        model_(model),
        keep_(keep),
        consumers_(consumer_map(nodes)),
        graph_outputs_(output_names(model)) {}

  // Neither a graph output nor a tensor the caller keeps.
  bool internal(const std::string& name) const {
    return !graph_outputs_.count(name) && !keep_.count(name);
  }

  // The next fusable elementwise step on tensor `c` (internal, produced by the chain so far).
  // `rank`: the Conv output's rank.
  bool next_step(const std::string& c, std::size_t rank, FusedStep& step) const {
    const auto& uses = consumers_of(c);
    if (uses.size() == 1) return single_node_step(c, uses[0], rank, step);
    if (uses.size() != 2) return false;
    return two_use_step(c, uses, rank, step);
  }

 private:
  const std::vector<int>& consumers_of(const std::string& name) const {
    static const std::vector<int> kNone;
    auto it = consumers_.find(name);
    return it == consumers_.end() ? kNone : it->second;
  }
  const ops::NodeDef& node_at(int i) const { return nodes_[static_cast<std::size_t>(i)]; }
  // The single consumer of an internal tensor, or -1.
  int only_use(const std::string& name) const {
    const auto& uses = consumers_of(name);
    return internal(name) && uses.size() == 1 ? uses[0] : -1;
  }

  // `c`'s only consumer `use` as one step: an activation, Clip, or Mul/Add/Sub by a scalar.
  bool single_node_step(const std::string& c, int use, std::size_t rank, FusedStep& step) const {
    const auto& act = node_at(use);
    if (!act.domain.empty() || act.outputs.size() != 1 || act.inputs.empty() ||
        act.inputs[0].empty()) {
      return false;
    }
    step = {};
    step.absorbed = {use};
    step.output = act.outputs[0];
    float k = 0.f;
    if (act.op_type == "Relu") {
      step.op = "relu";
    } else if (act.op_type == "HardSwish") {
      step.op = "hardswish";
    } else if (act.op_type == "Sigmoid") {
      step.op = "sigmoid";
    } else if (act.op_type == "LeakyRelu") {
      step.op = "leakyrelu";
      step.alpha = act.attr_float("alpha", 0.01f);
    } else if (act.op_type == "Clip" && act.inputs[0] == c) {
      float lo = 0.f;
      float hi = 0.f;
      if (!clip_bounds(model_, act, lo, hi)) return false;
      step.op = "clip";
      step.alpha = lo;
      step.beta = hi;
    } else if ((act.op_type == "Mul" || act.op_type == "Add") &&
               scalar_constant(model_, other_input(act, c), rank, k)) {
      // x * k and x + k commute, so either operand order is the same op.
      step.op = act.op_type == "Mul" ? "mul" : "add";
      step.alpha = k;
    } else if (act.op_type == "Sub" && act.inputs.size() == 2 && act.inputs[0] == c &&
               scalar_constant(model_, act.inputs[1], rank, k)) {
      step.op = "add";  // x - k == x + (-k) exactly in IEEE arithmetic
      step.alpha = -k;
    } else {
      return false;
    }
    return true;
  }

  // SiLU as exported by PyTorch: s = Sigmoid(c); m = Mul(c, s) (either operand order).
  // HardSwish as exported by Paddle: a = Add(c, 3); h = Clip(a, 0, 6); m = Mul(c, h);
  // y = Div(m, 6). Both: c feeds one node directly and the chain's Mul.
  bool two_use_step(const std::string& c, const std::vector<int>& uses, std::size_t rank,
                    FusedStep& step) const {
    int mul = -1;
    int other = -1;
    for (int u : uses) {
      if (plain(node_at(u), "Mul") && other_input(node_at(u), c) != "" && mul < 0)
        mul = u;
      else
        other = u;
    }
    if (mul < 0 || other < 0) return false;
    const auto& mn = node_at(mul);
    const auto& on = node_at(other);
    const std::string via = other_input(mn, c);
    if (plain(on, "Sigmoid") && on.outputs[0] == via && only_use(via) == mul) {
      step = {"swish", 1.f, 0.f, {other, mul}, mn.outputs[0]};
      return true;
    }
    return paddle_hardswish_step(c, mul, other, via, rank, step);
  }

  bool paddle_hardswish_step(const std::string& c, int mul, int other, const std::string& via,
                             std::size_t rank, FusedStep& step) const {
    const auto& mn = node_at(mul);
    const auto& on = node_at(other);
    float three = 0.f;
    float lo = 0.f;
    float hi = 0.f;
    float six = 0.f;
    if (!plain(on, "Add") || !scalar_constant(model_, other_input(on, c), rank, three) ||
        three != 3.f) {
      return false;
    }
    const int clip = only_use(on.outputs[0]);
    if (clip < 0 || !plain(node_at(clip), "Clip") || node_at(clip).outputs[0] != via ||
        node_at(clip).inputs[0] != on.outputs[0] || only_use(via) != mul) {
      return false;
    }
    if (!clip_bounds(model_, node_at(clip), lo, hi)) return false;
    const int div = only_use(mn.outputs[0]);
    if (lo != 0.f || hi != 6.f || div < 0 || !plain(node_at(div), "Div") ||
        node_at(div).inputs.size() != 2 || node_at(div).inputs[0] != mn.outputs[0] ||
        !scalar_constant(model_, node_at(div).inputs[1], rank, six) || six != 6.f) {
      return false;
    }
    step = {"hardswish", 0.f, 0.f, {other, clip, mul, div}, node_at(div).outputs[0]};
    return true;
  }

  const std::vector<ops::NodeDef>& nodes_;
  const Model& model_;
  const std::set<std::string>& keep_;
  std::unordered_map<std::string, std::vector<int>> consumers_;
  std::set<std::string> graph_outputs_;
};

}  // namespace

std::vector<ops::NodeDef> fuse_conv_activations(const std::vector<ops::NodeDef>& nodes,
                                                const Model& model,
                                                const std::set<std::string>& keep, bool keep_all) {
  if (keep_all) return nodes;
  const PostOpMatcher matcher(nodes, model, keep);
  std::vector<char> removed(nodes.size(), 0);
  std::vector<ops::NodeDef> out = nodes;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto& conv = nodes[i];
    if (conv.op_type != "Conv" || !conv.domain.empty() || conv.outputs.size() != 1 ||
        conv.inputs.size() < 2) {
      continue;
    }
    // The Conv output's rank is the weight's (when the weight is a constant).
    auto w = model.constants().find(conv.inputs[1]);
    const std::size_t rank = w == model.constants().end() ? 0 : w->second.shape().size();
    std::vector<std::string> names;
    std::vector<float> alphas;
    std::vector<float> betas;
    std::string c = conv.outputs[0];
    FusedStep step;
    // oneDNN 2.6 mis-computes a post-op chain holding one eltwise algorithm twice with
    // different parameters: each algorithm (relu and leakyrelu are one) at most once per chain.
    std::set<std::string> eltwise_used;
    while (matcher.internal(c) && matcher.next_step(c, rank, step)) {
      if (step.op != "mul" && step.op != "add") {
        const std::string alg = step.op == "leakyrelu" ? "relu" : step.op;
        if (!eltwise_used.insert(alg).second) break;
      }
      names.push_back(step.op);
      alphas.push_back(step.alpha);
      betas.push_back(step.beta);
      for (int a : step.absorbed) removed[static_cast<std::size_t>(a)] = 1;
      c = step.output;
    }
    if (names.empty()) continue;
    auto& fused = out[i];
    fused.attributes["qcal_postops"] = names;
    fused.attributes["qcal_postops_alpha"] = alphas;
    fused.attributes["qcal_postops_beta"] = betas;
    fused.outputs[0] = c;
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
    const Tensor* b =
        conv.inputs.size() > 2 && !conv.inputs[2].empty() ? constant(conv.inputs[2]) : nullptr;
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

std::vector<ops::NodeDef> chain_convs(const std::vector<ops::NodeDef>& nodes, const Model& model,
                                      const std::map<std::string, Tensor>& made,
                                      const std::set<std::string>& keep, bool keep_all,
                                      bool observe_in_chains) {
  if (keep_all) return nodes;
  const auto constant = [&](const std::string& name) -> const Tensor* {
    auto it = model.constants().find(name);
    if (it != model.constants().end()) return &it->second;
    auto f = made.find(name);
    return f == made.end() ? nullptr : &f->second;
  };
  // A 2-D float Conv with constant weights (and bias).
  const auto eligible = [&](const ops::NodeDef& n) {
    if (n.op_type != "Conv" || !n.domain.empty() || n.outputs.size() != 1 || n.inputs.size() < 2 ||
        n.inputs.size() > 3 || n.inputs[0].empty()) {
      return false;
    }
    const Tensor* w = constant(n.inputs[1]);
    if (!w || w->dtype() != DType::kFloat32 || w->shape().size() != 4) return false;
    if (n.inputs.size() == 3 && !n.inputs[2].empty()) {
      const Tensor* b = constant(n.inputs[2]);
      if (!b || b->dtype() != DType::kFloat32) return false;
    }
    return true;
  };
  const auto consumers = consumer_map(nodes);
  const std::set<std::string> graph_outputs = output_names(model);
  std::vector<char> removed(nodes.size(), 0);
  std::vector<ops::NodeDef> out = nodes;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (removed[i] || !eligible(nodes[i])) continue;
    std::vector<int> chain{static_cast<int>(i)};
    for (;;) {
      const std::string& t = nodes[static_cast<std::size_t>(chain.back())].outputs[0];
      if (graph_outputs.count(t) || (keep.count(t) && !observe_in_chains)) break;
      auto it = consumers.find(t);
      if (it == consumers.end() || it->second.size() != 1) break;
      const auto& next = nodes[static_cast<std::size_t>(it->second[0])];
      if (!eligible(next) || next.inputs[0] != t ||
          std::count(next.inputs.begin(), next.inputs.end(), t) != 1) {
        break;
      }
      chain.push_back(it->second[0]);
    }
    if (chain.size() < 2) continue;
    ops::NodeDef c;
    const auto& first = nodes[i];
    const auto& last = nodes[static_cast<std::size_t>(chain.back())];
    c.name = first.name + " (+" + std::to_string(chain.size() - 1) + " chained convs)";
    c.op_type = "ConvChain";
    c.domain = "qcal";
    c.opset = first.opset;
    c.inputs.push_back(first.inputs[0]);
    c.outputs.push_back(last.outputs[0]);
    c.attributes["qcal_stages"] = static_cast<std::int64_t>(chain.size());
    for (std::size_t k = 0; k < chain.size(); ++k) {
      const auto& n = nodes[static_cast<std::size_t>(chain[k])];
      c.inputs.push_back(n.inputs[1]);
      c.inputs.push_back(n.inputs.size() > 2 ? n.inputs[2] : std::string());
      const std::string prefix = "s" + std::to_string(k) + ".";
      c.attributes[prefix + "name"] = n.name;
      for (const auto& [key, value] : n.attributes) c.attributes[prefix + key] = value;
      if (k + 1 < chain.size() && keep.count(n.outputs[0]))
        c.attributes[prefix + "qcal_observe"] = n.outputs[0];
      removed[static_cast<std::size_t>(chain[k])] = 1;
    }
    // The chain runs where its first Conv ran: its input exists there, and its output's users
    // all come after the last Conv.
    out[i] = std::move(c);
    removed[i] = 0;
  }
  std::vector<ops::NodeDef> kept;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!removed[i]) kept.push_back(std::move(out[i]));
  }
  return kept;
}

ExecGraph build_exec_graph(const Model& model, bool fuse, const std::set<std::string>& keep,
                           bool keep_all, bool observe_in_chains) {
  ExecGraph g;
  std::vector<ops::NodeDef> nodes = sort_topologically(model.nodes(), model);
  if (fuse) {
    nodes = fold_conv_batchnorm(nodes, model, keep, keep_all, g.folded_constants);
    nodes = fuse_conv_activations(nodes, model, keep, keep_all);
    nodes = chain_convs(nodes, model, g.folded_constants, keep, keep_all, observe_in_chains);
  }
  std::unordered_map<std::string, int> ids;
  const auto id_of = [&](const std::string& name) {
    auto [it, inserted] = ids.emplace(name, static_cast<int>(g.value_names.size()));
    if (inserted) {
      g.value_names.push_back(name);
      auto c = model.constants().find(name);
      auto f = g.folded_constants.find(name);
      g.constants.push_back(c != model.constants().end()    ? &c->second
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
    std::unique_ptr<ops::Kernel> kernel;
    try {
      if (node.domain == "qcal" && node.op_type == "ConvChain") {
        kernel = ops::make_conv_chain(node);  // engine-made, not in the ONNX op registry
      } else {
        kernel = ops::find_op(node.domain, node.op_type, node.opset)->factory(node);
      }
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
