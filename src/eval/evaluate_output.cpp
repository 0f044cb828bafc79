// What `qcal eval` hands out: the JSON `qcal plan` reads, the stdout table, the report content.
#include <cmath>
#include <cstdio>

#include "eval/evaluate.hpp"
#include "eval/sensitivity.hpp"

namespace qcal::eval {

namespace {

nlohmann::json comparison_json(const std::string& name, const TensorComparison& c) {
  return {{"name", name},
          {"samples", c.samples},
          {"elements", c.elements},
          {"cosine", json_number(c.cosine)},
          {"sqnr_db", json_number(c.sqnr_db)},
          {"max_abs_error", json_number(c.max_abs_error)},
          {"mean_abs_error", json_number(c.mean_abs_error)},
          {"min_sample_cosine", json_number(c.min_sample_cosine)},
          {"min_sample_sqnr_db", json_number(c.min_sample_sqnr_db)}};
}

std::string class_name(const std::vector<std::string>& names, int id) {
  return id >= 0 && static_cast<std::size_t>(id) < names.size() ? names[id] : std::string();
}

nlohmann::json map_json(const MapResult& m, const std::vector<std::string>& names) {
  nlohmann::json classes = nlohmann::json::array();
  for (const ClassAp& c : m.classes) {
    classes.push_back({{"class", c.class_id},
                       {"name", class_name(names, c.class_id)},
                       {"ground_truth", c.num_ground_truth},
                       {"detections", c.num_detections},
                       {"ap50", json_number(c.ap50)},
                       {"ap50_95", json_number(c.ap50_95)},
                       {"recall50", json_number(c.recall50)}});
  }
  return {{"map50", json_number(m.map50)},
          {"map50_95", json_number(m.map50_95)},
          {"images", m.images},
          {"classes", classes}};
}

nlohmann::json matches_json(const FaceMatchResult& f) {
  return {{"reference", f.reference},
          {"test", f.test},
          {"matched", f.matched},
          {"precision", json_number(f.precision)},
          {"recall", json_number(f.recall)},
          {"f1", json_number(f.f1)}};
}

nlohmann::json faces_json(const FaceMatchResult& f) {
  nlohmann::json j = matches_json(f);
  j["landmark_pairs"] = f.landmark_pairs;
  j["landmark_error_px"] = json_number(f.landmark_error_px);
  j["landmark_error_norm"] = json_number(f.landmark_error_norm);
  return j;
}

nlohmann::json interval_json(const DropInterval& d) {
  return {{"metric", "map50_95"},
          {"drop", json_number(d.drop_pp)},
          {"lower", json_number(d.lower_pp)},
          {"upper", json_number(d.upper_pp)},
          {"lower_quantile", d.lower_quantile},
          {"upper_quantile", d.upper_quantile},
          {"resamples", d.resamples},
          {"used", d.used}};
}

std::string pad_right(const std::string& s, std::size_t w) {
  return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}

std::string fmt(const std::optional<double>& v, int digits = 4) {
  if (!v) return "-";
  if (!std::isfinite(*v)) return format_number(*v);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, *v);
  return buf;
}

}  // namespace

std::string interval_line(const DropInterval& d) {
  const auto pct = static_cast<int>(std::lround((d.upper_quantile - d.lower_quantile) * 100));
  return "mAP50-95 drop " + fmt(d.drop_pp, 2) + " pp, " + std::to_string(pct) +
         " % paired bootstrap interval over images " + fmt(d.lower_pp, 2) + " to " +
         fmt(d.upper_pp, 2) + " (" + std::to_string(d.used) + " resamples)";
}

nlohmann::json eval_result_to_json(const EvalResult& r) {
  const EvalOptions& o = r.options;
  nlohmann::json metrics = nlohmann::json::object();
  for (const MetricValue& m : r.metrics) {
    nlohmann::json v = {{"int8", json_number(m.int8)}};
    if (m.fp32) v["fp32"] = json_number(*m.fp32);
    if (auto d = m.drop_pp()) v["drop"] = json_number(*d);
    if (!m.higher_is_better) v["higher_is_better"] = false;
    metrics[m.key] = v;
  }
  nlohmann::json outputs = nlohmann::json::array();
  for (const OutputComparison& oc : r.outputs)
    outputs.push_back(comparison_json(oc.name, oc.comparison));
  nlohmann::json j = {{"format", "qcal.eval/1"},
                      {"fp32_model", o.fp32_model.string()},
                      {"int8_model", o.int8_model.string()},
                      {"precision", "int8"},
                      {"reference_precision", "fp32"},
                      {"task", task_name(o.task)},
                      {"runtime", runtime_name(o.runtime)},
                      {"data", o.data.string()},
                      {"samples", r.samples},
                      {"reference", r.reference},
                      {"primary_metric", r.primary_metric},
                      {"metrics", metrics},
                      {"outputs", outputs},
                      {"notes", r.notes}};
  if (!o.labels.empty()) j["labels"] = o.labels.string();
  if (r.overlap) {
    j["calibration_overlap"] = {{"manifest", r.overlap->manifest.string()},
                                {"calibration_data", r.overlap->calibration_data},
                                {"checked", r.overlap->checked},
                                {"overlapping", r.overlap->overlapping},
                                {"same_tensor", r.overlap->by_content},
                                {"same_file", r.overlap->by_path},
                                {"examples", r.overlap->examples}};
  }
  if (r.map_fp32) {
    j["detection"] = {{"fp32", map_json(*r.map_fp32, r.class_names)},
                      {"int8", map_json(*r.map_int8, r.class_names)}};
  }
  if (r.map_drop_interval) j["detection"]["drop_interval"] = interval_json(*r.map_drop_interval);
  if (r.map_int8_vs_fp32) {
    j["detection"]["int8_vs_fp32"] = {{"score_threshold", json_number(o.reference_conf)},
                                      {"map50", json_number(r.map_int8_vs_fp32->map50)},
                                      {"map50_95", json_number(r.map_int8_vs_fp32->map50_95)}};
  }
  if (r.objects_int8_vs_fp32) {
    j["objects"] = {{"score_threshold", json_number(o.reference_conf)},
                    {"int8_vs_fp32", matches_json(*r.objects_int8_vs_fp32)}};
    if (r.objects_int8_vs_labels) {
      j["objects"]["fp32_vs_labels"] = matches_json(*r.objects_fp32_vs_labels);
      j["objects"]["int8_vs_labels"] = matches_json(*r.objects_int8_vs_labels);
    }
  }
  if (r.faces_int8_vs_fp32) {
    j["faces"] = {{"int8_vs_fp32", faces_json(*r.faces_int8_vs_fp32)}};
    if (r.faces_int8_vs_labels) {
      j["faces"]["fp32_vs_labels"] = faces_json(*r.faces_fp32_vs_labels);
      j["faces"]["int8_vs_labels"] = faces_json(*r.faces_int8_vs_labels);
    }
  }
  if (!r.embedding_cosines.empty()) {
    nlohmann::json per = nlohmann::json::array();
    for (double c : r.embedding_cosines) per.push_back(json_number(c));
    j["embedding"] = {{"cosine_per_sample", per}};
    if (r.verification_int8) {
      j["embedding"]["verification"] = {
          {"pairs", r.verification_int8->pairs},
          {"fp32",
           {{"accuracy", r.verification_fp32->accuracy},
            {"threshold", json_number(r.verification_fp32->threshold)}}},
          {"int8",
           {{"accuracy", r.verification_int8->accuracy},
            {"threshold", json_number(r.verification_int8->threshold)}}}};
    }
  }
  return j;
}

std::string eval_result_table(const EvalResult& r) {
  std::string out;
  out += "task " + std::string(task_name(r.options.task)) + ", runtime " +
         runtime_name(r.options.runtime) + ", " + std::to_string(r.samples) +
         " samples, reference " +
         (r.reference == "labels" ? std::string("labels") : std::string("FP32 outputs")) + "\n\n";
  std::size_t w = 8;
  for (const MetricValue& m : r.metrics) w = std::max(w, m.label.size());
  if (!r.metrics.empty()) {
    out += pad_right("metric", w) + "  " + pad_right("FP32", 9) + "  " + pad_right("INT8", 9) +
           "  drop (pp)\n";
    for (const MetricValue& m : r.metrics) {
      out += pad_right(m.label, w) + "  " + pad_right(fmt(m.fp32), 9) + "  " +
             pad_right(fmt(m.int8), 9) + "  " + fmt(m.drop_pp(), 2) + "\n";
    }
    if (r.map_drop_interval) out += interval_line(*r.map_drop_interval) + "\n";
    if (r.map_int8_vs_fp32) {
      out += "agreement: INT8 mAP50-95 " + fmt(r.map_int8_vs_fp32->map50_95) +
             " against FP32's detections (score > " + format_number(r.options.reference_conf) +
             ")\n";
    }
    out += "\n";
  }
  std::size_t wn = 6;
  for (const OutputComparison& oc : r.outputs) wn = std::max(wn, oc.name.size());
  out += pad_right("output", wn) + "  cosine      SQNR (dB)  max |error|\n";
  for (const OutputComparison& oc : r.outputs) {
    const TensorComparison& c = oc.comparison;
    out += pad_right(oc.name, wn) + "  " + pad_right(fmt(c.cosine, 6), 10) + "  " +
           pad_right(fmt(c.sqnr_db, 2), 9) + "  " + format_number(c.max_abs_error, 4) + "\n";
  }
  for (const std::string& n : r.notes) out += "note: " + n + "\n";
  return out;
}

ReportData eval_report_data(const EvalResult& r, const std::string& command_line) {
  const EvalOptions& o = r.options;
  ReportData d;
  d.title =
      "qcal eval: " + o.int8_model.filename().string() + " vs " + o.fp32_model.filename().string();
  d.command = command_line;
  d.parameters = {{"FP32 model", o.fp32_model.string()},
                  {"INT8 model", o.int8_model.string()},
                  {"data", o.data.string()},
                  {"samples", std::to_string(r.samples)},
                  {"task", task_name(o.task)},
                  {"runtime", runtime_name(o.runtime)},
                  {"reference", r.reference == "labels" ? "labels: " + o.labels.string()
                                                        : std::string("FP32 model outputs")}};
  if (!o.recipe.empty()) d.parameters.push_back({"recipe", o.recipe});
  if (o.task == Task::kYolo) {
    d.parameters.push_back({"YOLO decode", "conf > " + format_number(o.yolo.conf_threshold) +
                                               ", NMS IoU " + format_number(o.yolo.iou_threshold) +
                                               ", max " + std::to_string(o.yolo.max_det)});
  }
  if (o.task == Task::kYunet) {
    d.parameters.push_back({"YuNet decode", "score >= " + format_number(o.yunet.score_threshold) +
                                                ", NMS IoU " +
                                                format_number(o.yunet.nms_threshold)});
  }
  if (!r.metrics.empty()) {
    ReportTable t;
    t.title = "Task metrics";
    t.header = {"metric", "FP32", "INT8", "drop (pp)"};
    for (const MetricValue& m : r.metrics) {
      t.rows.push_back({m.label, fmt(m.fp32), fmt(m.int8), fmt(m.drop_pp(), 2)});
    }
    t.note = r.reference == "labels"
                 ? "Both models scored against the labels; drop in percentage points."
                 : "INT8 scored against the FP32 model's own predictions (FP32 scores itself "
                   "at the maximum); drop in percentage points.";
    if (r.map_drop_interval) t.note += " " + interval_line(*r.map_drop_interval) + ".";
    d.accuracy.push_back(t);
  }
  ReportTable outs;
  outs.title = "Output tensors (INT8 against FP32, over all samples)";
  outs.header = {"output",      "cosine",       "SQNR (dB)",
                 "max |error|", "mean |error|", "worst sample cosine"};
  for (const OutputComparison& oc : r.outputs) {
    const TensorComparison& c = oc.comparison;
    outs.rows.push_back({oc.name, format_number(c.cosine, 6), format_number(c.sqnr_db, 4),
                         format_number(c.max_abs_error, 4), format_number(c.mean_abs_error, 4),
                         format_number(c.min_sample_cosine, 6)});
  }
  d.accuracy.push_back(outs);
  if (r.map_int8 && !r.map_int8->classes.empty()) {
    ReportTable t;
    t.title = "Per-class AP50-95";
    t.header = {"class", "ground truth", "AP50-95 FP32", "AP50-95 INT8"};
    for (std::size_t i = 0; i < r.map_int8->classes.size(); ++i) {
      const ClassAp& b = r.map_int8->classes[i];
      const ClassAp& a = r.map_fp32->classes[i];
      const std::string name = class_name(r.class_names, b.class_id);
      t.rows.push_back({std::to_string(b.class_id) + (name.empty() ? "" : " " + name),
                        std::to_string(b.num_ground_truth), format_number(a.ap50_95, 4),
                        format_number(b.ap50_95, 4)});
    }
    d.accuracy.push_back(t);
  }
  d.thumbnails = r.thumbnails;
  d.notes = r.notes;
  return d;
}

}  // namespace qcal::eval
