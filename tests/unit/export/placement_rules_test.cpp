// QDQ placement rules 1b' (a linear layer that only feeds the output layer is part of it) and
// 2b (a residual Add's input straight from an int8 compute op is fused, not quantized), on
// hand-built graphs whose answers follow from the rules' statements.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "export/qdq_placement.hpp"

namespace qcal::exporter {
namespace {

GraphNode node(std::string name, std::string op, std::vector<std::string> in,
               std::vector<std::string> out, std::int64_t group = 1) {
  GraphNode n;
  n.name = std::move(name);
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  if (group != 1) n.int_attributes["group"] = group;
  return n;
}

std::set<std::string> keys(const PlacementPlan& plan) {
  std::set<std::string> s;
  for (const auto& [k, v] : plan.activations) s.insert(k);
  return s;
}

bool names_reason(const PlacementPlan& plan, const std::string& prefix) {
  for (const auto& f : plan.float_nodes) {
    if (f.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// MobileFaceNet's tail: conv -> PRelu -> gdc (depthwise) -> linear conv -> Reshape -> out.
GraphView face_tail() {
  GraphView g;
  g.inputs = {"x"};
  g.outputs = {"out"};
  g.initializers = {"w1", "slope", "wg", "wl", "shape"};
  g.nodes = {
      node("conv", "Conv", {"x", "w1"}, {"c"}), node("prelu", "PRelu", {"c", "slope"}, {"p"}),
      node("gdc", "Conv", {"p", "wg"}, {"g"}, 512), node("linear", "Conv", {"g", "wl"}, {"l"}),
      node("reshape", "Reshape", {"l", "shape"}, {"out"})};
  return g;
}

TEST(PlacementRules, ALinearLayerFeedingOnlyTheOutputLayerIsPartOfIt) {
  const GraphView g = face_tail();
  const auto plan = plan_qdq(g, {});
  // gdc and linear are one linear map to the output: both float; conv (before the PRelu) int8.
  EXPECT_EQ(keys(plan), (std::set<std::string>{"x"}));
  EXPECT_TRUE(plan.weights.count("w1"));
  EXPECT_FALSE(plan.weights.count("wg"));
  EXPECT_FALSE(plan.weights.count("wl"));
  EXPECT_TRUE(names_reason(plan, "gdc (Conv): output layer (feeds the output layer linear"));
  EXPECT_TRUE(names_reason(plan, "linear (Conv): output layer (no int8 compute op downstream)"));
  // --quantize-output-layers quantizes all three again.
  PlacementOptions all;
  all.keep_output_layers_float = false;
  EXPECT_EQ(plan_qdq(g, all).weights.size(), 3u);
}

TEST(PlacementRules, ALayerWithAnotherReaderOrANonlinearityIsNotPartOfTheOutputLayer) {
  GraphView g = face_tail();
  // gdc's result is also a graph output: it is read as it is, so it stays int8.
  g.outputs.push_back("g");
  auto plan = plan_qdq(g, {});
  EXPECT_TRUE(plan.weights.count("wg"));
  EXPECT_TRUE(plan.activations.count("p"));
  // A Relu between gdc and linear: two maps, gdc stays int8.
  g = face_tail();
  g.nodes[3].inputs[0] = "r";
  g.nodes.insert(g.nodes.begin() + 3, node("relu", "Relu", {"g"}, {"r"}));
  plan = plan_qdq(g, {});
  EXPECT_TRUE(plan.weights.count("wg"));
  EXPECT_FALSE(plan.weights.count("wl"));
  // A head after linear, behind a Relu: linear is no longer the output layer, and excluding it
  // by hand does not make gdc one (output layers are decided before --exclude).
  g = face_tail();
  g.nodes.insert(g.nodes.begin() + 4, node("relu", "Relu", {"l"}, {"lr"}));
  g.nodes.insert(g.nodes.begin() + 5, node("head", "Conv", {"lr", "wl"}, {"h"}));
  g.nodes[6].inputs[0] = "h";
  PlacementOptions o;
  o.exclude = {"linear"};
  plan = plan_qdq(g, o);
  EXPECT_TRUE(plan.weights.count("wg"));
  EXPECT_FALSE(plan.weights.count("wl"));
  EXPECT_TRUE(names_reason(plan, "head (Conv): output layer (no int8"));
}

// x -> conv1 -> a -> conv2 -> b -> Add(a, b) -> s -> conv3 -> relu -> conv4 (output layer, so
// r is not quantized).
GraphView residual() {
  GraphView g;
  g.inputs = {"x"};
  g.outputs = {"y"};
  g.initializers = {"w1", "w2", "w3", "w4"};
  g.nodes = {node("conv1", "Conv", {"x", "w1"}, {"a"}), node("conv2", "Conv", {"a", "w2"}, {"b"}),
             node("add", "Add", {"a", "b"}, {"s"}),     node("conv3", "Conv", {"s", "w3"}, {"c"}),
             node("relu", "Relu", {"c"}, {"r"}),        node("conv4", "Conv", {"r", "w4"}, {"y"})};
  return g;
}

TEST(PlacementRules, ResidualAddFusesTheInputItsComputeOpProduces) {
  const GraphView g = residual();
  auto plan = plan_qdq(g, {});
  // a feeds conv2 and the Add (quantized, shared pair); b comes only from conv2 into the Add:
  // TensorRT runs the Add in conv2's epilogue, so b has no Q/DQ. Both inputs qualify by
  // producer, b is produced later.
  EXPECT_EQ(keys(plan), (std::set<std::string>{"x", "a", "s"}));
  EXPECT_EQ(plan.activations.at("a").size(), 2u);
  PlacementOptions both;
  both.fuse_residual_add = false;  // --quantize-residual-inputs
  EXPECT_EQ(keys(plan_qdq(g, both)), (std::set<std::string>{"x", "a", "b", "s"}));
}

TEST(PlacementRules, ResidualInputReadElsewhereOrFromAFloatLayerIsQuantized) {
  GraphView g = residual();
  // b also read by conv3's sibling: it needs its own int8 copy anyway, and so does a. Neither
  // is fused, as a is read by conv2 too.
  g.nodes.insert(g.nodes.begin() + 3, node("side", "Conv", {"b", "w3"}, {"d"}));
  g.nodes.back().inputs.push_back("d");  // conv4 reads d as a second input: keeps side int8
  auto plan = plan_qdq(g, {});
  EXPECT_TRUE(plan.activations.count("b"));
  // conv2 kept float by --exclude: its output is a float tensor and gets a Q/DQ for the Add.
  g = residual();
  PlacementOptions o;
  o.exclude = {"conv2"};
  plan = plan_qdq(g, o);
  EXPECT_TRUE(plan.activations.count("b"));
  EXPECT_FALSE(plan.weights.count("w2"));
}

}  // namespace
}  // namespace qcal::exporter
