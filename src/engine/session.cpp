// Session: input validation, plan cache per input-shape set, observer wiring, thread count.
#include "engine/session.hpp"

#include <omp.h>

#include <set>
#include <thread>

#include "core/error.hpp"
#include "engine/graph.hpp"

namespace qcal::engine {

struct Session::Graph {
  ExecGraph exec;
};

namespace {

int resolve_threads(int n) {
  if (n > 0) return n;
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

}  // namespace

Session::Session(std::shared_ptr<const Model> model, SessionOptions options)
    : model_(std::move(model)), options_(options) {
  if (!model_) throw Error(ErrorCode::kInvalidArgument, "Session needs a model");
  options_.num_threads = resolve_threads(options_.num_threads);
  rebuild_graph();
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

std::vector<NodeTiming> Session::profile() const {
  return last_plan_ ? last_plan_->profile() : std::vector<NodeTiming>{};
}

void Session::rebuild_graph() {
  plans_.clear();
  last_plan_ = nullptr;
  std::set<std::string> keep;
  bool keep_all = false;
  if (observer_) {
    if (observed_names_)
      keep.insert(observed_names_->begin(), observed_names_->end());
    else
      keep_all = true;
  }
  graph_ = std::make_unique<Graph>();
  graph_->exec =
      build_exec_graph(*model_, options_.fuse, keep, keep_all, options_.observe_in_chains);
  graph_watched_ = keep_all || !keep.empty();
  mark_observed();
}

// Which values the observer sees, by value id: computed once per graph or watch list, not per run.
void Session::mark_observed() {
  const auto& names = graph_->exec.value_names;
  observed_.assign(names.size(), 0);
  if (!observer_) return;
  if (!observed_names_) {
    std::fill(observed_.begin(), observed_.end(), 1);
    return;
  }
  const std::set<std::string> keep(observed_names_->begin(), observed_names_->end());
  for (std::size_t v = 0; v < names.size(); ++v) observed_[v] = keep.count(names[v]) ? 1 : 0;
}

void Session::set_observer(Observer observer, std::optional<std::vector<std::string>> names) {
  MinMaxObserver wrapped;
  if (observer) {
    wrapped = [o = std::move(observer)](const std::string& name, const TensorView& view,
                                        const MinMaxScan*) { o(name, view); };
  }
  install_observer(std::move(wrapped), false, std::move(names));
}

void Session::set_minmax_observer(MinMaxObserver observer,
                                  std::optional<std::vector<std::string>> names) {
  install_observer(std::move(observer), true, std::move(names));
}

void Session::install_observer(MinMaxObserver observer, bool minmax,
                               std::optional<std::vector<std::string>> names) {
  observer_ = std::move(observer);
  minmax_observer_ = minmax && static_cast<bool>(observer_);
  observed_names_ = std::move(names);
  if (observed_names_) {
    std::set<std::string> known;
    for (const auto& in : model_->inputs()) known.insert(in.name);
    for (const auto& node : model_->nodes()) known.insert(node.outputs.begin(), node.outputs.end());
    for (const auto& [name, value] : model_->constants()) known.insert(name);
    for (const auto& name : *observed_names_) {
      if (!known.count(name)) {
        throw Error(ErrorCode::kInvalidArgument,
                    "the observer asks for a tensor the model does not have")
            .with("tensor", name);
      }
    }
    // Fusion consults the watch list only for the tensors it would remove, so a graph built
    // watching nothing comes out the same for a list of tensors it already has: keep it and its
    // plans (calibrate asks tensor_names() first, then watches those; no second planning).
    if (graph_ && !graph_watched_) {
      const auto& values = graph_->exec.value_names;
      const std::set<std::string> have(values.begin(), values.end());
      if (std::all_of(observed_names_->begin(), observed_names_->end(),
                      [&](const std::string& n) { return have.count(n) != 0; })) {
        mark_observed();
        return;
      }
    }
  }
  rebuild_graph();
}

Plan& Session::plan_for(std::span<const Tensor> inputs) {
  const auto& declared = model_->inputs();
  if (inputs.size() != declared.size()) {
    throw Error(ErrorCode::kInvalidArgument, "the model takes " + std::to_string(declared.size()) +
                                                 " input(s), " + std::to_string(inputs.size()) +
                                                 " given");
  }
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& d = declared[i];
    const Tensor& t = inputs[i];
    if (t.empty())
      throw Error(ErrorCode::kInvalidArgument, "input is empty").with("tensor", d.name);
    if (d.dtype != DType::kUndefined && t.dtype() != d.dtype) {
      throw Error(ErrorCode::kInvalidArgument,
                  "input has dtype " + std::string(dtype_name(t.dtype())) + ", the model expects " +
                      std::string(dtype_name(d.dtype)))
          .with("tensor", d.name);
    }
    bool fits = d.shape.empty() || d.shape.size() == t.shape().size();
    for (std::size_t j = 0; fits && j < d.shape.size(); ++j) {
      fits = d.shape[j] < 0 || d.shape[j] == t.shape()[j];
    }
    if (!fits) {
      throw Error(ErrorCode::kInvalidArgument, "input shape " + shape_to_string(t.shape()) +
                                                   " does not fit the model's " +
                                                   shape_to_string(d.shape) + " (-1: any)")
          .with("tensor", d.name);
    }
    shapes.push_back(t.shape());
    dtypes.push_back(t.dtype());
  }
  auto it = plans_.find(shapes);
  if (it == plans_.end()) {
    omp_set_num_threads(options_.num_threads);
    auto plan = std::make_unique<Plan>(graph_->exec, shapes, dtypes);
    it = plans_.emplace(shapes, std::move(plan)).first;
  }
  return *it->second;
}

std::vector<Tensor> Session::run(std::span<const Tensor> inputs) {
  Plan& plan = plan_for(inputs);
  omp_set_num_threads(options_.num_threads);
  std::vector<Tensor> outputs;
  plan.run(inputs, outputs, options_.num_threads, observer_, minmax_observer_, observed_,
           options_.profile);
  last_plan_ = &plan;
  return outputs;
}

std::map<std::string, Tensor> Session::run(const std::map<std::string, Tensor>& inputs) {
  std::vector<Tensor> ordered;
  for (const auto& d : model_->inputs()) {
    auto it = inputs.find(d.name);
    if (it == inputs.end())
      throw Error(ErrorCode::kInvalidArgument, "input not given").with("tensor", d.name);
    ordered.push_back(it->second);
  }
  for (const auto& [name, t] : inputs) {
    if (model_->input_index(name) < 0) {
      throw Error(ErrorCode::kInvalidArgument, "the model has no input of this name")
          .with("tensor", name);
    }
  }
  const auto outs = run(ordered);
  std::map<std::string, Tensor> named;
  for (std::size_t i = 0; i < outs.size(); ++i) named[model_->outputs()[i].name] = outs[i];
  return named;
}

std::vector<std::string> Session::tensor_names(std::span<const Shape> input_shapes) {
  std::vector<Tensor> dummies;
  for (std::size_t i = 0; i < input_shapes.size() && i < model_->inputs().size(); ++i) {
    DType dt = model_->inputs()[i].dtype;
    dummies.emplace_back(dt == DType::kUndefined ? DType::kFloat32 : dt, input_shapes[i]);
  }
  return plan_for(dummies).produced_names();
}

std::vector<Session::NodeShapes> Session::node_shapes(std::span<const Shape> input_shapes) {
  std::vector<Tensor> dummies;
  for (std::size_t i = 0; i < input_shapes.size() && i < model_->inputs().size(); ++i) {
    DType dt = model_->inputs()[i].dtype;
    dummies.emplace_back(dt == DType::kUndefined ? DType::kFloat32 : dt, input_shapes[i]);
  }
  const Plan& plan = plan_for(dummies);
  const auto& exec = graph_->exec;
  std::vector<NodeShapes> out;
  for (std::size_t k = 0; k < exec.nodes.size(); ++k) {
    NodeShapes ns;
    ns.node = &exec.nodes[k];
    for (int id : exec.node_inputs[k])
      ns.inputs.push_back(id < 0 ? Shape{} : plan.value_info(id).shape);
    for (int id : exec.node_outputs[k]) ns.outputs.push_back(plan.value_info(id).shape);
    out.push_back(std::move(ns));
  }
  return out;
}

}  // namespace qcal::engine
