// qcal engine vs ONNX Runtime 1.30 (tools/ort/ort_run.js), side by side in one run: time per
// image at 1 and 2 threads on yolov8n 640 and PP-OCRv4 det 640, achieved GFLOP/s against the
// measured oneDNN conv peak, peak RSS on yolov8n, and the cost of a min/max observer.
//
// Usage: engine_vs_ort [--runs N] [--models yolov8n,det] [--threads 1,2]   (run from anywhere;
// finds .deps via QCAL_DEPS or the build's default)
//        engine_vs_ort --observer-only [--runs N] [--threads T]   (only the observer cost)
//        engine_vs_ort --profile MODEL.onnx [THREADS]   (per-op-type and slowest-node times)
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "calib/stats_file.hpp"
#include "core/minmax_scan.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "engine/inspect.hpp"
#include "engine/model.hpp"
#include "engine/session.hpp"
#include "ops/conv.hpp"
#include "ops/conv_f32_onednn.hpp"
#include "quantize/derived_tensors.hpp"

namespace fs = std::filesystem;
using namespace qcal;

namespace {

fs::path deps_dir() {
  const char* env = std::getenv("QCAL_DEPS");
  return env && *env ? fs::path(env) : fs::path(QCAL_DEPS_DIR);
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Process CPU time (all threads), ms.
double cpu_ms_now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return 1e3 * static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-3 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// Best-case fp32 throughput here: a oneDNN 3x3 convolution, 64 -> 64 channels, 160x160.
double measure_peak_gflops(int threads) {
  omp_set_num_threads(threads);
  ops::ConvAttrs attrs;
  attrs.pads = {1, 1, 1, 1};
  ops::NodeDef node;
  node.name = "peak";
  const Shape xs{1, 64, 160, 160}, ws{64, 64, 3, 3};
  const auto g = ops::infer_conv(attrs, xs, ws, nullptr, node);
  Tensor x(DType::kFloat32, xs), w(DType::kFloat32, ws), y(DType::kFloat32, g.out_shape());
  ops::ConvF32OneDnn conv;
  std::vector<double> times;
  for (int i = 0; i < 12; ++i) {
    const double t0 = now_ms();
    conv.run(g, {}, x.data<float>(), w, nullptr, y.data<float>(), true);
    if (i >= 2) times.push_back(now_ms() - t0);
  }
  const double flops = 2.0 * 64 * 64 * 9 * 160 * 160;
  return flops / median(times) / 1e6;
}

Tensor make_input(const Shape& shape) {
  Tensor t(DType::kFloat32, shape);
  Rng rng(1);
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.next_double());
  return t;
}

double time_qcal(engine::Session& s, const Tensor& x, int runs) {
  std::vector<Tensor> in{x};
  for (int i = 0; i < 2; ++i) s.run(in);
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const double t0 = now_ms();
    s.run(in);
    times.push_back(now_ms() - t0);
  }
  return median(times);
}

// Medians of several sessions timed in turn, run by run, so that load changes on a shared
// machine hit all of them alike (for overhead ratios between sessions).
// `after[k]`, when given and set, runs right after session k's run, inside its timing.
// `min_ms`, when given, gets each session's fastest run (on a loaded machine the least disturbed).
std::vector<double> time_interleaved(const std::vector<engine::Session*>& sessions, const Tensor& x,
                                     int runs, std::vector<double>* cpu_ms = nullptr,
                                     const std::vector<std::function<void()>>& after = {},
                                     std::vector<double>* min_ms = nullptr) {
  std::vector<Tensor> in{x};
  for (auto* s : sessions) {
    for (int i = 0; i < 2; ++i) s->run(in);
  }
  std::vector<std::vector<double>> times(sessions.size()), cpu(sessions.size());
  for (int i = 0; i < runs; ++i) {
    for (std::size_t k = 0; k < sessions.size(); ++k) {
      const double c0 = cpu_ms_now();
      const double t0 = now_ms();
      sessions[k]->run(in);
      if (k < after.size() && after[k]) after[k]();
      times[k].push_back(now_ms() - t0);
      cpu[k].push_back(cpu_ms_now() - c0);
    }
  }
  if (cpu_ms) {
    cpu_ms->clear();
    for (auto& c : cpu) cpu_ms->push_back(median(c));
  }
  if (min_ms) {
    min_ms->clear();
    for (auto& t : times) min_ms->push_back(*std::min_element(t.begin(), t.end()));
  }
  std::vector<double> medians;
  for (auto& t : times) medians.push_back(median(t));
  return medians;
}

nlohmann::json run_ort(const fs::path& model, const std::string& input_name, const fs::path& npy,
                       int threads, int runs) {
  const std::string cmd = "node " + std::string(QCAL_SOURCE_DIR) + "/tools/ort/ort_run.js '" +
                          model.string() + "' --input '" + input_name + "=" + npy.string() +
                          "' --threads " + std::to_string(threads) + " --runs " +
                          std::to_string(runs) + " --warmup 2";
  const std::string out = run_capture(cmd);
  try {
    return nlohmann::json::parse(out);
  } catch (const std::exception&) {
    std::fprintf(stderr, "ort_run failed: %s\n", out.c_str());
    return {};
  }
}

// Child mode: run the model a few times at 2 threads, print peak RSS in kB.
int rss_child(const fs::path& model_path) {
  auto model = std::make_shared<const engine::Model>(engine::Model::load(model_path));
  engine::Session s(model, {.num_threads = 2});
  const Tensor x = make_input(engine::resolve_input_shapes(*model, "640")[0]);
  for (int i = 0; i < 3; ++i) s.run(std::vector<Tensor>{x});
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("%ld\n", ru.ru_maxrss);
  return 0;
}

// --profile MODEL [THREADS]: time per op type over 5 runs (where the time goes).
int profile_child(const fs::path& model_path, int threads) {
  auto model = std::make_shared<const engine::Model>(engine::Model::load(model_path));
  engine::Session s(model, {.num_threads = threads, .profile = true});
  const Tensor x = make_input(engine::resolve_input_shapes(*model, "640")[0]);
  for (int i = 0; i < 5; ++i) s.run(std::vector<Tensor>{x});
  std::map<std::string, std::pair<double, int>> by_op;
  double total = 0;
  for (const auto& t : s.profile()) {
    by_op[t.op_type].first += t.total_ms / t.runs;
    by_op[t.op_type].second += 1;
    total += t.total_ms / t.runs;
  }
  std::printf("%-20s %6s %9s %6s\n", "op", "nodes", "ms/run", "share");
  for (const auto& [op, v] : by_op) {
    std::printf("%-20s %6d %9.2f %5.1f%%\n", op.c_str(), v.second, v.first, 100 * v.first / total);
  }
  std::printf("%-20s %6s %9.2f\n", "total", "", total);
  auto nodes = s.profile();
  std::sort(nodes.begin(), nodes.end(),
            [](const engine::NodeTiming& a, const engine::NodeTiming& b) {
              return a.total_ms > b.total_ms;
            });
  std::printf("\nslowest nodes (ms/run):\n");
  for (std::size_t i = 0; i < nodes.size() && i < 25; ++i) {
    std::printf("  %8.3f  %-16s %s\n", nodes[i].total_ms / nodes[i].runs, nodes[i].op_type.c_str(),
                nodes[i].node.c_str());
  }
  return 0;
}

// A session observing `names` the way calibrate does: tensors whose statistics combine from their
// inputs' (quantize::derived_tensors) are not read; combine() after each run adds them. With
// `kernel_scans` (what calibrate does), through a MinMaxObserver: the min/max the elementwise
// kernels computed while writing (or reading) a tensor replace reading it; without, every
// observed tensor is read (the previous way, for comparison).
struct CalibrateWay {
  CalibrateWay(const std::shared_ptr<const engine::Model>& model, int threads,
               const calib::CollectOptions& collect, const std::vector<std::string>& names,
               bool kernel_scans = true, bool derive = true)
      : session(model, {.num_threads = threads}),
        stats(std::make_unique<calib::StatsSet>(collect)),
        derived(derive ? quantize::derived_tensors(*model, names)
                       : std::vector<quantize::DerivedTensor>{}) {
    for (const auto& n : names) {
      if (std::none_of(derived.begin(), derived.end(), [&](const auto& d) { return d.name == n; }))
        read.push_back(n);
    }
    if (kernel_scans) {
      session.set_minmax_observer(
          [s = stats.get(), c = scans.get()](const std::string& name, const TensorView& v,
                                             const MinMaxScan* minmax) {
            if (v.dtype == DType::kFloat32) s->observe(name, v, 0, minmax);
            if (minmax) ++*c;
          },
          read);
    } else {
      session.set_observer(
          [s = stats.get()](const std::string& name, const TensorView& v) {
            if (v.dtype == DType::kFloat32) s->observe(name, v, 0);
          },
          read);
    }
  }
  void combine() {
    for (const auto& d : derived) stats->observe_union(d.name, d.parts, 0);
  }
  engine::Session session;
  std::unique_ptr<calib::StatsSet> stats;
  std::vector<quantize::DerivedTensor> derived;
  std::vector<std::string> read;
  std::unique_ptr<std::size_t> scans =
      std::make_unique<std::size_t>(0);  // tensors handed a kernel scan, all runs
};

// Observer cost with what `qcal calibrate --method minmax` runs per tensor:
// calib::StatsSet::observe (vectorised, multi-threaded min/max + NaN/Inf check, no histogram). Two
// settings: every ONNX tensor (observing all disables fusion, so it is compared with the unfused
// graph without observer), and the tensors the fused graph produces (what calibrate observes;
// fusion stays on), compared with the fused graph. Each three ways: every tensor read by the
// observer; the way calibrate observes them (tensors that are Concats/Reshapes/Slices... of
// observed ones combined from their inputs' statistics, not read; the others through
// engine::MinMaxObserver, so a tensor an elementwise kernel scanned while writing or reading it is
// not read again); and derived but every other tensor read (calibrate before kernel scans). A no-op
// observer on the fused graph's tensors splits the engine's own cost of observing (callbacks, plan)
// from the statistics'. Sessions are timed in turn, run by run; CPU time (all threads) is printed
// next to wall time.
void observer_cost(const std::shared_ptr<const engine::Model>& model,
                   const std::vector<Shape>& shapes, const Tensor& x, int ot, int runs) {
  engine::Session fused(model, {.num_threads = ot});
  engine::Session plain(model, {.num_threads = ot, .fuse = false});
  engine::Session observed_all(model, {.num_threads = ot});
  engine::Session observed_fused(model, {.num_threads = ot});
  engine::Session noop_fused(model, {.num_threads = ot});
  calib::CollectOptions collect;
  collect.histogram = false;
  collect.threads = ot;
  calib::StatsSet stats_all(collect), stats_fused(collect);
  observed_all.set_observer([&](const std::string& name, const TensorView& v) {
    if (v.dtype != DType::kFloat32) return;
    stats_all.observe(name, v, 0);
  });
  const auto fused_names = fused.tensor_names(shapes);
  observed_fused.set_observer(
      [&](const std::string& name, const TensorView& v) {
        if (v.dtype != DType::kFloat32) return;
        stats_fused.observe(name, v, 0);
      },
      fused_names);
  std::vector<std::string> every_name;
  for (const auto& in : model->inputs()) every_name.push_back(in.name);
  for (const auto& node : model->nodes()) {
    for (const auto& o : node.outputs) {
      if (!o.empty()) every_name.push_back(o);
    }
  }
  CalibrateWay calib_fused(model, ot, collect, fused_names);
  CalibrateWay calib_all(model, ot, collect, every_name);
  CalibrateWay calib_fused_read(model, ot, collect, fused_names, false);
  CalibrateWay calib_all_read(model, ot, collect, every_name, false);
  CalibrateWay scans_all(model, ot, collect, every_name, true, false);
  double sink = 0;
  noop_fused.set_observer(
      [&](const std::string&, const TensorView& v) {
        sink += static_cast<double>(v.dtype == DType::kFloat32);
      },
      fused_names);
  std::vector<double> cpu, fastest;
  const int timed = 2 * runs;
  const auto t = time_interleaved(
      {&fused, &plain, &observed_all, &observed_fused, &noop_fused, &calib_fused.session,
       &calib_all.session, &calib_fused_read.session, &calib_all_read.session, &scans_all.session},
      x, timed, &cpu,
      {{},
       {},
       {},
       {},
       {},
       [&] { calib_fused.combine(); },
       [&] { calib_all.combine(); },
       [&] { calib_fused_read.combine(); },
       [&] { calib_all_read.combine(); },
       {}},
      &fastest);
  const double t_fused = t[0], t_plain = t[1];
  const auto pct = [](double a, double b) { return 100.0 * (a / b - 1); };
  const auto verdict = [](double over) { return over <= 5.0 ? "[meets]" : "[MISSES]"; };
  const int total_runs = timed + 2;  // time_interleaved's 2 warm-up runs observe too
  const auto scanned = [&](const CalibrateWay& w) {
    return static_cast<double>(*w.scans) / total_runs;
  };
  // One row: median wall time and its overhead (the target's measure), then the overhead by the
  // fastest run and by median CPU time (all threads), steadier when other processes want the cores.
  const auto row = [&](std::size_t k, std::size_t base) {
    const double over = pct(t[k], t[base]);
    std::printf("%.1f ms: %+.1f%% %s (fastest run %+.1f%%, cpu %+.1f%%)\n", t[k], over,
                verdict(over), pct(fastest[k], fastest[base]), pct(cpu[k], cpu[base]));
  };
  std::printf(
      "\nobserver, min/max (calib::StatsSet, no histogram), yolov8n %d thread(s) (target: <= "
      "+5%%); "
      "load average %s:\n",
      ot, run_capture("cut -d' ' -f1-3 /proc/loadavg | tr -d '\\n'").c_str());
  std::printf("  all %zu ONNX tensors, vs %.1f ms unfused (fusion off; %.1f ms fused):\n",
              stats_all.tensors().size(), t_plain, t_fused);
  std::printf(
      "    as calibrate observes them (%zu combined from their inputs, %.0f handed kernel scans, "
      "%.0f read): ",
      calib_all.derived.size(), scanned(calib_all),
      static_cast<double>(calib_all.read.size()) - scanned(calib_all));
  row(6, 1);
  std::printf(
      "    every one through the min/max observer, none combined (%.0f handed kernel scans): ",
      scanned(scans_all));
  row(9, 1);
  std::printf("    combined as calibrate does, the others read (no kernel scans): ");
  row(8, 1);
  std::printf("    every one read: ");
  row(2, 1);
  std::printf("  the fused graph's %zu tensors (what calibrate observes), vs %.1f ms fused:\n",
              stats_fused.tensors().size(), t_fused);
  std::printf(
      "    as calibrate observes them (%zu combined, %.0f handed kernel scans, %.0f read): ",
      calib_fused.derived.size(), scanned(calib_fused),
      static_cast<double>(calib_fused.read.size()) - scanned(calib_fused));
  row(5, 0);
  std::printf("    combined as calibrate does, the others read (no kernel scans): ");
  row(7, 0);
  std::printf("    every one read: ");
  row(3, 0);
  std::printf("    no-op observer: ");
  row(4, 0);
  if (sink < 0) std::printf("%g\n", sink);  // never: keeps the no-op observer's work
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 10;
  bool observer_only =
      false;  // --observer-only: just the observer cost on yolov8n (no ORT, no RSS)
  std::string models = "yolov8n,det";
  std::vector<int> thread_counts{1, 2};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rss" && i + 1 < argc) return rss_child(argv[i + 1]);
    if (a == "--profile" && i + 1 < argc)
      return profile_child(argv[i + 1], i + 2 < argc ? std::atoi(argv[i + 2]) : 1);
    if (a == "--observer-only")
      observer_only = true;
    else if (a == "--runs" && i + 1 < argc)
      runs = std::atoi(argv[++i]);
    else if (a == "--models" && i + 1 < argc)
      models = argv[++i];
    else if (a == "--threads" && i + 1 < argc) {
      thread_counts.clear();
      std::stringstream list(argv[++i]);
      for (std::string item; std::getline(list, item, ',');)
        thread_counts.push_back(std::max(1, std::atoi(item.c_str())));
      if (thread_counts.empty()) thread_counts = {1, 2};
    }
  }
  struct M {
    const char* key;
    const char* file;
    const char* input;
  };
  const M all[] = {{"yolov8n", "yolov8n.onnx", "images"},
                   {"det", "ch_PP-OCRv4_det_infer.onnx", "x"}};
  if (observer_only) {
    auto model = std::make_shared<const engine::Model>(
        engine::Model::load(deps_dir() / "models" / "yolov8n.onnx"));
    const auto shapes = engine::resolve_input_shapes(*model, "640");
    observer_cost(model, shapes, make_input(shapes[0]), thread_counts.back(), runs);
    return 0;
  }
  const fs::path tmp = fs::temp_directory_path() / ("qcal_bench_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  const double peak1 = measure_peak_gflops(1);
  const double peak2 = measure_peak_gflops(2);
  std::printf(
      "measured peak (oneDNN conv3x3 64->64 160x160 fp32): %.0f GFLOP/s at 1 thread, %.0f at 2\n",
      peak1, peak2);
  // Readings at 2 threads are only comparable on an idle machine: under load, libgomp's default
  // spin-waiting at every parallel region's barrier loses whole time slices (PP-OCRv4 det at 2
  // threads on a loaded 2-core box: 476 ms spinning vs 154 ms with OMP_WAIT_POLICY=passive).
  const char* wait = std::getenv("OMP_WAIT_POLICY");
  std::printf("load average: %s; OMP_WAIT_POLICY=%s\n\n",
              run_capture("cut -d' ' -f1-3 /proc/loadavg | tr -d '\\n'").c_str(),
              wait ? wait : "(unset: libgomp spins)");
  std::printf("%-9s %3s | %9s %9s %6s | %8s %6s\n", "model", "thr", "qcal ms", "ort ms", "ratio",
              "GFLOP/s", "%peak");
  for (const auto& m : all) {
    if (models.find(m.key) == std::string::npos) continue;
    const fs::path path = deps_dir() / "models" / m.file;
    auto model = std::make_shared<const engine::Model>(engine::Model::load(path));
    const auto shapes = engine::resolve_input_shapes(*model, "640");
    const double flops = static_cast<double>(engine::summarize_model(*model, shapes).flops);
    const Tensor x = make_input(shapes[0]);
    const fs::path npy = tmp / (std::string(m.key) + ".npy");
    write_npy(npy, x);
    for (int threads : thread_counts) {
      engine::Session s(model, {.num_threads = threads});
      const double ours = time_qcal(s, x, runs);
      const auto ort = run_ort(path, m.input, npy, threads, runs);
      const double theirs =
          ort.contains("median_ms") ? ort["median_ms"].get<double>() : std::nan("");
      const double gflops = flops / ours / 1e6;
      std::printf("%-9s %3d | %9.1f %9.1f %5.2fx | %8.1f %5.0f%%\n", m.key, threads, ours, theirs,
                  ours / theirs, gflops, 100.0 * gflops / (threads == 1 ? peak1 : peak2));
      std::fflush(stdout);
    }
    if (std::string(m.key) == "yolov8n") {
      observer_cost(model, shapes, x, thread_counts.back(), runs);
      const std::string self = fs::read_symlink("/proc/self/exe").string();
      const std::string ours_rss = run_capture("'" + self + "' --rss '" + path.string() + "'");
      const auto ort = run_ort(path, m.input, npy, 2, 3);  // RSS: both at 2 threads
      const double ours_kb = std::atof(ours_rss.c_str());
      const double ort_kb =
          ort.contains("peak_rss_kb") ? ort["peak_rss_kb"].get<double>() : std::nan("");
      std::printf("peak RSS yolov8n: qcal %.0f MB, ort (node process) %.0f MB, ratio %.2fx\n\n",
                  ours_kb / 1024, ort_kb / 1024, ours_kb / ort_kb);
    }
  }
  fs::remove_all(tmp);
  return 0;
}
