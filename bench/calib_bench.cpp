// Calibration benchmarks, printed side by side with their peers in one run:
//  1. collector cost per element (min/max scan, min/max observe, observe with the |x| histogram)
//     at 1 and N threads, on a yolov8n-sized activation;
//  2. entropy (TensorRT EntropyCalibration2) threshold selection for every float tensor of
//     yolov8n, vs the numpy reimplementation of the public reference (measured on a subset);
//  3. calibration wall time / plain inference time on yolov8n for minmax, ema, entropy and
//     percentile, on real data: vtest.avi frames letterboxed with the yolo recipe and packed to
//     an .npy on /dev/shm before any timing, read through the same SampleSource calibrate uses
//     for .npy (plain inference reads the same rows the same way). Phases run interleaved,
//     round after round, and medians are printed with CPU time (user + system) and the load
//     average, since this machine is shared;
//  4. the same ratio for the whole calibrate() call (collection, range selection and every
//     output file; process start-up excluded) with minmax and entropy.
// Usage: calib_bench [MODEL.onnx] [IMAGES=100] [ROUNDS=3] [THREADS=all cores]
// 100 images by default: the size the accuracy requirement calibrates with (and the small end of
// what TensorRT and ModelOpt recommend); with 8, the fixed costs calibration pays once (model
// load, planning twice, the first run's oneDNN primitive creation, ~0.2 s) dominate the ratio.
// Multi-threaded readings are only comparable on an idle machine (libgomp spin-waits).
#include <sys/resource.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <thread>
#include <vector>

#include "calib/range_select.hpp"
#include "calib/stats_file.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "engine/model.hpp"
#include "engine/session.hpp"
#include "eval/samples.hpp"
#include "preprocess/pack.hpp"
#include "preprocess/recipe.hpp"
#include "preprocess/sample_data.hpp"
#include "quantize/calibrate.hpp"
#include "quantize/statistics.hpp"

namespace fs = std::filesystem;

namespace {

// The .npy as calibrate opens it (the sample-data layer) for this model.
std::unique_ptr<qcal::preprocess::SampleData> open_npy(const fs::path& npy,
                                                       const qcal::engine::Model& model) {
  qcal::preprocess::DataRequest request;
  request.data = npy;
  return qcal::preprocess::open_sample_data(request, qcal::eval::model_input_infos(model, ""));
}

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

std::vector<float> activation(std::size_t n, std::uint64_t seed) {
  qcal::Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) {
    const double g = rng.next_normal();
    x = static_cast<float>(g > -0.3 ? g * 2.0 : -0.28);  // SiLU-like: bounded below
  }
  return v;
}

// `images` frames spread over vtest.avi, letterboxed by the yolo recipe to the model's input
// size, packed to dir/calib.npy (what `qcal frames` + `qcal pack --recipe yolo` produce).
// Returns false when the video or the shape does not fit (then the caller packs synthetic rows).
bool pack_vtest(const fs::path& dir, int images, const qcal::Shape& input_shape, int threads) {
  const fs::path video = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
  if (input_shape.size() != 4 || input_shape[1] != 3 || !fs::exists(video)) return false;
  cv::VideoCapture cap(video.string());
  if (!cap.isOpened()) return false;
  const auto frames = static_cast<std::int64_t>(cap.get(cv::CAP_PROP_FRAME_COUNT));
  const std::int64_t step = std::max<std::int64_t>(1, frames / images);
  std::vector<fs::path> paths;
  cv::Mat frame;
  for (std::int64_t i = 0; static_cast<int>(paths.size()) < images && cap.read(frame); ++i) {
    if (i % step != 0) continue;
    paths.push_back(dir / ("frame" + std::to_string(i) + ".png"));
    cv::imwrite(paths.back().string(), frame);
  }
  // Short video: repeat frames (only the count matters for timing).
  for (std::size_t k = 0; paths.size() < static_cast<std::size_t>(images) && !paths.empty(); ++k) {
    paths.push_back(paths[k]);
  }
  qcal::preprocess::PackOptions po;
  po.recipe = qcal::preprocess::make_preset("yolo", static_cast<int>(input_shape[3]),
                                            static_cast<int>(input_shape[2]));
  po.threads = threads;
  qcal::preprocess::pack_images(paths, dir / "calib.npy", po);
  return true;
}

struct Phase {
  explicit Phase(std::string n) : name(std::move(n)) {}
  std::string name;
  std::vector<double> wall, cpu, in_run, observe, ratio, in_run_ratio;
};

}  // namespace

int main(int argc, char** argv) {
  const fs::path model_path =
      argc > 1 ? fs::path(argv[1]) : fs::path(QCAL_DEPS_DIR) / "models" / "yolov8n.onnx";
  const int images = argc > 2 ? std::stoi(argv[2]) : 100;
  const int rounds = argc > 3 ? std::max(1, std::stoi(argv[3])) : 3;
  int threads = argc > 4 ? std::stoi(argv[4]) : 0;
  if (threads <= 0) threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::printf("calib_bench: %s, %d images, %d rounds, %d threads; load average %s\n",
              model_path.filename().string().c_str(), images, rounds, threads,
              load_average().c_str());

  // Number of float tensors the calibration of yolov8n collects: every node output.
  std::size_t tensors = 0;
  {
    const auto model =
        qcal::engine::Model::load(model_path, qcal::engine::LoadOptions{.check_ops = false});
    for (const auto& n : model.nodes()) tensors += n.outputs.size();
  }

  // 1. Collector cost on a [1, 16, 320, 320] activation (yolov8n's largest).
  {
    const auto act = activation(16 * 320 * 320, 7);
    const qcal::Shape shape{1, 16, 320, 320};
    const qcal::TensorView view{qcal::DType::kFloat32, shape, act.data()};
    constexpr int kReps = 20;
    auto per_elem = [&](auto&& fn) {
      std::vector<double> t;
      for (int r = 0; r < kReps; ++r) {
        const auto t0 = Clock::now();
        fn(r);
        t.push_back(since(t0) / static_cast<double>(act.size()) * 1e9);
      }
      return median(t);
    };
    float sink = 0;
    const double scan_ns = per_elem([&](int) { sink += qcal::calib::scan_min_max(act).max; });
    std::printf(
        "collector, ns/elem on [1,16,320,320] (median of %d): min/max scan %.3f (1 thread)\n",
        kReps, scan_ns);
    for (int t : {1, threads}) {
      qcal::calib::CollectOptions mm;
      mm.histogram = false;
      mm.threads = t;
      qcal::calib::CollectOptions hist;
      hist.threads = t;
      qcal::calib::TensorStats mm_stats(mm), hist_stats(hist);
      const double mm_ns = per_elem([&](int r) { mm_stats.observe("t", view, r); });
      const double hist_ns = per_elem([&](int r) { hist_stats.observe("t", view, r); });
      std::printf("  %d thread(s): observe min/max %.3f, observe min/max + |x| histogram %.3f\n", t,
                  mm_ns, hist_ns);
      if (t == threads) break;
    }
    std::printf("  (%g)\n", static_cast<double>(sink) * 0);
  }

  // 2. Entropy selection for `tensors` histograms (synthetic activations), vs the numpy
  //    reference on a subset.
  {
    std::vector<qcal::calib::TensorStats> stats;
    for (std::size_t t = 0; t < tensors; ++t) {
      qcal::calib::TensorStats s;
      const auto v = activation(200000, 100 + t);
      const qcal::Shape sh{static_cast<std::int64_t>(v.size())};
      s.observe("t", qcal::TensorView{qcal::DType::kFloat32, sh, v.data()}, 0);
      stats.push_back(std::move(s));
    }
    qcal::calib::SelectOptions entropy;
    const auto t0 = Clock::now();
    double total_amax = 0;
    for (const auto& s : stats) total_amax += qcal::calib::select_range(s, entropy).amax;
    const double ours = since(t0);
    // Peer: the numpy reference (tests/unit/calib/reference_selectors.py) on 3 of the histograms.
    const auto tmp = fs::temp_directory_path() / ("qcal_calib_bench_" + std::to_string(::getpid()));
    fs::create_directories(tmp);
    std::string cmd =
        "/usr/bin/python3 -c \"import sys,time,numpy as np; sys.path.insert(0,'" +
        std::string(QCAL_SOURCE_DIR) +
        "/tests/unit/calib'); import reference_selectors as r; "
        "hs=[np.load(p) for p in sys.argv[1:]]; hs=[h[:np.nonzero(h)[0][-1]+1] for h in hs]; "
        "t=time.perf_counter(); [r.entropy_amax(h) for h in hs]; "
        "print((time.perf_counter()-t)/len(hs))\"";
    for (int k = 0; k < 3; ++k) {
      const auto c = stats[static_cast<std::size_t>(k)].histogram()->counts();
      const auto p = tmp / ("h" + std::to_string(k) + ".npy");
      qcal::write_npy(
          p, qcal::Tensor::from_values<std::uint64_t>({static_cast<std::int64_t>(c.size())}, c));
      cmd += " " + p.string();
    }
    double peer_per_tensor = -1;
    if (FILE* pipe = ::popen(cmd.c_str(), "r")) {
      if (std::fscanf(pipe, "%lf", &peer_per_tensor) != 1) peer_per_tensor = -1;
      ::pclose(pipe);
    }
    fs::remove_all(tmp);
    std::printf(
        "entropy selection, %zu tensors: qcal %.3f s; numpy reference %.3f s "
        "(extrapolated from 3): ratio %.1fx faster  [checksum %.3f]\n",
        tensors, ours, peer_per_tensor * static_cast<double>(tensors),
        peer_per_tensor * static_cast<double>(tensors) / ours, total_amax);
  }

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
  qcal::Shape input_shape = input.shape;
  if (!input_shape.empty() && input_shape[0] <= 0) input_shape[0] = 1;
  // The data lives in memory-backed /dev/shm, so disk speed does not enter the ratios.
  const fs::path dir = fs::path(fs::exists("/dev/shm") ? "/dev/shm" : fs::temp_directory_path()) /
                       ("qcal_calib_bench_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto t0 = Clock::now();
  bool real = false;
  try {
    real = pack_vtest(dir, images, input_shape, threads);
  } catch (const qcal::Error& e) {
    std::printf("packing vtest.avi frames failed (%s); using synthetic rows\n",
                e.message().c_str());
  }
  if (!real) {
    qcal::preprocess::PackOptions po;
    qcal::preprocess::pack_synthetic(images, input_shape, 1, dir / "calib.npy", po);
  }
  const fs::path npy = dir / "calib.npy";
  std::printf("data: %d %s rows packed to %s in %.2f s (not timed below)\n", images,
              real ? "vtest.avi frames, letterboxed by the yolo recipe," : "synthetic",
              npy.string().c_str(), since(t0));

  Phase plain_phase("plain");
  std::vector<Phase> phases;
  const qcal::calib::Method methods[] = {qcal::calib::Method::kMinMax, qcal::calib::Method::kEma,
                                         qcal::calib::Method::kEntropy,
                                         qcal::calib::Method::kPercentile};
  for (auto m : methods) phases.emplace_back(std::string(qcal::calib::method_name(m)));
  // The whole calibrate() call (collection, range selection, QDQ model, cache, ranges.json,
  // report.html; everything but process start-up) for one method of each kind.
  const qcal::calib::Method whole_methods[] = {qcal::calib::Method::kMinMax,
                                               qcal::calib::Method::kEntropy};
  std::vector<Phase> whole;
  for (auto m : whole_methods)
    whole.emplace_back(std::string(qcal::calib::method_name(m)) + " (all)");
  std::vector<double> load_s, first_run_s, read_s;
  // What calibrate() observes besides the fused graph's tensors: the activations its QDQ plan
  // quantizes (on yolov8n, SiLU outputs inside chained convs: observing them splits the chains).
  qcal::quantize::ModelContext plan_model = qcal::quantize::read_model(model_path);
  qcal::quantize::prepare_for_qdq(plan_model, true, nullptr);
  const std::vector<std::string> required =
      qcal::quantize::quantized_activations(plan_model, qcal::quantize::CalibrateOptions{});
  std::size_t observed_tensors = 0;
  double observed_elems = 0;

  for (int round = 0; round < rounds; ++round) {
    // Plain inference: steady state (planned and warmed up), reading each row from the same .npy.
    {
      auto source = open_npy(npy, *model);
      const auto l0 = Clock::now();
      auto m = std::make_shared<const qcal::engine::Model>(qcal::engine::Model::load(model_path));
      load_s.push_back(since(l0));
      qcal::engine::Session plain(m, {.num_threads = threads});
      const auto f0 = Clock::now();
      plain.run(source->read(0, 1));  // plan + warm up
      first_run_s.push_back(since(f0));
      const double c0 = cpu_seconds();
      t0 = Clock::now();
      double reading = 0;
      for (int i = 0; i < images; ++i) {
        const auto r0 = Clock::now();
        qcal::Tensor x = source->read(i, 1)[0];
        reading += since(r0);
        plain.run(std::vector<qcal::Tensor>{std::move(x)});
      }
      plain_phase.wall.push_back(since(t0));
      plain_phase.cpu.push_back(cpu_seconds() - c0);
      read_s.push_back(reading);
    }
    for (std::size_t k = 0; k < phases.size(); ++k) {
      auto source = open_npy(npy, *model);
      qcal::quantize::CollectOptions o;
      o.histogram = qcal::calib::method_needs_histogram(methods[k]);
      o.threads = threads;
      const double c0 = cpu_seconds();
      t0 = Clock::now();
      // The model is loaded inside the timed phase, as calibrate pays for it.
      auto m = std::make_shared<const qcal::engine::Model>(qcal::engine::Model::load(model_path));
      const auto collection = qcal::quantize::collect_statistics(m, required, *source, o);
      const auto& s = collection.stats;
      const double inference = collection.inference_seconds;
      const double observe = collection.observe_seconds;
      Phase& p = phases[k];
      p.wall.push_back(since(t0));
      p.cpu.push_back(cpu_seconds() - c0);
      p.in_run.push_back(inference);
      p.observe.push_back(observe);
      p.ratio.push_back(p.wall.back() / plain_phase.wall.back());
      p.in_run_ratio.push_back((inference + observe) / inference);
      observed_tensors = s.tensors().size();
      observed_elems = 0;
      for (const auto& [name, t] : s.tensors()) observed_elems += static_cast<double>(t.count());
      observed_elems /= images;
    }
  }
  for (int round = 0; round < rounds; ++round) {
    for (std::size_t k = 0; k < whole.size(); ++k) {
      qcal::quantize::CalibrateRequest o;
      o.model = model_path;
      o.data = qcal::preprocess::data_request(npy);
      o.options.out_dir = dir / "out";
      o.options.select.method = whole_methods[k];
      o.options.threads = threads;
      const double c0 = cpu_seconds();
      t0 = Clock::now();
      qcal::quantize::run_calibrate(o);
      whole[k].wall.push_back(since(t0));
      whole[k].cpu.push_back(cpu_seconds() - c0);
      whole[k].ratio.push_back(whole[k].wall.back() / median(plain_phase.wall));
      fs::remove_all(dir / "out");
    }
  }
  // The data fingerprint calibrate computes over every row (XXH3-64, serial).
  double hash_s = 0;
  {
    auto source = open_npy(npy, *model);
    const qcal::Tensor x = source->read(0, 1)[0];
    const auto f0 = Clock::now();
    const auto h = XXH3_64bits(x.raw_data(), static_cast<std::size_t>(x.nbytes()));
    hash_s = since(f0) + static_cast<double>(h & 1) * 0;
  }
  fs::remove_all(dir);

  const double plain = median(plain_phase.wall);
  std::printf(
      "plain inference: %.3f s for %d images (%.1f ms/image, cpu %.3f s; reading rows %.3f s); "
      "model load %.3f s, plan + first run %.3f s (fixed costs calibration pays, plain does not)\n",
      plain, images, 1e3 * plain / images, median(plain_phase.cpu), median(read_s), median(load_s),
      median(first_run_s));
  std::printf(
      "statistics per image: %zu tensors, %.1f M values (those combined from other tensors are not "
      "read); "
      "data fingerprint (XXH3-64) %.2f ms per image\n",
      observed_tensors, observed_elems / 1e6, 1e3 * hash_s);
  for (const auto& p : phases) {
    const bool hist = p.name != "minmax" && p.name != "ema";
    const double target = hist ? 1.25 : 1.10;
    const double r = median(p.ratio);
    // Outside engine and observers: load, planning, first run, reading rows, the fingerprint.
    std::vector<double> other;
    for (std::size_t k = 0; k < p.wall.size(); ++k)
      other.push_back(p.wall[k] - p.in_run[k] - p.observe[k]);
    std::printf(
        "calibration %-10s: %.3f s (cpu %.3f s; engine %.3f s, observers %.3f s, other %.3f s), "
        "wall ratio "
        "to plain %.3f [target <= %.2f: %s], in-run ratio %.3f\n",
        p.name.c_str(), median(p.wall), median(p.cpu), median(p.in_run), median(p.observe),
        median(other), r, target, r <= target ? "meets" : "MISSES", median(p.in_run_ratio));
  }
  for (const auto& p : whole) {
    const double r = median(p.ratio);
    const double target = p.name.rfind("minmax", 0) == 0 ? 1.10 : 1.25;
    std::printf(
        "whole calibrate %-13s: %.3f s (cpu %.3f s), wall ratio to plain %.3f [target <= %.2f: "
        "%s]; "
        "selection and writing %.3f s\n",
        p.name.c_str(), median(p.wall), median(p.cpu), r, target, r <= target ? "meets" : "MISSES",
        median(p.wall) - median(phases[p.name.rfind("minmax", 0) == 0 ? 0 : 2].wall));
  }
  std::printf("load average at the end: %s\n", load_average().c_str());
  return 0;
}
