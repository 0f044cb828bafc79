// Session: runs a loaded Model on input tensors. Plans once per input-shape set (topological
// order, shape inference, constant folding, fusion, buffer reuse), then executes; an observer
// callback sees every produced tensor (or a chosen set) as it is computed, without copies.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/minmax_scan.hpp"
#include "core/tensor.hpp"
#include "engine/model.hpp"

namespace qcal::engine {

// Called with a tensor's ONNX name and a view of its data. The view is valid only during the
// call (the buffer is reused afterwards): copy what must outlive it.
using Observer = std::function<void(const std::string& name, const TensorView& view)>;

// An observer for order-free statistics (calibration's min/max): like Observer, and `minmax`,
// when not null, is exactly scan_min_max() of the view's values (core/minmax_scan.hpp; when its
// all_finite is false, min/max are not meaningful: read the view), computed by the kernel that
// wrote or read the tensor while each block was in L1, so that the observer need not read the
// tensor again. Elementwise float32 kernels (unary maps, binary arithmetic) scan what they
// write; a tensor whose producer cannot scan it (a convolution's output) is reported right after
// the first later node that reads it whole as its first input and scans it while reading (a
// unary map, e.g. the Sigmoid of a SiLU), its view still valid then. So calls do not follow
// execution order, and the view must not be rewritten (observed_data_for_rewrite). Other tensors
// come with nullptr, in execution order.
using MinMaxObserver =
    std::function<void(const std::string& name, const TensorView& view, const MinMaxScan* minmax)>;

// Writable access to an observed tensor's values. An observer may rewrite them in place (same
// dtype and element count) and nodes that run later read the rewritten values; sensitivity
// analysis fake-quantizes activations this way. Not for graph inputs (they are the caller's
// buffers: pass a copy) nor constants (folded values persist across runs).
inline void* observed_data_for_rewrite(const TensorView& view) {
  return const_cast<void*>(view.data);
}

struct SessionOptions {
  int num_threads = 0;   // 0: all cores. Sets the OpenMP thread count oneDNN and kernels use.
  bool fuse = true;      // Conv+BN folding, Conv+activation fusion (see docs/engine.md)
  bool profile = false;  // time every node; read with Session::profile()
  // Watched tensors between chained convs do not split the chain: the observer gets them in
  // oneDNN's blocked element order (the same values, permuted; see docs/engine.md). For
  // observers that only need order-free statistics (calibration); off by default.
  bool observe_in_chains = false;
};

// Time spent in one node over all profiled runs.
struct NodeTiming {
  std::string node;
  std::string op_type;
  double total_ms = 0;
  int runs = 0;
};

class Plan;

class Session {
 public:
  // Creates the kernels for every node; throws listing all unsupported nodes.
  explicit Session(std::shared_ptr<const Model> model, SessionOptions options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  const Model& model() const { return *model_; }

  // Observes every tensor computed in a run: graph inputs first, then each node's outputs in
  // execution order (constant-folded node outputs too, once per run). `names` chooses a set
  // (unknown names are an error at the next run); std::nullopt observes all. Tensors whose
  // producing node is fused away are not produced: fusion is skipped for every tensor the
  // observer watches, so observing all disables fusion. Pass nullptr to remove the observer.
  void set_observer(Observer observer,
                    std::optional<std::vector<std::string>> names = std::nullopt);
  // The same for an observer of order-free statistics (see MinMaxObserver); replaces any observer.
  void set_minmax_observer(MinMaxObserver observer,
                           std::optional<std::vector<std::string>> names = std::nullopt);

  // Runs with inputs in model().inputs() order; returns outputs in model().outputs() order.
  // The returned tensors are the caller's (not reused by later runs).
  std::vector<Tensor> run(std::span<const Tensor> inputs);
  // By name: every model input must be given.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs);

  // Names of the tensors a run produces (node outputs after fusion), in execution order, for
  // the given input shapes (plans if needed). Useful to pick an observer set.
  std::vector<std::string> tensor_names(std::span<const Shape> input_shapes);

  // Inferred shapes of every node's inputs and outputs (execution order) for the given input
  // shapes; used by `qcal inspect` for FLOPs. Create the session with fuse = false to see the
  // model's own nodes.
  struct NodeShapes {
    const ops::NodeDef* node = nullptr;
    std::vector<Shape> inputs;  // empty shape for an omitted optional input
    std::vector<Shape> outputs;
  };
  std::vector<NodeShapes> node_shapes(std::span<const Shape> input_shapes);

  // Per-node times accumulated over the runs so far (SessionOptions::profile), in execution
  // order of the last plan run.
  std::vector<NodeTiming> profile() const;

 private:
  void rebuild_graph();
  void mark_observed();
  Plan& plan_for(std::span<const Tensor> inputs);
  Plan* last_plan_ = nullptr;

  void install_observer(MinMaxObserver observer, bool minmax,
                        std::optional<std::vector<std::string>> names);

  std::shared_ptr<const Model> model_;
  SessionOptions options_;
  MinMaxObserver observer_;       // a plain Observer is wrapped (minmax is always nullptr for it)
  bool minmax_observer_ = false;  // observer_ came from set_minmax_observer
  std::optional<std::vector<std::string>> observed_names_;
  std::vector<char> observed_;  // per value id of graph_: watched by the observer
  struct Graph;
  std::unique_ptr<Graph> graph_;
  bool graph_watched_ = false;  // graph_ was built with an observer watching tensors (less fusion)
  std::map<std::vector<Shape>, std::unique_ptr<Plan>> plans_;
};

}  // namespace qcal::engine
