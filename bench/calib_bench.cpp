// Calibration benchmarks, printed side by side with their peers in one run:
//  1. entropy (TensorRT EntropyCalibration2) threshold selection for every float tensor of
//     yolov8n, vs the numpy reimplementation of the public reference (measured on a subset);
//  2. collector cost per element (min/max scan, |x| histogram) on a yolov8n-sized activation;
//  3. calibration wall time / plain inference time on yolov8n for minmax, ema, entropy (when
//     the engine runs the model).
// Usage: calib_bench [MODEL.onnx] [IMAGES=8]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "calib/range_select.hpp"
#include "calib/stats_file.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "engine/model.hpp"
#include "engine/session.hpp"
#include "export/calibrate.hpp"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Random input rows in [0, 1) (an image-like range) served as a SampleSource.
class RandomSource final : public qcal::exporter::SampleSource {
 public:
  RandomSource(qcal::Shape row, std::int64_t n) : row_(std::move(row)), n_(n) {}
  std::int64_t size() const override { return n_; }
  qcal::Shape row_shape() const override { return row_; }
  qcal::DType dtype() const override { return qcal::DType::kFloat32; }
  qcal::Tensor read(std::int64_t first, std::int64_t count) override {
    qcal::Shape s = row_;
    s.insert(s.begin(), count);
    qcal::Tensor t(qcal::DType::kFloat32, s);
    qcal::Rng rng(static_cast<std::uint64_t>(first) + 1);
    float* p = t.data<float>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.next_double());
    return t;
  }
  std::string sample_name(std::int64_t i) const override { return "random " + std::to_string(i); }
  std::string description() const override { return "random"; }
  bool synthetic() const override { return true; }

 private:
  qcal::Shape row_;
  std::int64_t n_;
};

std::vector<float> activation(std::size_t n, std::uint64_t seed) {
  qcal::Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) {
    const double g = rng.next_normal();
    x = static_cast<float>(g > -0.3 ? g * 2.0 : -0.28);  // SiLU-like: bounded below
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path model_path =
      argc > 1 ? argv[1] : std::filesystem::path(QCAL_DEPS_DIR) / "models" / "yolov8n.onnx";
  const int images = argc > 2 ? std::stoi(argv[2]) : 8;

  // Number of float tensors the calibration of yolov8n collects: every node output.
  std::size_t tensors = 0;
  {
    const auto model = qcal::engine::Model::load(model_path, qcal::engine::LoadOptions{.check_ops = false});
    for (const auto& n : model.nodes()) tensors += n.outputs.size();
  }

  // 2. Collector cost on a [1, 16, 320, 320] activation (yolov8n's largest).
  const auto act = activation(16 * 320 * 320, 7);
  const qcal::Shape shape{1, 16, 320, 320};
  const qcal::TensorView view{qcal::DType::kFloat32, shape, act.data()};
  constexpr int kReps = 20;
  auto t0 = Clock::now();
  float sink = 0;
  for (int r = 0; r < kReps; ++r) sink += qcal::calib::scan_min_max(act).max;
  const double scan_ns = since(t0) / kReps / static_cast<double>(act.size()) * 1e9;
  qcal::calib::TensorStats hist_stats;
  t0 = Clock::now();
  for (int r = 0; r < kReps; ++r) hist_stats.observe("t", view, r);
  const double hist_ns = since(t0) / kReps / static_cast<double>(act.size()) * 1e9;
  std::printf("collector: min/max scan %.3f ns/elem, full observe (scan + |x| histogram) %.3f ns/elem (%g)\n",
              scan_ns, hist_ns, static_cast<double>(sink) * 0);

  // 1. Entropy selection for `tensors` histograms (real statistics when available below,
  //    synthetic activations here), vs the numpy reference on a subset.
  std::vector<qcal::calib::TensorStats> stats;
  for (std::size_t t = 0; t < tensors; ++t) {
    qcal::calib::TensorStats s;
    const auto v = activation(200000, 100 + t);
    const qcal::Shape sh{static_cast<std::int64_t>(v.size())};
    s.observe("t", qcal::TensorView{qcal::DType::kFloat32, sh, v.data()}, 0);
    stats.push_back(std::move(s));
  }
  qcal::calib::SelectOptions entropy;
  t0 = Clock::now();
  double total_amax = 0;
  for (const auto& s : stats) total_amax += qcal::calib::select_range(s, entropy).amax;
  const double ours = since(t0);
  // Peer: the numpy reference (tests/unit/calib/reference_selectors.py) on 3 of the histograms.
  const auto tmp = std::filesystem::temp_directory_path() / "qcal_calib_bench";
  std::filesystem::create_directories(tmp);
  std::string cmd = "/usr/bin/python3 -c \"import sys,time,numpy as np; sys.path.insert(0,'" +
                    std::string(QCAL_SOURCE_DIR) + "/tests/unit/calib'); import reference_selectors as r; "
                    "hs=[np.load(p) for p in sys.argv[1:]]; hs=[h[:np.nonzero(h)[0][-1]+1] for h in hs]; "
                    "t=time.perf_counter(); [r.entropy_amax(h) for h in hs]; print((time.perf_counter()-t)/len(hs))\"";
  for (int k = 0; k < 3; ++k) {
    const auto c = stats[static_cast<std::size_t>(k)].histogram()->counts();
    const auto p = tmp / ("h" + std::to_string(k) + ".npy");
    qcal::write_npy(p, qcal::Tensor::from_values<std::uint64_t>({static_cast<std::int64_t>(c.size())}, c));
    cmd += " " + p.string();
  }
  double peer_per_tensor = -1;
  if (FILE* pipe = ::popen(cmd.c_str(), "r")) {
    if (std::fscanf(pipe, "%lf", &peer_per_tensor) != 1) peer_per_tensor = -1;
    ::pclose(pipe);
  }
  std::printf("entropy selection, %zu tensors: qcal %.3f s; numpy reference %.3f s "
              "(extrapolated from 3): ratio %.1fx faster  [checksum %.3f]\n",
              tensors, ours, peer_per_tensor * static_cast<double>(tensors),
              peer_per_tensor * static_cast<double>(tensors) / ours, total_amax);

  // 3. Calibration vs plain inference on the model.
  std::shared_ptr<const qcal::engine::Model> model;
  try {
    model = std::make_shared<const qcal::engine::Model>(qcal::engine::Model::load(model_path));
  } catch (const qcal::Error& e) {
    std::printf("calibration/inference ratio: skipped, the engine cannot run %s yet (%s)\n",
                model_path.string().c_str(), e.message().substr(0, 60).c_str());
    return 0;
  }
  const auto& input = model->inputs()[0];
  qcal::Shape row(input.shape.begin() + 1, input.shape.end());
  RandomSource source(row, images);
  qcal::engine::Session plain(model, {.num_threads = 0});
  plain.run(std::vector<qcal::Tensor>{source.read(0, 1)});  // plan + warm up
  t0 = Clock::now();
  for (int i = 0; i < images; ++i) plain.run(std::vector<qcal::Tensor>{source.read(i, 1)});
  const double plain_s = since(t0);
  std::printf("plain inference: %.3f s for %d images\n", plain_s, images);
  for (auto method : {qcal::calib::Method::kMinMax, qcal::calib::Method::kEma,
                      qcal::calib::Method::kEntropy}) {
    qcal::exporter::CalibrateOptions o;
    o.select.method = method;
    o.threads = 0;
    double inference = 0, observe = 0;
    const auto c0 = Clock::now();
    const auto s = qcal::exporter::collect_statistics(model_path, {}, source, o, {}, &inference, &observe);
    const double wall = since(c0);
    // wall / plain compares two runs and drifts on a shared machine; (inference + observers) /
    // inference inside the same run is the load-robust form of the same ratio.
    std::printf("calibration %-8s: %.3f s (observers %.3f s), wall ratio to plain inference %.3f, "
                "in-run ratio %.3f, %zu tensors\n",
                std::string(qcal::calib::method_name(method)).c_str(), wall, observe, wall / plain_s,
                (inference + observe) / inference, s.tensors().size());
  }
  return 0;
}
