// Sharded select: scores files of N = 1, 2, 3 shards reduce to the same selection, analysis
// and README as one run over the folder, for every strategy; bad shard sets are refused.
#include <gtest/gtest.h>

#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "dataset/select.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace qcal::dataset {
namespace {

// Images with distinct sharpness and colour, in two folders, and one that cannot be read.
void make_folder(const fs::path& dir, int count) {
  fs::create_directories(dir / "b");
  for (int i = 0; i < count; ++i) {
    cv::Mat img(240, 320, CV_8UC3, cv::Scalar(40 + 20 * i, 200 - 25 * i, 90 + 13 * (i % 3)));
    for (int k = 0; k < 12; ++k) {
      cv::line(img, cv::Point(k * 25, 0), cv::Point(319 - k * 9 * (i + 1) % 320, 239),
               cv::Scalar(250 - 30 * k % 200, 20 * k % 255, 60 + 15 * i), 2);
    }
    if (i % 3) cv::GaussianBlur(img, img, cv::Size(0, 0), 0.4 * i);
    const fs::path p = dir / (i % 2 ? "b" : "") / ("f_" + std::to_string(i) + ".jpg");
    ASSERT_TRUE(cv::imwrite(p.string(), img, {cv::IMWRITE_JPEG_QUALITY, 90}));
  }
  write_file_atomic(dir / "b" / "broken.jpg", "not a jpeg");
}

std::map<std::string, std::string> folder_bytes(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    out[e.path().filename().string()] = read_file(e.path());
  }
  return out;
}

// The scores files of N shards, named in reverse order (the reduce sorts them).
std::vector<fs::path> score_shards(const SelectOptions& base, const fs::path& dir, int n,
                                   std::size_t listed) {
  std::vector<fs::path> files;
  for (int i = n - 1; i >= 0; --i) {
    SelectOptions o = base;
    o.shard = Shard{static_cast<std::size_t>(i), static_cast<std::size_t>(n), "test"};
    files.push_back(dir / ("s" + std::to_string(n) + "_" + std::to_string(i) + ".qsc"));
    const auto r = score_images(o, files.back());
    EXPECT_EQ(r.listed, listed);
  }
  return files;
}

TEST(SelectShards, ReduceEqualsOneRunForEveryStrategyAndShardCount) {
  test::TempDir dir;
  make_folder(dir / "src", 8);
  SelectOptions base;
  base.src_dir = dir / "src";
  base.n = 4;
  base.threshold = 0;
  base.threads = 2;
  base.working_dir = "/work";
  base.input_width = 320;
  base.input_height = 320;
  std::map<int, std::vector<fs::path>> shards;
  for (int n : {1, 2, 3}) shards[n] = score_shards(base, dir.path(), n, 9);
  for (Strategy strategy :
       {Strategy::kHybrid, Strategy::kTop, Strategy::kUniform, Strategy::kDiverse}) {
    SelectOptions one = base;
    one.strategy = strategy;
    one.out_dir = dir / (std::string("one_") + strategy_name(strategy));
    const auto whole = select_calibration_set(one);
    EXPECT_EQ(whole.selected, 4u);
    const auto expected = folder_bytes(one.out_dir);
    EXPECT_EQ(expected.size(), 6u);
    for (int n : {1, 2, 3}) {
      SelectOptions reduce = one;
      reduce.src_dir.clear();  // comes from the scores files
      reduce.weights = {};
      const fs::path out = dir / ("r_" + std::to_string(n) + strategy_name(strategy));
      // The analysis names its output folder: reduce into a folder of the same name.
      fs::remove_all(one.out_dir);
      const auto r = select_from_scores(reduce, shards[n]);
      EXPECT_EQ(r.readable, whole.readable);
      EXPECT_EQ(r.images.size(), 9u);
      EXPECT_EQ(folder_bytes(one.out_dir), expected) << strategy_name(strategy) << " N=" << n;
    }
  }
}

std::string reduce_error(const std::vector<fs::path>& files, const fs::path& out) {
  SelectOptions o;
  o.out_dir = out;
  o.n = 2;
  o.threshold = 0;
  try {
    select_from_scores(o, files);
  } catch (const Error& e) {
    return e.message() + " | " + e.what();
  }
  return "no error";
}

TEST(SelectShards, RefusesIncompleteMixedOrCorruptShards) {
  test::TempDir dir;
  make_folder(dir / "src", 4);
  SelectOptions base;
  base.src_dir = dir / "src";
  const auto three = score_shards(base, dir.path(), 3, 5);  // files of shards 2, 1, 0
  const fs::path out = dir / "out";
  EXPECT_NE(reduce_error({three[0], three[1]}, out).find("2 of 3 shards"), std::string::npos);
  EXPECT_NE(reduce_error({three[2], three[1], three[1]}, out).find("shard 1 of 3 is given twice"),
            std::string::npos);
  SelectOptions other = base;
  other.weights.sharpness = 1;
  other.shard = Shard{1, 3, "test"};
  score_images(other, dir / "w1.qsc");
  EXPECT_NE(reduce_error({three[0], dir / "w1.qsc", three[2]}, out).find("other --weights"),
            std::string::npos);
  std::string bytes = read_file(three[1]);
  bytes[bytes.size() - 30] ^= 0x55;
  write_file_atomic(dir / "bad.qsc", bytes);
  EXPECT_NE(reduce_error({three[0], dir / "bad.qsc", three[2]}, out).find("CRC mismatch"),
            std::string::npos);
  write_file_atomic(dir / "short.qsc", bytes.substr(0, 40));
  EXPECT_NE(reduce_error({dir / "short.qsc"}, out).find("truncated"), std::string::npos);
  EXPECT_NE(reduce_error({dir / "src" / "f_0.jpg"}, out).find("bad magic"), std::string::npos);
  EXPECT_FALSE(fs::exists(out / "calibration_analysis.json"));
}

}  // namespace
}  // namespace qcal::dataset
