// Eval JSON reading: the documented schema, shorthand, drop arithmetic and errors.
#include "plan/accuracy.hpp"

#include <gtest/gtest.h>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "test_support.hpp"

namespace qcal::plan {
namespace {

std::filesystem::path data(const std::string& name) {
  return std::filesystem::path(QCAL_SOURCE_DIR) / "tests/data/plan" / name;
}

TEST(Accuracy, ExplicitDropOfThePrimaryMetric) {
  AccuracyTable t = load_accuracy({data("eval_int8.json")});
  ASSERT_EQ(t.worst.count("int8"), 1u);
  const AccuracyEvidence& e = t.worst.at("int8");
  EXPECT_EQ(e.metric, "map50_95");
  EXPECT_DOUBLE_EQ(e.drop_pp, 0.8);
  EXPECT_DOUBLE_EQ(*e.reference_value, 0.372);
  EXPECT_DOUBLE_EQ(*e.value, 0.364);
  EXPECT_EQ(e.reference_precision, "fp32");
}

TEST(Accuracy, DropComputedInPercentagePointsWhenAbsent) {
  AccuracyTable t = load_accuracy({data("eval_int8.json")}, "map50");
  EXPECT_NEAR(t.worst.at("int8").drop_pp, 0.6, 1e-9);  // (0.525 - 0.519) * 100
  EXPECT_THROW(load_accuracy({data("eval_int8.json")}, "top1"), Error);
}

TEST(Accuracy, SeveralPrecisionsLowerIsBetterAndPercentScale) {
  test::TempDir dir;
  write_file_atomic(dir / "e.json", R"({"metrics": {"nme": {"FP32": 4.0, "FP16": 4.1, "INT8": 5.5,
      "higher_is_better": false, "scale": "percent", "images": 500}}})");
  AccuracyTable t = load_accuracy({dir / "e.json"});
  EXPECT_NEAR(t.worst.at("fp16").drop_pp, 0.1, 1e-9);
  EXPECT_NEAR(t.worst.at("int8").drop_pp, 1.5, 1e-9);
  EXPECT_EQ(t.worst.count("images"), 0u);  // not a precision: ignored
}

TEST(Accuracy, ShorthandAndWorstOfSeveralFiles) {
  test::TempDir dir;
  write_file_atomic(dir / "a.json", R"({"precision": "int8", "drop": 0.4, "metric": "top1"})");
  write_file_atomic(dir / "b.json", R"({"precision": "INT8", "drop": 1.2})");
  AccuracyTable t = load_accuracy({dir / "a.json", dir / "b.json"});
  EXPECT_DOUBLE_EQ(t.worst.at("int8").drop_pp, 1.2);
  EXPECT_EQ(t.evidence.size(), 2u);
  EXPECT_EQ(t.notes.size(), 1u);
}

TEST(Accuracy, QcalEvalOutputWithNonFiniteValues) {
  // qcal eval writes "nan"/"inf" for metrics it could not compute; those give no evidence, the
  // others still count.
  test::TempDir dir;
  write_file_atomic(dir / "e.json", R"({"format": "qcal.eval/1", "precision": "int8",
      "reference_precision": "fp32", "primary_metric": "f1", "metrics": {
      "f1": {"int8": 0.97, "fp32": 1.0, "drop": 3.0},
      "landmark_error_norm": {"int8": "nan", "fp32": 0.0, "higher_is_better": false}}})");
  AccuracyTable t = load_accuracy({dir / "e.json"});
  EXPECT_DOUBLE_EQ(t.worst.at("int8").drop_pp, 3.0);
  EXPECT_THROW(load_accuracy({dir / "e.json"}, "landmark_error_norm"), Error);
}

TEST(Accuracy, MalformedFilesNameTheFile) {
  test::TempDir dir;
  const std::vector<std::string> bad = {
      "{not json",
      "[1, 2]",
      R"({"metrics": {}})",
      R"({"metrics": {"map": {"int8": 0.3}}})",  // no reference value
      R"({"metrics": {"map": {"fp32": 0.3}}})",  // only the reference
      R"({"metrics": {"map": {"fp32": 0.3, "int8": "high"}}})",
      R"({"precision": "int8", "metrics": {"map": {"fp32": "nan", "int8": 0.3, "drop": "nan"}}})",
      R"({"precision": "int8"})",
      R"({"precision": "int8", "drop": null})",
  };
  for (const auto& text : bad) {
    write_file_atomic(dir / "bad.json", text);
    try {
      load_accuracy({dir / "bad.json"});
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_NE(e.describe().find("bad.json"), std::string::npos) << text;
    }
  }
}

}  // namespace
}  // namespace qcal::plan
