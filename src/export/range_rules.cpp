// Range rules after selection: full range for probabilities, one shared scale per Concat.
#include "export/range_rules.hpp"

#include <algorithm>
#include <numeric>

namespace qcal::exporter {
namespace {

// Union-find over tensor indices; the representative is the smallest index, so groups do not
// depend on the order in which Concat nodes are visited.
struct Groups {
  std::vector<std::size_t> parent;
  explicit Groups(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  std::size_t find(std::size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void unite(std::size_t a, std::size_t b) {
    a = find(a);
    b = find(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
};

}  // namespace

std::vector<RangeRuleChange> apply_range_rules(
    const GraphView& graph, const PlacementPlan& plan,
    const std::map<std::string, calib::TensorStats>& stats,
    std::map<std::string, calib::Range>& ranges, const RangeRuleOptions& options) {
  std::vector<RangeRuleChange> changes;
  std::map<std::string, const GraphNode*> producer;
  for (const auto& node : graph.nodes) {
    for (const auto& o : node.outputs) {
      if (!o.empty()) producer[o] = &node;
    }
  }

  if (options.keep_probability_range) {
    for (auto& [name, range] : ranges) {
      // Walk back through plumbing; a probability stays one through Reshape/Slice/...
      std::string t = name;
      bool probability = false;
      for (int depth = 0; depth < 64; ++depth) {
        auto it = producer.find(t);
        if (it == producer.end()) break;
        const GraphNode& p = *it->second;
        if (is_probability_op(p.op_type)) {
          probability = true;
          break;
        }
        if (!is_plumbing_op(p.op_type) || p.inputs.empty()) break;
        t = p.inputs[0];
      }
      auto s = stats.find(name);
      if (!probability || s == stats.end() || s->second.empty()) continue;
      const float full = s->second.absmax();
      if (range.amax < full) {
        changes.push_back({name, "probability", range.amax, full});
        range.amax = full;
        range.min = s->second.min();
        range.max = s->second.max();
      }
    }
  }

  if (options.share_concat_scale) {
    // Tensors the plan quantizes, in name order (deterministic indices).
    std::vector<std::string> names;
    std::map<std::string, std::size_t> index;
    for (const auto& [t, uses] : plan.activations) {
      if (!ranges.count(t)) continue;
      index[t] = names.size();
      names.push_back(t);
    }
    Groups groups(names.size());
    std::map<std::size_t, std::string> first_concat;  // group root -> a Concat naming the rule
    std::vector<bool> in_concat(names.size(), false);
    for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
      const auto& node = graph.nodes[n];
      if (node.op_type != "Concat") continue;
      std::vector<std::size_t> members;
      for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        auto it = plan.activations.find(node.inputs[i]);
        if (it == plan.activations.end() || !index.count(node.inputs[i])) continue;
        // Only inputs this Concat reads through a Q/DQ pair.
        const bool rewired =
            std::any_of(it->second.begin(), it->second.end(),
                        [&](const TensorUse& u) { return u.node == n && u.input == i; });
        if (rewired) members.push_back(index[node.inputs[i]]);
      }
      if (members.size() < 2) continue;
      for (std::size_t m : members) {
        in_concat[m] = true;
        groups.unite(members[0], m);
      }
    }
    // Shared amax (symmetric int8) and shared [min, max] (asymmetric uint8: one scale and zero
    // point for the whole group).
    std::map<std::size_t, calib::Range> group_range;
    for (std::size_t k = 0; k < names.size(); ++k) {
      if (!in_concat[k]) continue;
      const calib::Range& r = ranges[names[k]];
      auto [it, fresh] = group_range.emplace(groups.find(k), r);
      if (!fresh) {
        it->second.amax = std::max(it->second.amax, r.amax);
        it->second.min = std::min(it->second.min, r.min);
        it->second.max = std::max(it->second.max, r.max);
      }
    }
    // Name the rule after the group's first Concat in graph order (stable across runs).
    for (const auto& node : graph.nodes) {
      if (node.op_type != "Concat") continue;
      for (const auto& in : node.inputs) {
        auto it = index.find(in);
        if (it != index.end() && in_concat[it->second])
          first_concat.emplace(groups.find(it->second), node.name);
      }
    }
    for (std::size_t k = 0; k < names.size(); ++k) {
      if (!in_concat[k]) continue;
      const std::size_t root = groups.find(k);
      calib::Range& r = ranges[names[k]];
      const calib::Range& shared = group_range[root];
      if (r.amax == shared.amax && r.min == shared.min && r.max == shared.max) continue;
      changes.push_back({names[k], "concat:" + first_concat[root], r.amax, shared.amax});
      r = shared;
    }
  }
  return changes;
}

}  // namespace qcal::exporter
