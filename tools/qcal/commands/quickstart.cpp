// `qcal quickstart`: the README's main job on the embedded default. From Debian's OpenCV sample
// video vtest.avi and the npm-provided YOLOv8n: frames, a quality-scored diverse calibration
// set, calibration tensors, entropy calibration (QDQ model, TensorRT cache, ranges), and the
// INT8-vs-FP32 agreement on the held-out frames (the frames not chosen for calibration).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/output_paths.hpp"
#include "dataset/select.hpp"
#include "dataset/video_frames.hpp"
#include "eval/evaluate.hpp"
#include "eval/report.hpp"
#include "preprocess/pack.hpp"
#include "preprocess/recipe_json.hpp"
#include "quantize/calibrate.hpp"

namespace qcal::cli {

namespace {

namespace fs = std::filesystem;

// vtest.avi: 795 frames, 10 fps, 79.5 s of a static street camera. Two frames per second give
// 159 distinct frames; 100 of them, chosen for coverage, make the calibration set and the other
// 59 are held out to measure INT8 against FP32 on frames calibration never saw.
constexpr double kQuickstartFps = 2.0;
constexpr std::size_t kQuickstartImages = 100;
// select's default threshold (vtest.avi's frames score about 89).
constexpr double kQuickstartThreshold = 40.0;

struct QuickstartArgs {
  std::string out = "quickstart-out";
  std::string model;  // default: yolov8n from the npm package
  CommonOptions common;
};

fs::path require_file(const fs::path& path, const char* what, const char* hint) {
  if (!fs::is_regular_file(path)) {
    Error e(ErrorCode::kIo, std::string(what) + " is missing: " + hint);
    e.with("file", path.string());
    throw e;
  }
  return path;
}

dataset::FramesReport extract(const fs::path& video, const fs::path& out) {
  dataset::quiet_opencv_logging();
  dataset::FramesOptions frames;
  frames.inputs = {video};
  frames.out_dir = out;
  frames.sampling.mode = dataset::SamplingMode::kFps;
  frames.sampling.value = kQuickstartFps;
  frames.jobs = 1;
  auto fr = dataset::extract_frames(frames);
  if (fr.failed_videos() > 0) {
    Error e(ErrorCode::kFormat, "the sample video could not be decoded: " + fr.videos.at(0).error);
    e.with("file", video.string());
    throw e;
  }
  return fr;
}

dataset::SelectReport select_set(const fs::path& frames, const fs::path& out,
                                 const QuickstartArgs& a) {
  dataset::SelectOptions sel;
  sel.src_dir = frames;
  sel.out_dir = out;
  sel.n = kQuickstartImages;
  sel.threshold = kQuickstartThreshold;
  sel.seed = a.common.seed;
  sel.strategy = dataset::Strategy::kDiverse;
  sel.threads = resolve_threads(a.common.threads);
  sel.command_line = "qcal select " + frames.string() + " -o " + out.string() + " -n " +
                     std::to_string(sel.n) + " --threshold 40 --seed " + std::to_string(sel.seed) +
                     " --strategy diverse";
  sel.working_dir = fs::current_path().string();
  return dataset::select_calibration_set(sel);
}

// Copies the frames select did not choose into `out` (the held-out evaluation images).
std::size_t copy_held_out(const dataset::SelectReport& sr, const fs::path& out) {
  fs::remove_all(out);
  create_output_dir(out);
  std::size_t n = 0;
  for (const auto& img : sr.images) {
    if (!img.readable || img.selected) continue;
    fs::copy_file(img.path, out / img.path.filename(), fs::copy_options::overwrite_existing);
    ++n;
  }
  return n;
}

// What the five steps produced.
struct QuickstartResult {
  fs::path video, model, out;
  const dataset::FramesReport& frames;
  const dataset::SelectReport& select;
  const preprocess::PackResult& packed;
  const quantize::CalibrateReport& calibrate;
  const eval::EvalResult& eval;
  std::size_t held_out = 0;
  fs::path eval_dir;
};

void print_summary(const QuickstartResult& r) {
  const auto& v = r.frames.videos.at(0);
  std::printf("qcal quickstart: %s calibrated on frames of %s\n",
              r.model.filename().string().c_str(), r.video.string().c_str());
  std::printf(
      "  frames:        %lld of %lld decoded frames (%.1f s at %.0f fps, %.0f per second kept) in "
      "%s\n",
      static_cast<long long>(v.kept), static_cast<long long>(v.frames_decoded), v.duration_s, v.fps,
      kQuickstartFps, (r.out / "frames").string().c_str());
  std::printf("  calibration:   %zu images (of %zu scoring >= %.0f, strategy diverse) in %s\n",
              r.select.selected, r.select.passed, kQuickstartThreshold,
              (r.out / "calibration").string().c_str());
  std::printf("  analysis:      %s\n", r.select.analysis_path.string().c_str());
  std::printf("  tensors:       %s %s\n", r.packed.output.string().c_str(),
              shape_to_string(r.packed.shape).c_str());
  std::printf("  QDQ model:     %s (%zu activation Q/DQ pairs, %zu int8 weights)\n",
              r.calibrate.qdq_model.string().c_str(), r.calibrate.activation_pairs,
              r.calibrate.weights);
  std::printf("  TensorRT cache: %s\n", r.calibrate.cache.string().c_str());
  std::printf("  ranges:        %s\n", r.calibrate.ranges.string().c_str());
  std::printf("  held out:      %zu frames in %s\n", r.held_out,
              (r.out / "heldout").string().c_str());
  for (const auto& o : r.eval.outputs) {
    std::printf("  INT8 vs FP32:  output %s cosine %.5f, SQNR %.2f dB\n", o.name.c_str(),
                o.comparison.cosine, o.comparison.sqnr_db);
  }
  for (const auto& m : r.eval.metrics) {
    if (m.fp32) {
      std::printf("  %-14s FP32 %.4f, INT8 %.4f (against %s)\n", (m.label + ":").c_str(), *m.fp32,
                  m.int8, r.eval.reference.c_str());
    } else {
      std::printf("  %-14s INT8 %.4f (against the FP32 model's detections)\n",
                  (m.label + ":").c_str(), m.int8);
    }
  }
  std::printf("  report:        %s\n", (r.eval_dir / "report.html").string().c_str());
  std::printf(
      "next: the same on your own video and model (README, \"Your own video and model\"),"
      " then deploy:\n  trtexec --onnx=%s --int8 --fp16 --saveEngine=yolov8n.plan"
      "  # others: docs/deploy.md\n",
      r.calibrate.qdq_model.string().c_str());
}

// --json: the artefacts' paths and the evaluation (eval.json's content) on stdout.
nlohmann::json quickstart_json(const QuickstartResult& r) {
  const auto& v = r.frames.videos.at(0);
  return {
      {"video", r.video.string()},
      {"model", r.model.string()},
      {"frames",
       {{"folder", (r.out / "frames").string()}, {"kept", v.kept}, {"decoded", v.frames_decoded}}},
      {"calibration",
       {{"folder", (r.out / "calibration").string()},
        {"images", r.select.selected},
        {"analysis", r.select.analysis_path.string()}}},
      {"tensors", r.packed.output.string()},
      {"qdq_model", r.calibrate.qdq_model.string()},
      {"cache", r.calibrate.cache.string()},
      {"ranges", r.calibrate.ranges.string()},
      {"heldout", {{"folder", (r.out / "heldout").string()}, {"images", r.held_out}}},
      {"report", (r.eval_dir / "report.html").string()},
      {"eval", eval::eval_result_to_json(r.eval)}};
}

int run_quickstart(const QuickstartArgs& a) {
  const fs::path video = require_file(opencv_data_dir() / "vtest.avi", "the sample video",
                                      "install Debian's opencv-doc (bash scripts/setup.sh does)");
  const fs::path model =
      require_file(a.model.empty() ? deps_dir() / "models" / "yolov8n.onnx" : fs::path(a.model),
                   "the model", "run bash scripts/setup.sh (it fetches yolov8n from npm)");
  const fs::path out(a.out);
  const int threads = resolve_threads(a.common.threads);
  check_output_dir(out, "-o");
  RunPaths paths;
  paths.input(video, "the sample video").input(model, "the model");
  paths.output(out, "-o", OutputKind::kFolderWritten);
  for (const char* sub : {"frames", "calibration", "heldout"}) {
    paths.output(out / sub, std::string("-o's ") + sub, OutputKind::kFolderReplaced);
  }
  paths.check();
  create_output_dir(out);

  std::fprintf(stderr, "quickstart: [1/5] frames from %s\n", video.string().c_str());
  const auto fr = extract(video, out / "frames");
  std::fprintf(stderr, "quickstart: [2/5] selecting %zu calibration images\n", kQuickstartImages);
  const auto sr = select_set(out / "frames", out / "calibration", a);
  const std::size_t held_out = copy_held_out(sr, out / "heldout");

  std::fprintf(stderr, "quickstart: [3/5] preprocessing (yolo letterbox 640, RGB, /255)\n");
  std::vector<fs::path> selected;
  for (const auto& img : sr.images) {
    if (img.selected) selected.push_back(out / "calibration" / img.output);
  }
  preprocess::PackOptions pack;
  pack.recipe = preprocess::resolve_recipe("yolo");
  pack.input_name = "images";
  pack.threads = threads;
  const auto packed = preprocess::pack_images(selected, out / "calib_yolov8n.npy", pack);

  std::fprintf(stderr, "quickstart: [4/5] entropy calibration of %s on %lld images\n",
               model.filename().string().c_str(), static_cast<long long>(packed.count));
  quantize::CalibrateRequest cal;
  cal.model = model;
  cal.data = preprocess::data_request(packed.output);
  cal.options.out_dir = out / "int8";
  cal.options.threads = threads;
  cal.options.data_recipe = "yolo";
  fs::create_directories(cal.options.out_dir);
  const auto cr = quantize::run_calibrate(cal);

  std::fprintf(stderr, "quickstart: [5/5] INT8 vs FP32 on %zu held-out frames\n", held_out);
  eval::EvalOptions ev;
  ev.fp32_model = model;
  ev.int8_model = cr.qdq_model;
  ev.data = out / "heldout";
  ev.recipe = "yolo";
  ev.task = eval::Task::kYolo;
  ev.threads = threads;
  const auto er = eval::run_eval(ev);
  const fs::path eval_dir = out / "eval";
  fs::create_directories(eval_dir);
  write_file_atomic(eval_dir / "eval.json", eval::eval_result_to_json(er).dump(2) + "\n");
  eval::write_report_html(eval_dir / "report.html", eval::eval_report_data(er, "qcal quickstart"));

  const QuickstartResult res{video, model, out, fr, sr, packed, cr, er, held_out, eval_dir};
  if (a.common.json) {
    std::printf("%s\n", quickstart_json(res).dump(2).c_str());
  } else {
    print_summary(res);
  }
  return kExitOk;
}

}  // namespace

Runner register_quickstart(CLI::App& app) {
  auto a = std::make_shared<QuickstartArgs>();
  auto* cmd = app.add_subcommand("quickstart",
                                 "Run the main job on the embedded default: vtest.avi -> "
                                 "calibration set -> INT8 yolov8n -> evidence");
  cmd->add_option("-o,--output", a->out, "Output folder")->capture_default_str();
  cmd->add_option("--model", a->model, "ONNX model (default: yolov8n from the npm package)");
  add_seed_flag(cmd, a->common);
  add_threads_flag(cmd, a->common);
  add_json_flag(cmd, a->common);
  return [a] { return run_quickstart(*a); };
}

}  // namespace qcal::cli
