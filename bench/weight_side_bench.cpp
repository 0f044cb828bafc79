// Weight-side algorithm cost against plain calibration, measured in the same run on the same
// model and data: calibrate, calibrate --bias-correction, calibrate --equalize (issue 17's
// targets: bias correction <= 2x calibrate time, equalization <= 10% more). The data are
// deterministic image-like tensors (timing does not depend on content).
// Usage: weight_side_bench [model.onnx (default fr_feature)] [samples (32)] [threads (2)]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/npy.hpp"
#include "engine/model.hpp"
#include "quantize/calibrate.hpp"

using namespace qcal;
using Clock = std::chrono::steady_clock;

namespace {

double calibrate_seconds(const quantize::CalibrateRequest& base, bool bias_correction,
                         bool equalize, const std::string& out) {
  quantize::CalibrateRequest r = base;
  r.options.out_dir = out;
  r.options.bias_correction.enabled = bias_correction;
  r.options.equalize.enabled = equalize;
  const auto start = Clock::now();
  (void)quantize::run_calibrate(r);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string model_path =
      argc > 1 ? argv[1] : std::string(QCAL_DEPS_DIR) + "/models/fr_feature.onnx";
  const std::int64_t samples = argc > 2 ? std::atoll(argv[2]) : 32;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  const auto model = engine::Model::load(model_path);
  Shape shape = model.inputs()[0].shape;
  for (auto& d : shape) d = d < 0 ? 1 : d;
  shape[0] = samples;
  Tensor x(DType::kFloat32, shape);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    x.data<float>()[i] = std::sin(0.001f * static_cast<float>(i)) +
                         0.3f * std::sin(0.37f * static_cast<float>(i % 9973));
  }
  const auto dir = std::filesystem::temp_directory_path() / "qcal_weight_side_bench";
  std::filesystem::create_directories(dir);
  write_npy(dir / "data.npy", x);
  quantize::CalibrateRequest r;
  r.model = model_path;
  r.data = preprocess::data_request(dir / "data.npy");
  r.options.threads = threads;
  r.options.accuracy.report = false;
  // The dominant-noise rule's single-tensor runs would dominate all three alike: off.
  r.options.dominant_noise.enabled = false;
  const double plain = calibrate_seconds(r, false, false, (dir / "plain").string());
  const double bc = calibrate_seconds(r, true, false, (dir / "bc").string());
  const double cle = calibrate_seconds(r, false, true, (dir / "cle").string());
  std::printf("%s, %lld samples, %d threads\n", model_path.c_str(), static_cast<long long>(samples),
              threads);
  std::printf("calibrate                   %8.2f s\n", plain);
  std::printf("calibrate --bias-correction %8.2f s  (%.2fx calibrate; target <= 2x)\n", bc,
              bc / plain);
  std::printf("calibrate --equalize        %8.2f s  (%+.1f%% vs calibrate; target <= 10%%)\n", cle,
              100.0 * (cle - plain) / plain);
  std::filesystem::remove_all(dir);
  return 0;
}
