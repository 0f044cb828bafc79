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

namespace {

bool is_default_domain(const GraphNode& node) {
  return node.domain.empty() || node.domain == "ai.onnx";
}

// One placement: the graph's producer/consumer index and each rule's decision per node.
class Planner {
 public:
  Planner(const GraphView& graph, const PlacementOptions& options)
      : graph_(graph),
        options_(options),
        nodes_(graph.nodes),
        excluded_(nodes_.size(), false),
        exclude_reason_(nodes_.size(), "excluded by --exclude"),
        candidate_(nodes_.size(), false),
        output_layer_(nodes_.size(), false),
        quantized_(nodes_.size(), false),
        reason_(nodes_.size()) {
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      for (const auto& o : nodes_[n].outputs) {
        if (!o.empty()) producer_[o] = n;
      }
      for (const auto& i : nodes_[n].inputs) {
        if (!i.empty()) consumers_[i].push_back(n);
      }
    }
  }

  PlacementPlan run() {
    apply_excludes();
    compute_candidates();
    if (options_.keep_output_layers_float) keep_output_layers_float();
    settle_compute_ops();
    quantize_fusible_ops();
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      if (quantized_[n]) assign_inputs(n);
    }
    return std::move(plan_);
  }

 private:
  bool is_activation(const std::string& t) const {
    return !t.empty() && !graph_.initializers.count(t) &&
           (producer_.count(t) ||
            std::find(graph_.inputs.begin(), graph_.inputs.end(), t) != graph_.inputs.end());
  }
  bool is_graph_output(const std::string& t) const {
    return std::find(graph_.outputs.begin(), graph_.outputs.end(), t) != graph_.outputs.end();
  }

  // --exclude: node names or full-match regexes; then the calibrate rules' float nodes.
  void apply_excludes() {
    for (const auto& pattern : options_.exclude) {
      std::regex re;
      bool is_regex = true;
      try {
        re = std::regex(pattern, std::regex::ECMAScript);
      } catch (const std::regex_error&) {
        is_regex = false;
      }
      bool matched = false;
      for (std::size_t n = 0; n < nodes_.size(); ++n) {
        if (nodes_[n].name == pattern || (is_regex && std::regex_match(nodes_[n].name, re))) {
          excluded_[n] = true;
          matched = true;
        }
      }
      if (!matched) plan_.warnings.push_back("--exclude '" + pattern + "' matches no node");
    }
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      auto it = options_.float_reasons.find(nodes_[n].name);
      if (it == options_.float_reasons.end() || excluded_[n]) continue;
      excluded_[n] = true;
      exclude_reason_[n] = it->second;
    }
  }

  // Walks back through plumbing from tensor t; true when it comes from Softmax/Sigmoid.
  bool from_probability(std::string t) const {
    for (int depth = 0; depth < 64; ++depth) {
      auto it = producer_.find(t);
      if (it == producer_.end()) return false;
      const auto& p = nodes_[it->second];
      if (is_probability_op(p.op_type)) return true;
      if (!is_plumbing_op(p.op_type) || p.inputs.empty()) return false;
      t = p.inputs[0];
    }
    return false;
  }

  // Rule 1: compute ops are quantized unless fed by probabilities, output layers (rule 1b)
  // or excluded. `candidate` ignores --exclude, so that excluding layers never turns the
  // layers before them into "output layers" (mixed precision excludes tensor by tensor).
  void compute_candidates() {
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      const auto& node = nodes_[n];
      if (!is_default_domain(node) || !is_compute_op(node.op_type)) continue;
      if (options_.keep_probability_inputs_float && !node.inputs.empty() &&
          from_probability(node.inputs[0])) {
        reason_[n] = "input is a Softmax/Sigmoid probability";
        continue;
      }
      candidate_[n] = true;
    }
  }

  // Whether a node in `int8` lies downstream of node k's outputs (nodes are topologically
  // ordered, so one backward sweep settles it).
  std::vector<bool> downstream_of(const std::vector<bool>& int8) const {
    std::vector<bool> feeds(nodes_.size(), false);
    for (std::size_t k = nodes_.size(); k-- > 0;) {
      bool any = false;
      for (const auto& o : nodes_[k].outputs) {
        auto it = consumers_.find(o);
        if (it == consumers_.end()) continue;
        for (std::size_t c : it->second) any = any || int8[c] || feeds[c];
      }
      feeds[k] = any;
    }
    return feeds;
  }

  // Rule 1b: output layers stay float. A compute op with no int8 compute op downstream
  // produces the model's outputs (a detector head's final box and class convs, a
  // classifier's last Gemm): its result goes to the float tail anyway, so int8 there saves one
  // layer's time and puts 8-bit rounding straight into the logits and box distributions.
  // ModelOpt's default configs likewise leave the output projection (lm_head) unquantized.
  // Decided once on rule 1's candidates: the layers before them stay int8.
  void keep_output_layers_float() {
    const auto feeds = downstream_of(candidate_);
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      if (candidate_[n] && !feeds[n]) {
        candidate_[n] = false;
        output_layer_[n] = true;
        reason_[n] = "output layer (no int8 compute op downstream)";
      }
    }
    // A compute op whose result reaches only output layers, through nothing but plumbing
    // (no activation, no join), is the first half of one linear map that ends at the outputs
    // (MobileFaceNet's global depthwise conv followed by its linear embedding conv): the same
    // output layer, factored. Walked from the outputs back, so a chain of such ops joins too.
    for (std::size_t k = nodes_.size(); k-- > 0;) {
      if (!candidate_[k]) continue;
      std::string into;
      if (linear_into_output_layer(k, into)) {
        candidate_[k] = false;
        output_layer_[k] = true;
        reason_[k] = "output layer (feeds the output layer " + into +
                     " with nothing nonlinear between: one linear map)";
      }
    }
  }

  // True when node k's outputs reach only output layers through plumbing; `into` names the
  // first output layer reached.
  bool linear_into_output_layer(std::size_t k, std::string& into) const {
    bool any = false;
    std::vector<std::string> frontier(nodes_[k].outputs.begin(), nodes_[k].outputs.end());
    for (std::size_t step = 0; step < frontier.size(); ++step) {
      if (is_graph_output(frontier[step])) return false;  // read as it is: not a factor
      auto it = consumers_.find(frontier[step]);
      if (it == consumers_.end()) continue;
      for (std::size_t c : it->second) {
        const auto& cn = nodes_[c];
        if (output_layer_[c] && cn.inputs.size() > 0 && cn.inputs[0] == frontier[step]) {
          any = true;
          if (into.empty()) into = cn.name;
        } else if (is_default_domain(cn) && is_plumbing_op(cn.op_type) && !cn.inputs.empty() &&
                   cn.inputs[0] == frontier[step]) {
          frontier.insert(frontier.end(), cn.outputs.begin(), cn.outputs.end());
        } else {
          return false;
        }
      }
    }
    return any;
  }

  void settle_compute_ops() {
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      if (excluded_[n] && (candidate_[n] || !reason_[n].empty())) reason_[n] = exclude_reason_[n];
      quantized_[n] = candidate_[n] && !excluded_[n];
      if (!reason_[n].empty()) {
        plan_.float_nodes.push_back(nodes_[n].name + " (" + nodes_[n].op_type + "): " + reason_[n]);
      }
    }
  }

  // Rule 2: fusible ops are quantized when a quantized compute op lies downstream (they feed
  // int8 kernels); otherwise they belong to the float tail (box decoding, final Concat).
  void quantize_fusible_ops() {
    const std::vector<bool> feeds_int8 = downstream_of(quantized_);
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      const auto& node = nodes_[n];
      if (!is_default_domain(node) || !is_fusible_op(node.op_type) || quantized_[n]) continue;
      const std::string label = node.name + " (" + node.op_type + ")";
      if (excluded_[n]) {
        plan_.float_nodes.push_back(label + ": " + exclude_reason_[n]);
        continue;
      }
      if (!feeds_int8[n]) {
        plan_.float_nodes.push_back(label + ": no int8 compute op downstream (output tail)");
        continue;
      }
      if (node.op_type == "Add" && !(node.inputs.size() == 2 && is_activation(node.inputs[0]) &&
                                     is_activation(node.inputs[1]))) {
        continue;  // Add with a constant is a bias/offset, not a residual join: left to float
      }
      quantized_[n] = true;
    }
  }

  // The input of Add node `add` that TensorRT fuses into the compute op producing it: the
  // tensor comes from a quantized compute op (Conv, ConvTranspose, MatMul, Gemm) and this Add
  // is its only reader; when both inputs qualify, the one produced later (the op the Add
  // follows). Returns 2 when neither input qualifies.
  std::size_t fused_add_input(std::size_t add) const {
    if (!options_.fuse_residual_add) return 2;
    std::size_t best = 2, best_producer = 0;
    for (std::size_t i = 0; i < 2 && i < nodes_[add].inputs.size(); ++i) {
      const std::string& t = nodes_[add].inputs[i];
      auto p = producer_.find(t);
      auto c = consumers_.find(t);
      if (p == producer_.end() || !quantized_[p->second] ||
          !is_compute_op(nodes_[p->second].op_type) || c == consumers_.end() ||
          c->second.size() != 1 || is_graph_output(t)) {
        continue;
      }
      if (best == 2 || p->second > best_producer) {
        best = i;
        best_producer = p->second;
      }
    }
    return best;
  }

  void quantize_activation(std::size_t n, std::size_t input) {
    const auto& node = nodes_[n];
    if (input < node.inputs.size() && is_activation(node.inputs[input])) {
      plan_.activations[node.inputs[input]].push_back({n, input});
    }
  }
  void quantize_weight(std::size_t n, std::size_t input, int axis) {
    const std::string& w = nodes_[n].inputs[input];
    auto& wp = plan_.weights[w];
    if (!options_.per_channel) axis = -1;
    if (!wp.uses.empty() && wp.axis != axis) axis = -1;  // shared with another layout
    wp.axis = axis;
    wp.uses.push_back({n, input});
  }
  int rank_of(const std::string& t) const {
    auto it = graph_.initializer_shapes.find(t);
    return it == graph_.initializer_shapes.end() ? -1 : static_cast<int>(it->second.size());
  }
  // An input that is an initializer is a weight (per `axis`), else an activation.
  void quantize_operand(std::size_t n, std::size_t input, int axis) {
    if (graph_.initializers.count(nodes_[n].inputs[input])) {
      quantize_weight(n, input, axis);
    } else {
      quantize_activation(n, input);
    }
  }

  void assign_inputs(std::size_t n) {
    const auto& node = nodes_[n];
    const std::string& op = node.op_type;
    if (op == "Conv" || op == "ConvTranspose") {
      quantize_activation(n, 0);
      int axis = 0;
      if (op == "ConvTranspose") {
        // Weight [C_in, C_out / group, k...]: per output channel is axis 1 when group == 1.
        auto g = node.int_attributes.find("group");
        axis = (g == node.int_attributes.end() || g->second == 1) ? 1 : -1;
      }
      if (node.inputs.size() > 1) quantize_operand(n, 1, axis);
      // Bias stays float (TensorRT folds it; ModelOpt's QuantizeBias=False).
    } else if (op == "Gemm") {
      quantize_activation(n, 0);
      auto t = node.int_attributes.find("transB");
      const bool trans_b = t != node.int_attributes.end() && t->second != 0;
      if (node.inputs.size() > 1) quantize_operand(n, 1, trans_b ? 0 : 1);  // per output column
    } else if (op == "MatMul") {
      for (std::size_t i = 0; i < 2 && i < node.inputs.size(); ++i) {
        const int rank = rank_of(node.inputs[i]);
        // B [.., K, N]: per output column is the last axis; a constant A is per tensor.
        quantize_operand(n, i, i == 1 && rank >= 2 ? rank - 1 : -1);
      }
    } else if (op == "Add") {
      // A residual join whose input comes straight from an int8 compute op is fused into that
      // op by TensorRT (the Add runs in the convolution's epilogue, on its float result): only
      // the other (identity) input gets a Q/DQ, as TensorRT's Q/DQ placement recommendations
      // show. A Q/DQ on the compute op's output would stop that fusion and add one more 8-bit
      // rounding that TensorRT would not do.
      const std::size_t fused = fused_add_input(n);
      for (std::size_t i = 0; i < 2; ++i) {
        if (i != fused) quantize_activation(n, i);
      }
    } else if (op == "Concat") {
      for (std::size_t i = 0; i < node.inputs.size(); ++i) quantize_activation(n, i);
    } else {
      quantize_activation(n, 0);  // pooling, Resize: the data input only
    }
  }

  const GraphView& graph_;
  const PlacementOptions& options_;
  const std::vector<GraphNode>& nodes_;
  std::map<std::string, std::size_t> producer_;
  std::map<std::string, std::vector<std::size_t>> consumers_;
  std::vector<bool> excluded_;
  std::vector<std::string> exclude_reason_;
  std::vector<bool> candidate_, output_layer_, quantized_;
  std::vector<std::string> reason_;
  PlacementPlan plan_;
};

}  // namespace

PlacementPlan plan_qdq(const GraphView& graph, const PlacementOptions& options) {
  return Planner(graph, options).run();
}

}  // namespace qcal::exporter
