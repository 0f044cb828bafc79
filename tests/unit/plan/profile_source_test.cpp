// Profile-to-video resolution: stem matching, ambiguity and misses with candidates, input size.
#include "plan/profile_source.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "test_support.hpp"

namespace qcal::plan {
namespace {

namespace fs = std::filesystem;

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

struct Dir {
  test::TempDir tmp;
  Dir() {
    fs::create_directories(tmp / "videos/sub");
    write_file_atomic(tmp / "videos/YOLOvideo.MP4", "x");  // resolution never opens the videos
    write_file_atomic(tmp / "videos/sub/street.mov", "x");
    write_file_atomic(tmp / "videos/notes.txt", "x");
  }
  fs::path csv(const std::string& text) const {
    write_file_atomic(tmp / "runs.csv", text);
    return tmp / "runs.csv";
  }
};

TEST(ProfileSource, ResolvesByStemAnyExtensionAndCase) {
  Dir d;
  auto csv = d.csv(
      "engine_name,engine_shape,frame_source_name,trt_latency_ms\n"
      "a_fp16,\"[1, 3, 640, 640]\",yolovideo,1\n"
      "a_int8,\"[1, 3, 640, 640]\",YOLOvideo,1\n"
      "b_fp16,1x480x640x3,street.MOV,1\n"
      ",,,\n");
  ProfileSources s = resolve_profile_sources({csv}, d.tmp / "videos");
  ASSERT_EQ(s.sources.size(), 3u);  // two spellings of one video are two names
  EXPECT_EQ(s.rows_read, 4u);
  EXPECT_EQ(s.rows_without_source, 1u);
  const ProfileSource& upper = s.sources[0];  // sorted by name: "YOLOvideo" < "street.MOV"
  EXPECT_EQ(upper.name, "YOLOvideo");
  EXPECT_EQ(upper.video.filename(), "YOLOvideo.MP4");
  EXPECT_EQ(*upper.input_height, 640);
  EXPECT_EQ(*upper.input_width, 640);
  EXPECT_EQ(upper.engines, (std::vector<std::string>{"a_int8"}));
  const ProfileSource& street = s.sources[1];
  EXPECT_EQ(street.video.filename(), "street.mov");
  EXPECT_EQ(*street.input_height, 480);  // NHWC
  EXPECT_EQ(*street.input_width, 640);
  auto j = nlohmann::json::parse(format_profile_sources_json(s));
  EXPECT_EQ(j["sources"][0]["input_width"], 640);
}

TEST(ProfileSource, NoMatchAndSeveralMatchesListCandidates) {
  Dir d;
  try {
    resolve_profile_sources({d.csv("frame_source_name\nparking_lot\n")}, d.tmp / "videos");
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(has(e.describe(), "'parking_lot' matches no video")) << e.describe();
    EXPECT_TRUE(has(e.describe(), "YOLOvideo.MP4")) << e.describe();
    EXPECT_TRUE(has(e.describe(), "street.mov")) << e.describe();
    EXPECT_FALSE(has(e.describe(), "notes.txt"));
  }
  write_file_atomic(d.tmp / "videos/sub/yolovideo.avi", "x");
  try {
    resolve_profile_sources({d.csv("frame_source_name\nYOLOvideo\n")}, d.tmp / "videos");
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(has(e.describe(), "matches several videos")) << e.describe();
    EXPECT_TRUE(has(e.describe(), "YOLOvideo.MP4"));
    EXPECT_TRUE(has(e.describe(), "yolovideo.avi"));
  }
}

TEST(ProfileSource, MissingColumnFolderOrSourcesAreErrors) {
  Dir d;
  EXPECT_THROW(resolve_profile_sources({d.csv("engine_name\nx\n")}, d.tmp / "videos"), Error);
  EXPECT_THROW(resolve_profile_sources({d.csv("frame_source_name\n\n,\n")}, d.tmp / "videos"),
               Error);
  EXPECT_THROW(resolve_profile_sources({d.csv("frame_source_name\nYOLOvideo\n")}, d.tmp / "none"),
               Error);
}

TEST(ProfileSource, InputSizeUnknownWhenShapesDisagreeOrLayoutUnclear) {
  Dir d;
  ProfileSources s =
      resolve_profile_sources({d.csv("engine_shape,frame_source_name\n\"[1,3,640,640]\","
                                     "YOLOvideo\n\"[1,3,320,320]\",YOLOvideo\n"
                                     "\"[1,3,3,3]\",street\n")},
                              d.tmp / "videos");
  EXPECT_EQ(s.sources[0].shapes.size(), 2u);
  EXPECT_FALSE(s.sources[0].input_width);
  EXPECT_FALSE(s.sources[1].input_width);
}

}  // namespace
}  // namespace qcal::plan
