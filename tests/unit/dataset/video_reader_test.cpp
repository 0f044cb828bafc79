// VideoReader against cv::VideoCapture as the reference: on an H.264 clip with B-frames (frames
// skipped undecoded) and on the real vtest.avi, the frames delivered carry OpenCV's index and
// timestamp and are pixel-identical to what VideoCapture retrieves; files the reader cannot
// reproduce exactly are declined.
#include "dataset/video_reader.hpp"

#include <gtest/gtest.h>

#include <opencv2/videoio.hpp>
#include <set>

#include "core/atomic_file.hpp"
#include "dataset/video_frames.hpp"
#include "test_support.hpp"
#include "unit/dataset/video_fixtures.hpp"

namespace fs = std::filesystem;

namespace qcal::dataset {
namespace {

struct Reference {
  std::vector<double> times;    // CAP_PROP_POS_MSEC / 1000 of every frame
  std::vector<cv::Mat> frames;  // retrieved where wanted, else empty
};

Reference decode_with_videocapture(const fs::path& video, const std::vector<bool>& wanted) {
  Reference ref;
  cv::VideoCapture cap(video.string(), cv::CAP_FFMPEG);
  EXPECT_TRUE(cap.isOpened()) << video;
  while (cap.grab()) {
    const std::size_t i = ref.times.size();
    ref.times.push_back(cap.get(cv::CAP_PROP_POS_MSEC) / 1000.0);
    cv::Mat frame;
    if (i < wanted.size() && wanted[i]) {
      EXPECT_TRUE(cap.retrieve(frame));
    }
    ref.frames.push_back(frame);
  }
  return ref;
}

// Decodes `video` with VideoReader, wanting every `step`th frame, and checks every delivered
// frame and every timestamp against cv::VideoCapture. Returns the frames the reader decoded.
std::int64_t check_against_videocapture(const fs::path& video, std::int64_t step) {
  VideoReader reader;
  std::string why;
  EXPECT_TRUE(reader.open(video, why)) << why;
  const std::int64_t n = reader.frame_count();
  std::vector<bool> wanted(static_cast<std::size_t>(n), false);
  for (std::int64_t i = 0; i < n; i += step) wanted[static_cast<std::size_t>(i)] = true;
  std::vector<double> planned_times;
  std::vector<std::pair<std::int64_t, cv::Mat>> got;
  const bool ok = reader.decode(
      [&](const std::vector<double>& times) {
        planned_times = times;
        return wanted;
      },
      [&](std::int64_t index, const cv::Mat& bgr) { got.emplace_back(index, bgr.clone()); }, why);
  EXPECT_TRUE(ok) << why;

  const Reference ref = decode_with_videocapture(video, wanted);
  EXPECT_EQ(static_cast<std::int64_t>(ref.times.size()), n);
  EXPECT_EQ(planned_times, ref.times);  // exact: same arithmetic as OpenCV
  std::size_t expected = 0;
  for (bool w : wanted) expected += w ? 1 : 0;
  EXPECT_EQ(got.size(), expected);
  std::int64_t previous = -1;
  for (const auto& [index, frame] : got) {
    EXPECT_GT(index, previous);
    previous = index;
    if (static_cast<std::size_t>(index) >= ref.frames.size()) {
      ADD_FAILURE() << "frame " << index << " beyond VideoCapture's " << ref.frames.size();
      continue;
    }
    const cv::Mat& want = ref.frames[static_cast<std::size_t>(index)];
    if (frame.size() != want.size() || frame.type() != want.type()) {
      ADD_FAILURE() << "frame " << index << ": size or type differs from VideoCapture's";
      continue;
    }
    EXPECT_EQ(cv::norm(frame, want, cv::NORM_INF), 0.0) << "frame " << index << " of " << video;
  }
  return reader.frames_decoded();
}

class VideoReaderTest : public ::testing::Test {
 protected:
  void SetUp() override { quiet_opencv_logging(); }
  test::TempDir dir_;
};

TEST_F(VideoReaderTest, H264WithBFramesMatchesVideoCaptureAndSkipsFrames) {
  test::write_mjpg_avi(dir_ / "src.avi", 120, 30);
  // x264's veryfast preset: 3 B-frames with a B-pyramid, so about half the frames are
  // non-reference frames.
  ASSERT_TRUE(test::make_h264(dir_ / "src.avi", dir_ / "clip.mp4", "30000/1001"));
  VideoReader reader;
  std::string why;
  ASSERT_TRUE(reader.open(dir_ / "clip.mp4", why)) << why;
  EXPECT_TRUE(reader.can_skip());
  EXPECT_EQ(reader.frame_count(), 120);
  EXPECT_NEAR(reader.fps(), 30000.0 / 1001.0, 1e-9);

  const std::int64_t decoded = check_against_videocapture(dir_ / "clip.mp4", 10);
  // Frames up to the last wanted one (110) are read; non-reference frames among the others are
  // never decoded.
  EXPECT_LT(decoded, 100);
  EXPECT_GT(decoded, 20);
  // Every frame wanted: nothing can be skipped, and all still match.
  EXPECT_EQ(check_against_videocapture(dir_ / "clip.mp4", 1), 120);
}

TEST_F(VideoReaderTest, DeliveredFramesAreTheFramesTheirIndexNames) {
  test::write_mjpg_avi(dir_ / "src.avi", 60, 30);
  ASSERT_TRUE(test::make_h264(dir_ / "src.avi", dir_ / "clip.mp4", "25"));
  VideoReader reader;
  std::string why;
  ASSERT_TRUE(reader.open(dir_ / "clip.mp4", why)) << why;
  std::vector<std::int64_t> seen;
  ASSERT_TRUE(reader.decode(
      [](const std::vector<double>& times) {
        std::vector<bool> w(times.size(), false);
        for (std::size_t i = 3; i < w.size(); i += 7) w[i] = true;
        return w;
      },
      [&](std::int64_t index, const cv::Mat& bgr) {
        EXPECT_EQ(test::read_frame_code(bgr), index);
        seen.push_back(index);
      },
      why))
      << why;
  EXPECT_EQ(seen, (std::vector<std::int64_t>{3, 10, 17, 24, 31, 38, 45, 52, 59}));
}

TEST_F(VideoReaderTest, RotatedPhoneVideoMatchesVideoCapture) {
  // Phones store portrait video as landscape plus a display matrix; OpenCV turns the frames.
  test::write_mjpg_avi(dir_ / "src.avi", 40, 30);
  ASSERT_TRUE(test::make_h264(dir_ / "src.avi", dir_ / "clip.mp4", "30"));
  for (const char* angle : {"90", "270"}) {
    const fs::path rotated = dir_ / (std::string("rot") + angle + ".mp4");
    ASSERT_EQ(test::run_command("ffmpeg -v error -y -i '" + (dir_ / "clip.mp4").string() +
                                "' -c copy -metadata:s:v:0 rotate=" + angle + " '" +
                                rotated.string() + "'")
                  .exit_code,
              0);
    check_against_videocapture(rotated, 9);
  }
}

TEST_F(VideoReaderTest, RealVideoMatchesVideoCapture) {
  const fs::path vtest = test::opencv_data() / "vtest.avi";
  ASSERT_TRUE(fs::exists(vtest)) << vtest;
  // MS-MPEG4 v3, no B-frames: everything up to the last wanted frame is decoded.
  EXPECT_EQ(check_against_videocapture(vtest, 50), 751);
}

TEST_F(VideoReaderTest, ExtractFramesOnH264KeepsTheRightFramesWithoutDecodingAll) {
  test::write_mjpg_avi(dir_ / "src.avi", 90, 30);
  ASSERT_TRUE(test::make_h264(dir_ / "src.avi", dir_ / "clip.mp4", "30"));
  FramesOptions o;
  o.inputs = {dir_ / "clip.mp4"};
  o.out_dir = dir_ / "out";
  o.sampling.mode = SamplingMode::kFps;
  o.sampling.value = 1;
  const auto r = extract_frames(o);
  ASSERT_EQ(r.videos.size(), 1u);
  const auto& v = r.videos[0];
  EXPECT_FALSE(v.failed) << v.error;
  EXPECT_EQ(v.frames_decoded, 90);
  EXPECT_GT(v.frames_skipped_undecoded, 20);
  EXPECT_EQ(v.decoder, "libavcodec");
  std::vector<std::int64_t> kept;
  for (const auto& rec : v.records) {
    ASSERT_FALSE(rec.output.empty()) << rec.skip_reason;
    EXPECT_EQ(test::read_frame_code(o.out_dir / rec.output), rec.frame_index);
    kept.push_back(rec.frame_index);
  }
  EXPECT_EQ(kept, (std::vector<std::int64_t>{0, 30, 60}));
  const std::string csv = read_file(o.out_dir / "frames.csv");
  const std::string video = (dir_ / "clip.mp4").generic_string();
  EXPECT_NE(csv.find(video + ",30,1.000,clip_frame_000030.jpg,\n"), std::string::npos) << csv;
}

TEST_F(VideoReaderTest, DamagedStreamGoesToVideoCaptureAndLeavesOnlyItsFrames) {
  test::write_mjpg_avi(dir_ / "src.avi", 90, 30);
  ASSERT_TRUE(test::make_h264(dir_ / "src.avi", dir_ / "clip.mp4", "30"));
  // Garbage over 20 stretches of the middle third (the container index stays intact).
  std::string bytes = read_file(dir_ / "clip.mp4");
  ASSERT_GT(bytes.size(), 400000u);
  std::uint32_t x = 12345;
  for (std::size_t k = 0; k < 20; ++k) {
    for (std::size_t j = 0; j < 50; ++j) {
      x = x * 1664525u + 1013904223u;
      bytes[bytes.size() / 3 + k * 8000 + j] = static_cast<char>(x >> 24);
    }
  }
  write_file_atomic(dir_ / "damaged.mp4", bytes);
  FramesOptions o;
  o.inputs = {dir_ / "damaged.mp4"};
  o.out_dir = dir_ / "out";
  o.sampling.mode = SamplingMode::kEvery;
  o.sampling.value = 10;
  o.keep_blank = true;
  const auto r = extract_frames(o);
  const auto& v = r.videos[0];
  EXPECT_EQ(v.decoder.rfind("opencv (", 0), 0u) << v.decoder;
  // Every file in the folder is one frames.csv names, once: nothing left from the first attempt.
  std::set<std::string> listed;
  for (const auto& rec : v.records) {
    if (!rec.output.empty()) {
      EXPECT_TRUE(listed.insert(rec.output).second) << rec.output;
    }
  }
  std::set<std::string> present;
  for (const auto& e : fs::directory_iterator(o.out_dir)) {
    if (e.path().filename() != "frames.csv") present.insert(e.path().filename().string());
  }
  EXPECT_EQ(present, listed);
  EXPECT_EQ(v.kept, static_cast<std::int64_t>(listed.size()));
}

TEST_F(VideoReaderTest, DeclinesWhatItCannotReproduce) {
  VideoReader reader;
  std::string why;
  write_file_atomic(dir_ / "empty.mp4", "");
  EXPECT_FALSE(reader.open(dir_ / "empty.mp4", why));
  write_file_atomic(dir_ / "text.mp4", "this is not a video\n");
  EXPECT_FALSE(reader.open(dir_ / "text.mp4", why));
  EXPECT_FALSE(reader.open(dir_ / "missing.mp4", why));
  // MPEG-4 part 2 in AVI with packed B-frames: packets without timestamps.
  const fs::path megamind = test::opencv_data() / "Megamind.avi";
  ASSERT_TRUE(fs::exists(megamind));
  EXPECT_FALSE(reader.open(megamind, why));
  EXPECT_NE(why.find("timestamp"), std::string::npos) << why;
  // A truncated MJPG AVI: fewer packets than the header announces.
  test::write_mjpg_avi(dir_ / "clip.avi", 60, 30);
  const std::string full = read_file(dir_ / "clip.avi");
  write_file_atomic(dir_ / "cut.avi", std::string_view(full).substr(0, full.size() / 2));
  EXPECT_FALSE(reader.open(dir_ / "cut.avi", why));
  EXPECT_TRUE(reader.open(dir_ / "clip.avi", why)) << why;
  EXPECT_FALSE(reader.can_skip());
  EXPECT_EQ(reader.frame_count(), 60);
}

}  // namespace
}  // namespace qcal::dataset
