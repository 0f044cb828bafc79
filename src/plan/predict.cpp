// Prediction of unprofiled precisions: pairs, ratios, synthesised configurations.
#include "plan/predict.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>

#include "plan/stats.hpp"
#include "plan/text.hpp"

namespace qcal::plan {
namespace {

// Synthesised engine name for a prediction: the source's name with its precision token replaced.
std::string predicted_name(const std::string& source_name, const std::string& source_precision,
                           const std::string& target_precision) {
  std::string lowered = source_name;
  for (char& ch : lowered) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::size_t pos = lowered.find(source_precision);
  if (pos != std::string::npos) {
    return source_name.substr(0, pos) + target_precision +
           source_name.substr(pos + source_precision.size());
  }
  return source_name.empty() ? target_precision : source_name + "@" + target_precision;
}

struct Pair {
  std::string model_key;
  std::int64_t batch;
  std::vector<std::int64_t> shape;
  double latency_ratio;
  std::optional<double> power_ratio;
};

std::string pair_label(const Pair& p) {
  std::string s =
      (p.model_key.empty() ? "(unnamed)" : p.model_key) + " b" + std::to_string(p.batch);
  if (!p.shape.empty()) s += " " + format_shape(p.shape);
  return s;
}

}  // namespace

// Predictions for (model, batch, shape) cells that lack a precision measured elsewhere.
std::vector<Config> predict(const std::vector<Config>& measured, std::vector<std::string>& notes) {
  using Cell = std::tuple<std::string, std::int64_t, std::vector<std::int64_t>>;
  std::map<Cell, std::map<std::string, const Config*>> cells;
  std::set<std::string> precisions;
  for (const Config& c : measured) {
    // Several engine names can share a model key and precision; the first (stable order) stands.
    cells[{c.model_key, c.batch, c.shape}].emplace(c.precision, &c);
    precisions.insert(c.precision);
  }
  // pairs[(target, source)]: every cell where both were measured.
  std::map<std::pair<std::string, std::string>, std::vector<Pair>> pairs;
  for (const auto& [cell, by_prec] : cells) {
    for (const auto& [pt, ct] : by_prec) {
      for (const auto& [ps, cs] : by_prec) {
        if (pt == ps) continue;
        Pair p{std::get<0>(cell), std::get<1>(cell), std::get<2>(cell),
               ct->latency_p50_ms / cs->latency_p50_ms, std::nullopt};
        if (ct->power_w && cs->power_w && *cs->power_w > 0)
          p.power_ratio = *ct->power_w / *cs->power_w;
        pairs[{pt, ps}].push_back(p);
      }
    }
  }
  std::vector<Config> out;
  for (const auto& [cell, by_prec] : cells) {
    for (const std::string& target : precisions) {
      if (by_prec.count(target)) continue;
      // The source: the measured precision of this cell with the most same-model pairs, then the
      // most pairs overall, then the closest rank (fp16 before fp32 for an int8 target).
      const Config* best_src = nullptr;
      std::vector<Pair> best_pairs;
      std::tuple<std::size_t, std::size_t, int> best_score{0, 0, 0};
      for (const auto& [ps, cs] : by_prec) {
        auto it = pairs.find({target, ps});
        if (it == pairs.end()) continue;
        std::vector<Pair> same;
        for (const Pair& p : it->second) {
          if (p.model_key == std::get<0>(cell)) same.push_back(p);
        }
        int closeness = -std::abs(precision_rank(ps) - precision_rank(target));
        std::tuple<std::size_t, std::size_t, int> score{same.size(), it->second.size(), closeness};
        if (!best_src || score > best_score) {
          best_src = cs;
          best_score = score;
          best_pairs = same.empty() ? it->second : same;
        }
      }
      if (!best_src) continue;
      std::vector<double> lat_ratios, power_ratios;
      for (const Pair& p : best_pairs) {
        lat_ratios.push_back(p.latency_ratio);
        if (p.power_ratio) power_ratios.push_back(*p.power_ratio);
      }
      Prediction pred;
      pred.source_precision = best_src->precision;
      pred.latency_ratio = *median(lat_ratios);
      pred.ratio_min = *std::min_element(lat_ratios.begin(), lat_ratios.end());
      pred.ratio_max = *std::max_element(lat_ratios.begin(), lat_ratios.end());
      pred.power_ratio = median(power_ratios);
      pred.pairs = best_pairs.size();
      std::string list;
      for (const Pair& p : best_pairs) {
        list += (list.empty() ? "" : ", ") + pair_label(p) + " " + fixed(p.latency_ratio, 3);
      }
      pred.basis = "PREDICTION from " + best_src->label() + " (" + std::to_string(best_src->runs) +
                   " runs): latency x " + fixed(pred.latency_ratio, 3) + ", the median " + target +
                   "/" + best_src->precision + " latency ratio over " +
                   std::to_string(best_pairs.size()) +
                   " configuration(s) where both were measured (" + list + ")";
      if (pred.power_ratio) {
        pred.basis += "; power x " + fixed(*pred.power_ratio, 3) + " from " +
                      std::to_string(power_ratios.size()) + " pair(s)";
      } else {
        pred.basis += "; power not predicted (no pair with power on both sides)";
      }

      Config c;
      c.engine_name = predicted_name(best_src->engine_name, best_src->precision, target);
      c.precision = target;
      c.batch = best_src->batch;
      c.shape = best_src->shape;
      c.model_key = best_src->model_key;
      c.predicted = true;
      c.runs = 0;
      double r = pred.latency_ratio;
      c.latency_min_ms = best_src->latency_min_ms * r;
      c.latency_p50_ms = best_src->latency_p50_ms * r;
      c.latency_p90_ms = best_src->latency_p90_ms * r;
      c.latency_p99_ms = best_src->latency_p99_ms * r;
      c.latency_max_ms = best_src->latency_max_ms * r;
      c.latency_mean_ms = best_src->latency_mean_ms * r;
      if (pred.power_ratio && best_src->power_w) c.power_w = *best_src->power_w * *pred.power_ratio;
      c.frame_sources = best_src->frame_sources;
      c.throttle.note = "not checked: predicted";
      // The source's checked latency (throttle-adjusted when it throttles) scaled by the ratio.
      c.checked_latency_ms = best_src->checked_latency_ms * r;
      c.checked_latency_note = "predicted: " + fixed(best_src->checked_latency_ms, 2) + " ms (" +
                               best_src->checked_latency_note + " of the " + best_src->precision +
                               " runs) x " + fixed(r, 3);
      c.fps = static_cast<double>(c.batch) * 1000.0 / c.checked_latency_ms;
      c.prediction = pred;
      notes.push_back(c.label() + ": " + pred.basis);
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace qcal::plan
