// The dominant-noise rule on synthetic per-tensor output SQNRs: a tensor that makes most of the
// noise is selected, benign ones are not, the equal-share guard and the gain threshold cap the
// selection, `off` selects nothing; its nodes become float with the rule's reason.
#include "quantize/dominant_noise.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"

namespace qcal::quantize {
namespace {

using exporter::GraphNode;
using exporter::PlacementOptions;

std::vector<std::pair<std::string, double>> benign(int n, double db) {
  std::vector<std::pair<std::string, double>> v;
  for (int i = 0; i < n; ++i) v.emplace_back("t" + std::to_string(100 + i), db);
  return v;
}

std::vector<std::string> names(const std::vector<TensorNoise>& v) {
  std::vector<std::string> out;
  for (const auto& n : v) out.push_back(n.tensor);
  return out;
}

TEST(DominantNoise, SharesSumToOneAndFollowNoisePower) {
  const auto s = noise_shares({{"a", 30.0}, {"b", 40.0}, {"c", INFINITY}});
  ASSERT_EQ(s.size(), 3u);
  EXPECT_NEAR(s[0].share + s[1].share + s[2].share, 1.0, 1e-12);
  EXPECT_NEAR(s[0].share / s[1].share, 10.0, 1e-9);  // 10 dB = 10x the noise power
  EXPECT_EQ(s[2].share, 0.0);
}

TEST(DominantNoise, HeavyTensorSelectedBenignOnesNot) {
  // yolov8n-like: one stem activation at 30.5 dB alone, 82 others at 50 dB (their median there
  // is near 58 dB): the stem makes about half the noise.
  auto v = benign(82, 50.0);
  v.emplace_back("stem", 30.5);
  const auto shares = noise_shares(v);
  const auto sel = select_dominant_noise(shares, {});
  EXPECT_EQ(names(sel), std::vector<std::string>{"stem"});
  EXPECT_GT(sel[0].share, 0.5);
  // Nothing dominates: all alike, none selected.
  EXPECT_TRUE(select_dominant_noise(noise_shares(benign(83, 35.0)), {}).empty());
  // A tensor somewhat worse than the rest but far from a quarter of the noise: not selected.
  auto w = benign(82, 50.0);
  w.emplace_back("worse", 38.0);  // share 0.16
  EXPECT_TRUE(select_dominant_noise(noise_shares(w), {}).empty());
}

TEST(DominantNoise, CapsAndThresholds) {
  // Two equal bad tensors among many: 0.38 each, both selected, largest first then by name.
  auto v = benign(60, 50.0);
  v.emplace_back("z_bad", 30.0);
  v.emplace_back("a_bad", 30.0);
  EXPECT_EQ(names(select_dominant_noise(noise_shares(v), {})),
            (std::vector<std::string>{"a_bad", "z_bad"}));
  // Six equal bad ones: 0.165 each, below the 1 dB share 0.206: none (at most 1/share tensors
  // can qualify). A 0.5 dB gain (share 0.109) takes all six.
  auto six = benign(60, 60.0);
  for (int i = 0; i < 6; ++i) six.emplace_back("bad" + std::to_string(i), 30.0);
  EXPECT_TRUE(select_dominant_noise(noise_shares(six), {}).empty());
  DominantNoiseOptions lower;
  lower.gain_db = 0.5;
  EXPECT_NEAR(lower.share(), 0.1087, 1e-4);
  EXPECT_EQ(select_dominant_noise(noise_shares(six), lower).size(), 6u);
  // Small models: twice the equal share. Two tensors at 0.6 / 0.4: 2/N = 1, none selected;
  // four tensors with one at 0.55: threshold 0.5, selected.
  EXPECT_TRUE(select_dominant_noise(noise_shares({{"a", 30.0}, {"b", 31.76}}), {}).empty());
  const auto four = noise_shares({{"a", 30.0}, {"b", 35.0}, {"c", 35.0}, {"d", 35.0}});
  EXPECT_EQ(names(select_dominant_noise(four, {})), std::vector<std::string>{"a"});
  // Off: nothing, whatever the shares.
  DominantNoiseOptions off;
  off.enabled = false;
  EXPECT_TRUE(select_dominant_noise(four, off).empty());
}

TEST(DominantNoise, OptionValidation) {
  DominantNoiseOptions o;
  EXPECT_NEAR(o.share(), 0.2057, 1e-4);  // 1 dB: 1 - 10^-0.1
  for (double bad : {0.0, -0.1, 61.0, std::nan("")}) {
    o.gain_db = bad;
    EXPECT_THROW(validate(o), Error) << bad;
  }
  o.gain_db = 3.0;
  EXPECT_NO_THROW(validate(o));
  o.samples = 0;
  EXPECT_THROW(validate(o), Error);
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

TEST(DominantNoise, ConsumersBecomeFloatWithTheRulesReason) {
  // x -> conv1 -> a -> conv2 -> b -> relu -> r -> conv3 -> y (conv3 is the output layer; the
  // Relu keeps conv2 from being part of it).
  exporter::GraphView g;
  g.inputs = {"x"};
  g.outputs = {"y"};
  g.initializers = {"w1", "w2", "w3"};
  g.nodes = {node("conv1", "Conv", {"x", "w1"}, {"a"}), node("conv2", "Conv", {"a", "w2"}, {"b"}),
             node("relu", "Relu", {"b"}, {"r"}), node("conv3", "Conv", {"r", "w3"}, {"y"})};
  PlacementOptions o;
  const auto plan = exporter::plan_qdq(g, o);
  ASSERT_TRUE(plan.activations.count("a"));
  EXPECT_EQ(consumer_nodes(g, plan, "a"), std::vector<std::string>{"conv2"});
  EXPECT_TRUE(consumer_nodes(g, plan, "nope").empty());
  o.float_reasons["conv2"] = "dominant noise (test)";
  const auto kept = exporter::plan_qdq(g, o);
  EXPECT_FALSE(kept.activations.count("a"));
  EXPECT_FALSE(kept.weights.count("w2"));
  EXPECT_TRUE(kept.weights.count("w1"));  // conv1 stays int8: decided before exclusions
  bool named = false;
  for (const auto& f : kept.float_nodes)
    named = named || f == "conv2 (Conv): dominant noise (test)";
  EXPECT_TRUE(named);
}

}  // namespace
}  // namespace qcal::quantize
