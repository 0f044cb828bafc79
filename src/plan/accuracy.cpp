// Eval JSON reading: the documented minimal schema, drops in percentage points.
#include "plan/accuracy.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "plan/profile.hpp"

namespace qcal::plan {
namespace {

using Json = nlohmann::ordered_json;

[[noreturn]] void fail(const std::string& file, const std::string& message) {
  throw Error(ErrorCode::kFormat, message).with("file", file);
}

std::optional<double> finite_number(const Json& j) {
  if (!j.is_number()) return std::nullopt;
  double v = j.get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

// A metric value: a finite number; absent for null or the non-finite spellings qcal eval writes
// ("nan", "inf", "-inf": a metric that could not be computed); invalid for anything else.
enum class ValueKind { kNumber, kAbsent, kInvalid };
ValueKind classify(const Json& j) {
  if (j.is_number())
    return std::isfinite(j.get<double>()) ? ValueKind::kNumber : ValueKind::kAbsent;
  if (j.is_null()) return ValueKind::kAbsent;
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (s == "nan" || s == "inf" || s == "-inf") return ValueKind::kAbsent;
  }
  return ValueKind::kInvalid;
}

void add_evidence(AccuracyTable& table, AccuracyEvidence ev) {
  auto it = table.worst.find(ev.precision);
  if (it == table.worst.end()) {
    table.worst.emplace(ev.precision, ev);
  } else {
    table.notes.push_back(ev.precision + ": several eval files; the largest drop is used (" +
                          std::to_string(std::max(it->second.drop_pp, ev.drop_pp)) + " pp)");
    if (ev.drop_pp > it->second.drop_pp) it->second = ev;
  }
  if (std::find(table.reference_precisions.begin(), table.reference_precisions.end(),
                ev.reference_precision) == table.reference_precisions.end()) {
    table.reference_precisions.push_back(ev.reference_precision);
  }
  table.evidence.push_back(std::move(ev));
}

Json parse_eval_file(const std::filesystem::path& path, const std::string& file) {
  const Json doc = parse_ordered_json(read_file(path), file);
  if (!doc.is_object()) fail(file, "an eval file must be a JSON object");
  return doc;
}

// The canonical precision under `key` ("reference_precision", "precision"), or `fallback`.
std::string read_precision(const Json& doc, const std::string& key, const std::string& fallback,
                           const std::string& file) {
  if (!doc.contains(key)) return fallback;
  if (!doc[key].is_string()) fail(file, key + " must be a string");
  std::string precision = canonical_precision(doc[key].get<std::string>());
  if (precision.empty()) fail(file, key + " is not a precision name");
  return precision;
}

// Shorthand: {"precision": "int8", "drop": 0.6, "metric": "map50_95"}.
void load_shorthand(const Json& doc, const std::string& file, const std::string& quantized,
                    const std::string& reference, AccuracyTable& table) {
  if (quantized.empty() || !doc.contains("drop")) {
    fail(file,
         "expected \"metrics\" (or the shorthand \"precision\" + \"drop\"); see "
         "docs/formats.md");
  }
  auto drop = finite_number(doc["drop"]);
  if (!drop) fail(file, "drop must be a finite number (percentage points)");
  AccuracyEvidence ev;
  ev.file = file;
  ev.precision = quantized;
  ev.reference_precision = reference;
  ev.metric = doc.contains("metric") && doc["metric"].is_string() ? doc["metric"].get<std::string>()
                                                                  : "accuracy";
  ev.drop_pp = *drop;
  add_evidence(table, std::move(ev));
}

// The metric to read: the one asked for, else the file's primary_metric, else the first.
std::string choose_metric(const Json& doc, const Json& metrics, const std::string& metric_wanted,
                          const std::string& file) {
  std::string metric = metric_wanted;
  if (metric.empty() && doc.contains("primary_metric") && doc["primary_metric"].is_string()) {
    metric = doc["primary_metric"].get<std::string>();
  }
  if (metric.empty()) metric = metrics.begin().key();
  if (!metrics.contains(metric)) {
    std::string names;
    for (const auto& [k, v] : metrics.items()) names += (names.empty() ? "" : ", ") + k;
    throw Error(ErrorCode::kInvalidArgument, "metric '" + metric + "' is not in the eval file")
        .with("file", file)
        .with("metrics", names);
  }
  return metric;
}

// Values on a 0..1 scale (mAP, top-1 as a fraction) by default: drops are reported in
// percentage points, so the difference is multiplied by 100; "scale": "percent" says the
// values are already percentages.
double points_per_unit(const Json& m, const std::string& file) {
  double to_points = 100.0;
  if (m.contains("scale")) {
    std::string scale = m["scale"].is_string() ? m["scale"].get<std::string>() : "";
    if (scale == "percent") {
      to_points = 1.0;
    } else if (scale != "fraction") {
      fail(file, "scale must be \"fraction\" or \"percent\"");
    }
  }
  return to_points;
}

// The metric's value per precision ("reference" and "value" name the file's two precisions).
std::map<std::string, double> read_values(const Json& m, const std::string& metric,
                                          const std::string& reference,
                                          const std::string& quantized, const std::string& file,
                                          AccuracyTable& table) {
  std::map<std::string, double> values;
  for (const auto& [key, val] : m.items()) {
    // Only known precision names are values; other keys (counts, notes) are ignored.
    std::string p = canonical_precision(key);
    if (!is_known_precision(p)) p.clear();
    if (key == "reference") p = reference;
    if (key == "value") p = quantized;
    if (key == "drop" || key == "higher_is_better" || key == "scale" || p.empty()) continue;
    ValueKind kind = classify(val);
    if (kind == ValueKind::kInvalid)
      fail(file, "metrics." + metric + "." + key + " must be a number");
    if (kind == ValueKind::kAbsent) {
      table.notes.push_back(file + ": metrics." + metric + "." + key +
                            " is not a finite number; ignored");
      continue;
    }
    values[p] = val.get<double>();
  }
  return values;
}

void load_one(const std::filesystem::path& path, const std::string& metric_wanted,
              AccuracyTable& table) {
  const std::string file = path.string();
  const Json doc = parse_eval_file(path, file);
  const std::string reference = read_precision(doc, "reference_precision", "fp32", file);
  const std::string quantized = read_precision(doc, "precision", "", file);
  if (!doc.contains("metrics")) {
    load_shorthand(doc, file, quantized, reference, table);
    return;
  }

  const Json& metrics = doc["metrics"];
  if (!metrics.is_object() || metrics.empty()) fail(file, "\"metrics\" must be a non-empty object");
  const std::string metric = choose_metric(doc, metrics, metric_wanted, file);
  const Json& m = metrics[metric];
  if (!m.is_object()) fail(file, "metrics." + metric + " must be an object");

  bool higher_is_better = true;
  if (m.contains("higher_is_better")) {
    if (!m["higher_is_better"].is_boolean()) fail(file, "higher_is_better must be true or false");
    higher_is_better = m["higher_is_better"].get<bool>();
  }
  const double to_points = points_per_unit(m, file);
  const std::map<std::string, double> values =
      read_values(m, metric, reference, quantized, file, table);
  auto ref_it = values.find(reference);
  std::optional<double> explicit_drop;
  if (m.contains("drop")) {
    ValueKind kind = classify(m["drop"]);
    if (kind == ValueKind::kInvalid) fail(file, "metrics." + metric + ".drop must be a number");
    if (kind == ValueKind::kNumber) explicit_drop = m["drop"].get<double>();
    if (quantized.empty())
      fail(file, "\"drop\" needs \"precision\" to say which precision dropped");
  }
  bool any = false;
  for (const auto& [p, v] : values) {
    if (p == reference) continue;
    AccuracyEvidence ev;
    ev.file = file;
    ev.precision = p;
    ev.reference_precision = reference;
    ev.metric = metric;
    ev.value = v;
    if (ref_it != values.end()) ev.reference_value = ref_it->second;
    if (p == quantized && explicit_drop) {
      ev.drop_pp = *explicit_drop;
    } else if (ref_it != values.end()) {
      double diff = higher_is_better ? ref_it->second - v : v - ref_it->second;
      ev.drop_pp = diff * to_points;
    } else {
      // No reference value and no drop (e.g. the FP32 metric could not be computed): this
      // precision gets no evidence from the file.
      table.notes.push_back(file + ": metrics." + metric + " has a " + p + " value but no " +
                            reference + " value or drop; no evidence for " + p);
      continue;
    }
    add_evidence(table, std::move(ev));
    any = true;
  }
  if (!any && explicit_drop) {
    AccuracyEvidence ev;
    ev.file = file;
    ev.precision = quantized;
    ev.reference_precision = reference;
    ev.metric = metric;
    ev.drop_pp = *explicit_drop;
    if (ref_it != values.end()) ev.reference_value = ref_it->second;
    add_evidence(table, std::move(ev));
    any = true;
  }
  if (!any) {
    fail(file, "metrics." + metric + " gives no drop for any precision other than the reference " +
                   reference + " (see docs/formats.md)");
  }
}

}  // namespace

AccuracyTable load_accuracy(const std::vector<std::filesystem::path>& paths,
                            const std::string& metric) {
  AccuracyTable table;
  for (const auto& p : paths) load_one(p, metric, table);
  return table;
}

}  // namespace qcal::plan
