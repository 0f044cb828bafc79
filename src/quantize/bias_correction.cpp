// Empirical bias correction: per-channel output means of the FP32 and QDQ models in qcal's
// engine, corrections applied in place pass after pass, folded into the float model's biases.
#include "quantize/bias_correction.hpp"

#include <chrono>
#include <cmath>
#include <map>

#include "core/error.hpp"
#include "engine/session.hpp"
#include "export/weight_edit.hpp"

namespace qcal::quantize {
namespace {

using exporter::GraphNode;
using exporter::GraphView;

std::int64_t int_attribute(const GraphNode& n, const std::string& key, std::int64_t fallback) {
  auto it = n.int_attributes.find(key);
  return it == n.int_attributes.end() ? fallback : it->second;
}

// Output channels of a layer from its weight's shape; 0 when the layout does not fit.
std::size_t layer_channels(const GraphNode& n, const std::vector<std::int64_t>& w) {
  if (n.op_type == "Conv" && w.size() >= 3) return static_cast<std::size_t>(w[0]);
  if (n.op_type == "ConvTranspose" && w.size() >= 3) {
    return static_cast<std::size_t>(w[1] * int_attribute(n, "group", 1));
  }
  if (n.op_type == "Gemm" && w.size() == 2) {
    return static_cast<std::size_t>(int_attribute(n, "transB", 0) != 0 ? w[0] : w[1]);
  }
  if (n.op_type == "MatMul" && w.size() >= 2) return static_cast<std::size_t>(w.back());
  return 0;
}

// A bias the editor can widen to one value per channel: absent, or a constant of 1 or C values
// (for Gemm also [1, N]).
bool bias_fits(const GraphView& graph, const GraphNode& n, std::size_t channels) {
  if (n.op_type == "MatMul" || n.inputs.size() < 3 || n.inputs[2].empty()) return true;
  if (!graph.initializers.count(n.inputs[2])) return false;
  auto s = graph.initializer_shapes.find(n.inputs[2]);
  if (s == graph.initializer_shapes.end()) return false;
  std::int64_t numel = 1;
  for (auto d : s->second) numel *= d;
  return numel == 1 || numel == static_cast<std::int64_t>(channels);
}

// Per-channel sums of one layer's output over the measured samples.
struct ChannelSums {
  std::vector<double> fp32, qdq;
  double count = 0;  // values per channel summed (FP32 pass)
};

using Clock = std::chrono::steady_clock;

// The measurement: one FP32 session and one QDQ session, observers on every target's output.
class Corrector {
 public:
  Corrector(const ModelContext& model, const exporter::QdqBuild& build,
            std::vector<CorrectionTarget> targets, int threads)
      : targets_(std::move(targets)),
        fp32_(model.model, session_options(threads)),
        qdq_(std::make_shared<const engine::Model>(
                 engine::Model::load_from_bytes(build.qdq.model_bytes, model.base_dir())),
             session_options(threads)),
        sums_(targets_.size()),
        shift_(targets_.size()) {
    std::vector<std::string> names;
    for (std::size_t t = 0; t < targets_.size(); ++t) {
      index_[targets_[t].output] = t;
      names.push_back(targets_[t].output);
      sums_[t].fp32.assign(targets_[t].channels, 0.0);
      shift_[t].assign(targets_[t].channels, 0.0f);
    }
    fp32_.set_observer([this](const std::string& n, const TensorView& v) { observe_fp32(n, v); },
                       names);
    qdq_.set_observer([this](const std::string& n, const TensorView& v) { observe_qdq(n, v); },
                      names);
  }

  void begin_pass() {
    for (std::size_t t = 0; t < targets_.size(); ++t) sums_[t].qdq.assign(targets_[t].channels, 0);
  }
  void run_fp32(const std::vector<Tensor>& x) { fp32_.run(x); }
  void run_qdq(const std::vector<Tensor>& x) { qdq_.run(x); }

  // Mean error per channel of this pass: fp32 mean - qdq mean (before this layer's shift).
  std::vector<double> error(std::size_t t) const {
    std::vector<double> e(targets_[t].channels, 0.0);
    const double count = sums_[t].count > 0 ? sums_[t].count : 1.0;
    for (std::size_t c = 0; c < e.size(); ++c) e[c] = (sums_[t].fp32[c] - sums_[t].qdq[c]) / count;
    return e;
  }
  void set_shift(std::size_t t, const std::vector<double>& shift) {
    for (std::size_t c = 0; c < shift.size(); ++c) shift_[t][c] = static_cast<float>(shift[c]);
  }
  std::size_t size() const { return targets_.size(); }

 private:
  static engine::SessionOptions session_options(int threads) {
    engine::SessionOptions s;
    s.num_threads = threads;
    return s;
  }

  // The layout of a target's output: outer x channels x inner, channels on axis 1 or the last.
  struct Layout {
    std::size_t outer = 1, inner = 1;
  };
  Layout layout(std::size_t t, const TensorView& v) const {
    const auto& shape = v.shape;
    const std::size_t axis = targets_[t].last_axis ? shape.size() - 1 : 1;
    if (shape.size() <= axis || static_cast<std::size_t>(shape[axis]) != targets_[t].channels ||
        v.dtype != DType::kFloat32) {
      Error e(ErrorCode::kInternal, "bias correction: the layer's output is not float32 with " +
                                        std::to_string(targets_[t].channels) + " channels");
      e.with("node", targets_[t].key).with("tensor", targets_[t].output);
      throw e;
    }
    Layout l;
    for (std::size_t d = 0; d < axis; ++d) l.outer *= static_cast<std::size_t>(shape[d]);
    for (std::size_t d = axis + 1; d < shape.size(); ++d)
      l.inner *= static_cast<std::size_t>(shape[d]);
    return l;
  }

  // Sums in element order (outer, channel, inner): a fixed order, whatever the thread count.
  static void add_sums(const float* x, const Layout& l, std::vector<double>& sums) {
    const std::size_t channels = sums.size();
    for (std::size_t o = 0; o < l.outer; ++o) {
      for (std::size_t c = 0; c < channels; ++c) {
        const float* row = x + (o * channels + c) * l.inner;
        double s = 0.0;
        for (std::size_t i = 0; i < l.inner; ++i) s += static_cast<double>(row[i]);
        sums[c] += s;
      }
    }
  }

  void observe_fp32(const std::string& name, const TensorView& v) {
    const std::size_t t = index_.at(name);
    const Layout l = layout(t, v);
    add_sums(static_cast<const float*>(v.data), l, sums_[t].fp32);
    sums_[t].count += static_cast<double>(l.outer * l.inner);
  }

  // Measures the layer as its corrected predecessors feed it, then shifts it for its successors.
  void observe_qdq(const std::string& name, const TensorView& v) {
    const std::size_t t = index_.at(name);
    const Layout l = layout(t, v);
    add_sums(static_cast<const float*>(v.data), l, sums_[t].qdq);
    auto* x = static_cast<float*>(engine::observed_data_for_rewrite(v));
    const std::size_t channels = targets_[t].channels;
    for (std::size_t o = 0; o < l.outer; ++o) {
      for (std::size_t c = 0; c < channels; ++c) {
        float* row = x + (o * channels + c) * l.inner;
        for (std::size_t i = 0; i < l.inner; ++i) row[i] += shift_[t][c];
      }
    }
  }

  std::vector<CorrectionTarget> targets_;
  engine::Session fp32_, qdq_;
  std::map<std::string, std::size_t> index_;
  std::vector<ChannelSums> sums_;
  std::vector<std::vector<float>> shift_;  // applied in place during QDQ runs
};

double mean_abs(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += std::fabs(x);
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// The batches measured: `count` of them spread evenly over the first `total` samples.
std::vector<std::int64_t> measured_batches(std::int64_t total, std::int64_t batch,
                                           std::size_t count) {
  const std::int64_t batches = total / batch;
  const auto k = std::min<std::int64_t>(static_cast<std::int64_t>(count), batches);
  std::vector<std::int64_t> firsts;
  for (std::int64_t i = 0; i < k; ++i) firsts.push_back((2 * i + 1) * batches / (2 * k) * batch);
  return firsts;
}

void run_passes(Corrector& c, preprocess::SampleData& data, const std::vector<std::int64_t>& firsts,
                std::int64_t batch, int passes, std::vector<LayerCorrection>& layers) {
  for (int pass = 0; pass < passes; ++pass) {
    c.begin_pass();
    for (std::int64_t first : firsts) {
      std::vector<Tensor> x = data.read(first, batch);
      if (pass == 0) c.run_fp32(x);
      c.run_qdq(x);
    }
    for (std::size_t t = 0; t < c.size(); ++t) {
      const std::vector<double> e = c.error(t);
      if (pass == 0) layers[t].mean_abs_error_before = mean_abs(e);
      if (pass > 0) {
        std::vector<double> residual(e.size());
        for (std::size_t k = 0; k < e.size(); ++k) residual[k] = e[k] - layers[t].shift[k];
        layers[t].mean_abs_error_after = mean_abs(residual);
      }
      layers[t].shift = e;
      c.set_shift(t, e);
    }
  }
}

}  // namespace

void validate(const BiasCorrectionOptions& o) {
  if (o.samples == 0) throw_invalid("--bias-correction-samples must be at least 1");
  if (o.passes < 1 || o.passes > 8) throw_invalid("bias correction passes must be in [1, 8]");
}

std::vector<CorrectionTarget> correction_targets(const GraphView& graph,
                                                 const exporter::PlacementPlan& plan) {
  std::map<std::size_t, CorrectionTarget> by_node;
  for (const auto& [weight, wp] : plan.weights) {
    auto shape = graph.initializer_shapes.find(weight);
    if (shape == graph.initializer_shapes.end()) continue;
    for (const auto& use : wp.uses) {
      const GraphNode& n = graph.nodes[use.node];
      if (use.input != 1 || n.inputs.empty() || graph.initializers.count(n.inputs[0]) ||
          n.outputs.empty()) {
        continue;
      }
      const std::size_t channels = layer_channels(n, shape->second);
      if (channels == 0 || !bias_fits(graph, n, channels)) continue;
      CorrectionTarget t;
      t.node = use.node;
      t.key = exporter::node_key(n.name, use.node);
      t.op = n.op_type;
      t.output = n.outputs[0];
      t.channels = channels;
      t.last_axis = n.op_type == "Gemm" || n.op_type == "MatMul";
      by_node[use.node] = std::move(t);
    }
  }
  std::vector<CorrectionTarget> out;
  for (auto& [node, t] : by_node) out.push_back(std::move(t));
  return out;
}

BiasCorrection correct_biases(const ModelContext& model, const exporter::QdqBuild& build,
                              preprocess::SampleData& data, std::int64_t num_samples,
                              const BiasCorrectionOptions& options, int threads) {
  validate(options);
  const auto start = Clock::now();
  BiasCorrection bc;
  std::vector<CorrectionTarget> targets = correction_targets(model.graph, build.plan);
  if (targets.empty() || model.model->inputs().size() != 1) {
    bc.model_bytes = model.bytes;
    return bc;
  }
  const auto& shape = model.model->inputs()[0].shape;
  const std::int64_t batch = shape.empty() || shape[0] <= 0 ? 1 : shape[0];
  std::int64_t total = data.size();
  if (num_samples > 0) total = std::min(total, num_samples);
  const auto firsts = measured_batches(total, batch, options.samples);
  bc.layers.resize(targets.size());
  for (std::size_t t = 0; t < targets.size(); ++t) {
    bc.layers[t].node = targets[t].key;
    bc.layers[t].op = targets[t].op;
    bc.layers[t].output = targets[t].output;
  }
  Corrector c(model, build, std::move(targets), threads);
  run_passes(c, data, firsts, batch, options.passes, bc.layers);
  std::vector<exporter::BiasShift> shifts;
  for (auto& l : bc.layers) {
    for (double s : l.shift) l.max_abs_shift = std::max(l.max_abs_shift, std::fabs(s));
    shifts.push_back({l.node, l.shift});
  }
  bc.model_bytes = exporter::edit_float_model(model.bytes, model.path.string(), {}, shifts);
  bc.samples = static_cast<std::size_t>(static_cast<std::int64_t>(firsts.size()) * batch);
  bc.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return bc;
}

nlohmann::json bias_correction_json(const BiasCorrection& bc) {
  nlohmann::json j;
  j["samples"] = bc.samples;
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : bc.layers) {
    nlohmann::json e;
    e["node"] = l.node;
    e["op"] = l.op;
    e["output"] = l.output;
    e["mean_abs_error_before"] = l.mean_abs_error_before;
    e["mean_abs_error_after"] = l.mean_abs_error_after;
    e["max_abs_shift"] = l.max_abs_shift;
    e["shift"] = l.shift;
    layers.push_back(std::move(e));
  }
  j["layers"] = std::move(layers);
  return j;
}

}  // namespace qcal::quantize
