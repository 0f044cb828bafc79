// Layer sensitivity in qcal's engine: one session observing the quantized activations, which
// the observer fake-quantizes in place (engine::observed_data_for_rewrite) for one tensor, for
// all of them, or for none (the FP32 reference, whose copies feed the along-model error).
#include "quantize/sensitivity_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <set>

#include "core/error.hpp"
#include "engine/session.hpp"
#include "eval/tensor_metrics.hpp"

namespace qcal::quantize {

using eval::decode_yolo;
using eval::evaluate_map;
using eval::TensorComparator;
using eval::TensorComparison;
using eval::TensorSensitivity;
using eval::YoloDecodeOptions;

void fake_quantize(std::span<float> values, const ActivationQuant& q) {
  const float lo = static_cast<float>(q.qmin), hi = static_cast<float>(q.qmax);
  const float zp = static_cast<float>(q.zero_point);
  for (float& x : values) {
    // x / scale as QuantizeLinear divides (not a multiply by the reciprocal); nearbyint rounds
    // half to even in the default rounding mode, as ONNX requires.
    float v = std::nearbyint(x / q.scale) + zp;
    v = std::min(hi, std::max(lo, v));
    x = (v - zp) * q.scale;
  }
}

std::map<std::string, ActivationQuant> activation_quant_from_qdq(const engine::Model& model) {
  std::map<std::string, ActivationQuant> out;
  const auto& constants = model.constants();
  for (const auto& node : model.nodes()) {
    if (node.op_type != "QuantizeLinear" || node.inputs.size() < 2) continue;
    const std::string& x = node.inputs[0];
    if (constants.count(x)) continue;  // a weight quantized in the graph
    auto s = constants.find(node.inputs[1]);
    if (s == constants.end() || s->second.numel() != 1 || s->second.dtype() != DType::kFloat32) {
      continue;  // per-axis or computed scales are not activation Q/DQ qcal writes
    }
    ActivationQuant q;
    q.scale = s->second.values<float>()[0];
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
      auto z = constants.find(node.inputs[2]);
      if (z == constants.end() || z->second.numel() != 1) continue;
      if (z->second.dtype() == DType::kUInt8) {
        q.zero_point = z->second.values<std::uint8_t>()[0];
        q.qmin = 0;
        q.qmax = 255;
      } else if (z->second.dtype() == DType::kInt8) {
        q.zero_point = z->second.values<std::int8_t>()[0];
      } else {
        continue;
      }
    }
    if (!(q.scale > 0.0f) || !std::isfinite(q.scale)) continue;
    out[x] = q;
  }
  return out;
}

void TaskDropScorer::add(const std::string& tensor, std::size_t sample,
                         const std::vector<Tensor>& ref, const std::vector<Tensor>& test) {
  if (kind_ == Kind::kYoloMap) {
    if (ref.empty() || ref[0].dtype() != DType::kFloat32) return;
    if (sample >= reference_.size()) reference_.resize(sample + 1);
    auto& gt = reference_[sample];
    const YoloDecodeOptions yolo;  // Ultralytics val: conf 0.001, IoU 0.7, 300 per image
    if (!gt) {
      gt.emplace();
      for (const auto& d : decode_yolo(ref[0].view(), yolo)) {
        if (d.score > 0.25f) gt->push_back({d.box, d.class_id, false});
      }
    }
    dets_[tensor].push_back({decode_yolo(test[0].view(), yolo), *gt});
    return;
  }
  auto& comps = cosines_[tensor];
  comps.resize(ref.size());
  for (std::size_t o = 0; o < ref.size(); ++o) {
    if (ref[o].dtype() == DType::kFloat32)
      comps[o].add(ref[o].values<float>(), test[o].values<float>());
  }
}

double TaskDropScorer::drop(const std::string& tensor) const {
  if (kind_ == Kind::kYoloMap) {
    auto it = dets_.find(tensor);
    if (it == dets_.end()) return std::nan("");
    const double m = evaluate_map(it->second).map50_95;
    return std::isnan(m) ? m : (1.0 - m) * 100.0;
  }
  auto it = cosines_.find(tensor);
  if (it == cosines_.end()) return std::nan("");
  double worst = 1.0;
  for (const auto& c : it->second) worst = std::min(worst, c.result().cosine);
  return (1.0 - worst) * 100.0;
}

namespace {

enum class Mode { kReference, kOne, kAll };

// The listed tensors the model produces (graph inputs count); the others go to `skipped`.
std::vector<std::string> produced_tensors(const engine::Model& model,
                                          const std::map<std::string, ActivationQuant>& quant,
                                          std::vector<std::string>& skipped) {
  std::set<std::string> produced;
  for (const auto& in : model.inputs()) produced.insert(in.name);
  for (const auto& node : model.nodes()) produced.insert(node.outputs.begin(), node.outputs.end());
  std::vector<std::string> names;
  for (const auto& [name, q] : quant) {
    if (!produced.count(name) || model.constants().count(name)) {
      skipped.push_back(name);
    } else {
      names.push_back(name);
    }
  }
  return names;
}

// Per tensor: its output error when quantized alone, its own error in the all-quantized run.
void record_tensors(const std::vector<std::string>& names, const std::vector<char>& seen,
                    const std::vector<TensorComparator>& outputs,
                    const std::vector<TensorComparator>& along, SensitivityRun& run) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!seen[i]) {
      run.skipped.push_back(names[i]);
      continue;
    }
    const TensorComparison o = outputs[i].result();
    const TensorComparison a = along[i].result();
    TensorSensitivity t;
    t.tensor = names[i];
    t.output_sqnr_db = o.sqnr_db;
    t.output_cosine = o.cosine;
    t.along_sqnr_db = a.elements > 0 ? a.sqnr_db : std::numeric_limits<double>::quiet_NaN();
    t.along_cosine = a.elements > 0 ? a.cosine : std::numeric_limits<double>::quiet_NaN();
    run.tensors.push_back(std::move(t));
  }
}

}  // namespace

SensitivityRun measure_sensitivity(std::shared_ptr<const engine::Model> model,
                                   const std::map<std::string, ActivationQuant>& quant,
                                   const std::vector<std::vector<Tensor>>& samples,
                                   const SensitivityRunOptions& options,
                                   const SensitivityProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  SensitivityRun run;
  if (samples.empty())
    throw Error(ErrorCode::kInvalidArgument, "sensitivity needs at least one sample");
  const std::vector<std::string> names = produced_tensors(*model, quant, run.skipped);
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < names.size(); ++i) index[names[i]] = i;
  engine::Session session(model, {.num_threads = options.threads});

  Mode mode = Mode::kReference;
  std::size_t target = 0;
  std::vector<std::vector<float>> reference(names.size());  // FP32 copies, current sample
  std::vector<char> seen(names.size(), 0);
  std::vector<TensorComparator> along(names.size());
  std::vector<const ActivationQuant*> q_of(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) q_of[i] = &quant.at(names[i]);
  session.set_observer(
      [&](const std::string& name, const TensorView& view) {
        if (view.dtype != DType::kFloat32) return;
        const std::size_t i = index.at(name);
        std::span<float> values(static_cast<float*>(engine::observed_data_for_rewrite(view)),
                                static_cast<std::size_t>(view.numel()));
        switch (mode) {
          case Mode::kReference:
            seen[i] = 1;
            reference[i].assign(values.begin(), values.end());
            break;
          case Mode::kOne:
            if (i == target) fake_quantize(values, *q_of[i]);
            break;
          case Mode::kAll:
            fake_quantize(values, *q_of[i]);
            if (reference[i].size() == values.size()) {
              try {
                along[i].add(reference[i], values);
              } catch (Error& e) {
                e.with("tensor", name);
                throw;
              }
            }
            break;
        }
      },
      names);

  // Inputs are copied for every run: the observer may rewrite a graph input in place.
  auto run_once = [&](const std::vector<Tensor>& inputs) {
    std::vector<Tensor> copy;
    for (const Tensor& t : inputs) copy.push_back(t.clone());
    ++run.runs;
    return session.run(copy);
  };
  auto add_outputs = [](TensorComparator& c, const std::vector<Tensor>& ref,
                        const std::vector<Tensor>& test) {
    for (std::size_t o = 0; o < ref.size(); ++o) {
      if (ref[o].dtype() != DType::kFloat32) continue;
      c.add(ref[o].values<float>(), test[o].values<float>());
    }
  };

  std::vector<TensorComparator> outputs(names.size());
  TensorComparator all_outputs;
  const std::size_t total = samples.size() * (names.size() + 2);
  std::size_t done = 0;
  for (std::size_t s = 0; s < samples.size(); ++s) {
    mode = Mode::kReference;
    const std::vector<Tensor> ref = run_once(samples[s]);
    mode = Mode::kAll;
    {
      const std::vector<Tensor> test = run_once(samples[s]);
      add_outputs(all_outputs, ref, test);
      if (options.on_outputs) options.on_outputs(std::string(), s, ref, test);
    }
    done += 2;
    if (progress) progress(done, total);
    for (auto& r : reference) std::vector<float>().swap(r);  // only the along pass needs them
    mode = Mode::kOne;
    for (target = 0; target < names.size(); ++target) {
      try {
        const std::vector<Tensor> test = run_once(samples[s]);
        add_outputs(outputs[target], ref, test);
        if (options.on_outputs) options.on_outputs(names[target], s, ref, test);
      } catch (Error& e) {
        e.with("tensor", names[target]);
        throw;
      }
      if (progress) progress(++done, total);
    }
  }
  record_tensors(names, seen, outputs, along, run);
  const TensorComparison all = all_outputs.result();
  run.all_output_sqnr_db = all.sqnr_db;
  run.all_output_cosine = all.cosine;
  run.samples = samples.size();
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

}  // namespace qcal::quantize
