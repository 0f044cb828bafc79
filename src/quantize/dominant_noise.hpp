// Placement rule "dominant noise": an activation whose int8 rounding alone makes most of the
// model's output quantization noise stays float (docs/quantization.md, "Dominant noise").
// Measured on a few calibration samples in qcal's engine (each quantized activation
// fake-quantized alone, output SQNR against FP32); the selection itself is a pure function of
// those SQNRs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "calib/range_select.hpp"
#include "core/tensor.hpp"
#include "engine/model.hpp"
#include "export/qdq_placement.hpp"
#include "preprocess/sample_data.hpp"

namespace qcal::quantize {

using exporter::GraphView;
using exporter::PlacementPlan;

struct DominantNoiseOptions {
  bool enabled = true;  // `--dominant-noise off` turns the rule off (every planned tensor int8)
  // A tensor stays float when keeping it float alone is expected to lift the output SQNR by at
  // least this many dB (`--dominant-noise DB`): its noise share s, of the sum over all
  // quantized tensors' output noise powers, satisfies -10 log10(1 - s) >= gain_db. 1 dB:
  // s >= 0.206, so at most four tensors can qualify and the rule never turns a model float.
  double gain_db = 1.0;
  std::size_t samples = 2;  // calibration samples (batches) probed, spread over the set
  double share() const;     // 1 - 10^(-gain_db / 10)
};
void validate(const DominantNoiseOptions& options);  // kInvalidArgument naming the option

// One quantized activation's output noise when it alone is quantized.
struct TensorNoise {
  std::string tensor;
  double output_sqnr_db = 0.0;  // final outputs vs FP32, that tensor alone fake-quantized
  double share = 0.0;           // its noise power / the sum over all tensors
};

// Noise power 10^(-sqnr/10) per tensor, normalised to shares summing to 1 (+inf SQNR: share
// 0). Input order kept.
std::vector<TensorNoise> noise_shares(
    const std::vector<std::pair<std::string, double>>& output_sqnr_db);

// The tensors with share >= max(options.share(), 2 / N), largest share first (ties by name).
// Empty when the rule is off.
std::vector<TensorNoise> select_dominant_noise(const std::vector<TensorNoise>& shares,
                                               const DominantNoiseOptions& options);

// The nodes that read `tensor` through its Q/DQ in `plan` (keeping the tensor float means
// keeping them float, as --exclude does), in graph order, unique.
std::vector<std::string> consumer_nodes(const GraphView& graph, const PlacementPlan& plan,
                                        const std::string& tensor);

struct DominantNoiseRun {
  std::vector<TensorNoise> shares;    // every measured tensor, by share (largest first)
  std::vector<TensorNoise> selected;  // kept float
  std::map<std::string, std::vector<std::string>> nodes;  // selected tensor -> consumer nodes
  std::size_t samples = 0;
  double seconds = 0.0;
};

// Measures each quantized activation alone on `samples` (inputs per sample, in model input
// order) with the int8 parameters of `ranges`, then selects.
DominantNoiseRun run_dominant_noise(std::shared_ptr<const engine::Model> model,
                                    const GraphView& graph, const PlacementPlan& plan,
                                    const std::vector<std::string>& qdq_tensors,
                                    const std::map<std::string, calib::Range>& ranges,
                                    bool uint8_activations,
                                    const std::vector<std::vector<Tensor>>& samples,
                                    const DominantNoiseOptions& options, int threads);

// `count` probe inputs for the rule from the calibration data: batches (the model's batch size,
// 1 when dynamic) at evenly spaced positions (k + 0.5) / count of the first `limit` samples (0:
// all), so the probes do not all come from one end of a video. Fewer when there are fewer. A
// streamed source (SampleData::streamed) gives its first `count` batches.
std::vector<std::vector<Tensor>> probe_samples(preprocess::SampleData& data,
                                               const engine::Model& model, std::int64_t limit,
                                               std::size_t count);

}  // namespace qcal::quantize
