// Measuring layer sensitivity in qcal's engine: the FP32 model is run once per sample for the
// reference, then once per (quantized tensor, sample) with only that activation
// fake-quantized in place through the engine's observer, and once per sample with every
// activation fake-quantized (the per-tensor error along the quantized model).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "engine/model.hpp"
#include "eval/coco_map.hpp"
#include "eval/detection.hpp"
#include "eval/sensitivity.hpp"
#include "eval/tensor_metrics.hpp"

namespace qcal::quantize {

// An activation's quantization: q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax),
// then x' = (q - zero_point) * scale (ONNX QuantizeLinear + DequantizeLinear).
struct ActivationQuant {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
  std::int32_t qmin = -128, qmax = 127;
};

// Fake-quantizes in place (exposed for tests).
void fake_quantize(std::span<float> values, const ActivationQuant& q);

// The activations' quantization read from a QDQ model: each QuantizeLinear whose input is an
// activation (not an initializer) with a scalar scale and zero point (int8 or uint8).
std::map<std::string, ActivationQuant> activation_quant_from_qdq(const engine::Model& qdq_model);

// Sees the outputs of every perturbed run: `tensor` is the quantized tensor's name, empty for
// the run with every activation quantized. Used to score a task metric per tensor (calibrate
// --metric map50-95).
using OutputsHook =
    std::function<void(const std::string& tensor, std::size_t sample,
                       const std::vector<Tensor>& reference, const std::vector<Tensor>& test)>;

// The task metric per quantized tensor from the sensitivity runs' outputs (feed it through
// SensitivityRunOptions::on_outputs): kYoloMap decodes the first output as a YOLO head and scores
// mAP50-95 against the FP32 run's detections above 0.25 (`qcal eval --task yolo` without
// labels); kWorstCosine is the lowest per-output set cosine. Drop = (1 - value) * 100, FP32
// scoring 1 against itself. The empty name is the all-quantized run.
class TaskDropScorer {
 public:
  enum class Kind { kYoloMap, kWorstCosine };
  explicit TaskDropScorer(Kind kind) : kind_(kind) {}
  void add(const std::string& tensor, std::size_t sample, const std::vector<Tensor>& reference,
           const std::vector<Tensor>& test);
  // Percentage points; NaN when nothing was added for the tensor or the metric is undefined
  // (no FP32 detection above 0.25 in any sample).
  double drop(const std::string& tensor) const;
  const char* metric_name() const { return kind_ == Kind::kYoloMap ? "map50-95" : "cosine"; }

 private:
  Kind kind_;
  std::vector<std::optional<std::vector<eval::GroundTruthBox>>> reference_;
  std::map<std::string, std::vector<eval::ImageDetections>> dets_;
  std::map<std::string, std::vector<eval::TensorComparator>> cosines_;
};

struct SensitivityRunOptions {
  int threads = 0;
  OutputsHook on_outputs;
};

struct SensitivityRun {
  std::vector<eval::TensorSensitivity>
      tensors;  // in the name order of the quant map (minus skipped)
  // The final outputs with every listed activation fake-quantized (weights stay float).
  double all_output_sqnr_db = 0.0;
  double all_output_cosine = 1.0;
  std::size_t samples = 0;
  std::size_t runs = 0;  // engine runs in all
  double seconds = 0.0;
  std::vector<std::string> skipped;  // listed tensors the FP32 model does not have (or not float)
};

using SensitivityProgress = std::function<void(std::size_t done, std::size_t total)>;

// `samples`: per sample, the model's inputs in model().inputs() order (batch 1 each). Cost:
// (tensors + 2) engine runs per sample; no activation of more than one sample is held (the
// FP32 copies of the listed tensors of the current sample, for the along-model error).
SensitivityRun measure_sensitivity(std::shared_ptr<const engine::Model> fp32_model,
                                   const std::map<std::string, ActivationQuant>& quant,
                                   const std::vector<std::vector<Tensor>>& samples,
                                   const SensitivityRunOptions& options,
                                   const SensitivityProgress& progress = {});

}  // namespace qcal::quantize
