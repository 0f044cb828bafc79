// qcal::evaluate: FP32 against INT8 on the same data, per output and on the task, as `qcal eval`
// does (eval.json and report.html in the output folder). Options are named as its long flags.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "qcal/array.hpp"

namespace qcal {

struct EvalOptions {
  std::string recipe;        // for image data
  std::vector<int> size;     // --size W H
  std::string task = "raw";  // raw | yolo | yunet | embedding
  std::string labels, pairs;
  std::string runtime = "qcal";  // qcal | ort (ONNX Runtime through Node)
  std::size_t limit = 0;         // --limit: the first N samples (0: all)
  float conf = 0.001f;
  double iou = 0.7;
  float reference_conf = 0.25f;
  float face_score = 0.9f;
  double face_nms = 0.3;
  int threads = 0;
};

struct MetricResult {
  std::string label;
  std::optional<double> fp32;
  double int8 = 0;
  std::optional<double> drop_pp;  // percentage points INT8 loses
};

struct OutputMetrics {
  double cosine = 1, sqnr_db = 0, max_abs_error = 0, mean_abs_error = 0;
};

struct EvalResult {
  std::size_t samples = 0;
  std::string reference;       // "labels" or "fp32"
  std::string primary_metric;  // a key of metrics
  std::map<std::string, MetricResult> metrics;
  std::map<std::string, OutputMetrics> outputs;
  std::vector<std::string> notes;
  std::string eval_json, report;  // the files written (empty without an output folder)
  std::string json;               // eval.json's text (what `qcal plan --accuracy` reads)
};

// `data` is a path as eval's --data (.npy/.npz, or images with recipe). `output`: the folder for
// eval.json and report.html, or empty for none.
EvalResult evaluate(const std::string& fp32_model, const std::string& int8_model,
                    const std::string& data, const std::string& output = {},
                    const EvalOptions& options = {}, const Control& control = {});

}  // namespace qcal
