// The table of fuzz targets, for the corpus regression test (each libFuzzer executable calls its
// own reader function directly and links only that reader's module).
#include "fuzz_targets.hpp"

#include <array>

#include "fuzz_readers.hpp"

namespace qcal::fuzz {
namespace {

// A target whose reader takes bytes in memory has no file to name; the others do.
constexpr std::array kTargets = {
    Target{"model_loader", run_model_loader},
    Target{"npy", run_npy},
    Target{"npz", run_npz},
    Target{"recipe_json", run_recipe_json},
    Target{"dxcom_config", run_dxcom_config},
    Target{"profile_csv", run_profile_csv},
    Target{"stats_file", run_stats_file},
    Target{"yolo_labels", run_yolo_labels},
    Target{"coco_labels", run_coco_labels},
    Target{"accuracy_json", run_accuracy_json},
};

}  // namespace

std::span<const Target> all_targets() { return kTargets; }

const Target* find_target(std::string_view name) {
  for (const auto& t : kTargets) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

}  // namespace qcal::fuzz
