// Verification accuracy (best threshold) and the pairs file.
#include "eval/embedding.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"

namespace qcal::eval {
namespace {

TEST(Verification, BestThresholdHandComputed) {
  // same: .9 yes, .8 no, .7 yes, .1 no. Threshold .7 -> 3/4 (only .8 wrong); .9 -> 3/4 too;
  // the lowest of the tied thresholds wins.
  const std::vector<double> s = {0.9, 0.8, 0.7, 0.1};
  const std::vector<std::uint8_t> same = {1, 0, 1, 0};
  const VerificationResult r = verification_accuracy(s, same);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(r.threshold, 0.7);
  EXPECT_EQ(r.pairs, 4);
}

TEST(Verification, SeparableAndDegenerate) {
  const std::vector<double> s = {0.2, 0.9, 0.3, 0.8};
  const std::vector<std::uint8_t> same = {0, 1, 0, 1};
  EXPECT_DOUBLE_EQ(verification_accuracy(s, same).accuracy, 1.0);
  EXPECT_DOUBLE_EQ(verification_accuracy(s, same).threshold, 0.8);
  // All different: best is "never same".
  const std::vector<std::uint8_t> none = {0, 0, 0, 0};
  const auto r = verification_accuracy(s, none);
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0);
  EXPECT_TRUE(std::isinf(r.threshold));
  // Equal scores cannot be split.
  const std::vector<double> tie = {0.5, 0.5};
  const std::vector<std::uint8_t> mixed = {1, 0};
  EXPECT_DOUBLE_EQ(verification_accuracy(tie, mixed).accuracy, 0.5);
  EXPECT_EQ(verification_accuracy({}, {}).pairs, 0);
}

TEST(Pairs, NamesAndIndices) {
  const std::vector<std::string> names = {"alice_1.png", "alice_2.png", "bob_1.png"};
  const auto p = parse_pairs("# header\nalice_1.png alice_2.png 1\n0 2 0\r\n\n", names, "p.txt");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].first, 0u);
  EXPECT_EQ(p[0].second, 1u);
  EXPECT_TRUE(p[0].same);
  EXPECT_EQ(p[1].second, 2u);
  EXPECT_FALSE(p[1].same);
  EXPECT_THROW((void)parse_pairs("0 3 1\n", names, "p.txt"), Error);
  EXPECT_THROW((void)parse_pairs("0 1 2\n", names, "p.txt"), Error);
  EXPECT_THROW((void)parse_pairs("0 1\n", names, "p.txt"), Error);
  EXPECT_THROW((void)parse_pairs("carol 1 1\n", names, "p.txt"), Error);
}

TEST(Pairs, Scores) {
  const std::vector<std::vector<float>> emb = {{1, 0}, {1, 1}, {0, 1}};
  const std::vector<VerificationPair> pairs = {{0, 1, true}, {0, 2, false}};
  const auto s = pair_scores(emb, pairs);
  EXPECT_NEAR(s[0], 1.0 / std::sqrt(2.0), 1e-15);
  EXPECT_DOUBLE_EQ(s[1], 0.0);
}

}  // namespace
}  // namespace qcal::eval
