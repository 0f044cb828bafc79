// Sensitivity ranking order (ties, NaN, infinities) and its JSON round trip.
#include "eval/sensitivity.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace qcal::eval {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

TEST(Sensitivity, RanksMostSensitiveFirst) {
  std::vector<TensorSensitivity> in = {
      {"conv1", 40.0, 0.9999, 35.0, 0.999},  {"unchanged", kInf, 1.0, kInf, 1.0},
      {"head", 12.0, 0.97, 20.0, 0.99},      {"broken", kNan, kNan, kNan, kNan},
      {"b_tie", 25.0, 0.995, 30.0, 0.999},   {"a_tie", 25.0, 0.995, 30.0, 0.999},
      {"cos_tie", 25.0, 0.990, 30.0, 0.999},
  };
  const auto r = rank_sensitivity(in);
  ASSERT_EQ(r.size(), 7u);
  const std::vector<std::string> expected = {"broken", "head",  "cos_tie",  "a_tie",
                                             "b_tie",  "conv1", "unchanged"};
  for (std::size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].result.tensor, expected[i]) << i;
    EXPECT_EQ(r[i].rank, static_cast<int>(i + 1));
  }
  // The input order does not matter.
  std::reverse(in.begin(), in.end());
  const auto r2 = rank_sensitivity(in);
  for (std::size_t i = 0; i < r2.size(); ++i) EXPECT_EQ(r2[i].result.tensor, expected[i]);
}

TEST(Sensitivity, JsonRoundTrip) {
  const auto ranked = rank_sensitivity({{"x", kInf, 1.0, kNan, 1.0}, {"y", 3.5, 0.5, -kInf, 0}});
  const nlohmann::json j = sensitivity_to_json(ranked);
  EXPECT_EQ(j["tensors"][0]["tensor"], "y");
  EXPECT_EQ(j["tensors"][1]["output_sqnr_db"], "inf");
  EXPECT_TRUE(j["tensors"][1]["along_sqnr_db"].is_null());  // never the string "nan"
  EXPECT_EQ(j["tensors"][0]["along_sqnr_db"], "-inf");
  const auto back = sensitivity_from_json(nlohmann::json::parse(j.dump()));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].result.tensor, "x");
  EXPECT_TRUE(std::isinf(back[1].result.output_sqnr_db));
  EXPECT_TRUE(std::isnan(back[1].result.along_sqnr_db));
  EXPECT_DOUBLE_EQ(back[0].result.output_sqnr_db, 3.5);
  EXPECT_THROW((void)sensitivity_from_json(nlohmann::json::object()), std::exception);
}

TEST(Sensitivity, TaskDropLeadsWhenMeasuredAndRoundTrips) {
  std::vector<TensorSensitivity> v = {{"a", 20.0, 0.99, 10, 0.9, 0.0},
                                      {"b", 40.0, 0.999, 30, 0.99, 3.5},
                                      {"c", 10.0, 0.9, 5, 0.8, 0.0},
                                      {"d", 50.0, 0.9999, 40, 0.999, 3.5}};
  const auto ranked = rank_sensitivity(v);
  std::vector<std::string> order;
  for (const auto& r : ranked) order.push_back(r.result.tensor);
  // 3.5 pp first (b before d by SQNR), then the 0 pp ones by SQNR.
  EXPECT_EQ(order, (std::vector<std::string>{"b", "d", "c", "a"}));
  const auto j = sensitivity_to_json(ranked);
  EXPECT_EQ(j["metric"], "task_drop_pp");
  EXPECT_EQ(j["tensors"][0]["task_drop_pp"], 3.5);
  EXPECT_EQ(sensitivity_from_json(j)[0].result.task_drop_pp, 3.5);
  // Without task drops the JSON has no such field and the metric is the output SQNR.
  const auto plain = sensitivity_to_json(rank_sensitivity({{"x", 1.0, 0.5, 1.0, 0.5}}));
  EXPECT_EQ(plain["metric"], "output_sqnr_db");
  EXPECT_FALSE(plain["tensors"][0].contains("task_drop_pp"));
  EXPECT_TRUE(std::isnan(sensitivity_from_json(plain)[0].result.task_drop_pp));
}

}  // namespace
}  // namespace qcal::eval
