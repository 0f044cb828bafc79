// Sensitivity ranking and its JSON form.
#include "eval/sensitivity.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/json.hpp"

namespace qcal::eval {

namespace {

// Sort key where NaN sorts first (most sensitive) and the rest ascending.
bool less_nan_first(double a, double b) {
  const bool an = std::isnan(a), bn = std::isnan(b);
  if (an || bn) return an && !bn;
  return a < b;
}
bool equal_nan(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

}  // namespace

std::vector<RankedTensor> rank_sensitivity(std::vector<TensorSensitivity> results) {
  std::sort(results.begin(), results.end(),
            [](const TensorSensitivity& a, const TensorSensitivity& b) {
              // The task metric is what users budget for: it leads when measured. Output SQNR
              // over all outputs is dominated by the largest values (a detector's box
              // coordinates in pixels) and misses damage to small ones (class scores).
              const double ta = std::isnan(a.task_drop_pp) ? 0.0 : a.task_drop_pp;
              const double tb = std::isnan(b.task_drop_pp) ? 0.0 : b.task_drop_pp;
              if (ta != tb) return ta > tb;
              if (!equal_nan(a.output_sqnr_db, b.output_sqnr_db)) {
                return less_nan_first(a.output_sqnr_db, b.output_sqnr_db);
              }
              if (!equal_nan(a.output_cosine, b.output_cosine)) {
                return less_nan_first(a.output_cosine, b.output_cosine);
              }
              if (!equal_nan(a.along_sqnr_db, b.along_sqnr_db)) {
                return less_nan_first(a.along_sqnr_db, b.along_sqnr_db);
              }
              return a.tensor < b.tensor;
            });
  std::vector<RankedTensor> ranked;
  ranked.reserve(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    ranked.push_back({static_cast<int>(i + 1), std::move(results[i])});
  }
  return ranked;
}

nlohmann::json json_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

double json_to_double(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  }
  throw Error(ErrorCode::kFormat,
              "expected a number or \"inf\"/\"-inf\"/\"nan\", got " + json_excerpt(j));
}

nlohmann::json sensitivity_to_json(const std::vector<RankedTensor>& ranked) {
  nlohmann::json tensors = nlohmann::json::array();
  bool task = false;
  for (const RankedTensor& r : ranked) {
    nlohmann::json t = {{"rank", r.rank},
                        {"tensor", r.result.tensor},
                        {"output_sqnr_db", json_number(r.result.output_sqnr_db)},
                        {"output_cosine", json_number(r.result.output_cosine)},
                        {"along_sqnr_db", json_number(r.result.along_sqnr_db)},
                        {"along_cosine", json_number(r.result.along_cosine)}};
    if (!std::isnan(r.result.task_drop_pp)) {
      t["task_drop_pp"] = json_number(r.result.task_drop_pp);
      task = true;
    }
    tensors.push_back(std::move(t));
  }
  return {{"metric", task ? "task_drop_pp" : "output_sqnr_db"},
          {"order", "most sensitive first"},
          {"tensors", tensors}};
}

std::vector<RankedTensor> sensitivity_from_json(const nlohmann::json& j) {
  std::vector<RankedTensor> out;
  try {
    for (const auto& t : j.at("tensors")) {
      RankedTensor r;
      r.rank = t.at("rank").get<int>();
      r.result.tensor = t.at("tensor").get<std::string>();
      r.result.output_sqnr_db = json_to_double(t.at("output_sqnr_db"));
      r.result.output_cosine = json_to_double(t.at("output_cosine"));
      r.result.along_sqnr_db = json_to_double(t.at("along_sqnr_db"));
      r.result.along_cosine = json_to_double(t.at("along_cosine"));
      if (t.contains("task_drop_pp")) r.result.task_drop_pp = json_to_double(t.at("task_drop_pp"));
      out.push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kFormat, std::string("sensitivity JSON: ") + e.what());
  }
  return out;
}

}  // namespace qcal::eval
