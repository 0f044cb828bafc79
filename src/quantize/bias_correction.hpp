// Empirical bias correction (issue 17 item 1; docs/quantization.md, "Bias correction"): for each
// quantized Conv/ConvTranspose/Gemm/MatMul with constant weights, the per-output-channel mean
// of (FP32 output - QDQ output) on calibration samples is folded into the layer's bias, so the
// QDQ model's layers have the FP32 model's channel means. The QDQ model runs in qcal's engine
// with the corrections applied in place as it goes (see correct_biases), so a layer is measured
// on the input its already-corrected predecessors give it.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "export/qdq_builder.hpp"
#include "preprocess/sample_data.hpp"
#include "quantize/model_context.hpp"

namespace qcal::quantize {

struct BiasCorrectionOptions {
  bool enabled = false;
  std::size_t samples = 32;  // calibration batches measured, spread over the data
  int passes = 2;            // QDQ passes (see correct_biases)
};

// Throws kInvalidArgument naming the option.
void validate(const BiasCorrectionOptions& options);

// One corrected layer.
struct LayerCorrection {
  std::string node;                  // node name ("#index" when unnamed)
  std::string op;                    // Conv, ConvTranspose, Gemm, MatMul
  std::string output;                // the tensor measured
  std::vector<double> shift;         // added to the bias, per output channel
  double mean_abs_error_before = 0;  // mean over channels of |channel mean error|, uncorrected
  double mean_abs_error_after = 0;   // the same in the last pass (previous pass's corrections)
  double max_abs_shift = 0;
};

struct BiasCorrection {
  std::string model_bytes;  // the float model with corrected biases (Q/DQ goes into it)
  std::vector<LayerCorrection> layers;
  std::size_t samples = 0;  // samples measured (batches x batch size)
  double seconds = 0;
};

// The layers bias correction applies to in `build`'s plan, in graph order: quantized
// Conv/ConvTranspose/Gemm/MatMul whose weight (input 1) is constant, whose data input is not,
// and whose bias (if any) is a constant of a shape that widens to one value per channel.
struct CorrectionTarget {
  std::size_t node = 0;  // index in the GraphView
  std::string key;       // exporter::node_key
  std::string op;
  std::string output;
  std::size_t channels = 0;
  bool last_axis = false;  // channels on the last axis (Gemm, MatMul) rather than axis 1
};
std::vector<CorrectionTarget> correction_targets(const exporter::GraphView& graph,
                                                 const exporter::PlacementPlan& plan);

// Measures and folds the corrections. Pass 0 runs the FP32 model (per-channel output sums) and
// the QDQ model uncorrected; each further pass runs the QDQ model with every layer's output
// shifted in place by the previous pass's corrections and re-measures each layer on the input
// its corrected predecessors produce: layer L's correction is E[fp32_L] - E[qdq_L] with the
// layers before it corrected by the previous pass. Sums are per channel in double, in one fixed
// order, so the result does not depend on the thread count. Memory: two sums per channel.
BiasCorrection correct_biases(const ModelContext& model, const exporter::QdqBuild& build,
                              preprocess::SampleData& data, std::int64_t num_samples,
                              const BiasCorrectionOptions& options, int threads);

// ranges.json's "bias_correction" block (per layer: shifts, errors before/after).
nlohmann::json bias_correction_json(const BiasCorrection& bc);

}  // namespace qcal::quantize
