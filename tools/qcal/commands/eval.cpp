// `qcal eval`: FP32 vs INT8 accuracy evidence (wiring only; src/eval does the work).
#include <filesystem>
#include <iostream>
#include <optional>

#include "commands/commands.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/output_paths.hpp"
#include "engine/model.hpp"
#include "eval/evaluate.hpp"
#include "eval/samples.hpp"
#include "eval/verdict.hpp"
#include "preprocess/recipe.hpp"
#include "quantize/sensitivity.hpp"

namespace qcal::cli {
namespace {

struct EvalCliOptions {
  CommonOptions common;
  std::string fp32, int8, data, recipe, labels, pairs, names;
  double max_drop = eval::kDefaultMaxDropPp;
  std::vector<int> size;
  std::string task = "raw";
  std::string runtime = "qcal";
  std::string json_path;  // --json-file: also write the JSON there
  std::string out_dir = "qcal-eval";
  std::size_t limit = 0;
  float conf = 0.001f;
  double iou = 0.7;
  float reference_conf = 0.25f;
  float face_score = 0.9f;
  double face_nms = 0.3;
  bool sensitivity = false;
  std::size_t sensitivity_samples = 8;
  int bootstrap = 1000;
  std::string command_line;
};

preprocess::DataRequest data_request(const EvalCliOptions& c, std::size_t limit) {
  preprocess::DataRequest r;
  r.data = c.data;
  r.recipe = c.recipe;
  r.size_wh = parse_size_wh(c.size);
  r.limit = static_cast<std::int64_t>(limit);
  return r;
}

std::string sensitivity_summary(const quantize::SensitivityResult& r, const char* metric) {
  std::string summary = "sensitivity (" + std::to_string(r.ranked.size()) + " tensors, " +
                        std::to_string(r.run.samples) + " samples, " +
                        eval::format_number(r.run.seconds, 3) + " s), most sensitive first:\n";
  for (std::size_t i = 0; i < r.ranked.size() && i < 10; ++i) {
    const auto& t = r.ranked[i].result;
    summary += "  " + std::to_string(r.ranked[i].rank) + ". " + t.tensor + "  " + metric +
               " drop " + eval::format_number(t.task_drop_pp, 4) + " pp; output SQNR " +
               eval::format_number(t.output_sqnr_db, 4) + " dB, cosine " +
               eval::format_number(t.output_cosine, 6) + "; own SQNR " +
               eval::format_number(t.along_sqnr_db, 4) + " dB\n";
  }
  return summary;
}

// --sensitivity: rank the INT8 model's quantized activations (scales read from its
// QuantizeLinear nodes) by fake-quantizing each alone in the FP32 model, in qcal's engine
// (quantize::run_sensitivity, the runner calibrate uses).
quantize::SensitivityResult run_sensitivity(const EvalCliOptions& c) {
  const auto int8 = engine::Model::load(c.int8, engine::LoadOptions{.check_ops = false});
  quantize::SensitivityRequest request;
  request.quant = quantize::activation_quant_from_qdq(int8);
  if (request.quant.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "--sensitivity needs a QDQ model: the INT8 model has no QuantizeLinear on an "
                "activation with a scalar scale")
        .with("file", c.int8);
  }
  request.fp32 = std::make_shared<const engine::Model>(engine::Model::load(c.fp32));
  request.model_name = c.fp32;
  auto source = eval::open_samples(data_request(c, c.sensitivity_samples), *request.fp32, c.fp32,
                                   c.common.seed);
  request.samples = eval::model_inputs(*source, *request.fp32);
  // The task drop per tensor leads the ranking: mAP50-95 vs FP32 detections for yolo, the
  // worst output's cosine otherwise.
  request.metric = c.task == "yolo" ? quantize::TaskDropScorer::Kind::kYoloMap
                                    : quantize::TaskDropScorer::Kind::kWorstCosine;
  request.scales = "the INT8 model's scales";
  request.threads = c.common.threads;
  const bool show_progress = !c.common.quiet && stderr_is_tty();
  auto r = quantize::run_sensitivity(request, [&](std::size_t done, std::size_t total) {
    if (show_progress) std::cerr << "\rsensitivity: " << done << "/" << total << std::flush;
  });
  if (show_progress) std::cerr << "\n";
  return r;
}

// Before any work: the folder can be written and no output is (or lies inside) an input.
void check_eval_paths(const EvalCliOptions& c) {
  check_output_dir(c.out_dir, "-o");
  if (!c.json_path.empty() && c.json_path != "-") check_output_file(c.json_path, "--json-file");
  const std::filesystem::path out_dir = c.out_dir;
  RunPaths paths;
  paths.input(c.fp32, "the FP32 model").input(c.int8, "the INT8 model").input(c.data, "--data");
  paths.input(c.labels, "--labels").input(c.pairs, "--pairs");
  if (!c.recipe.empty() && !preprocess::is_preset_name(c.recipe)) paths.input(c.recipe, "--recipe");
  paths.output(out_dir, "-o", OutputKind::kFolderWritten);
  for (const char* name : {"eval.json", "sensitivity.json", "report.html"}) {
    paths.output(out_dir / name, std::string("-o's ") + name);
  }
  if (c.json_path != "-") paths.output(c.json_path, "--json-file");
  paths.check();
}

int run_eval_command(const EvalCliOptions& c) {
  check_eval_paths(c);
  eval::EvalOptions o;
  o.fp32_model = c.fp32;
  o.int8_model = c.int8;
  o.data = c.data;
  o.recipe = c.recipe;
  o.size_wh = parse_size_wh(c.size);
  o.task = eval::parse_task(c.task);
  o.labels = c.labels;
  o.pairs = c.pairs;
  o.names = c.names;
  o.runtime = eval::parse_runtime(c.runtime);
  o.threads = c.common.threads;
  o.limit = c.limit;
  o.seed = c.common.seed;
  o.yolo.conf_threshold = c.conf;
  o.yolo.iou_threshold = c.iou;
  o.reference_conf = c.reference_conf;
  o.yunet.score_threshold = c.face_score;
  o.yunet.nms_threshold = c.face_nms;
  o.bootstrap_resamples = c.bootstrap;
  o.bootstrap_seed = c.common.seed;
  const bool show_progress = !c.common.quiet && stderr_is_tty();
  const eval::EvalResult r = eval::run_eval(o, [&](std::size_t done, std::size_t total) {
    if (show_progress) std::cerr << "\reval: " << done << "/" << total << std::flush;
  });
  if (show_progress) std::cerr << "\n";
  if (r.overlap && r.overlap->overlapping > 0) {
    std::cerr << "qcal: warning: " << r.overlap->warning() << "\n";
  }

  nlohmann::json j = eval::eval_result_to_json(r);
  eval::ReportData report = eval::eval_report_data(r, c.command_line);
  std::string sensitivity_text;
  std::optional<nlohmann::json> sensitivity;
  eval::VerdictInputs verdict = eval::eval_verdict_inputs(r, c.max_drop);
  if (c.sensitivity) {
    const quantize::SensitivityResult s = run_sensitivity(c);
    report.sensitivity = s.ranked;
    verdict.sensitivity = s.ranked;
    sensitivity_text = sensitivity_summary(s, s.json["task_metric"].get<std::string>().c_str());
    sensitivity = s.json;
    j["sensitivity"] = *sensitivity;
  }
  report.verdict = eval::make_verdict(verdict);
  j["verdict"] = {{"state", eval::verdict_state_name(report.verdict->state)},
                  {"max_drop_pp", c.max_drop},
                  {"headline", report.verdict->headline},
                  {"details", report.verdict->details}};
  const std::string json_text = j.dump(2) + "\n";
  create_output_dir(c.out_dir);
  const std::filesystem::path out_dir = c.out_dir;
  write_file_atomic(out_dir / "eval.json", json_text);
  if (sensitivity) write_file_atomic(out_dir / "sensitivity.json", sensitivity->dump(2) + "\n");
  eval::write_report_html(out_dir / "report.html", report);
  if (!c.json_path.empty() && c.json_path != "-") write_file_atomic(c.json_path, json_text);
  if (c.common.json || c.json_path == "-") {
    std::cout << json_text;
  } else {
    std::cout << eval::eval_result_table(r) << sensitivity_text
              << "verdict: " << report.verdict->headline << "\n";
  }
  std::cout.flush();
  if (!c.common.quiet) {
    std::cerr << "eval: wrote " << (out_dir / "report.html").string() << " and "
              << (out_dir / "eval.json").string() << "\n";
  }
  return kExitOk;
}

}  // namespace

Runner register_eval(CLI::App& app) {
  auto o = std::make_shared<EvalCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Measure what quantization cost: FP32 vs INT8 on the same data (tensors and task)");
  cmd->add_option("fp32", o->fp32, "The FP32 (reference) model")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("int8", o->int8, "The quantized model (QDQ ONNX)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option(
         "--data", o->data,
         "Preprocessed inputs (.npy [N, ...] or .npz by input name), or images with --recipe")
      ->required();
  cmd->add_option("--recipe", o->recipe,
                  "Preprocessing for image data: a preset (fitted to the model input) or a recipe "
                  ".json");
  add_size_option(cmd, o->size);
  cmd->add_option("--task", o->task, "What the model does: raw, yolo, yunet, embedding")
      ->capture_default_str()
      ->check(CLI::IsMember({"raw", "yolo", "yunet", "embedding"}));
  cmd->add_option("--labels", o->labels,
                  "Ground truth for yolo/yunet: a YOLO labels folder or a COCO instances .json "
                  "(without: scored against the FP32 model's detections)");
  cmd->add_option("--names", o->names,
                  "Class names for tables and boxes: an Ultralytics data.yaml or a COCO .json "
                  "(default: a COCO --labels file's categories)");
  cmd->add_option("--max-drop", o->max_drop,
                  "The accuracy budget the report's verdict checks: the primary metric's drop, "
                  "in percentage points")
      ->capture_default_str()
      ->check(non_negative_number());
  cmd->add_option("--pairs", o->pairs,
                  "Verification pairs for embedding: lines 'A B 1|0' (sample names or indices)");
  cmd->add_option("--runtime", o->runtime,
                  "Where both models run: qcal (engine) or ort (ONNX Runtime)")
      ->capture_default_str()
      ->check(CLI::IsMember({"qcal", "ort"}));
  cmd->add_option("--json-file", o->json_path,
                  "Also write the JSON (the file qcal plan --accuracy reads) to FILE (before "
                  "issue 19 this was --json FILE)");
  add_json_flag(cmd, o->common);
  cmd->add_option("-o,--output", o->out_dir, "Folder for report.html and eval.json")
      ->capture_default_str();
  cmd->add_option("-n,--num-samples,--limit", o->limit,
                  "Evaluate N samples spread over the data (seeded; 0: all)");
  cmd->add_option("--conf", o->conf, "YOLO: score threshold of scored detections (Ultralytics val)")
      ->capture_default_str();
  cmd->add_option("--iou", o->iou, "YOLO: NMS IoU threshold")->capture_default_str();
  cmd->add_option("--reference-conf", o->reference_conf,
                  "YOLO without labels: FP32 detections above this score are the reference")
      ->capture_default_str();
  cmd->add_option("--face-score", o->face_score, "YuNet: face score threshold")
      ->capture_default_str();
  cmd->add_option("--face-nms", o->face_nms, "YuNet: NMS IoU threshold")->capture_default_str();
  cmd->add_flag("--sensitivity", o->sensitivity,
                "Also rank the quantized tensors: outputs with only that tensor quantized, and its "
                "own error in the quantized model (sensitivity.json, report)");
  cmd->add_option("--sensitivity-samples", o->sensitivity_samples,
                  "Samples for --sensitivity (it runs the model tensors x samples times)")
      ->capture_default_str()
      ->check(positive_number());
  cmd->add_option("--bootstrap", o->bootstrap,
                  "With labels: image resamples of the paired bootstrap interval of the "
                  "mAP50-95 drop (0: none)")
      ->check(non_negative_number())
      ->capture_default_str();
  add_seed_flag(cmd, o->common);
  add_threads_flag(cmd, o->common);
  add_quiet_flag(cmd, o->common);
  return [o]() {
    o->command_line = "qcal eval";
    for (const std::string& a : {o->fp32, o->int8}) o->command_line += " " + a;
    o->command_line += " --data " + o->data + " --task " + o->task + " --runtime " + o->runtime;
    if (!o->recipe.empty()) o->command_line += " --recipe " + o->recipe;
    if (o->size.size() == 2) {
      o->command_line += " --size " + std::to_string(o->size[0]) + " " + std::to_string(o->size[1]);
    }
    if (o->limit > 0) {
      o->command_line +=
          " -n " + std::to_string(o->limit) + " --seed " + std::to_string(o->common.seed);
    }
    if (!o->labels.empty()) o->command_line += " --labels " + o->labels;
    if (!o->names.empty()) o->command_line += " --names " + o->names;
    if (!o->pairs.empty()) o->command_line += " --pairs " + o->pairs;
    if (o->sensitivity) {
      o->command_line +=
          " --sensitivity --sensitivity-samples " + std::to_string(o->sensitivity_samples);
    }
    return run_eval_command(*o);
  };
}

}  // namespace qcal::cli
