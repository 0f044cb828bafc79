// Layer sensitivity cost on yolov8n: measure_sensitivity (observer that fake-quantizes in place)
// against its floor, the same number of plain engine inferences ((tensors + 2) per sample),
// measured side by side. Prints the ratio (1.0 = the observer and the comparisons are free).
// Usage: sensitivity_bench [model.onnx] [tensors (default 24)] [threads (default 2)]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "engine/session.hpp"
#include "quantize/sensitivity_run.hpp"

using namespace qcal;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const std::string model_path =
      argc > 1 ? argv[1] : std::string(QCAL_DEPS_DIR) + "/models/yolov8n.onnx";
  const std::size_t max_tensors = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 24;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  auto model = std::make_shared<const engine::Model>(engine::Model::load(model_path));
  const auto& in = model->inputs()[0];
  Shape shape = in.shape;
  for (auto& d : shape) d = d < 0 ? 1 : d;
  // A smooth deterministic image-like input in [0, 1] (timing does not depend on content).
  Tensor x(DType::kFloat32, shape);
  float* p = x.data<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i)
    p[i] = 0.5f + 0.5f * std::sin(0.001f * static_cast<float>(i));

  // Scales from one FP32 run: amax / 127 of each float tensor the engine produces.
  engine::Session session(model, {.num_threads = threads});
  std::map<std::string, float> amax;
  session.set_observer([&](const std::string& name, const TensorView& v) {
    if (v.dtype != DType::kFloat32) return;
    float m = 0;
    for (float f : v.values<float>()) m = std::max(m, std::fabs(f));
    amax[name] = m;
  });
  session.run(std::vector<Tensor>{x});
  session.set_observer(nullptr);
  std::map<std::string, quantize::ActivationQuant> quant;
  for (const auto& [name, m] : amax) {
    if (quant.size() >= max_tensors) break;
    if (m > 0 && name != in.name) quant[name] = {.scale = m / 127.0f};
  }
  const std::vector<std::vector<Tensor>> samples = {{x}};

  session.run(std::vector<Tensor>{x});  // warm
  const std::size_t runs = quant.size() + 2;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < runs; ++i) session.run(std::vector<Tensor>{x});
  const double plain = std::chrono::duration<double>(Clock::now() - t0).count();
  quantize::SensitivityRunOptions options;
  options.threads = threads;
  const auto t1 = Clock::now();
  const auto result = quantize::measure_sensitivity(
      std::make_shared<const engine::Model>(engine::Model::load(model_path)), quant, samples,
      options);
  const double sens = std::chrono::duration<double>(Clock::now() - t1).count();
  std::printf("model %s, %zu tensors, 1 sample, %d threads\n", model_path.c_str(), quant.size(),
              threads);
  std::printf("plain inference x %zu:     %.3f s (%.1f ms/run)\n", runs, plain,
              1e3 * plain / static_cast<double>(runs));
  std::printf(
      "measure_sensitivity:        %.3f s (%zu engine runs, incl. model load and planning)\n", sens,
      result.runs);
  std::printf("ratio sensitivity / plain:  %.2f\n", sens / plain);
  return 0;
}
