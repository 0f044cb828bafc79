// The mixed-precision search and its outputs.
#include "quantize/mixed_precision.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace qcal::quantize {
namespace {

using nlohmann::json;

// The search's state: candidate builds by k (tensors kept float by rank).
class Search {
 public:
  Search(const AccuracyInputs& in, const std::vector<std::string>& order, Evaluator& evaluator)
      : in_(in), order_(order), evaluator_(evaluator) {}

  // The consumer nodes of the k most sensitive tensors, in rank order, unique.
  std::vector<std::string> nodes_for(std::size_t k) const {
    const auto& graph = in_.builder->graph();
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < k; ++i) {
      auto it = in_.default_build->plan.activations.find(order_[i]);
      if (it == in_.default_build->plan.activations.end()) continue;
      for (const auto& use : it->second) {
        const std::string& n = graph.nodes[use.node].name;
        if (!n.empty() && seen.insert(n).second) names.push_back(n);
      }
    }
    return names;
  }

  const Score& score(std::size_t k) {
    auto it = tried_.find(k);
    if (it != tried_.end()) return it->second.first;
    exporter::QdqBuild b = in_.builder->build(nodes_for(k), in_.stats->tensors(), *in_.raw_ranges);
    const Score s = evaluator_.evaluate(b.qdq.model_bytes);
    const std::size_t floated = in_.default_build->qdq_tensors.size() - b.qdq_tensors.size();
    steps_.push_back({{"tensors_kept_float_by_rank", k},
                      {"activations_without_qdq", floated},
                      {"int8", eval::json_number(s.int8)},
                      {"drop", eval::json_number(s.drop)}});
    return tried_.emplace(k, std::make_pair(s, std::move(b))).first->second.first;
  }

  // The smallest k meeting the budget: doubling, then bisection. order.size() when none does.
  std::size_t smallest_meeting(double budget, bool& met) {
    std::size_t lo = 0, hi = 0;  // lo fails; hi meets the budget (when found)
    for (std::size_t k = 1;; k *= 2) {
      k = std::min(k, order_.size());
      if (score(k).drop <= budget) {
        hi = k;
        met = true;
        break;
      }
      lo = k;
      if (k == order_.size()) return order_.size();
    }
    while (hi - lo > 1) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (score(mid).drop <= budget) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    return hi;
  }

  std::pair<Score, exporter::QdqBuild>& at(std::size_t k) { return tried_.at(k); }
  json steps() const { return steps_; }

 private:
  const AccuracyInputs& in_;
  const std::vector<std::string>& order_;
  Evaluator& evaluator_;
  std::map<std::size_t, std::pair<Score, exporter::QdqBuild>> tried_;
  json steps_ = json::array();
};

std::string file_lines(const std::vector<std::string>& header,
                       const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& h : header) s += "# " + h + "\n";
  for (const auto& l : lines) s += l + "\n";
  return s;
}

std::vector<std::string> float_tensors(const AccuracyInputs& in, const MixedPrecision& mp) {
  std::vector<std::string> out;
  if (!mp.final_build) return out;
  const std::set<std::string> kept(mp.final_build->qdq_tensors.begin(),
                                   mp.final_build->qdq_tensors.end());
  for (const auto& t : in.default_build->qdq_tensors) {
    if (!kept.count(t)) out.push_back(t);
  }
  return out;
}

}  // namespace

MixedPrecision search_mixed_precision(const AccuracyInputs& in,
                                      const std::vector<std::string>& order, Evaluator& evaluator,
                                      const Score& before) {
  const AccuracyOptions& a = in.options->accuracy;
  const double budget = *a.max_drop;
  Search search(in, order, evaluator);
  MixedPrecision mp;
  mp.after = before;
  mp.met = before.drop <= budget;
  std::size_t chosen = 0;
  if (!mp.met) chosen = search.smallest_meeting(budget, mp.met);
  mp.excluded = search.nodes_for(chosen);
  if (chosen > 0) {
    auto& [s, b] = search.at(chosen);
    mp.after = s;
    mp.final_build = std::move(b);
  }
  mp.floated = mp.final_build
                   ? in.default_build->qdq_tensors.size() - mp.final_build->qdq_tensors.size()
                   : 0;
  // The exclude file lists every node the final model keeps float beyond rules 1 to 4: the
  // dominant-noise rule's (measured on the quantized set, which --exclude would change) and the
  // search's, so that --exclude @FILE --dominant-noise off rebuilds the model exactly.
  for (const auto& [node, why] : in.builder->kept_float()) mp.rule_nodes.push_back(node);
  mp.json = {{"format", "qcal.mixed_precision/1"},
             {"metric", a.metric},
             {"max_drop", budget},
             {"eval_samples", evaluator.samples()},
             {"reference", evaluator.reference()},
             {"within_budget", mp.met},
             {"before", score_json(before)},
             {"after", score_json(mp.after)},
             {"tensors_kept_float_by_rank", chosen},
             {"activations_without_qdq", mp.floated},
             {"float_tensors", float_tensors(in, mp)},
             {"excluded_nodes", mp.excluded},
             {"dominant_noise_nodes", mp.rule_nodes},
             {"evaluations", search.steps()},
             {"rule",
              "most sensitive first (sensitivity.json); candidates 1, 2, 4, ... tensors, then "
              "bisection to the fewest that meet the budget"}};
  return mp;
}

void record_mixed_precision(const AccuracyInputs& in, const MixedPrecision& mp, const Score& before,
                            StagedFiles& files, eval::ReportTable& table) {
  const AccuracyOptions& a = in.options->accuracy;
  CalibrateReport& report = *in.report;
  const std::string budget = format_value(*a.max_drop);
  std::vector<std::string> listed = mp.rule_nodes;
  for (const auto& n : mp.excluded) {
    if (std::find(listed.begin(), listed.end(), n) == listed.end()) listed.push_back(n);
  }
  report.exclude_list = in.options->out_dir / "mixed_precision.exclude.txt";
  const std::string exclude_name = report.exclude_list.filename().string();
  files.emplace_back(report.exclude_list,
                     file_lines({"qcal calibrate --max-drop " + budget + " --metric " + a.metric +
                                     ": nodes kept float (rebuild with --exclude @" + exclude_name +
                                     " --dominant-noise off)",
                                 "one node name per line, matched exactly"},
                                listed));
  json j = mp.json;
  j["exclude_file"] = exclude_name;
  report.mixed_precision_json = in.options->out_dir / "mixed_precision.json";
  files.emplace_back(report.mixed_precision_json, j.dump(2) + "\n");
  report.accuracy_lines.push_back(
      "mixed precision (--max-drop " + budget + "): " + std::to_string(mp.floated) + " of " +
      std::to_string(in.default_build->qdq_tensors.size()) + " activations stay float (" +
      std::to_string(mp.excluded.size()) + " nodes excluded), drop " +
      format_value(before.drop, 3) + " -> " + format_value(mp.after.drop, 3) + " pp" +
      (mp.met ? "" : " (budget NOT met)"));
  if (!mp.met) {
    report.warnings.push_back("--max-drop " + budget +
                              " was not met even with every ranked tensor float (drop " +
                              format_value(mp.after.drop, 3) + " pp)");
  }
  report.accuracy_json["mixed_precision"] = j;
  table.rows.push_back({"mixed precision (--max-drop " + budget + ")", std::to_string(mp.floated),
                        format_value(mp.after.fp32, 6), format_value(mp.after.int8, 6),
                        format_value(mp.after.drop, 4)});
  table.note = std::to_string(mp.excluded.size()) + " nodes kept float, listed in " + exclude_name +
               (mp.met ? "." : "; the budget was not met.");
}

}  // namespace qcal::quantize
