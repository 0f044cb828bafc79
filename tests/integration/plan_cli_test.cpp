// `qcal plan` end to end: the binary on CSV fixtures, its exit codes, stdout, --json and --html.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

std::string data(const std::string& name) {
  return (std::filesystem::path(QCAL_SOURCE_DIR) / "tests/data/plan" / name).string();
}

std::string plan_cmd(const std::string& args) { return test::qcal_bin() + " plan " + args; }

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(PlanCli, ChoosesAndPrintsTable) {
  auto r = test::run_command(
      plan_cmd("--profiles " + data("jetson_runs.csv") + " --target-fps 30 --max-power-w 10"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "chosen: yolov8n_int8_static int8 b1 1x3x640x640, 133.3 FPS"))
      << r.output;
  EXPECT_TRUE(has(r.output, "yolov8s_fp32_static fp32 b1 1x3x640x640: rejected: target-fps"));
  EXPECT_TRUE(has(r.output, "[predicted]"));
}

TEST(PlanCli, JsonAndHtmlOutputs) {
  test::TempDir dir;
  const auto json_path = dir / "plan.json";
  const auto html_path = dir / "plan.html";
  auto r = test::run_command(plan_cmd(
      "--profiles " + data("jetson_runs.csv") + " --target-fps 30 --max-drop 1 --accuracy " +
      data("eval_int8.json") + " --assume-lossless FP16 --quiet --json --html " +
      html_path.string() + " > " + json_path.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(read_file(json_path));
  const auto& chosen = j["configurations"][j["chosen"].get<std::size_t>()];
  EXPECT_EQ(chosen["engine_name"], "yolov8n_int8_static");
  EXPECT_EQ(chosen["accuracy"]["drop_pp"], 0.8);
  EXPECT_EQ(j["options"]["assume_lossless"][0], "fp16");
  std::string html = read_file(html_path);
  EXPECT_TRUE(has(html, "<svg"));
  EXPECT_TRUE(has(html, "pt chosen"));
  // Only the two outputs in the folder: no temporary file left behind.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 2u);
}

TEST(PlanCli, NothingQualifiesExitsThreeWithTheGap) {
  auto r = test::run_command(
      plan_cmd("--profiles " + data("jetson_runs.csv") + " --target-fps 200 --no-predict"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_TRUE(has(r.output, "no configuration meets every constraint"));
  EXPECT_TRUE(has(r.output, "target-fps: 5 of 5 configurations fail; best is yolov8n_int8_static"));
  EXPECT_TRUE(has(r.output, "short by 66.7 FPS, 33.3%"));
}

TEST(PlanCli, UnusableRowsAreReportedNotDropped) {
  auto r = test::run_command(
      plan_cmd("--profiles " + data("malformed.csv") + " " + data("throttle.csv")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "unusable rows: 8 of 37"));
  EXPECT_TRUE(has(r.output, "malformed.csv:13: power_mW 'lots' is not a number"));
  EXPECT_TRUE(has(r.output, "8 of 37 rows were unusable"));  // the stderr line
  EXPECT_TRUE(has(r.output, "THROTTLING"));
}

TEST(PlanCli, ErrorsNameTheFileAndUseExitCodes) {
  auto r = test::run_command(plan_cmd("--profiles /nonexistent/runs.csv"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.output, "qcal: error:")) << r.output;
  EXPECT_TRUE(has(r.output, "/nonexistent/runs.csv")) << r.output;

  test::TempDir dir;
  write_file_atomic(dir / "r.csv", "engine_precision,latency\nfp16,3\n");
  r = test::run_command(plan_cmd("--profiles " + (dir / "r.csv").string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.output, "no latency column")) << r.output;

  r = test::run_command(plan_cmd("--profiles " + data("jetson_runs.csv") + " --objective speed"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = test::run_command(plan_cmd("--profiles " + data("jetson_runs.csv") + " --target-fps 0"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(has(r.output, "--target-fps must be a positive number"));
  r = test::run_command(
      plan_cmd("--profiles " + data("jetson_runs.csv") + " --assume-lossless 'fp?'"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
}

}  // namespace
}  // namespace qcal

namespace qcal {
namespace {

// `qcal frames --from-profile`: the video named by frame_source_name, found by stem.
TEST(FramesFromProfileCli, ExtractsFromTheNamedVideo) {
  const auto video = test::opencv_data() / "vtest.avi";
  ASSERT_TRUE(std::filesystem::exists(video)) << video;
  test::TempDir dir;
  std::filesystem::create_directories(dir / "videos");
  std::filesystem::copy_file(video, dir / "videos/YOLOvideo.AVI");
  write_file_atomic(dir / "runs.csv",
                    "engine_name,engine_shape,trt_latency_ms,frame_source_name\n"
                    "yolov8n_fp16_static,\"[1, 3, 640, 640]\",12.5,YOLOvideo\n");
  const auto out = dir / "out";
  auto r = test::run_command(test::qcal_bin() + " frames --from-profile " +
                             (dir / "runs.csv").string() + " --video-dir " +
                             (dir / "videos").string() + " -o " + out.string() + " --count 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "YOLOvideo -> ")) << r.output;
  EXPECT_TRUE(has(r.output, "engine input 640x640")) << r.output;
  std::size_t jpgs = 0;
  for (const auto& e : std::filesystem::directory_iterator(out)) {
    if (e.path().extension() == ".jpg") {
      ++jpgs;
      EXPECT_EQ(e.path().filename().string().rfind("YOLOvideo_frame_", 0), 0u);
    }
  }
  EXPECT_EQ(jpgs, 4u);
  auto j = nlohmann::json::parse(read_file(out / "profile_sources.json"));
  EXPECT_EQ(j["sources"][0]["input_height"], 640);

  write_file_atomic(dir / "runs.csv", "frame_source_name\nparking\n");
  r = test::run_command(test::qcal_bin() + " frames --from-profile " + (dir / "runs.csv").string() +
                        " --video-dir " + (dir / "videos").string() + " -o " + out.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.output, "'parking' matches no video")) << r.output;
  EXPECT_TRUE(has(r.output, "YOLOvideo.AVI")) << r.output;
}

}  // namespace
}  // namespace qcal
