// `qcal eval`: runs an FP32 and an INT8 model over the same data and measures what
// quantization cost, per output tensor (raw) and on the task (YOLO, YuNet, embeddings).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/bootstrap.hpp"
#include "eval/coco_map.hpp"
#include "eval/embedding.hpp"
#include "eval/overlap.hpp"
#include "eval/report.hpp"
#include "eval/runtime.hpp"
#include "eval/tensor_metrics.hpp"
#include "eval/yunet.hpp"

namespace qcal::eval {

enum class Task { kRaw, kYolo, kYunet, kEmbedding };
Task parse_task(const std::string& name);  // raw | yolo | yunet | embedding
const char* task_name(Task task);

struct EvalOptions {
  std::filesystem::path fp32_model, int8_model, data;
  std::string recipe;  // for image data: preset name or recipe .json (fitted to the model input)
  std::optional<std::array<int, 2>> size_wh;  // presets on a model with a dynamic size
  Task task = Task::kRaw;
  std::filesystem::path labels;  // YOLO txt folder or COCO instances .json (detection)
  std::filesystem::path pairs;   // verification pairs (embedding)
  std::filesystem::path names;  // class names: a data.yaml or COCO JSON (default: the COCO labels')
  RuntimeKind runtime = RuntimeKind::kQcal;
  int threads = 0;
  std::size_t limit = 0;    // N samples spread over the data (seeded; 0: all)
  std::uint64_t seed = 42;  // the spread's draw
  // Compare the data with the calibration_samples.json beside the INT8 model (off for
  // calibrate's in-memory candidates).
  bool check_calibration_overlap = true;
  std::size_t chunk = 16;      // samples per runtime call
  std::size_t thumbnails = 6;  // samples shown in the report
  YoloDecodeOptions yolo;      // conf 0.001, IoU 0.7, max_det 300 (Ultralytics val)
  // Without labels, FP32 detections above this score are the reference (Ultralytics' predict
  // default): what a deployed model would report.
  float reference_conf = 0.25f;
  YunetDecodeOptions yunet;  // score 0.9, NMS 0.3, top_k 5000 (OpenCV Zoo demo)
  double face_iou = 0.5;
  // With labels: the paired image bootstrap of the mAP50-95 drop (threads from `threads`).
  int bootstrap_resamples = 1000;
  std::uint64_t bootstrap_seed = 0;
};

// One task-level metric, FP32 and INT8 side by side.
struct MetricValue {
  std::string key;    // JSON key, e.g. "map50_95"
  std::string label;  // table label, e.g. "mAP50-95"
  std::optional<double> fp32;
  double int8 = 0.0;
  bool higher_is_better = true;
  // Percentage points lost by INT8 ((fp32 - int8) * 100, sign flipped when lower is better);
  // absent without an FP32 value.
  std::optional<double> drop_pp() const;
};

struct OutputComparison {
  std::string name;
  TensorComparison comparison;
};

struct EvalResult {
  EvalOptions options;
  std::size_t samples = 0;
  std::string reference;  // "labels" or "fp32" (the FP32 model's own predictions)
  std::string primary_metric;
  std::vector<MetricValue> metrics;
  std::vector<OutputComparison> outputs;
  std::optional<MapResult> map_fp32, map_int8;
  // Labelled detection: 90 % paired bootstrap interval of the mAP50-95 drop over images.
  std::optional<DropInterval> map_drop_interval;
  // Labelled YOLO: INT8 scored against FP32's detections above reference_conf (FP32 = 1).
  std::optional<MapResult> map_int8_vs_fp32;
  std::optional<FaceMatchResult> faces_int8_vs_fp32, faces_fp32_vs_labels, faces_int8_vs_labels;
  // YOLO: detections scoring above reference_conf matched per class at IoU 0.5 (F1: objects the
  // reference has that the model reports, and nothing else).
  std::optional<FaceMatchResult> objects_int8_vs_fp32, objects_fp32_vs_labels,
      objects_int8_vs_labels;
  std::vector<double> embedding_cosines;  // per sample (embedding task)
  std::optional<VerificationResult> verification_fp32, verification_int8;
  std::vector<ReportThumbnail> thumbnails;
  std::vector<std::string> class_names;  // from a COCO labels file (index = class id)
  // The evaluation data against the calibration samples calibrate listed beside the INT8 model
  // (absent when it wrote none).
  std::optional<OverlapResult> overlap;
  std::vector<std::string> notes;
};

using Progress = std::function<void(std::size_t done, std::size_t total)>;

// Runs both models over the data and computes every metric of the task. Throws qcal::Error for
// bad input (naming the file, image or tensor).
EvalResult run_eval(const EvalOptions& options, const Progress& progress = {});
// The same with the models already loaded (options' model paths and runtime are then only
// recorded): calibrate evaluates many candidate INT8 models against one cached FP32 runner.
EvalResult run_eval(const EvalOptions& options, ModelRunner& fp32, ModelRunner& int8,
                    const Progress& progress = {});

// The JSON `qcal plan --accuracy` reads (docs/formats.md): format "qcal.eval/1", models,
// precision/reference_precision, primary_metric, metrics {key: {fp32, int8, drop}}, plus
// per-output comparisons and task details. Non-finite numbers are "inf"/"-inf"/"nan".
nlohmann::json eval_result_to_json(const EvalResult& result);
// "mAP50-95 drop 0.50 pp, 90 % paired bootstrap interval over images 0.11 to 1.00 (1000
// resamples)": the table's line, for other printers (bench, calibrate).
std::string interval_line(const DropInterval& interval);
// The table printed on stdout.
std::string eval_result_table(const EvalResult& result);
// The report's content for this run.
ReportData eval_report_data(const EvalResult& result, const std::string& command_line);

}  // namespace qcal::eval
