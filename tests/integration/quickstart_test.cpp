// The README's main job end to end: vtest.avi -> frames -> calibration set -> tensors ->
// entropy calibration of yolov8n -> INT8-vs-FP32 evidence on held-out frames.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace qcal::test {
namespace {

namespace fs = std::filesystem;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

TEST(QuickstartCli, RunsTheWholePipelineOnTheEmbeddedDefault) {
  TempDir dir;
  const fs::path out = dir / "qs";
  const auto r = run_command(qcal_bin() + " quickstart --threads 2 -o " + q(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;

  std::size_t images = 0;
  for (const auto& e : fs::directory_iterator(out / "calibration")) {
    if (e.path().extension() == ".jpg") ++images;
  }
  EXPECT_EQ(images, 100u);
  EXPECT_TRUE(fs::exists(out / "calibration" / "calibration_analysis.json"));
  EXPECT_TRUE(fs::exists(out / "frames" / "frames.csv"));
  EXPECT_TRUE(fs::exists(out / "int8" / "yolov8n.qdq.onnx"));
  EXPECT_TRUE(fs::exists(out / "int8" / "ranges.json"));
  EXPECT_TRUE(fs::exists(out / "eval" / "report.html"));

  // The TensorRT cache: an EntropyCalibration2 header and one "name: 8 hex digits" per tensor.
  std::ifstream cache(out / "int8" / "calibration.cache");
  std::string header;
  std::getline(cache, header);
  EXPECT_NE(header.find("-EntropyCalibration2"), std::string::npos) << header;
  std::string line;
  std::size_t entries = 0;
  while (std::getline(cache, line)) {
    auto colon = line.rfind(": ");
    ASSERT_NE(colon, std::string::npos) << line;
    EXPECT_EQ(line.size() - colon - 2, 8u) << line;
    ++entries;
  }
  EXPECT_GT(entries, 50u);

  // INT8 stays close to FP32 on the frames calibration never saw.
  std::ifstream ej(out / "eval" / "eval.json");
  const auto eval = nlohmann::json::parse(ej);
  ASSERT_FALSE(eval["outputs"].empty());
  for (const auto& o : eval["outputs"]) {
    EXPECT_GE(o["cosine"].get<double>(), 0.99) << o.dump();
  }
  // Detections too, not only the output cosine (dominated by box coordinates): INT8 scored
  // against FP32's detections. Pure KL entropy gave 0.51 here with a cosine of 0.999; the
  // default entropy with its floor and range rules gives about 0.96 (docs/quantization.md).
  EXPECT_GE(eval["metrics"]["map50_95"]["int8"].get<double>(), 0.90) << eval["metrics"].dump();
  EXPECT_NE(r.output.find("held out:      59 frames"), std::string::npos) << r.output;
  // The held-out frames are checked against the calibration samples: none overlap.
  EXPECT_EQ(eval["calibration_overlap"]["checked"], 59);
  EXPECT_EQ(eval["calibration_overlap"]["overlapping"], 0);
  EXPECT_EQ(r.output.find("evaluation samples are calibration samples"), std::string::npos);

  // Running it again over its own output works.
  EXPECT_EQ(run_command(qcal_bin() + " quickstart --threads 2 -o " + q(out)).exit_code, 0);
}

}  // namespace
}  // namespace qcal::test
