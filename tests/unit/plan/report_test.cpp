// Plan outputs: the table, the JSON document and the self-contained HTML page.
#include "plan/report.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace qcal::plan {
namespace {

std::filesystem::path data(const std::string& name) {
  return std::filesystem::path(QCAL_SOURCE_DIR) / "tests/data/plan" / name;
}

struct Fixture {
  ProfileSet set = load_profiles({data("jetson_runs.csv"), data("malformed.csv")});
  AccuracyTable acc = load_accuracy({data("eval_int8.json")});
  Plan plan;
  Fixture() {
    PlanOptions o;
    o.target_fps = 30;
    o.max_power_w = 10;
    plan = make_plan(set, acc, o);
  }
};

TEST(Report, TextTableListsConfigurationsVerdictsAndUnusableRows) {
  Fixture f;
  std::string text = format_plan_text(f.plan, f.set, 3);
  EXPECT_NE(text.find("p50 ms"), std::string::npos);
  EXPECT_NE(text.find("CHOSEN"), std::string::npos);
  EXPECT_NE(text.find("unusable rows: 8 of 34"), std::string::npos);
  EXPECT_NE(text.find("malformed.csv:6: trt_latency_ms 'n/a' is not a number"), std::string::npos);
  EXPECT_NE(text.find("... and 5 more"), std::string::npos);
  EXPECT_NE(text.find("PREDICTION from"), std::string::npos);
}

TEST(Report, JsonIsCompleteAndDeterministic) {
  Fixture f;
  std::string a = format_plan_json(f.plan, f.set, f.acc);
  EXPECT_EQ(a, format_plan_json(f.plan, f.set, f.acc));
  auto j = nlohmann::json::parse(a);
  EXPECT_EQ(j["format"], "qcal.plan/1");
  ASSERT_TRUE(j["chosen"].is_number());
  auto chosen = j["configurations"][j["chosen"].get<std::size_t>()];
  EXPECT_TRUE(chosen["chosen"].get<bool>());
  EXPECT_TRUE(chosen["measured"].get<bool>());
  EXPECT_EQ(j["inputs"]["unusable_rows"].size(), 8u);
  EXPECT_EQ(j["inputs"]["unusable_rows"][0]["line"], 6);
  bool saw_prediction = false;
  for (const auto& c : j["configurations"]) {
    EXPECT_FALSE(c["verdict"].get<std::string>().empty());
    if (!c["measured"].get<bool>()) {
      saw_prediction = true;
      EXPECT_EQ(c["runs"], 0);
      EXPECT_TRUE(c["prediction"]["basis"].is_string());
    }
  }
  EXPECT_TRUE(saw_prediction);
  EXPECT_EQ(j["accuracy_evidence"][0]["drop_pp"], 0.8);
}

TEST(Report, HtmlIsSelfContainedWithChartAndChosenPoint) {
  Fixture f;
  std::string html = format_plan_html(f.plan, f.set);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("class=\"pt chosen\""), std::string::npos);
  EXPECT_NE(html.find("class=\"pt ok predicted\""), std::string::npos);
  EXPECT_NE(html.find("max-power-w 10.00"), std::string::npos);
  // No network: no external references of any kind.
  for (const char* s : {"http://", "https://", "<script", "<link", "src="}) {
    std::string stripped = html;
    // The SVG namespace URI is an identifier, not a fetch.
    for (std::size_t pos;
         (pos = stripped.find("xmlns=\"http://www.w3.org/2000/svg\"")) != std::string::npos;) {
      stripped.erase(pos, 34);
    }
    EXPECT_EQ(stripped.find(s), std::string::npos) << s;
  }
  // Cell text is escaped.
  ProfileSet set;
  ProfileRun r;
  r.engine_name = "<b>&";
  r.precision = "fp16";
  r.latency_ms = 5;
  set.runs.push_back(r);
  set.rows_read = 1;
  std::string page = format_plan_html(make_plan(set, {}, {}), set);
  EXPECT_NE(page.find("&lt;b&gt;&amp;"), std::string::npos);
  EXPECT_EQ(page.find("<b>&<"), std::string::npos);
}

}  // namespace
}  // namespace qcal::plan
