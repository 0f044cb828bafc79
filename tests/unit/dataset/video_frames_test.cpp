// Frame extraction on videos the test writes (MJPG .avi with OpenCV): each frame carries its
// index as a block code, so the tests check exactly which frames were written.
#include "dataset/video_frames.hpp"

#include <gtest/gtest.h>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "test_support.hpp"
#include "unit/dataset/video_fixtures.hpp"

namespace fs = std::filesystem;

namespace qcal::dataset {
namespace {

FramesOptions options_for(const fs::path& video, const fs::path& out, SamplingMode mode,
                          double value) {
  FramesOptions o;
  o.inputs = {video};
  o.out_dir = out;
  o.sampling.mode = mode;
  o.sampling.value = value;
  return o;
}

// The indices written, checked against the code drawn in each written image.
std::vector<std::int64_t> kept_indices(const VideoSummary& v, const fs::path& out) {
  std::vector<std::int64_t> kept;
  for (const auto& r : v.records) {
    if (r.output.empty()) continue;
    EXPECT_EQ(test::read_frame_code(out / r.output), r.frame_index) << r.output;
    kept.push_back(r.frame_index);
  }
  return kept;
}

class VideoFrames : public ::testing::Test {
 protected:
  void SetUp() override {
    quiet_opencv_logging();
    test::write_mjpg_avi(dir_ / "clip.avi", 90, 30);
  }
  test::TempDir dir_;
};

TEST_F(VideoFrames, EachSamplingModeKeepsTheRightFrames) {
  auto o = options_for(dir_ / "clip.avi", dir_ / "every", SamplingMode::kEvery, 10);
  auto r = extract_frames(o);
  ASSERT_EQ(r.videos.size(), 1u);
  EXPECT_FALSE(r.videos[0].failed) << r.videos[0].error;
  EXPECT_EQ(r.videos[0].frames_decoded, 90);
  EXPECT_EQ(kept_indices(r.videos[0], o.out_dir),
            (std::vector<std::int64_t>{0, 10, 20, 30, 40, 50, 60, 70, 80}));
  EXPECT_TRUE(fs::exists(o.out_dir / "clip_frame_000030.jpg"));

  o = options_for(dir_ / "clip.avi", dir_ / "fps", SamplingMode::kFps, 1);
  EXPECT_EQ(kept_indices(extract_frames(o).videos[0], o.out_dir),
            (std::vector<std::int64_t>{0, 30, 60}));

  o = options_for(dir_ / "clip.avi", dir_ / "count", SamplingMode::kCount, 4);
  r = extract_frames(o);
  EXPECT_EQ(kept_indices(r.videos[0], o.out_dir), (std::vector<std::int64_t>{11, 33, 56, 78}));
  EXPECT_EQ(r.videos[0].frames_decoded, 79);  // stops once the last planned frame is kept

  o = options_for(dir_ / "clip.avi", dir_ / "cap", SamplingMode::kEvery, 5);
  o.sampling.max_per_video = 3;
  EXPECT_EQ(kept_indices(extract_frames(o).videos[0], o.out_dir),
            (std::vector<std::int64_t>{15, 45, 75}));

  o = options_for(dir_ / "clip.avi", dir_ / "range", SamplingMode::kFps, 10);
  o.sampling.start_s = 1.0;
  o.sampling.end_s = 2.0;
  o.format = ImageFormat::kPng;
  r = extract_frames(o);
  EXPECT_EQ(kept_indices(r.videos[0], o.out_dir),
            (std::vector<std::int64_t>{30, 33, 36, 39, 42, 45, 48, 51, 54, 57}));
  EXPECT_TRUE(fs::exists(o.out_dir / "clip_frame_000057.png"));
}

TEST_F(VideoFrames, CsvRecordsEveryWrittenAndSkippedFrame) {
  // Frames 10-19 black, 20-29 a flat grey, 30-59 one still image (a static camera).
  const cv::Mat still = test::make_coded_frame(30);
  test::write_mjpg_avi(dir_ / "night.avi", 60, 30, [&](int i) {
    if (i >= 10 && i < 20) return cv::Mat(240, 320, CV_8UC3, cv::Scalar(3, 3, 3));
    if (i >= 20 && i < 30) return cv::Mat(240, 320, CV_8UC3, cv::Scalar(128, 128, 128));
    if (i >= 30) return still.clone();
    return test::make_coded_frame(i);
  });
  auto o = options_for(dir_ / "night.avi", dir_ / "out", SamplingMode::kEvery, 5);
  o.skip_similar = 2.0;
  auto r = extract_frames(o);
  const auto& v = r.videos[0];
  EXPECT_EQ(v.kept, 3);  // 0, 5, 30
  EXPECT_EQ(v.skipped_blank, 4);
  EXPECT_EQ(v.skipped_similar, 5);
  const std::string csv = read_file(dir_ / "out" / "frames.csv");
  EXPECT_EQ(csv.rfind("video,frame_index,timestamp_s,output,skip_reason\n", 0), 0u);
  const std::string video = (dir_ / "night.avi").generic_string();
  EXPECT_NE(csv.find(video + ",0,0.000,night_frame_000000.jpg,\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(video + ",10,0.333,,near-black"), std::string::npos) << csv;
  EXPECT_NE(csv.find(video + ",20,0.667,,blank (luminance std"), std::string::npos) << csv;
  EXPECT_NE(csv.find(video + ",35,1.167,,similar (mean abs difference"), std::string::npos) << csv;
  EXPECT_FALSE(fs::exists(dir_ / "out" / "night_frame_000010.jpg"));

  o.keep_blank = true;
  o.skip_similar = -1;
  o.out_dir = dir_ / "all";
  EXPECT_EQ(extract_frames(o).videos[0].kept, 12);
}

TEST_F(VideoFrames, BadVideosFailByNameAndTheOthersGoOn) {
  fs::create_directories(dir_ / "in");
  write_file_atomic(dir_ / "in" / "empty.mp4", "");
  write_file_atomic(dir_ / "in" / "text.mp4", "this is not a video\n");
  const std::string full = read_file(dir_ / "clip.avi");
  write_file_atomic(dir_ / "in" / "cut.avi", std::string_view(full).substr(0, full.size() / 2));
  fs::copy_file(dir_ / "clip.avi", dir_ / "in" / "good.AVI");
  write_file_atomic(dir_ / "in" / "readme.txt", "ignored");
  auto o = options_for(dir_ / "in", dir_ / "out", SamplingMode::kEvery, 30);
  o.jobs = 2;
  const auto r = extract_frames(o);
  ASSERT_EQ(r.videos.size(), 4u);  // sorted: cut.avi, empty.mp4, good.AVI, text.mp4
  EXPECT_EQ(r.failed_videos(), 3);
  EXPECT_TRUE(r.videos[0].failed);
  EXPECT_NE(r.videos[0].error.find("truncated"), std::string::npos) << r.videos[0].error;
  EXPECT_GT(r.videos[0].kept, 0);  // the frames before the cut are still extracted
  EXPECT_NE(r.videos[1].error.find("cannot open video"), std::string::npos);
  EXPECT_FALSE(r.videos[2].failed);
  EXPECT_EQ(r.videos[2].kept, 3);
  EXPECT_NE(r.videos[3].error.find("cannot open video"), std::string::npos);
  const std::string csv = read_file(dir_ / "out" / "frames.csv");
  EXPECT_NE(csv.find("text.mp4,,,,\"video failed: cannot open video"), std::string::npos) << csv;
}

TEST_F(VideoFrames, SameBytesWhateverTheJobCount) {
  for (int i = 0; i < 3; ++i)
    fs::copy_file(dir_ / "clip.avi", dir_ / ("c" + std::to_string(i) + ".avi"));
  fs::remove(dir_ / "clip.avi");
  std::string csv[2];
  for (int j = 0; j < 2; ++j) {
    auto o = options_for(dir_.path(), dir_ / ("out" + std::to_string(j)), SamplingMode::kFps, 2);
    o.jobs = j == 0 ? 1 : 3;
    extract_frames(o);
    csv[j] = read_file(o.out_dir / "frames.csv");
  }
  EXPECT_EQ(csv[0], csv[1]);
  EXPECT_EQ(read_file(dir_ / "out0" / "c1_frame_000045.jpg"),
            read_file(dir_ / "out1" / "c1_frame_000045.jpg"));
}

TEST_F(VideoFrames, InputErrors) {
  fs::create_directories(dir_ / "a");
  fs::create_directories(dir_ / "b");
  fs::copy_file(dir_ / "clip.avi", dir_ / "a" / "x.avi");
  fs::copy_file(dir_ / "clip.avi", dir_ / "b" / "x.mp4");
  EXPECT_THROW(list_videos({dir_ / "a", dir_ / "b"}), Error);  // same stem
  EXPECT_EQ(list_videos({dir_ / "a", dir_ / "a" / "x.avi"}).size(), 1u);
  EXPECT_THROW(list_videos({dir_ / "missing.mp4"}), Error);
  fs::create_directories(dir_ / "none");
  EXPECT_THROW(list_videos({dir_ / "none"}), Error);
}

}  // namespace
}  // namespace qcal::dataset
