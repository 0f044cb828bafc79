// Accuracy of `qcal calibrate` on yolov8n: calibrated on >= 100 real images (video frames and
// photos from opencv-doc), the QDQ model run in ONNX Runtime stays close to FP32 on held-out
// real images (per-output cosine >= 0.99).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "core/npy.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

std::map<std::string, std::filesystem::path> run_ort(const std::filesystem::path& model,
                                                     const std::filesystem::path& input,
                                                     const std::filesystem::path& out_dir) {
  std::filesystem::create_directories(out_dir);
  const auto r = test::run_command(
      "{ node " + std::string(QCAL_SOURCE_DIR) + "/tools/ort/ort_run.js " + model.string() +
      " --input images=" + input.string() + " --out " + out_dir.string() + " 2>/dev/null; }");
  // The group keeps ORT warnings (stderr) out of the JSON; run_command appends 2>&1 after it.
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, std::filesystem::path> out;
  if (r.exit_code != 0) return out;
  const auto j = nlohmann::json::parse(r.output);  // kept alive: items() refers into it
  for (const auto& [k, v] : j["outputs"].items()) out[k] = v.get<std::string>();
  return out;
}

double cosine(std::span<const float> x, std::span<const float> y) {
  double xy = 0, xx = 0, yy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    xy += double(x[i]) * y[i];
    xx += double(x[i]) * x[i];
    yy += double(y[i]) * y[i];
  }
  return xy / std::sqrt(xx * yy + 1e-30);
}

TEST(CalibrateYolov8n, QdqModelMatchesFloatOnHeldOutImages) {
  test::TempDir dir;
  const auto model = test::deps_dir() / "models" / "yolov8n.onnx";
  const auto frames = test::run_command(test::system_python() + " " + QCAL_SOURCE_DIR +
                                        "/tests/integration/yolo_frames.py " +
                                        (dir / "calib").string() + " " + (dir / "held").string());
  ASSERT_EQ(frames.exit_code, 0) << frames.output;
  const auto r = test::run_command(test::qcal_bin() + " calibrate " + model.string() + " --data " +
                                   (dir / "calib").string() + " --recipe yolo -o " +
                                   (dir / "out").string() + " -j 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto summary = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_GE(summary["samples"].get<int>(), 100);
  const auto qdq = dir / "out" / "yolov8n.qdq.onnx";
  // Default placement: the six head convs that produce the outputs stay float (rule 1b).
  const auto ranges = nlohmann::json::parse(read_file(dir / "out" / "ranges.json"));
  int output_layers = 0;
  for (const auto& f : ranges["float_nodes"]) {
    const auto s = f.get<std::string>();
    output_layers += s.find("/model.22/cv") == 0 && s.find(": output layer") != std::string::npos;
  }
  EXPECT_EQ(output_layers, 6) << ranges["float_nodes"].dump();
  std::vector<std::filesystem::path> held;
  for (const auto& e : std::filesystem::directory_iterator(dir / "held")) held.push_back(e.path());
  std::sort(held.begin(), held.end());
  ASSERT_GE(held.size(), 10u);
  double worst = 1.0, worst_scores = 1.0;
  for (std::size_t i = 0; i < held.size(); ++i) {
    const auto f = run_ort(model, held[i], dir / ("f" + std::to_string(i)));
    const auto q = run_ort(qdq, held[i], dir / ("q" + std::to_string(i)));
    ASSERT_FALSE(f.empty());
    for (const auto& [name, path] : f) {
      const Tensor a = read_npy(path);
      const Tensor b = read_npy(q.at(name));
      const double c = cosine(a.values<float>(), b.values<float>());
      EXPECT_GE(c, 0.99) << held[i].filename() << " output " << name;
      worst = std::min(worst, c);
      // Class scores alone (rows 4.. of [1, 84, 8400]); boxes dominate the full tensor.
      if (a.shape().size() == 3 && a.shape()[1] == 84) {
        const std::size_t boxes = 4 * static_cast<std::size_t>(a.shape()[2]);
        worst_scores = std::min(worst_scores, cosine(a.values<float>().subspan(boxes),
                                                     b.values<float>().subspan(boxes)));
      }
    }
  }
  std::cout << "worst per-output cosine " << worst << ", worst class-score cosine " << worst_scores
            << " over " << held.size() << " held-out images\n";
}

}  // namespace
}  // namespace qcal
