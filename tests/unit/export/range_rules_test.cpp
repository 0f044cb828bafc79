// Range rules: probabilities keep their observed range; quantized Concat inputs share one
// range, transitively across Concats that share an input; nothing else changes.
#include "export/range_rules.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "core/tensor.hpp"

namespace qcal::exporter {
namespace {

calib::TensorStats stats_of(std::vector<float> values) {
  calib::TensorStats s;
  const std::int64_t shape[1] = {static_cast<std::int64_t>(values.size())};
  TensorView view{DType::kFloat32, shape, values.data()};
  s.observe("t", view, 0);
  return s;
}

GraphNode node(std::string name, std::string op, std::vector<std::string> in,
               std::vector<std::string> out) {
  GraphNode n;
  n.name = std::move(name);
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// x -> Sigmoid -> s -> Reshape -> r ; a, b -> Concat1 -> c1 ; b, d -> Concat2 -> c2 ;
// e -> Conv (not a Concat input).
struct Fixture {
  GraphView graph;
  PlacementPlan plan;
  std::map<std::string, calib::TensorStats> stats;
  std::map<std::string, calib::Range> ranges;
  Fixture() {
    graph.inputs = {"x", "a", "b", "d", "e"};
    graph.nodes = {
        node("sig", "Sigmoid", {"x"}, {"s"}), node("reshape", "Reshape", {"s", "shape"}, {"r"}),
        node("concat1", "Concat", {"a", "b"}, {"c1"}),
        node("concat2", "Concat", {"b", "d"}, {"c2"}), node("conv", "Conv", {"e", "w"}, {"y"})};
    graph.initializers = {"shape", "w"};
    plan.activations["a"] = {{2, 0}};
    plan.activations["b"] = {{2, 1}, {3, 0}};
    plan.activations["d"] = {{3, 1}};
    plan.activations["e"] = {{4, 0}};
    stats["s"] = stats_of({0.01f, 0.02f, 0.9f});
    stats["r"] = stats_of({0.01f, 0.02f, 0.9f});
    stats["a"] = stats_of({-1.0f, 2.0f});
    stats["b"] = stats_of({-3.0f, 1.0f});
    stats["d"] = stats_of({0.0f, 8.0f});
    stats["e"] = stats_of({-5.0f, 5.0f});
    ranges["s"] = {0.0f, 0.09f, 0.09f};  // what entropy picks for clipped scores
    ranges["r"] = {0.0f, 0.09f, 0.09f};
    ranges["a"] = {-1.0f, 2.0f, 2.0f};
    ranges["b"] = {-3.0f, 1.0f, 3.0f};
    ranges["d"] = {0.0f, 6.0f, 6.0f};
    ranges["e"] = {-4.0f, 4.0f, 4.0f};
  }
};

TEST(RangeRules, ProbabilitiesKeepTheirObservedRangeThroughPlumbing) {
  Fixture f;
  RangeRuleOptions o;
  o.share_concat_scale = false;
  const auto changes = apply_range_rules(f.graph, f.plan, f.stats, f.ranges, o);
  EXPECT_FLOAT_EQ(f.ranges["s"].amax, 0.9f);
  EXPECT_FLOAT_EQ(f.ranges["r"].amax, 0.9f);  // Reshape of a probability
  EXPECT_FLOAT_EQ(f.ranges["s"].max, 0.9f);
  EXPECT_FLOAT_EQ(f.ranges["a"].amax, 2.0f);  // untouched
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].rule, "probability");
  EXPECT_FLOAT_EQ(changes[0].amax_before, 0.09f);
}

TEST(RangeRules, ConcatInputsShareTheLargestRangeTransitively) {
  Fixture f;
  RangeRuleOptions o;
  o.keep_probability_range = false;
  const auto changes = apply_range_rules(f.graph, f.plan, f.stats, f.ranges, o);
  // b feeds both Concats, so a, b and d form one group: amax 6, [min, max] = [-3, 6].
  for (const char* t : {"a", "b", "d"}) {
    SCOPED_TRACE(t);
    EXPECT_FLOAT_EQ(f.ranges[t].amax, 6.0f);
    EXPECT_FLOAT_EQ(f.ranges[t].min, -3.0f);
    EXPECT_FLOAT_EQ(f.ranges[t].max, 6.0f);
  }
  EXPECT_FLOAT_EQ(f.ranges["e"].amax, 4.0f);   // not a Concat input
  EXPECT_FLOAT_EQ(f.ranges["s"].amax, 0.09f);  // probability rule off
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].rule, "concat:concat1");
}

TEST(RangeRules, ConcatInputsWithoutQdqAreLeftAlone) {
  Fixture f;
  f.plan.activations.erase("a");
  f.plan.activations.erase("d");  // each Concat now has one quantized input: nothing to share
  RangeRuleOptions o;
  o.keep_probability_range = false;
  EXPECT_TRUE(apply_range_rules(f.graph, f.plan, f.stats, f.ranges, o).empty());
  EXPECT_FLOAT_EQ(f.ranges["b"].amax, 3.0f);
}

TEST(RangeRules, OffChangesNothing) {
  Fixture f;
  RangeRuleOptions o;
  o.keep_probability_range = false;
  o.share_concat_scale = false;
  EXPECT_TRUE(apply_range_rules(f.graph, f.plan, f.stats, f.ranges, o).empty());
}

}  // namespace
}  // namespace qcal::exporter
