// The dominant-noise rule applied during calibrate.
#include "quantize/noise_rule.hpp"

#include <algorithm>
#include <cmath>

#include "eval/samples.hpp"

namespace qcal::quantize {
namespace {

struct Probes {
  std::vector<std::vector<Tensor>> samples;
  std::string data;  // which data they came from
};

// The calibration data's probes; without it (--from-stats) the same evenly spaced positions of
// the evaluation data, so that --from-stats with the calibration data as --eval-data measures
// on the same samples as one run over it.
Probes probes_for(const ModelContext& model, const CalibrateOptions& options,
                  preprocess::SampleData* data) {
  const DominantNoiseOptions& o = options.dominant_noise;
  Probes p;
  if (data) {
    p.samples = probe_samples(*data, *model.model, options.num_samples, o.samples);
    p.data = "calibration data";
    return p;
  }
  if (!options.accuracy.eval_data || model.model->inputs().size() != 1) return p;
  preprocess::DataRequest request = *options.accuracy.eval_data;
  request.limit = 0;
  auto source = eval::open_samples(request, *model.model, model.path.string());
  const std::size_t n = source->size();
  const std::size_t k = std::min(n, o.samples);
  for (std::size_t i = 0; i < k; ++i) {
    p.samples.push_back(
        {source->get((2 * i + 1) * n / (2 * k), false).inputs.at(model.model->inputs()[0].name)});
  }
  p.data = "--eval-data";
  return p;
}

std::string percent(double share) {
  return std::to_string(static_cast<int>(std::lround(share * 100.0)));
}

nlohmann::json largest_shares(const DominantNoiseRun& run) {
  nlohmann::json top = nlohmann::json::array();
  for (std::size_t i = 0; i < run.shares.size() && i < 5; ++i) {
    top.push_back({{"tensor", run.shares[i].tensor},
                   {"share", run.shares[i].share},
                   {"output_sqnr_db", run.shares[i].output_sqnr_db}});
  }
  return top;
}

}  // namespace

bool apply_dominant_noise_rule(const ModelContext& model, const CalibrateOptions& options,
                               preprocess::SampleData* data, const exporter::QdqBuild& build,
                               exporter::QdqBuilder& builder, CalibrateReport& report) {
  const DominantNoiseOptions& o = options.dominant_noise;
  const Probes probes = probes_for(model, options, data);
  if (probes.samples.empty()) {
    report.warnings.push_back(
        "the dominant-noise rule needs samples to run and has none (--from-stats without "
        "--eval-data): every planned tensor is int8; give --eval-data, or --dominant-noise off");
    return false;
  }
  const DominantNoiseRun run =
      run_dominant_noise(model.model, builder.graph(), build.plan, build.qdq_tensors, build.ranges,
                         options.activations == exporter::ActivationType::kUInt8Asymmetric,
                         probes.samples, o, options.threads);
  nlohmann::json j = {{"gain_db", o.gain_db},
                      {"share_threshold", o.share()},
                      {"samples", run.samples},
                      {"sample_data", probes.data}};
  nlohmann::json kept = nlohmann::json::array();
  std::map<std::string, std::string> reasons;
  for (const auto& n : run.selected) {
    const auto& nodes = run.nodes.at(n.tensor);
    kept.push_back({{"tensor", n.tensor},
                    {"share", n.share},
                    {"output_sqnr_db", n.output_sqnr_db},
                    {"nodes", nodes}});
    std::string node_list;
    for (const auto& name : nodes) {
      reasons[name] = "dominant noise (its input " + n.tensor + " alone makes " + percent(n.share) +
                      "% of the output quantization noise)";
      node_list += (node_list.empty() ? "" : ", ") + name;
    }
    report.warnings.push_back("kept float by the dominant-noise rule: " + n.tensor + " (" +
                              percent(n.share) + "% of the output quantization noise on " +
                              std::to_string(run.samples) + " " + probes.data + " samples); " +
                              node_list + " run float; --dominant-noise off quantizes it");
  }
  j["kept_float"] = std::move(kept);
  j["largest_shares"] = largest_shares(run);
  report.dominant_noise = run.selected;
  report.dominant_noise_json = std::move(j);
  if (reasons.empty()) return false;
  builder.keep_float(reasons);
  return true;
}

}  // namespace qcal::quantize
