// QDQ placement rules (see docs/quantization.md).
#include "export/qdq_placement.hpp"

#include <algorithm>
#include <regex>

#include "core/error.hpp"

namespace qcal::exporter {
// Ops that only move or reshape data: a probability stays a probability through them.
bool is_plumbing_op(const std::string& op) {
  return op == "Reshape" || op == "Transpose" || op == "Squeeze" || op == "Unsqueeze" ||
         op == "Flatten" || op == "Identity" || op == "Slice" || op == "Split" || op == "Gather";
}

bool is_probability_op(const std::string& op) { return op == "Softmax" || op == "Sigmoid"; }

bool is_compute_op(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "MatMul" || op == "Gemm";
}

bool is_fusible_op(const std::string& op) {
  return op == "Add" || op == "Concat" || op == "MaxPool" || op == "AveragePool" ||
         op == "GlobalAveragePool" || op == "Resize";
}

PlacementPlan plan_qdq(const GraphView& graph, const PlacementOptions& options) {
  PlacementPlan plan;
  const auto& nodes = graph.nodes;
  std::map<std::string, std::size_t> producer;
  std::map<std::string, std::vector<std::size_t>> consumers;
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    for (const auto& o : nodes[n].outputs) {
      if (!o.empty()) producer[o] = n;
    }
    for (const auto& i : nodes[n].inputs) {
      if (!i.empty()) consumers[i].push_back(n);
    }
  }
  auto is_default_domain = [](const GraphNode& node) {
    return node.domain.empty() || node.domain == "ai.onnx";
  };
  auto is_activation = [&](const std::string& t) {
    return !t.empty() && !graph.initializers.count(t) &&
           (producer.count(t) ||
            std::find(graph.inputs.begin(), graph.inputs.end(), t) != graph.inputs.end());
  };

  // --exclude: node names or full-match regexes.
  std::vector<bool> excluded(nodes.size(), false);
  for (const auto& pattern : options.exclude) {
    std::regex re;
    bool is_regex = true;
    try {
      re = std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      is_regex = false;
    }
    bool matched = false;
    for (std::size_t n = 0; n < nodes.size(); ++n) {
      if (nodes[n].name == pattern || (is_regex && std::regex_match(nodes[n].name, re))) {
        excluded[n] = true;
        matched = true;
      }
    }
    if (!matched) plan.warnings.push_back("--exclude '" + pattern + "' matches no node");
  }
  std::vector<std::string> exclude_reason(nodes.size(), "excluded by --exclude");
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    auto it = options.float_reasons.find(nodes[n].name);
    if (it == options.float_reasons.end() || excluded[n]) continue;
    excluded[n] = true;
    exclude_reason[n] = it->second;
  }

  // Walks back through plumbing from tensor t; true when it comes from Softmax/Sigmoid.
  auto from_probability = [&](std::string t) {
    for (int depth = 0; depth < 64; ++depth) {
      auto it = producer.find(t);
      if (it == producer.end()) return false;
      const auto& p = nodes[it->second];
      if (is_probability_op(p.op_type)) return true;
      if (!is_plumbing_op(p.op_type) || p.inputs.empty()) return false;
      t = p.inputs[0];
    }
    return false;
  };

  // Rule 1: compute ops are quantized unless fed by probabilities, output layers (rule 1b)
  // or excluded. `candidate` ignores --exclude, so that excluding layers never turns the
  // layers before them into "output layers" (mixed precision excludes tensor by tensor).
  std::vector<bool> candidate(nodes.size(), false);
  std::vector<std::string> reason(nodes.size());
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    const auto& node = nodes[n];
    if (!is_default_domain(node) || !is_compute_op(node.op_type)) continue;
    if (options.keep_probability_inputs_float && !node.inputs.empty() &&
        from_probability(node.inputs[0])) {
      reason[n] = "input is a Softmax/Sigmoid probability";
      continue;
    }
    candidate[n] = true;
  }

  // Whether a node in `int8` lies downstream of node k's outputs (nodes are topologically
  // ordered, so one backward sweep settles it).
  auto downstream_of = [&](const std::vector<bool>& int8) {
    std::vector<bool> feeds(nodes.size(), false);
    for (std::size_t k = nodes.size(); k-- > 0;) {
      bool any = false;
      for (const auto& o : nodes[k].outputs) {
        auto it = consumers.find(o);
        if (it == consumers.end()) continue;
        for (std::size_t c : it->second) any = any || int8[c] || feeds[c];
      }
      feeds[k] = any;
    }
    return feeds;
  };

  // Rule 1b: output layers stay float. A compute op with no int8 compute op downstream
  // produces the model's outputs (a detector head's final box and class convs, a
  // classifier's last Gemm): its result goes to the float tail anyway, so int8 there saves one
  // layer's time and puts 8-bit rounding straight into the logits and box distributions.
  // ModelOpt's default configs likewise leave the output projection (lm_head) unquantized.
  // Decided once on rule 1's candidates: the layers before them stay int8.
  std::vector<bool> quantized(nodes.size(), false);
  if (options.keep_output_layers_float) {
    const auto feeds = downstream_of(candidate);
    std::vector<bool> output_layer(nodes.size(), false);
    for (std::size_t n = 0; n < nodes.size(); ++n) {
      if (candidate[n] && !feeds[n]) {
        candidate[n] = false;
        output_layer[n] = true;
        reason[n] = "output layer (no int8 compute op downstream)";
      }
    }
    // A compute op whose result reaches only output layers, through nothing but plumbing
    // (no activation, no join), is the first half of one linear map that ends at the outputs
    // (MobileFaceNet's global depthwise conv followed by its linear embedding conv): the same
    // output layer, factored. Walked from the outputs back, so a chain of such ops joins too.
    for (std::size_t k = nodes.size(); k-- > 0;) {
      if (!candidate[k]) continue;
      std::string into;
      bool linear_into_output = true, any = false;
      std::vector<std::string> frontier(nodes[k].outputs.begin(), nodes[k].outputs.end());
      for (std::size_t step = 0; step < frontier.size() && linear_into_output; ++step) {
        if (std::find(graph.outputs.begin(), graph.outputs.end(), frontier[step]) !=
            graph.outputs.end()) {
          linear_into_output = false;  // read as it is: not a factor of a later layer
          break;
        }
        auto it = consumers.find(frontier[step]);
        if (it == consumers.end()) continue;
        for (std::size_t c : it->second) {
          const auto& cn = nodes[c];
          if (output_layer[c] && cn.inputs.size() > 0 && cn.inputs[0] == frontier[step]) {
            any = true;
            if (into.empty()) into = cn.name;
          } else if (is_default_domain(cn) && is_plumbing_op(cn.op_type) && !cn.inputs.empty() &&
                     cn.inputs[0] == frontier[step]) {
            frontier.insert(frontier.end(), cn.outputs.begin(), cn.outputs.end());
          } else {
            linear_into_output = false;
            break;
          }
        }
      }
      if (linear_into_output && any) {
        candidate[k] = false;
        output_layer[k] = true;
        reason[k] = "output layer (feeds the output layer " + into +
                    " with nothing nonlinear between: one linear map)";
      }
    }
  }
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    if (excluded[n] && (candidate[n] || !reason[n].empty())) reason[n] = exclude_reason[n];
    quantized[n] = candidate[n] && !excluded[n];
    if (!reason[n].empty()) {
      plan.float_nodes.push_back(nodes[n].name + " (" + nodes[n].op_type + "): " + reason[n]);
    }
  }
  const std::vector<bool> feeds_int8 = downstream_of(quantized);

  // Rule 2: fusible ops are quantized when a quantized compute op lies downstream (they feed
  // int8 kernels); otherwise they belong to the float tail (box decoding, final Concat).
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    const auto& node = nodes[n];
    if (!is_default_domain(node) || !is_fusible_op(node.op_type) || quantized[n]) continue;
    const std::string label = node.name + " (" + node.op_type + ")";
    if (excluded[n]) {
      plan.float_nodes.push_back(label + ": " + exclude_reason[n]);
      continue;
    }
    if (!feeds_int8[n]) {
      plan.float_nodes.push_back(label + ": no int8 compute op downstream (output tail)");
      continue;
    }
    if (node.op_type == "Add" && !(node.inputs.size() == 2 && is_activation(node.inputs[0]) &&
                                   is_activation(node.inputs[1]))) {
      continue;  // Add with a constant is a bias/offset, not a residual join: left to float
    }
    quantized[n] = true;
  }

  // The input of Add node `add` that TensorRT fuses into the compute op producing it: the
  // tensor comes from a quantized compute op (Conv, ConvTranspose, MatMul, Gemm) and this Add
  // is its only reader; when both inputs qualify, the one produced later (the op the Add
  // follows). Returns 2 when neither input qualifies.
  auto fused_add_input = [&](std::size_t add) -> std::size_t {
    if (!options.fuse_residual_add) return 2;
    std::size_t best = 2, best_producer = 0;
    for (std::size_t i = 0; i < 2 && i < nodes[add].inputs.size(); ++i) {
      const std::string& t = nodes[add].inputs[i];
      auto p = producer.find(t);
      if (p == producer.end() || !quantized[p->second] ||
          !is_compute_op(nodes[p->second].op_type) || consumers[t].size() != 1 ||
          std::find(graph.outputs.begin(), graph.outputs.end(), t) != graph.outputs.end()) {
        continue;
      }
      if (best == 2 || p->second > best_producer) {
        best = i;
        best_producer = p->second;
      }
    }
    return best;
  };

  // Assign inputs.
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    if (!quantized[n]) continue;
    const auto& node = nodes[n];
    const std::string& op = node.op_type;
    auto quantize_activation = [&](std::size_t input) {
      if (input < node.inputs.size() && is_activation(node.inputs[input])) {
        plan.activations[node.inputs[input]].push_back({n, input});
      }
    };
    auto quantize_weight = [&](std::size_t input, int axis) {
      const std::string& w = node.inputs[input];
      auto& wp = plan.weights[w];
      if (!options.per_channel) axis = -1;
      if (!wp.uses.empty() && wp.axis != axis) axis = -1;  // shared with another layout
      wp.axis = axis;
      wp.uses.push_back({n, input});
    };
    auto rank_of = [&](const std::string& t) -> int {
      auto it = graph.initializer_shapes.find(t);
      return it == graph.initializer_shapes.end() ? -1 : static_cast<int>(it->second.size());
    };
    if (op == "Conv" || op == "ConvTranspose") {
      quantize_activation(0);
      if (node.inputs.size() > 1) {
        if (graph.initializers.count(node.inputs[1])) {
          int axis = 0;
          if (op == "ConvTranspose") {
            // Weight [C_in, C_out / group, k...]: per output channel is axis 1 when group == 1.
            auto g = node.int_attributes.find("group");
            axis = (g == node.int_attributes.end() || g->second == 1) ? 1 : -1;
          }
          quantize_weight(1, axis);
        } else {
          quantize_activation(1);
        }
      }
      // Bias stays float (TensorRT folds it; ModelOpt's QuantizeBias=False).
    } else if (op == "Gemm") {
      quantize_activation(0);
      if (node.inputs.size() > 1) {
        if (graph.initializers.count(node.inputs[1])) {
          auto t = node.int_attributes.find("transB");
          const bool trans_b = t != node.int_attributes.end() && t->second != 0;
          quantize_weight(1, trans_b ? 0 : 1);  // per output column N
        } else {
          quantize_activation(1);
        }
      }
    } else if (op == "MatMul") {
      for (std::size_t i = 0; i < 2 && i < node.inputs.size(); ++i) {
        if (graph.initializers.count(node.inputs[i])) {
          const int rank = rank_of(node.inputs[i]);
          // B [.., K, N]: per output column is the last axis; a constant A is per tensor.
          quantize_weight(i, i == 1 && rank >= 2 ? rank - 1 : -1);
        } else {
          quantize_activation(i);
        }
      }
    } else if (op == "Add") {
      // A residual join whose input comes straight from an int8 compute op is fused into that
      // op by TensorRT (the Add runs in the convolution's epilogue, on its float result): only
      // the other (identity) input gets a Q/DQ, as TensorRT's Q/DQ placement recommendations
      // show. A Q/DQ on the compute op's output would stop that fusion and add one more 8-bit
      // rounding that TensorRT would not do.
      const std::size_t fused = fused_add_input(n);
      for (std::size_t i = 0; i < 2; ++i) {
        if (i != fused) quantize_activation(i);
      }
    } else if (op == "Concat") {
      for (std::size_t i = 0; i < node.inputs.size(); ++i) quantize_activation(i);
    } else {
      quantize_activation(0);  // pooling, Resize: the data input only
    }
  }
  return plan;
}

}  // namespace qcal::exporter
