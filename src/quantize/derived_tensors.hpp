// Tensors whose statistics are combined from other tensors' instead of read: the output of a
// Concat of observed tensors, of an op that only moves values (Reshape, Flatten, Squeeze,
// Unsqueeze, Transpose, Identity), of an integer-factor nearest Resize; or a tensor partitioned
// by observed Slices or Split outputs. collect_statistics() combines them with
// calib::StatsSet::observe_union (exact): on yolov8n about a third of the observed values.
#pragma once

#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "engine/model.hpp"
#include "engine/session.hpp"

namespace qcal::quantize {

struct DerivedTensor {
  std::string name;
  std::vector<std::string> parts;
};

using ShapeMap = std::map<std::string, Shape>;

// For a model and the set of observed tensor names: the derivable ones, in an order where every
// part is observed directly or derived earlier. `shapes` (planned_shapes) enables the Slice and
// Resize rules.
std::vector<DerivedTensor> find_derived(const engine::Model& model,
                                        const std::set<std::string>& observed,
                                        const ShapeMap& shapes);
// The same, planning the model's own input shapes when they are all fixed.
std::vector<DerivedTensor> derived_tensors(const engine::Model& model,
                                           const std::vector<std::string>& observed);

// Shapes of the tensors the session's nodes read and produce for these input shapes.
ShapeMap planned_shapes(engine::Session& session, std::span<const Shape> input_shapes);

}  // namespace qcal::quantize
