// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization"; issue 17 item 2;
// docs/quantization.md, "Cross-layer equalization"): in a pair of layers joined through a
// positively homogeneous activation, output channel c of the first is divided by s_c and input
// channel c of the second multiplied by s_c, s_c = sqrt(r1_c / r2_c) with r the channel's
// weight range, so both channels end with the range sqrt(r1_c * r2_c). The float model computes
// the same function (within float rounding) with weight ranges per-tensor quantization keeps.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "export/qdq_placement.hpp"

namespace qcal::quantize {

struct EqualizeOptions {
  bool enabled = false;
  int max_sweeps = 32;      // passes over all pairs (a layer in two pairs moves twice)
  double tolerance = 1e-4;  // stop when every |log s_c| of a sweep is below this
};

// One equalized pair and what it did.
struct EqualizedPair {
  std::string first, second;      // node keys (exporter::node_key)
  std::string activation;         // Relu, LeakyRelu, PRelu or "" (none)
  std::vector<double> scales;     // total s_c over all sweeps
  double range_ratio_before = 0;  // max over channels of r1_c / min r1_c of the first layer
  double range_ratio_after = 0;
};

struct Equalization {
  std::string model_bytes;  // the equalized float model
  std::vector<EqualizedPair> pairs;
  int sweeps = 0;
  double seconds = 0;
};

// A pair the rule applies to, found on the graph (no weights read).
struct EqualizePair {
  std::size_t first = 0, second = 0;  // node indices
  std::string activation;
};
// Conv/Gemm -> [Relu | LeakyRelu | PRelu] -> Conv/Gemm where every tensor between them has one
// reader and is not a graph output, weights (and biases) are constants used by no other node,
// and the channel counts match. Everything else stops a chain (docs/quantization.md says why).
std::vector<EqualizePair> equalize_pairs(const exporter::GraphView& graph);

// Equalizes every pair of `model_bytes` (whose GraphView is `graph`). Deterministic.
Equalization equalize_model(const std::string& model_bytes, const exporter::GraphView& graph,
                            const std::string& what, const EqualizeOptions& options);

// ranges.json's "equalization" block.
nlohmann::json equalization_json(const Equalization& eq);

}  // namespace qcal::quantize
