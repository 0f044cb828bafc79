// Image quality: the sub-scores order generated images whose sharpness and brightness order is
// known; header parsing; weights parsing; unreadable files are errors naming the image.
#include "dataset/image_quality.hpp"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "test_support.hpp"
#include "unit/dataset/video_fixtures.hpp"

namespace qcal::dataset {
namespace {

std::filesystem::path write_jpeg(const test::TempDir& dir, const std::string& name,
                                 const cv::Mat& img) {
  const auto path = dir / name;
  EXPECT_TRUE(cv::imwrite(path.string(), img, {cv::IMWRITE_JPEG_QUALITY, 95}));
  return path;
}

// A detailed 1280x960 scene: texture plus lines and text.
cv::Mat detailed_scene() {
  cv::Mat img = test::make_texture(7, 1280, 960);
  for (int i = 0; i < 40; ++i) {
    cv::line(img, cv::Point(i * 32, 0), cv::Point(1279 - i * 20, 959),
             cv::Scalar(20 * (i % 12), 40, 240), 2);
  }
  cv::putText(img, "qcal calibration", cv::Point(100, 500), cv::FONT_HERSHEY_SIMPLEX, 4,
              cv::Scalar(10, 10, 10), 6);
  return img;
}

TEST(ImageQuality, SharpnessFollowsBlur) {
  test::TempDir dir;
  const cv::Mat scene = detailed_scene();
  double previous = 101.0;
  for (double sigma : {0.0, 1.5, 3.0, 6.0}) {
    cv::Mat img = scene.clone();
    if (sigma > 0) cv::GaussianBlur(scene, img, cv::Size(0, 0), sigma);
    const auto path =
        write_jpeg(dir, "blur" + std::to_string(static_cast<int>(sigma * 10)) + ".jpg", img);
    const auto m = measure_image(path, nullptr);
    EXPECT_EQ(m.width, 1280);
    EXPECT_EQ(m.height, 960);
    EXPECT_EQ(m.analysis_scale, 2);  // 1280 / 2 = 640 >= kAnalysisLongSide
    const auto s = score_measures(m, 640, 640);
    EXPECT_LT(s.sharpness, previous) << "sigma " << sigma;
    previous = s.sharpness;
  }
}

TEST(ImageQuality, BrightnessPenalisesUnderAndOverExposure) {
  test::TempDir dir;
  const cv::Mat scene = detailed_scene();
  auto score_at = [&](double gain, double offset, const std::string& name) {
    cv::Mat img;
    scene.convertTo(img, -1, gain, offset);
    const auto m = measure_image(write_jpeg(dir, name, img), nullptr);
    return std::make_pair(m.mean_luma, score_measures(m, 640, 640).brightness);
  };
  const auto dark = score_at(0.15, 0, "dark.jpg");
  const auto dim = score_at(0.4, 0, "dim.jpg");
  const auto mid = score_at(1.0, 0, "mid.jpg");
  const auto bright = score_at(0.3, 190, "bright.jpg");
  EXPECT_LT(dark.first, dim.first);
  EXPECT_LT(dark.second, dim.second);
  EXPECT_LT(dim.second, mid.second);
  EXPECT_DOUBLE_EQ(mid.second, 100.0);
  EXPECT_LT(bright.second, mid.second);
}

TEST(ImageQuality, ContrastResolutionColourfulness) {
  test::TempDir dir;
  const cv::Mat scene = detailed_scene();
  cv::Mat flat;
  scene.convertTo(flat, -1, 0.2, 100);
  const auto full = measure_image(write_jpeg(dir, "full.jpg", scene), nullptr);
  const auto low = measure_image(write_jpeg(dir, "low.jpg", flat), nullptr);
  EXPECT_GT(score_measures(full, 640, 640).contrast, score_measures(low, 640, 640).contrast);

  cv::Mat small;
  cv::resize(scene, small, cv::Size(320, 240), 0, 0, cv::INTER_AREA);
  const auto sm = measure_image(write_jpeg(dir, "small.jpg", small), nullptr);
  EXPECT_EQ(sm.analysis_scale, 1);
  EXPECT_DOUBLE_EQ(score_measures(sm, 640, 640).resolution, 50.0);  // max(320/640, 240/640)
  EXPECT_DOUBLE_EQ(score_measures(full, 640, 640).resolution, 100.0);

  cv::Mat gray, gray3;
  cv::cvtColor(scene, gray, cv::COLOR_BGR2GRAY);
  cv::cvtColor(gray, gray3, cv::COLOR_GRAY2BGR);
  const auto mono = measure_image(write_jpeg(dir, "mono.jpg", gray3), nullptr);
  EXPECT_LT(score_measures(mono, 640, 640).colorfulness, 5.0);
  EXPECT_GT(score_measures(full, 640, 640).colorfulness, 50.0);
}

TEST(ImageQuality, PngAndJpegAgreeOnSizeAndScale) {
  test::TempDir dir;
  const cv::Mat scene = detailed_scene();
  const auto png = dir / "scene.png";
  ASSERT_TRUE(cv::imwrite(png.string(), scene));
  std::vector<std::uint8_t> desc;
  const auto m = measure_image(png, &desc);
  EXPECT_EQ(m.width, 1280);
  EXPECT_EQ(m.height, 960);
  EXPECT_EQ(m.analysis_scale, 2);
  EXPECT_EQ(desc.size(), static_cast<std::size_t>(kDescriptorSide * kDescriptorSide * 3));
  int w = 0, h = 0;
  EXPECT_TRUE(read_image_size(read_file(png), w, h));
  EXPECT_EQ(w, 1280);
  EXPECT_EQ(h, 960);
  EXPECT_TRUE(read_image_size(read_file(write_jpeg(dir, "s.jpg", scene)), w, h));
  EXPECT_EQ(w, 1280);
  EXPECT_FALSE(read_image_size("not an image", w, h));
}

TEST(ImageQuality, MeasuresAreDeterministic) {
  test::TempDir dir;
  const auto path = write_jpeg(dir, "a.jpg", detailed_scene());
  const auto a = measure_image(path, nullptr);
  const auto b = measure_image(path, nullptr);
  EXPECT_EQ(a.laplacian_var, b.laplacian_var);
  EXPECT_EQ(a.colorfulness, b.colorfulness);
}

TEST(ImageQuality, UnreadableImagesAreErrorsNamingTheFile) {
  test::TempDir dir;
  write_file_atomic(dir / "text.jpg", "this is not a jpeg");
  write_file_atomic(dir / "empty.png", "");
  std::string jpeg = read_file(write_jpeg(dir, "good.jpg", detailed_scene()));
  write_file_atomic(dir / "header_only.jpg", jpeg.substr(0, 200));
  write_file_atomic(dir / "half.jpg", jpeg.substr(0, jpeg.size() / 2));
  // Data after the end-of-image marker (motion photos append a video) is fine.
  write_file_atomic(dir / "trailer.jpg", jpeg + "appended data");
  EXPECT_NO_THROW(measure_image(dir / "trailer.jpg", nullptr));
  // A good image first: per-thread buffers must never let a bad file be scored as the last one.
  measure_image(dir / "good.jpg", nullptr);
  for (const char* name : {"text.jpg", "empty.png", "header_only.jpg", "half.jpg", "missing.jpg"}) {
    try {
      measure_image(dir / name, nullptr);
      ADD_FAILURE() << name << " did not throw";
    } catch (const Error& e) {
      EXPECT_NE(e.describe().find(name), std::string::npos) << e.describe();
    }
  }
}

TEST(ImageQuality, WeightsParseAndNormalise) {
  const auto w = parse_weights("35,20,20,15,10");
  EXPECT_DOUBLE_EQ(w.sharpness, 35);
  EXPECT_DOUBLE_EQ(w.colorfulness, 10);
  SubScores s{100, 0, 0, 0, 0};
  EXPECT_DOUBLE_EQ(total_score(s, w), 35.0);
  EXPECT_DOUBLE_EQ(total_score(s, parse_weights("1,0,0,0,0")), 100.0);
  EXPECT_THROW(parse_weights("1,2,3"), Error);
  EXPECT_THROW(parse_weights("1,2,3,4,x"), Error);
  EXPECT_THROW(parse_weights("0,0,0,0,0"), Error);
  EXPECT_THROW(parse_weights("-1,2,3,4,5"), Error);
}

}  // namespace
}  // namespace qcal::dataset
