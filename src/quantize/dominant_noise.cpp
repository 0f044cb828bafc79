// The dominant-noise placement rule (see dominant_noise.hpp).
#include "quantize/dominant_noise.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.hpp"
#include "quantize/sensitivity.hpp"

namespace qcal::quantize {

void validate(const DominantNoiseOptions& o) {
  if (!(o.gain_db > 0.0 && o.gain_db <= 60.0)) {
    throw Error(ErrorCode::kInvalidArgument,
                "--dominant-noise must be an output SQNR gain in dB in (0, 60] or 'off', got " +
                    std::to_string(o.gain_db));
  }
  if (o.enabled && o.samples == 0) {
    throw Error(ErrorCode::kInvalidArgument, "--dominant-noise-samples must be at least 1");
  }
}

double DominantNoiseOptions::share() const { return 1.0 - std::pow(10.0, -gain_db / 10.0); }

std::vector<TensorNoise> noise_shares(const std::vector<std::pair<std::string, double>>& sqnr) {
  std::vector<TensorNoise> out;
  double total = 0.0;
  for (const auto& [t, db] : sqnr) {
    TensorNoise n;
    n.tensor = t;
    n.output_sqnr_db = db;
    // Noise power relative to the output signal; -inf dB is all noise, +inf and NaN (undefined)
    // count as none.
    n.share = std::isfinite(db) ? std::pow(10.0, -db / 10.0) : (db < 0 ? HUGE_VAL : 0.0);
    total += n.share;
    out.push_back(std::move(n));
  }
  for (auto& n : out) {
    if (std::isinf(total))
      n.share = std::isinf(n.share) ? 1.0 : 0.0;
    else
      n.share = total > 0.0 ? n.share / total : 0.0;
  }
  return out;
}

std::vector<TensorNoise> select_dominant_noise(const std::vector<TensorNoise>& shares,
                                               const DominantNoiseOptions& o) {
  std::vector<TensorNoise> out;
  if (!o.enabled || shares.empty()) return out;
  // Twice the equal share: with few tensors every one carries a large share without any of
  // them being an outlier (two equal tensors: 0.5 each, none selected).
  const double threshold = std::max(o.share(), 2.0 / static_cast<double>(shares.size()));
  for (const auto& n : shares) {
    if (n.share >= threshold) out.push_back(n);
  }
  std::sort(out.begin(), out.end(), [](const TensorNoise& a, const TensorNoise& b) {
    return a.share != b.share ? a.share > b.share : a.tensor < b.tensor;
  });
  return out;
}

std::vector<std::string> consumer_nodes(const GraphView& graph, const PlacementPlan& plan,
                                        const std::string& tensor) {
  std::vector<std::size_t> idx;
  auto it = plan.activations.find(tensor);
  if (it != plan.activations.end()) {
    for (const auto& u : it->second) idx.push_back(u.node);
  }
  std::sort(idx.begin(), idx.end());
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  std::vector<std::string> names;
  for (std::size_t n : idx) {
    if (!graph.nodes[n].name.empty()) names.push_back(graph.nodes[n].name);
  }
  return names;
}

DominantNoiseRun run_dominant_noise(std::shared_ptr<const engine::Model> model,
                                    const GraphView& graph, const PlacementPlan& plan,
                                    const std::vector<std::string>& qdq_tensors,
                                    const std::map<std::string, calib::Range>& ranges, bool uint8,
                                    const std::vector<std::vector<Tensor>>& samples,
                                    const DominantNoiseOptions& o, int threads) {
  DominantNoiseRun run;
  if (!o.enabled || qdq_tensors.empty() || samples.empty()) return run;
  std::map<std::string, ActivationQuant> quant;
  for (const auto& t : qdq_tensors) {
    auto r = ranges.find(t);
    if (r == ranges.end()) continue;
    const auto p = uint8 ? calib::asymmetric_uint8(r->second.min, r->second.max)
                         : calib::symmetric_int8(r->second.amax);
    quant[t] = activation_quant(p, uint8);
  }
  SensitivityRunOptions so;
  so.threads = threads;
  const SensitivityRun s = measure_sensitivity(std::move(model), quant, samples, so);
  std::vector<std::pair<std::string, double>> sqnr;
  for (const auto& t : s.tensors) sqnr.emplace_back(t.tensor, t.output_sqnr_db);
  run.shares = noise_shares(sqnr);
  run.selected = select_dominant_noise(run.shares, o);
  std::stable_sort(run.shares.begin(), run.shares.end(),
                   [](const TensorNoise& a, const TensorNoise& b) {
                     return a.share != b.share ? a.share > b.share : a.tensor < b.tensor;
                   });
  for (const auto& n : run.selected) run.nodes[n.tensor] = consumer_nodes(graph, plan, n.tensor);
  run.samples = s.samples;
  run.seconds = s.seconds;
  return run;
}

std::vector<std::vector<Tensor>> probe_samples(preprocess::SampleData& source,
                                               const engine::Model& model, std::int64_t limit,
                                               std::size_t count) {
  std::vector<std::vector<Tensor>> out;
  if (model.inputs().size() != 1 || count == 0) return out;
  const auto& shape = model.inputs()[0].shape;
  const std::int64_t batch = shape.empty() || shape[0] <= 0 ? 1 : shape[0];
  std::int64_t total = source.size();
  if (limit > 0) total = std::min(total, limit);
  const std::int64_t batches = total / batch;
  const auto k = std::min<std::int64_t>(static_cast<std::int64_t>(count), batches);
  for (std::int64_t i = 0; i < k; ++i) {
    // A stream cannot be read again: its first batches, which it keeps for this.
    const std::int64_t b = source.streamed() ? i : (2 * i + 1) * batches / (2 * k);
    out.push_back(source.read(b * batch, batch));
  }
  return out;
}

}  // namespace qcal::quantize
