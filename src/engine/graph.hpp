// Internal to engine/: the executable graph (nodes after fusion in topological order, their
// kernels, value ids) and the per-input-shape Plan (shapes, folded constants, steps, arena).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.hpp"
#include "engine/model.hpp"
#include "engine/session.hpp"
#include "ops/kernel.hpp"

namespace qcal::engine {

// Nodes after fusion, topologically sorted, each with its kernel; tensors numbered.
struct ExecGraph {
  std::vector<ops::NodeDef> nodes;
  std::vector<std::unique_ptr<ops::Kernel>> kernels;
  std::vector<std::vector<int>> node_inputs;   // value ids; -1 for an omitted input
  std::vector<std::vector<int>> node_outputs;  // value ids (omitted outputs get unnamed ids)
  std::vector<std::string> value_names;        // "" for an omitted (internal) output
  std::vector<const Tensor*> constants;        // per value: the model's constant, or nullptr
  std::vector<int> input_ids;
  std::vector<int> output_ids;
  // Constants the engine made (Conv weights with a BatchNormalization folded in), by name.
  std::map<std::string, Tensor> folded_constants;
};

// Topologically sorts `nodes` (stable: file order where the dependencies allow). Throws kFormat
// naming a node on a cycle.
std::vector<ops::NodeDef> sort_topologically(const std::vector<ops::NodeDef>& nodes,
                                             const Model& model);

// Rewrites Conv + elementwise chains into Conv nodes carrying the chain as post-ops
// (attributes "qcal_postops", "qcal_postops_alpha", "qcal_postops_beta"; see
// ops/fused_activation.hpp): Relu, Clip (constant bounds), LeakyRelu, HardSwish, Sigmoid,
// SiLU (x * Sigmoid(x)), Paddle's HardSwish (x * Clip(x + 3, 0, 6) / 6), and Mul/Add/Sub by a
// scalar constant, in any sequence. A chain stops at a tensor that is a graph output, in
// `keep`, or used by more than the chain. `keep_all` disables fusion.
std::vector<ops::NodeDef> fuse_conv_activations(const std::vector<ops::NodeDef>& nodes,
                                                const Model& model,
                                                const std::set<std::string>& keep, bool keep_all);

// Folds Conv -> BatchNormalization (inference mode, all parameters constant, the Conv output
// used only by the BN and not in `keep`) into the Conv's weights and bias, as ONNX Runtime
// does: s = scale / sqrt(var + epsilon); W' = W * s[oc]; B' = (B - mean) * s + bias (or
// bias - mean * s without B). New tensors go to `made`.
std::vector<ops::NodeDef> fold_conv_batchnorm(const std::vector<ops::NodeDef>& nodes,
                                              const Model& model, const std::set<std::string>& keep,
                                              bool keep_all, std::map<std::string, Tensor>& made);

// Merges runs of Conv nodes where each output feeds only the next Conv (as its input X, not a
// graph output, not in `keep`) into one "qcal" ConvChain node (ops/conv_chain.hpp), so the
// intermediates stay in oneDNN's blocked layout. Weights must be constants (of the model or
// `made` by BN folding). With `observe_in_chains`, a kept intermediate does not end the chain:
// its stage carries the attribute "s<k>.qcal_observe" (the tensor's name) and the kernel reports
// it through RunContext::observe, in whatever element order oneDNN holds it.
std::vector<ops::NodeDef> chain_convs(const std::vector<ops::NodeDef>& nodes, const Model& model,
                                      const std::map<std::string, Tensor>& made,
                                      const std::set<std::string>& keep, bool keep_all,
                                      bool observe_in_chains = false);

ExecGraph build_exec_graph(const Model& model, bool fuse, const std::set<std::string>& keep,
                           bool keep_all, bool observe_in_chains = false);

// One input-shape set's plan and its reusable buffers.
class Plan {
 public:
  Plan(ExecGraph& graph, std::span<const Shape> input_shapes, std::span<const DType> input_dtypes);

  // Runs with inputs already validated; fills outputs (graph output order).
  // `order_free`: the observer takes kernel scans and late calls (MinMaxObserver's contract).
  void run(std::span<const Tensor> inputs, std::vector<Tensor>& outputs, int num_threads,
           const MinMaxObserver& observer, bool order_free, const std::vector<char>& observed,
           bool profile);
  std::vector<NodeTiming> profile() const;

  // Names of tensors produced per run, in execution order.
  std::vector<std::string> produced_names() const;
  // Planned dtype/shape of a value (after inference; constant or not).
  const ops::TensorInfo& value_info(int id) const { return infos_[static_cast<std::size_t>(id)]; }
  const ExecGraph& graph() const { return graph_; }

 private:
  enum class StepKind { kKernel, kView, kDynamic };
  struct Step {
    int node = 0;
    StepKind kind = StepKind::kKernel;
    std::vector<const Tensor*> inputs;  // into constants or values_
    std::vector<Tensor*> outputs;       // into values_
  };

  void fold_node(int node_index);
  void plan_memory();
  void plan_minmax();
  const Tensor* value_ptr(int id);

  ExecGraph& graph_;
  std::vector<ops::TensorInfo> infos_;
  std::vector<char> is_const_;
  std::deque<Tensor> folded_;    // values of constant-folded node outputs
  std::vector<int> folded_ids_;  // ids of folded node outputs (observed each run)
  std::vector<Step> steps_;
  std::vector<Tensor> values_;   // runtime tensors by value id
  std::vector<Tensor> planned_;  // per value: its arena slot (empty when none)
  std::vector<char> fresh_;      // per value: allocate fresh each run (graph outputs)
  std::vector<char> dynamic_;    // per value: shape known only at run time
  Tensor arena_;
  // For a MinMaxObserver (plan_minmax): per step, whether its kernel scans output 0 as it
  // writes it; per value, the step after which it is reported when a reader scans it instead of
  // its producer (-1: reported after its producer); per step, that value (-1: none).
  std::vector<char> scans_output_;
  std::vector<int> report_after_;
  std::vector<int> scanned_input_;
  std::vector<double> step_ms_;  // profiling: per step, accumulated
  int profiled_runs_ = 0;
  const std::byte* arena_begin_ = nullptr;
  const std::byte* arena_end_ = nullptr;
};

}  // namespace qcal::engine
