// qcal engine and ONNX Runtime (Node bridge) runners for `qcal eval`.
#include "eval/runtime.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/temp_files.hpp"
#include "engine/session.hpp"

namespace qcal::eval {

RuntimeKind parse_runtime(const std::string& name) {
  if (name == "qcal") return RuntimeKind::kQcal;
  if (name == "ort") return RuntimeKind::kOrt;
  throw Error(ErrorCode::kInvalidArgument, "unknown runtime '" + name + "' (qcal or ort)");
}

const char* runtime_name(RuntimeKind kind) { return kind == RuntimeKind::kQcal ? "qcal" : "ort"; }

namespace {

int resolve(int threads) {
  if (threads > 0) return threads;
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

class QcalRunner final : public ModelRunner {
 public:
  QcalRunner(const std::filesystem::path& path, const RunnerOptions& options)
      : model_(std::make_shared<const engine::Model>(engine::Model::load(path))),
        session_(model_, {.num_threads = options.threads}) {}
  QcalRunner(engine::Model model, const RunnerOptions& options)
      : model_(std::make_shared<const engine::Model>(std::move(model))),
        session_(model_, {.num_threads = options.threads}) {}
  QcalRunner(std::shared_ptr<const engine::Model> model, const RunnerOptions& options)
      : model_(std::move(model)), session_(model_, {.num_threads = options.threads}) {}
  const engine::Model& model() const override { return *model_; }
  std::vector<TensorMap> run(const std::vector<TensorMap>& samples) override {
    std::vector<TensorMap> out;
    out.reserve(samples.size());
    for (const TensorMap& s : samples) out.push_back(session_.run(s));
    return out;
  }

 private:
  std::shared_ptr<const engine::Model> model_;
  engine::Session session_;
};

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string safe_file_name(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

// A private temporary folder, removed with everything in it when the object dies.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("qcal-ort-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    const TempLock lock;  // registered: a signal removes it (core/temp_files.hpp)
    register_temp(path_);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    const TempLock lock;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    unregister_temp(path_);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::filesystem::path ort_script() {
  if (const char* env = std::getenv("QCAL_ORT_BATCH"); env && *env) return env;
  return std::filesystem::path(QCAL_SOURCE_DIR) / "tools" / "ort" / "ort_batch.js";
}

class OrtRunner final : public ModelRunner {
 public:
  OrtRunner(const std::filesystem::path& path, const RunnerOptions& options)
      : path_(path),
        // IO only: ONNX Runtime decides what it can run.
        model_(engine::Model::load(path, engine::LoadOptions{.check_ops = false})),
        threads_(resolve(options.threads)) {
    if (!std::filesystem::exists(ort_script())) {
      throw Error(ErrorCode::kIo, "ONNX Runtime bridge not found (set QCAL_ORT_BATCH)")
          .with("file", ort_script().string());
    }
  }
  const engine::Model& model() const override { return model_; }

  std::vector<TensorMap> run(const std::vector<TensorMap>& samples) override {
    if (samples.empty()) return {};
    ScratchDir dir;
    std::string cmd = node_binary() + " " + shell_quote(ort_script().string()) + " " +
                      shell_quote(path_.string());
    for (std::size_t i = 0; i < model_.inputs().size(); ++i) {
      const std::string& name = model_.inputs()[i].name;
      const auto file = dir.path() / ("in" + std::to_string(i) + ".npy");
      const Tensor& first = samples[0].at(name);
      Shape row = first.shape();
      NpyWriter w(file, first.dtype(), row);
      for (const TensorMap& s : samples) {
        const Tensor& t = s.at(name);
        if (t.shape() != row || t.dtype() != first.dtype()) {
          throw Error(ErrorCode::kInvalidArgument,
                      "samples of one chunk differ in shape or dtype for input '" + name + "'");
        }
        w.append(t.raw_data(), 1);
      }
      w.finish();
      cmd += " --input " + shell_quote(name + "=" + file.string());
    }
    const auto out_dir = dir.path() / "out";
    const auto err_file = dir.path() / "stderr.txt";
    cmd += " --out " + shell_quote(out_dir.string()) + " --threads " + std::to_string(threads_) +
           " 2> " + shell_quote(err_file.string());
    std::string stdout_text;
    std::FILE* pipe = ::popen(cmd.c_str(), "r");
    if (!pipe) throw Error(ErrorCode::kIo, "cannot start node for ONNX Runtime");
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) stdout_text.append(buf, n);
    const int status = ::pclose(pipe);
    if (status != 0) {
      std::string err;
      try {
        err = read_file(err_file);
      } catch (const Error&) {
      }
      while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
      throw Error(ErrorCode::kIo, "ONNX Runtime failed on the model: " +
                                      (err.empty() ? std::string("(no message)") : err))
          .with("file", path_.string());
    }
    std::vector<TensorMap> out(samples.size());
    for (const auto& o : model_.outputs()) {
      const auto file = out_dir / (safe_file_name(o.name) + ".npy");
      NpyReader r(file);
      if (r.rows() != static_cast<std::int64_t>(samples.size())) {
        throw Error(ErrorCode::kInternal, "ONNX Runtime bridge returned a wrong sample count")
            .with("tensor", o.name);
      }
      for (std::int64_t i = 0; i < r.rows(); ++i) {
        Tensor t = r.read_rows(i, 1);
        Shape s(t.shape().begin() + 1, t.shape().end());
        out[static_cast<std::size_t>(i)][o.name] = t.reshaped(std::move(s));
      }
    }
    return out;
  }

 private:
  static std::string node_binary() {
    if (const char* env = std::getenv("QCAL_NODE"); env && *env) return shell_quote(env);
    return "node";
  }
  std::filesystem::path path_;
  engine::Model model_;
  int threads_;
};

}  // namespace

std::unique_ptr<ModelRunner> make_qcal_runner(const std::filesystem::path& model_path,
                                              const RunnerOptions& options) {
  return std::make_unique<QcalRunner>(model_path, options);
}

std::unique_ptr<ModelRunner> make_qcal_runner(std::shared_ptr<const engine::Model> model,
                                              const RunnerOptions& options) {
  return std::make_unique<QcalRunner>(std::move(model), options);
}

std::unique_ptr<ModelRunner> make_qcal_runner_from_bytes(std::string_view bytes,
                                                         const std::filesystem::path& base_dir,
                                                         const RunnerOptions& options) {
  return std::make_unique<QcalRunner>(engine::Model::load_from_bytes(bytes, base_dir), options);
}

namespace {

// FNV-1a 64 over bytes, continuing from `h`.
std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string sample_key(const TensorMap& sample) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  std::uint64_t bytes = 0;
  for (const auto& [name, t] : sample) {
    h = fnv1a(name.data(), name.size() + 1, h);
    for (std::int64_t d : t.shape()) h = fnv1a(&d, sizeof d, h);
    const int dt = static_cast<int>(t.dtype());
    h = fnv1a(&dt, sizeof dt, h);
    h = fnv1a(t.raw_data(), t.nbytes(), h);
    bytes += t.nbytes();
  }
  return std::to_string(h) + ":" + std::to_string(bytes);
}

}  // namespace

std::vector<TensorMap> CachingRunner::run(const std::vector<TensorMap>& samples) {
  std::vector<std::string> keys, missing_keys;
  std::vector<TensorMap> missing;
  for (const TensorMap& s : samples) {
    keys.push_back(sample_key(s));
    if (!cache_.count(keys.back()) &&
        std::find(missing_keys.begin(), missing_keys.end(), keys.back()) == missing_keys.end()) {
      missing_keys.push_back(keys.back());
      missing.push_back(s);
    }
  }
  if (!missing.empty()) {
    const std::vector<TensorMap> out = inner_->run(missing);
    for (std::size_t k = 0; k < missing.size(); ++k) cache_[missing_keys[k]] = out[k];
    misses_ += missing.size();
  }
  std::vector<TensorMap> out;
  for (const std::string& key : keys) out.push_back(cache_.at(key));
  return out;
}

std::unique_ptr<ModelRunner> make_ort_runner(const std::filesystem::path& model_path,
                                             const RunnerOptions& options) {
  return std::make_unique<OrtRunner>(model_path, options);
}

std::unique_ptr<ModelRunner> make_runner(RuntimeKind kind, const std::filesystem::path& model_path,
                                         const RunnerOptions& options) {
  return kind == RuntimeKind::kQcal ? make_qcal_runner(model_path, options)
                                    : make_ort_runner(model_path, options);
}

}  // namespace qcal::eval
