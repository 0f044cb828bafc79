// ranges.json writer.
#include "export/ranges_json.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "calib/quant_noise.hpp"

namespace qcal::exporter {
namespace {

// Histogram summary: enough to see clipping decisions without the 2048 counts.
nlohmann::json histogram_summary(const calib::TensorStats& stats) {
  const auto& h = stats.histogram();
  if (!h || !h->has_range()) return nullptr;
  nlohmann::json j;
  const auto counts = h->counts();
  std::size_t used = counts.size();
  while (used > 1 && counts[used - 1] == 0) --used;
  j["bins"] = counts.size();
  j["bin_width"] = h->bin_width();
  j["range"] = h->range();
  j["used_bins"] = used;
  const auto total = h->total();
  j["zero_bin_fraction"] =
      total ? static_cast<double>(counts[0]) / static_cast<double>(total) : 0.0;
  auto used_counts = counts.first(used);
  j["p99"] = calib::select_amax_percentile(used_counts, h->bin_width(), 99.0);
  j["p99_99"] = calib::select_amax_percentile(used_counts, h->bin_width(), 99.99);
  return j;
}

}  // namespace

std::string format_ranges_json(const RangesJsonInput& in) {
  nlohmann::json root;
  const auto& prov = in.stats->provenance();
  root["format"] = "qcal-ranges";
  root["version"] = 1;
  root["model"] = {{"path", in.model_path}, {"fingerprint", prov.model_fingerprint}};
  root["method"] = std::string(calib::method_name(in.select.method));
  root["options"] = {{"percentile", in.select.percentile},
                     {"entropy_floor", in.select.entropy_floor},
                     {"ema_momentum", in.select.ema_momentum},
                     {"num_bins", in.stats->options().num_bins},
                     {"num_quantized_bins", in.select.num_quantized_bins}};
  root["activations"] = in.uint8_activations ? "uint8-asymmetric" : "int8-symmetric";
  root["calibration_data"] = {{"samples", prov.samples},
                              {"description", prov.data_description},
                              {"fingerprints", prov.data_fingerprints},
                              {"synthetic", prov.synthetic}};
  const std::set<std::string> qdq(in.qdq_tensors.begin(), in.qdq_tensors.end());
  std::map<std::string, const RangeRuleChange*> changed;
  if (in.rule_changes) {
    for (const auto& c : *in.rule_changes) changed[c.tensor] = &c;
  }
  std::map<std::string, double> noise_kept;
  if (in.dominant_noise && in.dominant_noise->is_object()) {
    for (const auto& k : in.dominant_noise->at("kept_float")) {
      noise_kept[k.at("tensor").get<std::string>()] = k.at("share").get<double>();
    }
    root["dominant_noise"] = *in.dominant_noise;
  }
  if (in.algorithms && !in.algorithms->is_null()) root["algorithms"] = *in.algorithms;
  nlohmann::json tensors = nlohmann::json::object();
  for (const auto& [name, stats] : in.stats->tensors()) {
    const auto r = in.ranges->at(name);
    const auto q = in.uint8_activations ? calib::asymmetric_uint8(r.min, r.max)
                                        : calib::symmetric_int8(r.amax);
    nlohmann::json t;
    t["min"] = stats.min();
    t["max"] = stats.max();
    t["amax"] = calib::usable_amax(r.amax);
    t["range_min"] = r.min;
    t["range_max"] = r.max;
    t["scale"] = q.scale;
    t["zero_point"] = q.zero_point;
    t["method"] = std::string(calib::method_name(in.select.method));
    t["count"] = stats.count();
    t["nonfinite"] = stats.nonfinite();
    t["batches"] = stats.batch_mins().size();
    t["qdq"] = qdq.count(name) != 0;
    t["all_zero"] = stats.absmax() == 0.0f;
    t["histogram"] = histogram_summary(stats);
    if (!in.uint8_activations) {
      // Estimated int8 SQNR at this amax (calib/quant_noise.hpp), rounded to 0.01 dB.
      const double sqnr = calib::tensor_sqnr_db(stats, calib::usable_amax(r.amax));
      if (std::isfinite(sqnr)) t["sqnr_db"] = std::round(sqnr * 100.0) / 100.0;
    }
    if (auto c = changed.find(name); c != changed.end()) {
      // The method's own choice, and the graph rule that replaced it (docs/quantization.md).
      t["rule"] = c->second->rule;
      t["method_amax"] = c->second->amax_before;
    }
    if (auto k = noise_kept.find(name); k != noise_kept.end()) {
      // No Q/DQ: its consumers stay float (docs/quantization.md, rule 1c).
      t["rule"] = "dominant-noise";
      t["noise_share"] = k->second;
    }
    tensors[name] = std::move(t);
  }
  root["tensors"] = std::move(tensors);
  root["float_nodes"] = in.float_nodes;
  return root.dump(2) + "\n";
}

}  // namespace qcal::exporter
