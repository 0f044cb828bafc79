// `qcal quickstart`: the README's main job on the embedded default. Until calibration lands it
// builds a calibration set from Debian's OpenCV sample video vtest.avi: frames, then select.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands/commands.hpp"
#include "core/error.hpp"
#include "dataset/select.hpp"
#include "dataset/video_frames.hpp"

namespace qcal::cli {

namespace {

// vtest.avi: 795 frames, 10 fps, 79.5 s of a static street camera. Two frames per second give
// 159 distinct frames; 100 of them, chosen for coverage, make the calibration set.
constexpr double kQuickstartFps = 2.0;
constexpr std::size_t kQuickstartImages = 100;
// select's default threshold (vtest.avi's frames score about 89).
constexpr double kQuickstartThreshold = 40.0;

struct QuickstartArgs {
  std::string out = "quickstart-out";
  CommonOptions common;
};

int run_quickstart(const QuickstartArgs& a) {
  namespace fs = std::filesystem;
  const fs::path video = opencv_data_dir() / "vtest.avi";
  if (!fs::is_regular_file(video)) {
    Error e(ErrorCode::kIo, "the sample video is missing: install Debian's opencv-doc package "
                            "(bash scripts/setup.sh does)");
    e.with("file", video.string());
    throw e;
  }
  const fs::path out(a.out);
  dataset::quiet_opencv_logging();

  dataset::FramesOptions frames;
  frames.inputs = {video};
  frames.out_dir = out / "frames";
  frames.sampling.mode = dataset::SamplingMode::kFps;
  frames.sampling.value = kQuickstartFps;
  frames.jobs = 1;
  const auto fr = dataset::extract_frames(frames);
  if (fr.failed_videos() > 0) {
    Error e(ErrorCode::kFormat, "the sample video could not be decoded: " + fr.videos.at(0).error);
    e.with("file", video.string());
    throw e;
  }

  dataset::SelectOptions sel;
  sel.src_dir = frames.out_dir;
  sel.out_dir = out / "calibration";
  sel.n = kQuickstartImages;
  sel.threshold = kQuickstartThreshold;
  sel.seed = a.common.seed;
  sel.strategy = dataset::Strategy::kDiverse;
  sel.threads = resolve_threads(a.common.threads);
  sel.command_line = "qcal select " + frames.out_dir.string() + " -o " + sel.out_dir.string() +
                     " -n " + std::to_string(sel.n) + " --threshold 40 --seed " +
                     std::to_string(sel.seed) + " --strategy diverse";
  sel.working_dir = fs::current_path().string();
  const auto sr = dataset::select_calibration_set(sel);

  const auto& v = fr.videos.at(0);
  std::printf("qcal quickstart: calibration set from %s\n", video.string().c_str());
  std::printf("  frames:      %lld of %lld decoded frames (%.1f s at %.0f fps, %.0f per second kept) in %s\n",
              static_cast<long long>(v.kept), static_cast<long long>(v.frames_decoded), v.duration_s,
              v.fps, kQuickstartFps, frames.out_dir.string().c_str());
  std::printf("  frame log:   %s\n", fr.csv_path.string().c_str());
  std::printf("  calibration: %zu images (of %zu scoring >= %.0f, strategy diverse) in %s\n",
              sr.selected, sr.passed, kQuickstartThreshold, sel.out_dir.string().c_str());
  std::printf("  analysis:    %s\n", sr.analysis_path.string().c_str());
  std::printf("  readme:      %s\n", sr.readme_path.string().c_str());
  return kExitOk;
}

}  // namespace

Runner register_quickstart(CLI::App& app) {
  auto a = std::make_shared<QuickstartArgs>();
  auto* cmd = app.add_subcommand("quickstart", "Run the main job on the embedded default (vtest.avi)");
  cmd->add_option("-o,--output", a->out, "Output folder")->capture_default_str();
  add_seed_flag(cmd, a->common);
  add_threads_flag(cmd, a->common);
  return [a] { return run_quickstart(*a); };
}

}  // namespace qcal::cli
