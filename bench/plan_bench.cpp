// In-process timing of the plan pipeline (CSV load + validation, planning, JSON) on one CSV, so
// bench/plan_csv_bench.py can compare it with its Python peer without process start-up costs.
// Usage: plan_bench runs.csv [repeat]; prints "best_ms <t> configurations <n>".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "plan/planner.hpp"
#include "plan/profile.hpp"
#include "plan/report.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: plan_bench runs.csv [repeat]\n");
    return 2;
  }
  int repeat = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  double best = 1e30;
  std::size_t configs = 0;
  try {
    for (int i = 0; i < repeat; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      qcal::plan::ProfileSet set = qcal::plan::load_profiles({argv[1]});
      qcal::plan::PlanOptions o;
      o.target_fps = 30;
      qcal::plan::Plan plan = qcal::plan::make_plan(set, {}, o);
      std::string json = qcal::plan::format_plan_json(plan, set, {});
      auto t1 = std::chrono::steady_clock::now();
      best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
      configs = plan.configs.size() + json.size() * 0;
    }
  } catch (const qcal::Error& e) {
    std::fprintf(stderr, "plan_bench: %s\n", e.describe().c_str());
    return 1;
  }
  std::printf("best_ms %.3f configurations %zu\n", best, configs);
  return 0;
}
