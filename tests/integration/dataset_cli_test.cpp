// `qcal frames`, `select`, `sample` and `quickstart` end to end: H.264 clips at 30, 29.97 and
// 25 fps and a variable-frame-rate clip made with ffmpeg, the real vtest.avi, bad inputs, exit
// statuses and messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "core/atomic_file.hpp"
#include "test_support.hpp"
#include "unit/dataset/video_fixtures.hpp"

namespace fs = std::filesystem;

namespace qcal::test {
namespace {

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

CommandResult qcal(const std::string& args) { return run_command(qcal_bin() + " " + args); }

// Frame indices of the images written for `stem`, each checked against its drawn code.
std::vector<int> written(const fs::path& out, const std::string& stem, bool check_code = true) {
  std::vector<int> found;
  for (const auto& e : fs::directory_iterator(out)) {
    const std::string name = e.path().filename().string();
    const std::string prefix = stem + "_frame_";
    if (name.rfind(prefix, 0) != 0) continue;
    const int index = std::stoi(name.substr(prefix.size(), 6));
    EXPECT_EQ(name.size(), prefix.size() + 6 + 4) << name;
    if (check_code) {
      EXPECT_EQ(read_frame_code(e.path()), index) << name;
    }
    found.push_back(index);
  }
  std::sort(found.begin(), found.end());
  return found;
}

class FramesCli : public ::testing::Test {
 protected:
  // The clips are made once per build tree (ctest runs each test in its own process) in a
  // temporary folder renamed into place, so concurrent tests never see half-written clips.
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const fs::path cache = fs::path(QCAL_BINARY_DIR) / "test-data" / "dataset_cli_clips_v1";
    if (!fs::exists(cache / "vfr.mp4")) {
      const fs::path tmp = *dir_ / "clips";
      fs::create_directories(tmp);
      write_mjpg_avi(tmp / "src90.avi", 90, 30);
      write_mjpg_avi(tmp / "src60.avi", 60, 30);
      ASSERT_TRUE(make_h264(tmp / "src90.avi", tmp / "cfr30.mp4", "30"));
      ASSERT_TRUE(make_h264(tmp / "src90.avi", tmp / "ntsc.mp4", "30000/1001"));
      ASSERT_TRUE(make_h264(tmp / "src90.avi", tmp / "pal.mp4", "25"));
      // Variable frame rate: 30 frames at 30 fps, then one every 0.1 s from 1.0 s.
      ASSERT_TRUE(make_h264(tmp / "src60.avi", tmp / "vfr.mp4", "30",
                            "setpts='if(lt(N,30),N/30,1+(N-30)/10)/TB'", true));
      fs::create_directories(cache.parent_path());
      std::error_code ec;
      fs::rename(tmp, cache, ec);  // another test process may have won the race: fine
    }
    for (const char* name :
         {"src90.avi", "src60.avi", "cfr30.mp4", "ntsc.mp4", "pal.mp4", "vfr.mp4"}) {
      fs::copy_file(cache / name, *dir_ / name);
    }
  }
  static void TearDownTestSuite() { delete dir_; }
  static TempDir* dir_;
};
TempDir* FramesCli::dir_ = nullptr;

TEST_F(FramesCli, FpsByTimestampAt30And2997And25Fps) {
  const fs::path out = *dir_ / "fps";
  auto r = qcal("frames " + q(*dir_ / "cfr30.mp4") + " " + q(*dir_ / "ntsc.mp4") + " " +
                q(*dir_ / "pal.mp4") + " -o " + q(out) + " --fps 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(written(out, "cfr30"), (std::vector<int>{0, 30, 60}));
  EXPECT_EQ(written(out, "ntsc"), (std::vector<int>{0, 30, 60}));  // 1.001 s, 2.002 s
  EXPECT_EQ(written(out, "pal"), (std::vector<int>{0, 25, 50, 75}));
  // The summary table on stderr.
  EXPECT_NE(r.output.find("decoded"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ntsc.mp4"), std::string::npos);
  EXPECT_NE(r.output.find("29.97"), std::string::npos);
  const std::string csv = read_file(out / "frames.csv");
  EXPECT_NE(csv.find("ntsc.mp4,30,1.001,ntsc_frame_000030.jpg,"), std::string::npos) << csv;

  r = qcal("frames " + q(*dir_ / "pal.mp4") + " -o " + q(*dir_ / "pal2") +
           " --fps 2 --jpeg-quality 80");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(written(*dir_ / "pal2", "pal"), (std::vector<int>{0, 13, 25, 38, 50, 63, 75, 88}));
}

TEST_F(FramesCli, FpsOnVariableFrameRate) {
  const fs::path out = *dir_ / "vfr";
  auto r = qcal("frames " + q(*dir_ / "vfr.mp4") + " -o " + q(out) + " --fps 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(written(out, "vfr"), (std::vector<int>{0,  6,  12, 18, 24, 30, 32, 34, 36, 38,
                                                   40, 42, 44, 46, 48, 50, 52, 54, 56, 58}));
}

TEST_F(FramesCli, EveryCountCapAndRange) {
  auto r = qcal("frames " + q(*dir_ / "ntsc.mp4") + " -o " + q(*dir_ / "every") +
                " --every 30 --format png");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(*dir_ / "every" / "ntsc_frame_000060.png"));
  EXPECT_EQ(written(*dir_ / "every", "ntsc"), (std::vector<int>{0, 30, 60}));

  r = qcal("frames " + q(*dir_ / "cfr30.mp4") + " -o " + q(*dir_ / "count") + " --count 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(written(*dir_ / "count", "cfr30"), (std::vector<int>{11, 33, 56, 78}));

  r = qcal("frames " + q(*dir_ / "cfr30.mp4") + " -o " + q(*dir_ / "cap") +
           " --every 1 --max-per-video 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(written(*dir_ / "cap", "cfr30"), (std::vector<int>{15, 45, 75}));

  r = qcal("frames " + q(*dir_ / "cfr30.mp4") + " -o " + q(*dir_ / "range") +
           " --fps 10 --start 1 --end 1.5 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(written(*dir_ / "range", "cfr30"), (std::vector<int>{30, 33, 36, 39, 42}));
  EXPECT_NE(r.output.find("\"kept\": 5"), std::string::npos) << r.output;
}

TEST_F(FramesCli, BadInputsAreNamedAndTheOthersProcessed) {
  const fs::path in = *dir_ / "bad";
  fs::create_directories(in);
  write_file_atomic(in / "zero.mp4", "");
  write_file_atomic(in / "notes.mp4", "a text file, not a video\n");
  const std::string mp4 = read_file(*dir_ / "cfr30.mp4");
  write_file_atomic(in / "cut.mp4", std::string_view(mp4).substr(0, mp4.size() / 2));
  const std::string avi = read_file(*dir_ / "src90.avi");
  write_file_atomic(in / "cut_avi.AVI", std::string_view(avi).substr(0, avi.size() / 2));
  fs::copy_file(*dir_ / "pal.mp4", in / "good.MP4");
  const auto r = qcal("frames " + q(in) + " -o " + q(*dir_ / "badout") + " --fps 1");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  for (const char* name : {"zero.mp4", "notes.mp4", "cut.mp4", "cut_avi.AVI"}) {
    EXPECT_NE(r.output.find("qcal: error: " + (in / name).string() + ": "), std::string::npos)
        << name << "\n"
        << r.output;
  }
  EXPECT_NE(r.output.find("truncated or corrupt"), std::string::npos);
  EXPECT_NE(r.output.find("cannot open video"), std::string::npos);
  EXPECT_EQ(written(*dir_ / "badout", "good"), (std::vector<int>{0, 25, 50, 75}));
  const std::string csv = read_file(*dir_ / "badout" / "frames.csv");
  EXPECT_NE(csv.find("zero.mp4,,,,\"video failed: cannot open video"), std::string::npos) << csv;
  // The last video listed also fails alone.
  EXPECT_EQ(qcal("frames " + q(in / "zero.mp4") + " -o " + q(*dir_ / "z")).exit_code, 3);
}

TEST_F(FramesCli, UsageAndInputErrors) {
  auto r =
      qcal("frames " + q(*dir_ / "cfr30.mp4") + " -o " + q(*dir_ / "u") + " --every 2 --fps 1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = qcal("frames " + q(*dir_ / "missing.mp4") + " -o " + q(*dir_ / "u"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("missing.mp4"), std::string::npos);
  fs::create_directories(*dir_ / "novideo");
  r = qcal("frames " + q(*dir_ / "novideo") + " -o " + q(*dir_ / "u"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no videos found"), std::string::npos);
  r = qcal("frames --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag :
       {"--every", "--fps", "--count", "--max-per-video", "--start", "--end", "--format",
        "--jpeg-quality", "--skip-similar", "--keep-blank", "--jobs"}) {
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag;
  }
}

TEST(FramesVtest, SamplingModesOnTheRealSampleVideo) {
  const fs::path video = opencv_data() / "vtest.avi";
  ASSERT_TRUE(fs::exists(video)) << "opencv-doc is required";
  TempDir dir;
  auto r = qcal("frames " + q(video) + " -o " + q(dir / "fps") + " --fps 1 --jobs 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // 795 frames at 10 fps: 79.5 s, so targets 0..79 s give 80 frames, frame 10k for second k.
  const auto fps = written(dir / "fps", "vtest", false);
  ASSERT_EQ(fps.size(), 80u);
  for (std::size_t k = 0; k < fps.size(); ++k) EXPECT_EQ(fps[k], static_cast<int>(10 * k));
  EXPECT_NE(r.output.find("795"), std::string::npos) << r.output;

  r = qcal("frames " + q(video) + " -o " + q(dir / "every") + " --every 100");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(written(dir / "every", "vtest", false),
            (std::vector<int>{0, 100, 200, 300, 400, 500, 600, 700}));

  r = qcal("frames " + q(video) + " -o " + q(dir / "cap") + " --fps 1 --max-per-video 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(written(dir / "cap", "vtest", false), (std::vector<int>{80, 240, 400, 560, 720}));

  r = qcal("frames " + q(video) + " -o " + q(dir / "count") + " --count 10 --skip-similar 0.5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(written(dir / "count", "vtest", false),
            (std::vector<int>{39, 119, 198, 278, 357, 437, 516, 596, 675, 755}));
}

// Images whose sharpness order is known (blur sigma grows with the index), one unreadable.
void make_images(const fs::path& dir, int count) {
  fs::create_directories(dir);
  cv::Mat scene = make_texture(5, 800, 600);
  for (int i = 0; i < 24; ++i) {
    cv::line(scene, cv::Point(i * 33, 0), cv::Point(799 - i * 9, 599),
             cv::Scalar(30, 200, 40 + 8 * i), 2);
  }
  for (int i = 0; i < count; ++i) {
    cv::Mat img = scene.clone();
    if (i > 0) cv::GaussianBlur(scene, img, cv::Size(0, 0), 0.4 * i);
    ASSERT_TRUE(cv::imwrite((dir / ("p" + std::to_string(10 + i) + ".jpg")).string(), img));
  }
  write_file_atomic(dir / "broken.jpg", "not a jpeg at all");
  const std::string jpeg = read_file(dir / "p10.jpg");
  write_file_atomic(dir / "cut.jpg", std::string_view(jpeg).substr(0, jpeg.size() / 2));
}

std::string without_output_line(std::string json) {
  const auto at = json.find("\"output\": \"");
  json.erase(at, json.find('\n', at) - at);
  return json;
}

TEST(SelectCli, TopStrategyUnreadableFilesAndDeterminism) {
  TempDir dir;
  make_images(dir / "src", 16);
  auto r = qcal("select " + q(dir / "src") + " -o " + q(dir / "top") +
                " -n 4 --threshold 0 --strategy top");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(fs::exists(dir / "top" / ("p" + std::to_string(10 + i) + ".jpg"))) << i;
  }
  EXPECT_NE(r.output.find("broken.jpg"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cut.jpg: JPEG is truncated"), std::string::npos) << r.output;
  const auto j = nlohmann::json::parse(read_file(dir / "top" / "calibration_analysis.json"));
  EXPECT_EQ(j["unreadable"][0]["path"], "broken.jpg");
  EXPECT_EQ(j["counts"]["selected"], 4);
  const std::string readme = read_file(dir / "top" / "README.md");
  EXPECT_NE(readme.find("--strategy top"), std::string::npos) << readme;

  std::string analyses[2];
  for (int t = 0; t < 2; ++t) {
    const fs::path out = dir / ("d" + std::to_string(t));
    r = qcal("select " + q(dir / "src") + " -o " + q(out) +
             " -n 6 --strategy diverse --threshold 0 --threads " + (t ? "2" : "1"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    analyses[t] = without_output_line(read_file(out / "calibration_analysis.json"));
  }
  EXPECT_EQ(analyses[0], analyses[1]);

  // Rerunning the README's command into the same folder works (the old selection is replaced).
  r = qcal("select " + q(dir / "src") + " -o " + q(dir / "top") +
           " -n 4 --threshold 0 --strategy top --link");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::is_symlink(dir / "top" / "p10.jpg"));
}

TEST(SelectCli, FewerThanNPassed) {
  TempDir dir;
  make_images(dir / "src", 6);
  auto r = qcal("select " + q(dir / "src") + " -o " + q(dir / "out") + " -n 5 --threshold 99");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("only 0 of 6 readable images score at least 99.0"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("would give 5"), std::string::npos) << r.output;
  r = qcal("select " + q(dir / "src") + " -o " + q(dir / "out") + " -n 10 --threshold 0");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("only 6 images are readable"), std::string::npos) << r.output;
  r = qcal("select " + q(dir / "src") + " -o " + q(dir / "out") +
           " -n 10 --threshold 0 --allow-fewer");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = qcal("select " + q(dir / "src") + " -o " + q(dir / "out") + " --weights 1,2,3");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--weights needs five"), std::string::npos) << r.output;
}

TEST(SelectCli, ShardedScoringAndItsUsageErrors) {
  TempDir dir;
  make_images(dir / "src", 5);
  // An Indexed Job's pod: the index from JOB_COMPLETION_INDEX, the count from QCAL_SHARD_COUNT.
  auto r = run_command("env -u SLURM_ARRAY_TASK_ID JOB_COMPLETION_INDEX=1 QCAL_SHARD_COUNT=2 " +
                       qcal_bin() + " select " + q(dir / "src") + " --shard auto --save-scores " +
                       q(dir / "s1.qsc"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("shard 1/2 (Kubernetes Indexed Job: JOB_COMPLETION_INDEX=1, "
                          "QCAL_SHARD_COUNT=2)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("scored 3 of 7 images"), std::string::npos) << r.output;
  ASSERT_EQ(qcal("select " + q(dir / "src") + " --shard 0/2 --save-scores " + q(dir / "s0.qsc"))
                .exit_code,
            0);
  // One machine first (outputs name their folder: the reduce writes to the same one).
  r = qcal("select " + q(dir / "src") + " -o " + q(dir / "out") +
           " -n 3 --threshold 0 --strategy top");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  fs::rename(dir / "out", dir / "one");
  r = qcal("select --from-scores " + q(dir / "s1.qsc") + " " + q(dir / "s0.qsc") + " -o " +
           q(dir / "out") + " -n 3 --threshold 0 --strategy top");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"calibration_analysis.json", "README.md"}) {
    EXPECT_EQ(read_file(dir / "one" / f), read_file(dir / "out" / f)) << f;
  }
  for (auto [args, text] : std::vector<std::pair<std::string, std::string>>{
           {q(dir / "src") + " --shard 0/2 -o " + q(dir / "x"), "give --save-scores FILE too"},
           {q(dir / "src") + " --shard 2/2 --save-scores " + q(dir / "x.qsc"), "not below"},
           {"--from-scores " + q(dir / "s0.qsc") + " -o " + q(dir / "x"), "1 of 2 shards"},
           {q(dir / "src") + " --from-scores " + q(dir / "s0.qsc") + " -o " + q(dir / "x"),
            "give one or the other"},
           {q(dir / "src") + " --save-scores " + q(dir / "x.qsc") + " -o " + q(dir / "x"),
            "writes scores only"},
       }) {
    r = run_command("env -u SLURM_ARRAY_TASK_ID -u JOB_COMPLETION_INDEX " + qcal_bin() +
                    " select " + args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(text), std::string::npos) << args << "\n" << r.output;
  }
  EXPECT_FALSE(fs::exists(dir / "x"));
  EXPECT_FALSE(fs::exists(dir / "x.qsc"));
  r = run_command("env -u SLURM_ARRAY_TASK_ID -u JOB_COMPLETION_INDEX " + qcal_bin() + " frames " +
                  q(dir / "src") + " -o " + q(dir / "f") + " --shard auto");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("neither SLURM_ARRAY_TASK_ID"), std::string::npos) << r.output;
}

TEST(SampleCli, SameListEveryRunRelativePaths) {
  TempDir dir;
  fs::create_directories(dir / "coco" / "train2017");
  for (int i = 0; i < 50; ++i) {
    write_file_atomic(dir / "coco" / "train2017" / ("0000" + std::to_string(1000 + i) + ".jpg"),
                      "x");
  }
  const std::string base =
      "sample " + q(dir / "coco") + " -n 10 --seed 7 --relative-to " + q(dir.path());
  auto a = qcal(base + " -o " + q(dir / "a.txt"));
  auto b = qcal(base + " -o " + q(dir / "b.txt"));
  ASSERT_EQ(a.exit_code, 0) << a.output;
  ASSERT_EQ(b.exit_code, 0) << b.output;
  const std::string list = read_file(dir / "a.txt");
  EXPECT_EQ(list, read_file(dir / "b.txt"));
  EXPECT_EQ(std::count(list.begin(), list.end(), '\n'), 10);
  EXPECT_EQ(list.rfind("coco/train2017/0000", 0), 0u) << list;
  // Stdout when no -o; the list file as a source draws the same subset from the same files.
  auto c = run_command(qcal_bin() + " " + base + " -q");
  EXPECT_EQ(c.output, list);
  auto over = qcal("sample " + q(dir / "coco") + " -n 51");
  EXPECT_EQ(over.exit_code, 1);
  EXPECT_NE(over.output.find("--allow-fewer"), std::string::npos) << over.output;
  EXPECT_EQ(
      qcal("sample " + q(dir / "coco") + " -n 51 --allow-fewer -o " + q(dir / "all.txt")).exit_code,
      0);
}

}  // namespace
}  // namespace qcal::test
