// Cross-layer equalization: pairs found on the GraphView, per-channel weight ranges, scales
// swept until they settle, and the scaled weights written back into the float model.
#include "quantize/equalize.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "core/error.hpp"
#include "export/weight_edit.hpp"

namespace qcal::quantize {
namespace {

using exporter::FloatTensor;
using exporter::GraphNode;
using exporter::GraphView;

std::int64_t int_attribute(const GraphNode& n, const std::string& key, std::int64_t fallback) {
  auto it = n.int_attributes.find(key);
  return it == n.int_attributes.end() ? fallback : it->second;
}

bool is_homogeneous_activation(const std::string& op) {
  // f(x / s) = f(x) / s for s > 0: ReLU, LeakyReLU and PReLU (its slope applies to x and x / s
  // alike, so per-channel slopes stay as they are). Clip/Relu6 bounds, SiLU, HardSwish, Sigmoid
  // and Tanh are not: a scaled channel would meet the bound (or the curve) elsewhere.
  return op == "Relu" || op == "LeakyRelu" || op == "PRelu";
}

// How a layer's weight holds its channels.
struct Layer {
  std::size_t node = 0;
  std::string op, weight, bias;
  std::vector<std::int64_t> shape;
  std::int64_t group = 1;
  bool trans_b = false;
  std::size_t out_channels = 0, in_channels = 0;
};

// Reading the graph: readers per tensor, uses per constant.
class PairFinder {
 public:
  explicit PairFinder(const GraphView& g) : g_(g) {
    for (std::size_t n = 0; n < g.nodes.size(); ++n) {
      for (const auto& i : g.nodes[n].inputs) {
        if (!i.empty()) readers_[i].push_back(n);
      }
    }
    for (const auto& o : g.outputs) outputs_.insert(o);
  }

  std::vector<EqualizePair> find() const {
    std::vector<EqualizePair> pairs;
    for (std::size_t n = 0; n < g_.nodes.size(); ++n) {
      Layer first;
      if (!layer(n, first)) continue;
      std::size_t next = 0;
      if (!single_reader(g_.nodes[n].outputs[0], next)) continue;
      std::string activation;
      if (is_homogeneous_activation(g_.nodes[next].op_type) && activation_ok(next)) {
        activation = g_.nodes[next].op_type;
        if (!single_reader(g_.nodes[next].outputs[0], next)) continue;
      }
      Layer second;
      if (!layer(next, second) || g_.nodes[next].inputs[0] != feeding(n, activation) ||
          second.in_channels != first.out_channels) {
        continue;
      }
      pairs.push_back({n, next, activation});
    }
    return pairs;
  }

  // Conv (2D or 1D, dilations any) or Gemm with constant weight and bias read by it alone.
  bool layer(std::size_t n, Layer& l) const {
    const GraphNode& node = g_.nodes[n];
    if (!node.domain.empty() && node.domain != "ai.onnx") return false;
    if ((node.op_type != "Conv" && node.op_type != "Gemm") || node.inputs.size() < 2 ||
        node.outputs.size() != 1 || g_.initializers.count(node.inputs[0])) {
      return false;
    }
    l.node = n;
    l.op = node.op_type;
    l.weight = node.inputs[1];
    l.bias = node.inputs.size() > 2 ? node.inputs[2] : "";
    if (!own_constant(l.weight, n) || (!l.bias.empty() && !own_constant(l.bias, n))) return false;
    l.shape = g_.initializer_shapes.at(l.weight);
    if (l.op == "Conv") {
      if (l.shape.size() < 3) return false;
      l.group = int_attribute(node, "group", 1);
      l.out_channels = static_cast<std::size_t>(l.shape[0]);
      l.in_channels = static_cast<std::size_t>(l.shape[1] * l.group);
    } else {
      if (l.shape.size() != 2 || int_attribute(node, "transA", 0) != 0) return false;
      l.trans_b = int_attribute(node, "transB", 0) != 0;
      l.out_channels = static_cast<std::size_t>(l.trans_b ? l.shape[0] : l.shape[1]);
      l.in_channels = static_cast<std::size_t>(l.trans_b ? l.shape[1] : l.shape[0]);
    }
    return l.bias.empty() || bias_numel(l.bias) == l.out_channels;
  }

 private:
  std::size_t bias_numel(const std::string& b) const {
    std::size_t n = 1;
    for (auto d : g_.initializer_shapes.at(b)) n *= static_cast<std::size_t>(d);
    return n;
  }
  bool own_constant(const std::string& t, std::size_t node) const {
    if (!g_.initializers.count(t) || !g_.initializer_shapes.count(t)) return false;
    auto r = readers_.find(t);
    return r != readers_.end() && r->second.size() == 1 && r->second[0] == node;
  }
  bool single_reader(const std::string& t, std::size_t& reader) const {
    auto r = readers_.find(t);
    if (outputs_.count(t) || r == readers_.end() || r->second.size() != 1) return false;
    reader = r->second[0];
    return true;
  }
  bool activation_ok(std::size_t n) const {
    const GraphNode& a = g_.nodes[n];
    if (a.outputs.size() != 1) return false;
    // PReLU's slope must be a constant (an activation slope would not commute with scaling).
    return a.op_type != "PRelu" || (a.inputs.size() == 2 && g_.initializers.count(a.inputs[1]));
  }
  std::string feeding(std::size_t first, const std::string& activation) const {
    const std::string& out = g_.nodes[first].outputs[0];
    if (activation.empty()) return out;
    return g_.nodes[readers_.at(out)[0]].outputs[0];
  }

  const GraphView& g_;
  std::map<std::string, std::vector<std::size_t>> readers_;
  std::set<std::string> outputs_;
};

// Visits the weights of output channel c of a layer (f(value&)).
template <typename F>
void for_output_channel(const Layer& l, std::vector<float>& w, std::size_t c, F f) {
  if (l.op == "Conv" || l.trans_b) {
    const std::size_t slab = w.size() / l.out_channels;
    for (std::size_t i = 0; i < slab; ++i) f(w[c * slab + i]);
  } else {  // Gemm B [K, N]: column c
    for (std::size_t k = 0; k < l.in_channels; ++k) f(w[k * l.out_channels + c]);
  }
}

// Visits the weights that read input channel c of a layer.
template <typename F>
void for_input_channel(const Layer& l, std::vector<float>& w, std::size_t c, F f) {
  if (l.op == "Conv") {
    const std::size_t per_group_in = l.in_channels / static_cast<std::size_t>(l.group);
    const std::size_t per_group_out = l.out_channels / static_cast<std::size_t>(l.group);
    const std::size_t kernel = w.size() / (l.out_channels * per_group_in);
    const std::size_t group = c / per_group_in, local = c % per_group_in;
    for (std::size_t o = group * per_group_out; o < (group + 1) * per_group_out; ++o) {
      for (std::size_t k = 0; k < kernel; ++k) f(w[(o * per_group_in + local) * kernel + k]);
    }
  } else if (l.trans_b) {  // B [N, K]: column c
    for (std::size_t o = 0; o < l.out_channels; ++o) f(w[o * l.in_channels + c]);
  } else {  // B [K, N]: row c
    for (std::size_t o = 0; o < l.out_channels; ++o) f(w[c * l.out_channels + o]);
  }
}

double range_spread(const Layer& l, std::vector<float>& w) {
  double lo = HUGE_VAL, hi = 0;
  for (std::size_t c = 0; c < l.out_channels; ++c) {
    float r = 0;
    for_output_channel(l, w, c, [&](float& v) { r = std::max(r, std::fabs(v)); });
    if (r > 0) lo = std::min(lo, static_cast<double>(r));
    hi = std::max(hi, static_cast<double>(r));
  }
  return lo == HUGE_VAL ? 1.0 : hi / lo;
}

// One pair's scales at the current weights, applied; returns max |log s|.
double equalize_once(const Layer& a, const Layer& b, std::map<std::string, FloatTensor>& t,
                     std::vector<double>& total) {
  auto& w1 = t.at(a.weight).values;
  auto& w2 = t.at(b.weight).values;
  double moved = 0;
  for (std::size_t c = 0; c < a.out_channels; ++c) {
    float r1 = 0, r2 = 0;
    for_output_channel(a, w1, c, [&](float& v) { r1 = std::max(r1, std::fabs(v)); });
    for_input_channel(b, w2, c, [&](float& v) { r2 = std::max(r2, std::fabs(v)); });
    if (!(r1 > 0) || !(r2 > 0)) continue;  // a dead channel: nothing to balance
    const double s = std::sqrt(static_cast<double>(r1) / static_cast<double>(r2));
    const float inv = static_cast<float>(1.0 / s), mul = static_cast<float>(s);
    for_output_channel(a, w1, c, [&](float& v) { v *= inv; });
    if (!a.bias.empty()) t.at(a.bias).values[c] *= inv;
    for_input_channel(b, w2, c, [&](float& v) { v *= mul; });
    total[c] *= s;
    moved = std::max(moved, std::fabs(std::log(s)));
  }
  return moved;
}

}  // namespace

std::vector<EqualizePair> equalize_pairs(const GraphView& graph) {
  return PairFinder(graph).find();
}

Equalization equalize_model(const std::string& model_bytes, const GraphView& graph,
                            const std::string& what, const EqualizeOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  Equalization eq;
  const PairFinder finder(graph);
  const auto found = finder.find();
  std::vector<std::pair<Layer, Layer>> layers;
  std::vector<std::string> names;
  for (const auto& p : found) {
    Layer a, b;
    finder.layer(p.first, a);
    finder.layer(p.second, b);
    for (const Layer* l : {&a, &b}) {
      names.push_back(l->weight);
      if (!l->bias.empty()) names.push_back(l->bias);
    }
    layers.emplace_back(std::move(a), std::move(b));
  }
  auto tensors = exporter::read_float_constants(model_bytes, what, names);
  // A weight that is not float32 data in the file (e.g. int8 already) drops its pairs.
  std::vector<std::size_t> usable;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    bool ok = true;
    for (const Layer* l : {&layers[k].first, &layers[k].second}) {
      ok = ok && tensors.count(l->weight) && (l->bias.empty() || tensors.count(l->bias));
    }
    if (ok) usable.push_back(k);
  }
  for (std::size_t k : usable) {
    EqualizedPair p;
    p.first = exporter::node_key(graph.nodes[found[k].first].name, found[k].first);
    p.second = exporter::node_key(graph.nodes[found[k].second].name, found[k].second);
    p.activation = found[k].activation;
    p.scales.assign(layers[k].first.out_channels, 1.0);
    p.range_ratio_before = range_spread(layers[k].first, tensors.at(layers[k].first.weight).values);
    eq.pairs.push_back(std::move(p));
  }
  for (eq.sweeps = 0; eq.sweeps < options.max_sweeps;) {
    double moved = 0;
    for (std::size_t i = 0; i < usable.size(); ++i) {
      const auto& [a, b] = layers[usable[i]];
      moved = std::max(moved, equalize_once(a, b, tensors, eq.pairs[i].scales));
    }
    ++eq.sweeps;
    if (moved < options.tolerance) break;
  }
  for (std::size_t i = 0; i < usable.size(); ++i) {
    const Layer& a = layers[usable[i]].first;
    eq.pairs[i].range_ratio_after = range_spread(a, tensors.at(a.weight).values);
  }
  eq.model_bytes = exporter::edit_float_model(model_bytes, what, tensors, {});
  eq.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return eq;
}

nlohmann::json equalization_json(const Equalization& eq) {
  nlohmann::json j;
  j["sweeps"] = eq.sweeps;
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& p : eq.pairs) {
    nlohmann::json e;
    e["first"] = p.first;
    e["second"] = p.second;
    e["activation"] = p.activation.empty() ? "none" : p.activation;
    e["range_ratio_before"] = p.range_ratio_before;
    e["range_ratio_after"] = p.range_ratio_after;
    e["scales"] = p.scales;
    pairs.push_back(std::move(e));
  }
  j["pairs"] = std::move(pairs);
  return j;
}

}  // namespace qcal::quantize
