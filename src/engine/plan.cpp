// Planning for one input-shape set (shape inference, constant folding, view steps, tensor
// lifetimes and arena offsets) and executing the plan.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/checked.hpp"
#include "core/error.hpp"
#include "engine/graph.hpp"

namespace qcal::engine {
namespace {

constexpr std::int64_t kAlign = 64;  // arena offsets aligned for AVX-512 loads

bool has_unknown_dim(const Shape& s) {
  return std::any_of(s.begin(), s.end(), [](std::int64_t d) { return d < 0; });
}

// Ops whose output is their first input's bytes under a new shape: the engine makes the output
// a view of the input instead of running a copy.
bool is_view_op(const ops::NodeDef& node) {
  if (!node.domain.empty()) return false;
  return node.op_type == "Reshape" || node.op_type == "Flatten" || node.op_type == "Squeeze" ||
         node.op_type == "Unsqueeze" || node.op_type == "Identity";
}

// ONNX Shape (opset 15 adds start/end, clamped like Python slices).
Tensor shape_value(const ops::NodeDef& node, const Shape& shape) {
  const auto rank = static_cast<std::int64_t>(shape.size());
  std::int64_t start = node.attr_int("start", 0);
  std::int64_t end = node.attr_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<std::int64_t>(start, 0, rank);
  end = std::clamp<std::int64_t>(end, 0, rank);
  std::vector<std::int64_t> dims;
  for (std::int64_t i = start; i < end; ++i) dims.push_back(shape[static_cast<std::size_t>(i)]);
  return Tensor::from_values<std::int64_t>({static_cast<std::int64_t>(dims.size())}, dims);
}

}  // namespace

Plan::Plan(ExecGraph& graph, std::span<const Shape> input_shapes,
           std::span<const DType> input_dtypes)
    : graph_(graph) {
  const std::size_t n = graph_.value_names.size();
  infos_.resize(n);
  is_const_.assign(n, 0);
  values_.resize(n);
  planned_.resize(n);
  fresh_.assign(n, 0);
  dynamic_.assign(n, 0);
  for (std::size_t v = 0; v < n; ++v) {
    if (const Tensor* c = graph_.constants[v]) {
      infos_[v] = {c->dtype(), c->shape(), c};
      is_const_[v] = 1;
    }
  }
  for (std::size_t i = 0; i < graph_.input_ids.size(); ++i) {
    const auto id = static_cast<std::size_t>(graph_.input_ids[i]);
    infos_[id] = {input_dtypes[i], input_shapes[i], nullptr};
  }
  for (int out : graph_.output_ids) fresh_[static_cast<std::size_t>(out)] = 1;

  for (std::size_t k = 0; k < graph_.nodes.size(); ++k) {
    const auto& node = graph_.nodes[k];
    const auto& ins = graph_.node_inputs[k];
    const auto& outs = graph_.node_outputs[k];
    std::vector<ops::TensorInfo> in_infos;
    bool all_const = true;
    bool any_dynamic = false;
    for (int id : ins) {
      if (id < 0) {
        in_infos.push_back({});
        continue;
      }
      const auto v = static_cast<std::size_t>(id);
      in_infos.push_back(infos_[v]);
      all_const = all_const && is_const_[v];
      any_dynamic = any_dynamic || dynamic_[v];
    }
    Step step;
    step.node = static_cast<int>(k);
    if (any_dynamic) {
      // Shapes known only at run time: infer again then, allocate fresh.
      step.kind = StepKind::kDynamic;
      for (int o : outs) dynamic_[static_cast<std::size_t>(o)] = 1;
      steps_.push_back(std::move(step));
      continue;
    }
    // Shape of a tensor whose shape is known now is a plan-time constant.
    if (node.domain.empty() && node.op_type == "Shape" && ins.size() == 1 && ins[0] >= 0 &&
        outs.size() == 1) {
      folded_.push_back(shape_value(node, infos_[static_cast<std::size_t>(ins[0])].shape));
      const auto o = static_cast<std::size_t>(outs[0]);
      infos_[o] = {DType::kInt64, folded_.back().shape(), &folded_.back()};
      is_const_[o] = 1;
      folded_ids_.push_back(outs[0]);
      continue;
    }
    std::vector<ops::TensorInfo> out_infos;
    try {
      out_infos = graph_.kernels[k]->infer(in_infos);
    } catch (Error& e) {
      e.with("node", node.name).with("op", node.op_type);
      throw;
    }
    if (out_infos.size() < outs.size()) {
      throw node.error(ErrorCode::kInternal, "kernel inferred " + std::to_string(out_infos.size()) +
                                                 " outputs for " + std::to_string(outs.size()));
    }
    bool unknown = false;
    for (std::size_t i = 0; i < outs.size(); ++i) {
      auto& info = infos_[static_cast<std::size_t>(outs[i])];
      info = out_infos[i];
      if (info.value) {
        // The kernel computed the value at infer time: own a copy.
        folded_.push_back(info.value->clone());
        info.value = &folded_.back();
        is_const_[static_cast<std::size_t>(outs[i])] = 1;
      }
      unknown = unknown || has_unknown_dim(info.shape);
    }
    const bool all_outputs_known = std::all_of(outs.begin(), outs.end(), [&](int o) {
      return is_const_[static_cast<std::size_t>(o)] != 0;
    });
    if (all_outputs_known) {
      for (int o : outs) folded_ids_.push_back(o);
      continue;
    }
    if (all_const && !unknown) {
      fold_node(static_cast<int>(k));
      continue;
    }
    if (unknown) {
      step.kind = StepKind::kDynamic;
      for (int o : outs) dynamic_[static_cast<std::size_t>(o)] = 1;
    } else if (is_view_op(node) && ins[0] >= 0 && !is_const_[static_cast<std::size_t>(ins[0])] &&
               infos_[static_cast<std::size_t>(outs[0])].dtype ==
                   infos_[static_cast<std::size_t>(ins[0])].dtype) {
      step.kind = StepKind::kView;
    }
    steps_.push_back(std::move(step));
  }
  plan_memory();
  plan_minmax();
  for (auto& step : steps_) {
    const auto k = static_cast<std::size_t>(step.node);
    for (int id : graph_.node_inputs[k]) step.inputs.push_back(id < 0 ? nullptr : value_ptr(id));
    for (int id : graph_.node_outputs[k])
      step.outputs.push_back(&values_[static_cast<std::size_t>(id)]);
  }
}

const Tensor* Plan::value_ptr(int id) {
  const auto v = static_cast<std::size_t>(id);
  if (is_const_[v]) return infos_[v].value;
  return &values_[v];
}

void Plan::fold_node(int node_index) {
  const auto k = static_cast<std::size_t>(node_index);
  std::vector<const Tensor*> ins;
  for (int id : graph_.node_inputs[k]) ins.push_back(id < 0 ? nullptr : value_ptr(id));
  std::vector<Tensor> outs;
  for (int id : graph_.node_outputs[k]) {
    const auto& info = infos_[static_cast<std::size_t>(id)];
    outs.emplace_back(info.dtype, info.shape);
  }
  std::vector<Tensor*> out_ptrs;
  for (auto& t : outs) out_ptrs.push_back(&t);
  graph_.kernels[k]->run(ins, out_ptrs, ops::RunContext{1});
  for (std::size_t i = 0; i < outs.size(); ++i) {
    const int id = graph_.node_outputs[k][i];
    folded_.push_back(std::move(outs[i]));
    auto& info = infos_[static_cast<std::size_t>(id)];
    info.value = &folded_.back();
    is_const_[static_cast<std::size_t>(id)] = 1;
    folded_ids_.push_back(id);
  }
}

// Lifetimes in step indices, then greedy best-fit placement in one arena: largest tensors
// first, each at the lowest offset free for its whole lifetime (ORT's "memory pattern" idea).
void Plan::plan_memory() {
  const std::size_t n = values_.size();
  std::vector<int> root(n);
  for (std::size_t v = 0; v < n; ++v) root[v] = static_cast<int>(v);
  std::vector<int> first(n, -1);
  std::vector<int> last(n, -1);
  const int end = static_cast<int>(steps_.size());
  for (std::size_t s = 0; s < steps_.size(); ++s) {
    const auto k = static_cast<std::size_t>(steps_[s].node);
    const int si = static_cast<int>(s);
    for (int id : graph_.node_inputs[k]) {
      if (id < 0 || is_const_[static_cast<std::size_t>(id)]) continue;
      auto& l = last[static_cast<std::size_t>(root[static_cast<std::size_t>(id)])];
      l = std::max(l, si);
    }
    const auto& outs = graph_.node_outputs[k];
    if (steps_[s].kind == StepKind::kView) {
      root[static_cast<std::size_t>(outs[0])] =
          root[static_cast<std::size_t>(graph_.node_inputs[k][0])];
      continue;
    }
    for (int id : outs) {
      first[static_cast<std::size_t>(id)] = si;
      auto& l = last[static_cast<std::size_t>(id)];
      l = std::max(l, si);
    }
  }
  // A view that is a graph output keeps its root alive to the end (it is cloned then).
  for (int out : graph_.output_ids) {
    const auto r = static_cast<std::size_t>(root[static_cast<std::size_t>(out)]);
    last[r] = end;
  }
  struct Block {
    int value;
    std::int64_t bytes;
    std::int64_t offset = 0;
  };
  std::vector<Block> blocks;
  for (std::size_t v = 0; v < n; ++v) {
    if (first[v] < 0 || fresh_[v] || dynamic_[v] || is_const_[v]) continue;
    const auto& info = infos_[v];
    std::int64_t bytes = checked_mul(shape_numel(info.shape),
                                     static_cast<std::int64_t>(dtype_size(info.dtype)), "tensor");
    bytes = (bytes + kAlign - 1) / kAlign * kAlign;
    blocks.push_back({static_cast<int>(v), bytes});
  }
  std::stable_sort(blocks.begin(), blocks.end(),
                   [](const Block& a, const Block& b) { return a.bytes > b.bytes; });
  std::int64_t total = 0;
  std::vector<const Block*> placed;
  for (auto& b : blocks) {
    const auto bv = static_cast<std::size_t>(b.value);
    std::vector<std::pair<std::int64_t, std::int64_t>> busy;
    for (const Block* p : placed) {
      const auto pv = static_cast<std::size_t>(p->value);
      if (first[pv] <= last[bv] && first[bv] <= last[pv])
        busy.emplace_back(p->offset, p->offset + p->bytes);
    }
    std::sort(busy.begin(), busy.end());
    std::int64_t offset = 0;
    for (const auto& [lo, hi] : busy) {
      if (lo - offset >= b.bytes) break;
      offset = std::max(offset, hi);
    }
    b.offset = offset;
    total = std::max(total, checked_add(offset, b.bytes, "arena"));
    placed.push_back(&b);
  }
  check_alloc(static_cast<std::uint64_t>(total), "activation arena");
  arena_ = Tensor(DType::kUInt8, {total});
  auto* base = static_cast<std::byte*>(arena_.raw_data());
  arena_begin_ = base;
  arena_end_ = base + total;
  for (const auto& b : blocks) {
    const auto v = static_cast<std::size_t>(b.value);
    planned_[v] = Tensor::alias(infos_[v].dtype, infos_[v].shape, arena_, base + b.offset);
  }
}

// Who scans what for a MinMaxObserver: a kernel that scans its float32 output 0 as it writes it
// reports it; otherwise the first later kernel step that reads the value as its first input and
// scans its input while reading (a unary map) reports it after it ran. The value is alive until
// then (that step reads it, so its arena slot is not reused before), so the view stays valid.
void Plan::plan_minmax() {
  const std::size_t n = values_.size();
  scans_output_.assign(steps_.size(), 0);
  report_after_.assign(n, -1);
  scanned_input_.assign(steps_.size(), -1);
  std::vector<char> scans_input(steps_.size(), 0);
  std::vector<int> producer(n, -1);
  for (std::size_t s = 0; s < steps_.size(); ++s) {
    const auto& step = steps_[s];
    const auto k = static_cast<std::size_t>(step.node);
    const auto& outs = graph_.node_outputs[k];
    for (int o : outs) producer[static_cast<std::size_t>(o)] = static_cast<int>(s);
    if (step.kind != StepKind::kKernel) continue;
    std::vector<ops::TensorInfo> in_infos;
    for (int id : graph_.node_inputs[k]) {
      in_infos.push_back(id < 0 ? ops::TensorInfo{} : infos_[static_cast<std::size_t>(id)]);
    }
    const ops::MinMaxSupport support = graph_.kernels[k]->minmax_support(in_infos);
    const bool float_out =
        !outs.empty() && infos_[static_cast<std::size_t>(outs[0])].dtype == DType::kFloat32;
    scans_output_[s] = support.output && float_out ? 1 : 0;
    scans_input[s] = support.input ? 1 : 0;
  }
  for (std::size_t s = 0; s < steps_.size(); ++s) {
    if (!scans_input[s]) continue;
    const auto& ins = graph_.node_inputs[static_cast<std::size_t>(steps_[s].node)];
    if (ins.empty() || ins[0] < 0) continue;
    const auto v = static_cast<std::size_t>(ins[0]);
    if (producer[v] < 0 || is_const_[v]) continue;
    const auto p = static_cast<std::size_t>(producer[v]);
    if (steps_[p].kind != StepKind::kKernel) continue;
    const auto& producer_outs = graph_.node_outputs[static_cast<std::size_t>(steps_[p].node)];
    if (scans_output_[p] && producer_outs[0] == ins[0]) continue;  // its producer scans it
    if (report_after_[v] >= 0) continue;                           // an earlier reader scans it
    report_after_[v] = static_cast<int>(s);
    scanned_input_[s] = ins[0];
  }
}

void Plan::run(std::span<const Tensor> inputs, std::vector<Tensor>& outputs, int num_threads,
               const MinMaxObserver& observer, bool order_free, const std::vector<char>& observed,
               bool profile) {
  if (profile) {
    step_ms_.resize(steps_.size(), 0.0);
    ++profiled_runs_;
  }
  const bool observing = static_cast<bool>(observer);
  // ConvChain reports its watched intermediates through a plain observer.
  const Observer chain_observer = [&](const std::string& name, const TensorView& view) {
    observer(name, view, nullptr);
  };
  const ops::RunContext ctx{num_threads, observing ? &chain_observer : nullptr};
  const auto watched = [&](int id) {
    const auto v = static_cast<std::size_t>(id);
    return observing && observed[v] && !graph_.value_names[v].empty();
  };
  const auto observe = [&](int id, const MinMaxScan* minmax = nullptr) {
    if (watched(id)) {
      const auto v = static_cast<std::size_t>(id);
      const Tensor* t = is_const_[v] ? infos_[v].value : &values_[v];
      observer(graph_.value_names[v], t->view(), minmax);
    }
  };
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    values_[static_cast<std::size_t>(graph_.input_ids[i])] = inputs[i];
    observe(graph_.input_ids[i]);
  }
  for (int id : folded_ids_) observe(id);
  for (std::size_t si = 0; si < steps_.size(); ++si) {
    auto& step = steps_[si];
    const auto k = static_cast<std::size_t>(step.node);
    const auto& outs = graph_.node_outputs[k];
    const auto t0 =
        profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    ops::MinMaxRequest request;  // scans for a MinMaxObserver (plan_minmax)
    if (step.kind == StepKind::kView) {
      const auto& info = infos_[static_cast<std::size_t>(outs[0])];
      *step.outputs[0] = step.inputs[0]->reshaped(info.shape);
    } else {
      if (step.kind == StepKind::kDynamic) {
        std::vector<ops::TensorInfo> in_infos;
        for (const Tensor* t : step.inputs) {
          in_infos.push_back(t ? ops::TensorInfo{t->dtype(), t->shape(), nullptr}
                               : ops::TensorInfo{});
        }
        const auto out_infos = graph_.kernels[k]->infer(in_infos);
        for (std::size_t i = 0; i < outs.size(); ++i) {
          *step.outputs[i] = has_unknown_dim(out_infos[i].shape)
                                 ? Tensor()
                                 : Tensor(out_infos[i].dtype, out_infos[i].shape);
        }
      } else {
        for (std::size_t i = 0; i < outs.size(); ++i) {
          const auto v = static_cast<std::size_t>(outs[i]);
          if (fresh_[v])
            values_[v] = Tensor(infos_[v].dtype, infos_[v].shape);
          else
            values_[v] = planned_[v];
        }
      }
      ops::RunContext step_ctx = ctx;
      if (order_free && step.kind == StepKind::kKernel) {
        request.want_output = scans_output_[si] && watched(outs[0]);
        request.want_input = scanned_input_[si] >= 0 && watched(scanned_input_[si]);
        if (request.want_output || request.want_input) step_ctx.minmax = &request;
      }
      graph_.kernels[k]->run(step.inputs, step.outputs, step_ctx);
      if (step.kind == StepKind::kKernel) {
        // A kernel may replace its output with a view of an input; inside the arena that
        // memory is reused later, so copy it into the planned slot.
        for (std::size_t i = 0; i < outs.size(); ++i) {
          const auto v = static_cast<std::size_t>(outs[i]);
          const auto* p = static_cast<const std::byte*>(values_[v].raw_data());
          if (!fresh_[v] && p != planned_[v].raw_data() && p >= arena_begin_ && p < arena_end_) {
            std::memcpy(planned_[v].raw_data(), p, planned_[v].nbytes());
            values_[v] = planned_[v];
          }
        }
      }
    }
    if (profile) {
      step_ms_[si] +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    // A value scanned by this step as it read it, then this step's outputs except those a later
    // reader scans (order_free only).
    if (request.want_input)
      observe(scanned_input_[si], request.input_done ? &request.input : nullptr);
    for (int id : outs) {
      if (order_free && report_after_[static_cast<std::size_t>(id)] >= 0) continue;
      observe(id, id == outs[0] && request.output_done ? &request.output : nullptr);
    }
  }
  outputs.clear();
  for (int id : graph_.output_ids) {
    const auto v = static_cast<std::size_t>(id);
    const Tensor& t = is_const_[v] ? *infos_[v].value : values_[v];
    const auto* p = static_cast<const std::byte*>(t.raw_data());
    bool shared = is_const_[v] || (p >= arena_begin_ && p < arena_end_);
    for (const Tensor& in : inputs) shared = shared || in.raw_data() == t.raw_data();
    outputs.push_back(shared ? t.clone() : t);
  }
  // Drop references to the caller's inputs and the returned outputs.
  for (int id : graph_.input_ids) values_[static_cast<std::size_t>(id)] = Tensor();
  for (int id : graph_.output_ids) {
    if (!is_const_[static_cast<std::size_t>(id)]) values_[static_cast<std::size_t>(id)] = Tensor();
  }
}

std::vector<NodeTiming> Plan::profile() const {
  std::vector<NodeTiming> out;
  for (std::size_t si = 0; si < step_ms_.size() && si < steps_.size(); ++si) {
    const auto& node = graph_.nodes[static_cast<std::size_t>(steps_[si].node)];
    out.push_back({node.name, node.op_type, step_ms_[si], profiled_runs_});
  }
  return out;
}

std::vector<std::string> Plan::produced_names() const {
  std::vector<std::string> names;
  for (int id : graph_.input_ids) names.push_back(graph_.value_names[static_cast<std::size_t>(id)]);
  for (int id : folded_ids_) {
    if (!graph_.value_names[static_cast<std::size_t>(id)].empty()) {
      names.push_back(graph_.value_names[static_cast<std::size_t>(id)]);
    }
  }
  for (const auto& step : steps_) {
    for (int id : graph_.node_outputs[static_cast<std::size_t>(step.node)]) {
      if (!graph_.value_names[static_cast<std::size_t>(id)].empty()) {
        names.push_back(graph_.value_names[static_cast<std::size_t>(id)]);
      }
    }
  }
  return names;
}

}  // namespace qcal::engine
