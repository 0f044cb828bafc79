// Runtimes `qcal eval` runs models in: qcal's own engine, or ONNX Runtime through the Node
// bridge (tools/ort/ort_batch.js), behind one interface that runs a chunk of samples.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.hpp"
#include "engine/model.hpp"

namespace qcal::eval {

using TensorMap = std::map<std::string, Tensor>;

enum class RuntimeKind { kQcal, kOrt };
RuntimeKind parse_runtime(const std::string& name);  // "qcal" | "ort"; kInvalidArgument else
const char* runtime_name(RuntimeKind kind);

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  // The model's declared inputs and outputs (names, dtypes, shapes).
  virtual const engine::Model& model() const = 0;
  // Runs each sample (inputs by name) and returns its outputs by name, in sample order.
  virtual std::vector<TensorMap> run(const std::vector<TensorMap>& samples) = 0;
};

struct RunnerOptions {
  int threads = 0;  // 0: all cores (qcal); ONNX Runtime gets the resolved number too
};

// qcal's engine. Loading checks that every op is supported (the error lists all that are not).
std::unique_ptr<ModelRunner> make_qcal_runner(const std::filesystem::path& model_path,
                                              const RunnerOptions& options);
// qcal's engine on a model already parsed (a run context's).
std::unique_ptr<ModelRunner> make_qcal_runner(std::shared_ptr<const engine::Model> model,
                                              const RunnerOptions& options);
// ONNX Runtime: `node tools/ort/ort_batch.js` once per chunk of samples, inputs and outputs
// exchanged as stacked .npy files in a private temporary folder (removed afterwards). The
// script is found at $QCAL_ORT_BATCH or in the source tree; node at $QCAL_NODE or on PATH.
std::unique_ptr<ModelRunner> make_ort_runner(const std::filesystem::path& model_path,
                                             const RunnerOptions& options);
// qcal's engine on a model held in memory (e.g. a candidate QDQ model); external data is
// resolved against base_dir.
std::unique_ptr<ModelRunner> make_qcal_runner_from_bytes(std::string_view bytes,
                                                         const std::filesystem::path& base_dir,
                                                         const RunnerOptions& options);
// Remembers another runner's outputs by the inputs' contents (FNV-1a of names, shapes and
// bytes), so a reference model runs once however often the same samples are evaluated.
class CachingRunner final : public ModelRunner {
 public:
  explicit CachingRunner(std::unique_ptr<ModelRunner> inner) : inner_(std::move(inner)) {}
  const engine::Model& model() const override { return inner_->model(); }
  std::vector<TensorMap> run(const std::vector<TensorMap>& samples) override;
  std::size_t misses() const { return misses_; }

 private:
  std::unique_ptr<ModelRunner> inner_;
  std::map<std::string, TensorMap> cache_;
  std::size_t misses_ = 0;
};
std::unique_ptr<ModelRunner> make_runner(RuntimeKind kind, const std::filesystem::path& model_path,
                                         const RunnerOptions& options);

}  // namespace qcal::eval
