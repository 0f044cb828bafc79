// Fuzzed readers of plan/: profiling CSVs (plan --profiles, frames --profile) and accuracy JSON.
#include <cmath>

#include "fuzz_readers.hpp"
#include "plan/accuracy.hpp"
#include "plan/planner.hpp"
#include "plan/profile.hpp"
#include "plan/profile_source.hpp"
#include "plan/report.hpp"

namespace qcal::fuzz {

void run_profile_csv(std::string_view bytes) {
  const InputFile file(bytes, "profile.csv");
  const plan::ProfileSet profiles = plan::load_profiles({file.path()});
  for (const auto& run : profiles.runs) {
    if (!(run.latency_ms > 0) || !std::isfinite(run.latency_ms)) {
      fail_check("profile_csv", "a usable row has latency " + std::to_string(run.latency_ms));
    }
  }
  run_downstream([&] {
    const plan::AccuracyTable no_accuracy;
    const plan::Plan result = plan::make_plan(profiles, no_accuracy, {});
    (void)plan::format_plan_text(result, profiles);
    (void)plan::format_plan_json(result, profiles, no_accuracy);
    (void)plan::format_plan_html(result, profiles);
  });
  // frames --profile: the same CSV's frame sources, against a folder with no videos.
  run_downstream(
      [&] { (void)plan::resolve_profile_sources({file.path()}, file.path().parent_path()); });
}

void run_accuracy_json(std::string_view bytes) {
  const InputFile file(bytes, "eval.json");
  const plan::AccuracyTable table = plan::load_accuracy({file.path()});
  for (const auto& e : table.evidence) {
    if (!std::isfinite(e.drop_pp)) fail_check("accuracy_json", "a drop is not finite");
  }
}

}  // namespace qcal::fuzz
