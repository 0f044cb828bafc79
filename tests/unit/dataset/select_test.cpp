// Selection: strategies on known scores, the shortfall message, and the whole verb on generated
// images whose sharpness order is known (outputs, analysis JSON, README, determinism).
#include "dataset/select.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "test_support.hpp"
#include "unit/dataset/video_fixtures.hpp"

namespace fs = std::filesystem;

namespace qcal::dataset {
namespace {

std::vector<double> ramp(std::size_t n) {
  std::vector<double> s;
  for (std::size_t i = 0; i < n; ++i)
    s.push_back(static_cast<double>((i * 37) % n));  // a permutation
  return s;
}

TEST(Choose, TopTakesTheBest) {
  const auto scores = ramp(20);
  const auto picked = choose(scores, {}, 3, Strategy::kTop, 1, nullptr);
  std::set<double> got;
  for (auto p : picked) got.insert(scores[p]);
  EXPECT_EQ(got, (std::set<double>{17, 18, 19}));
}

TEST(Choose, HybridIsHalfBestHalfStratified) {
  const auto scores = ramp(100);
  std::vector<std::string> reasons;
  const auto picked = choose(scores, {}, 10, Strategy::kHybrid, 42, &reasons);
  ASSERT_EQ(picked.size(), 10u);
  std::vector<double> got;
  for (auto p : picked) got.push_back(scores[p]);
  std::sort(got.begin(), got.end(), std::greater<>());
  // The best five are 99..95; the rest come one from each fifth of the remaining 95 (scores
  // 94..76, 75..57, 56..38, 37..19, 18..0).
  for (int i = 0; i < 5; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], 99 - i);
  for (int j = 0; j < 5; ++j) {
    const double hi = 94 - 19 * j;
    EXPECT_LE(got[static_cast<std::size_t>(5 + j)], hi);
    EXPECT_GE(got[static_cast<std::size_t>(5 + j)], hi - 18);
  }
  EXPECT_EQ(picked, choose(scores, {}, 10, Strategy::kHybrid, 42, nullptr));  // seeded
  EXPECT_NE(picked, choose(scores, {}, 10, Strategy::kHybrid, 43, nullptr));
  EXPECT_EQ(reasons.size(), 10u);
}

TEST(Choose, UniformIsSeededAndDistinct) {
  const auto scores = ramp(50);
  const auto a = choose(scores, {}, 20, Strategy::kUniform, 7, nullptr);
  EXPECT_EQ(a, choose(scores, {}, 20, Strategy::kUniform, 7, nullptr));
  EXPECT_EQ(std::set<std::size_t>(a.begin(), a.end()).size(), 20u);
}

TEST(Choose, DiverseAvoidsNearDuplicates) {
  // Three clusters of near-identical descriptors; three picks must take one from each.
  std::vector<std::uint8_t> table;
  std::vector<double> scores;
  for (int cluster = 0; cluster < 3; ++cluster) {
    for (int k = 0; k < 5; ++k) {
      table.insert(table.end(), 6, static_cast<std::uint8_t>(100 * cluster + k));
      scores.push_back(cluster == 0 ? 90 - k : 50 - k);  // cluster 0 holds all the best scores
    }
  }
  std::vector<std::string> reasons;
  const auto picked = choose(scores, {table, 6}, 3, Strategy::kDiverse, 1, &reasons);
  std::set<std::size_t> clusters;
  for (auto p : picked) clusters.insert(p / 5);
  EXPECT_EQ(clusters.size(), 3u);
  EXPECT_EQ(picked[0], 0u);  // the best image starts the walk
  // Step 2 takes the farthest from value 0 (value 204, index 14): distance sqrt(6 * 204^2) / 255
  // on the 0..1 scale; step 3 the middle of cluster 1 (value 102, index 7).
  EXPECT_EQ(picked, (std::vector<std::size_t>{0, 7, 14}));
  EXPECT_NE(reasons[2].find("step 2, descriptor distance 1.9596"), std::string::npos) << reasons[2];
}

TEST(Choose, DiverseTiesGoToTheBetterRank) {
  // Candidates 1 and 2 are equally far from candidate 0 (the best); 2 ranks better than 1.
  const std::vector<std::uint8_t> table = {0, 0, 10, 0, 0, 10};
  const auto picked = choose({90, 10, 20}, {table, 2}, 2, Strategy::kDiverse, 1, nullptr);
  EXPECT_EQ(picked, (std::vector<std::size_t>{0, 2}));
}

TEST(ThresholdFor, GivesN) {
  EXPECT_DOUBLE_EQ(threshold_for({50.06, 80, 30.99, 70}, 3), 50.0);
  EXPECT_LT(threshold_for({1, 2}, 3), 0);
}

// A folder of images whose sharpness order is known: blur sigma i/2 for image i.
void make_blur_folder(const fs::path& dir, int count) {
  fs::create_directories(dir / "sub");
  cv::Mat scene = test::make_texture(3, 800, 600);
  for (int i = 0; i < 30; ++i) {
    cv::line(scene, cv::Point(i * 27, 0), cv::Point(799 - i * 11, 599),
             cv::Scalar(250, 30, 30 + 7 * i), 2);
  }
  for (int i = 0; i < count; ++i) {
    cv::Mat img = scene.clone();
    if (i > 0) cv::GaussianBlur(scene, img, cv::Size(0, 0), 0.5 * i);
    const fs::path p = dir / (i % 2 ? "sub" : "") / ("img_" + std::to_string(100 + i) + ".jpg");
    ASSERT_TRUE(cv::imwrite(p.string(), img, {cv::IMWRITE_JPEG_QUALITY, 92}));
  }
}

TEST(SelectCalibrationSet, TopPicksTheSharpestAndWritesEverything) {
  test::TempDir dir;
  make_blur_folder(dir / "src", 10);
  write_file_atomic(dir / "src" / "broken.jpg", "not a jpeg");
  SelectOptions o;
  o.src_dir = dir / "src";
  o.out_dir = dir / "out";
  o.n = 3;
  o.threshold = 0;
  o.strategy = Strategy::kTop;
  o.command_line = "qcal select src -o out -n 3";
  o.working_dir = dir.path().string();
  const auto r = select_calibration_set(o);
  EXPECT_EQ(r.images.size(), 11u);
  EXPECT_EQ(r.readable, 10u);
  EXPECT_EQ(r.selected, 3u);
  for (const char* name : {"img_100.jpg", "img_101.jpg", "img_102.jpg"}) {
    EXPECT_TRUE(fs::is_regular_file(dir / "out" / name)) << name;
  }
  EXPECT_FALSE(fs::exists(dir / "out" / "img_103.jpg"));
  // Copies are byte-identical to their sources.
  EXPECT_EQ(read_file(dir / "out" / "img_101.jpg"), read_file(dir / "src" / "sub" / "img_101.jpg"));
  const auto j = nlohmann::json::parse(read_file(dir / "out" / "calibration_analysis.json"));
  EXPECT_EQ(j["counts"]["unreadable"], 1);
  EXPECT_EQ(j["unreadable"][0]["path"], "broken.jpg");
  EXPECT_EQ(j["images"].size(), 10u);
  EXPECT_EQ(j["selected"].size(), 3u);
  EXPECT_EQ(j["parameters"]["strategy"], "top");
  const std::string readme = read_file(dir / "out" / "README.md");
  EXPECT_NE(readme.find("qcal select src -o out -n 3"), std::string::npos);
  // Sharpness falls with blur along the folder.
  double previous = 101;
  for (int i = 0; i < 10; ++i) {
    const std::string rel =
        std::string(i % 2 ? "sub/" : "") + "img_" + std::to_string(100 + i) + ".jpg";
    for (const auto& img : j["images"]) {
      if (img["path"] == rel) {
        EXPECT_LT(img["scores"]["sharpness"].get<double>(), previous) << rel;
        previous = img["scores"]["sharpness"].get<double>();
      }
    }
  }
}

TEST(SelectCalibrationSet, BrightnessWeightPrefersWellExposedImages) {
  // Exposure order known: gains 0.1 (dark) .. 1.0 (well exposed) .. then washed out.
  test::TempDir dir;
  fs::create_directories(dir / "src");
  const cv::Mat scene = test::make_texture(9, 640, 480);
  const std::vector<std::pair<double, double>> exposures = {
      {0.1, 0}, {0.3, 0}, {1.0, 0}, {0.9, 10}, {0.3, 200}};
  for (std::size_t i = 0; i < exposures.size(); ++i) {
    cv::Mat img;
    scene.convertTo(img, -1, exposures[i].first, exposures[i].second);
    ASSERT_TRUE(cv::imwrite((dir / "src" / ("e" + std::to_string(i) + ".jpg")).string(), img));
  }
  SelectOptions o;
  o.src_dir = dir / "src";
  o.out_dir = dir / "out";
  o.n = 2;
  o.threshold = 0;
  o.strategy = Strategy::kTop;
  o.weights = parse_weights("0,1,0,0,0");
  const auto r = select_calibration_set(o);
  std::set<std::string> chosen;
  for (const auto& img : r.images) {
    if (img.selected) chosen.insert(img.relative);
  }
  EXPECT_EQ(chosen, (std::set<std::string>{"e2.jpg", "e3.jpg"}));
  // Darker images score lower.
  EXPECT_LT(r.images[0].scores.brightness, r.images[1].scores.brightness);
  EXPECT_LT(r.images[1].scores.brightness, r.images[2].scores.brightness);
  EXPECT_LT(r.images[4].scores.brightness, r.images[2].scores.brightness);
}

TEST(SelectCalibrationSet, FewerThanNPassIsAnErrorSayingWhichThresholdWouldDo) {
  test::TempDir dir;
  make_blur_folder(dir / "src", 6);
  SelectOptions o;
  o.src_dir = dir / "src";
  o.out_dir = dir / "out";
  o.n = 4;
  o.threshold = 99.9;
  try {
    select_calibration_set(o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("only 0 of 6 readable images score at least 99.9"),
              std::string::npos)
        << e.message();
    EXPECT_NE(e.message().find("--threshold "), std::string::npos);
    EXPECT_NE(e.message().find(" would give 4"), std::string::npos);
  }
  o.allow_fewer = true;
  o.threshold = 0;
  o.n = 10;
  const auto r = select_calibration_set(o);
  EXPECT_TRUE(r.fewer_than_requested);
  EXPECT_EQ(r.selected, 6u);
}

TEST(SelectCalibrationSet, SameBytesWhateverTheThreadCount) {
  test::TempDir dir;
  make_blur_folder(dir / "src", 12);
  std::string analysis[2];
  for (int t = 0; t < 2; ++t) {
    SelectOptions o;
    o.src_dir = dir / "src";
    o.out_dir = dir / ("out" + std::to_string(t));
    o.n = 5;
    o.threshold = 0;
    o.strategy = Strategy::kDiverse;
    o.threads = t == 0 ? 1 : 4;
    o.working_dir = "w";
    select_calibration_set(o);
    analysis[t] = read_file(o.out_dir / "calibration_analysis.json");
    // output paths differ by design; drop the line that names the folder
    analysis[t].erase(analysis[t].find("\"output\": \""),
                      analysis[t].find('\n', analysis[t].find("\"output\": \"")) -
                          analysis[t].find("\"output\": \""));
  }
  EXPECT_EQ(analysis[0], analysis[1]);
}

TEST(SelectCalibrationSet, OutDirRulesAndLinks) {
  test::TempDir dir;
  make_blur_folder(dir / "src", 4);
  fs::create_directories(dir / "busy");
  write_file_atomic(dir / "busy" / "mine.txt", "x");
  SelectOptions o;
  o.src_dir = dir / "src";
  o.out_dir = dir / "busy";
  o.n = 2;
  o.threshold = 0;
  EXPECT_THROW(select_calibration_set(o), Error);
  EXPECT_TRUE(fs::exists(dir / "busy" / "mine.txt"));
  // A previous selection is replaced, so the reproducing command can be rerun.
  o.out_dir = dir / "out";
  o.link = true;
  select_calibration_set(o);
  o.strategy = Strategy::kTop;
  const auto r = select_calibration_set(o);
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(o.out_dir)) {
    ++entries;
    if (e.path().extension() == ".jpg") {
      EXPECT_TRUE(fs::is_symlink(e.symlink_status()));
    }
  }
  EXPECT_EQ(entries, r.selected + 2);
}

TEST(SelectCalibrationSet, OutDirInsideSrcIsNotScoredAgainAndFailuresKeepThePrevious) {
  test::TempDir dir;
  make_blur_folder(dir / "src", 5);
  SelectOptions o;
  o.src_dir = dir / "src";
  o.out_dir = dir / "src" / "calib";
  o.n = 3;
  o.threshold = 0;
  EXPECT_EQ(select_calibration_set(o).images.size(), 5u);
  EXPECT_EQ(select_calibration_set(o).images.size(), 5u);  // the copies in calib/ are skipped
  o.threshold = 100;
  EXPECT_THROW(select_calibration_set(o), Error);
  // The failed run left the previous selection in place.
  EXPECT_TRUE(fs::exists(o.out_dir / "calibration_analysis.json"));
  EXPECT_TRUE(fs::exists(o.out_dir / "img_100.jpg"));
}

}  // namespace
}  // namespace qcal::dataset

namespace qcal::dataset {
namespace {

// --holdout N: a seeded split into its own folder, disjoint from the selection, the same for
// the same seed, listed in holdout.json and in the analysis; a rerun replaces it.
TEST(SelectHoldout, SeededDisjointSplitInItsOwnFolder) {
  test::TempDir dir;
  make_blur_folder(dir / "src", 10);
  SelectOptions o;
  o.src_dir = dir / "src";
  o.out_dir = dir / "calib";
  o.n = 4;
  o.threshold = 0;
  o.holdout = 3;
  const auto r = select_calibration_set(o);
  EXPECT_EQ(r.selected, 4u);
  EXPECT_EQ(r.held_out, 3u);
  EXPECT_EQ(r.holdout_dir, dir / "calib_holdout");
  std::set<std::string> held, chosen;
  for (const auto& img : r.images) {
    if (img.held_out) held.insert(img.relative);
    if (img.selected) chosen.insert(img.relative);
    EXPECT_FALSE(img.held_out && img.selected) << img.relative;
  }
  EXPECT_EQ(held.size(), 3u);
  const auto j = nlohmann::json::parse(read_file(dir / "calib_holdout" / "holdout.json"));
  ASSERT_EQ(j["images"].size(), 3u);
  for (const auto& e : j["images"]) {
    EXPECT_TRUE(held.count(e["path"].get<std::string>()));
    EXPECT_TRUE(fs::is_regular_file(dir / "calib_holdout" / e["output"].get<std::string>()));
  }
  const auto a = nlohmann::json::parse(read_file(dir / "calib" / "calibration_analysis.json"));
  EXPECT_EQ(a["counts"]["held_out"], 3);
  // The same seed, the same split (and the folders of a previous run are replaced, not mixed).
  const auto again = select_calibration_set(o);
  for (std::size_t i = 0; i < r.images.size(); ++i) {
    EXPECT_EQ(r.images[i].held_out, again.images[i].held_out) << r.images[i].relative;
  }
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir / "calib_holdout")) files += e.is_regular_file();
  EXPECT_EQ(files, 4u);  // 3 images + holdout.json
  // Another seed draws another split.
  o.seed = 7;
  const auto other = select_calibration_set(o);
  std::set<std::string> held7;
  for (const auto& img : other.images) {
    if (img.held_out) held7.insert(img.relative);
  }
  EXPECT_NE(held, held7);
}

TEST(SelectHoldout, RefusesFoldersThatWouldMix) {
  test::TempDir dir;
  make_blur_folder(dir / "src", 6);
  SelectOptions o;
  o.src_dir = dir / "src";
  o.out_dir = dir / "calib";
  o.n = 2;
  o.threshold = 0;
  o.holdout = 2;
  o.holdout_dir = dir / "calib" / "held";
  EXPECT_THROW(select_calibration_set(o), Error);  // inside the calibration folder
  o.holdout_dir.clear();
  o.holdout = 6;
  EXPECT_THROW(select_calibration_set(o), Error);  // nothing left to select from
}

}  // namespace
}  // namespace qcal::dataset
