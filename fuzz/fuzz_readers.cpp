// The readers under fuzzing, called as the CLI calls them, plus the checks of what they return
// that would otherwise pass silently (a non-finite box, a recipe that does not read back).
#include "fuzz_readers.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "calib/range_select.hpp"
#include "calib/stats_file.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/npz.hpp"
#include "engine/model.hpp"
#include "eval/labels.hpp"
#include "fuzz_targets.hpp"
#include "plan/accuracy.hpp"
#include "plan/planner.hpp"
#include "plan/profile.hpp"
#include "plan/profile_source.hpp"
#include "plan/report.hpp"
#include "preprocess/recipe_json.hpp"

namespace qcal::fuzz {
namespace {

// What the CLI does after a successful read may refuse the content too (no usable rows, a
// method the statistics cannot serve): that is a normal outcome, not a reader error.
template <typename F>
void run_downstream(F&& step) {
  try {
    step();
  } catch (const Error&) {
    // A refusal after the read: fine, whatever it names.
  }
}

// One of several readers of the same file: its refusal must name the file, and does not keep
// the others from running on the input.
template <typename F>
void read_independently(const char* target, F&& read) {
  try {
    read();
  } catch (const Error& e) {
    check_error_names_input(target, e);
  }
}

[[noreturn]] void fail_check(const std::string& target, const std::string& what) {
  throw std::logic_error(target + ": " + what);
}

// Reads a few rows of a streamed array: the first ones and the last, as a batch loop would.
template <typename Reader>
void read_some_rows(Reader& reader) {
  const std::int64_t rows = reader.rows();
  if (rows <= 0) return;
  (void)reader.read_rows(0, std::min<std::int64_t>(rows, 2));
  (void)reader.read_rows(rows - 1, 1);
  (void)reader.read_rows(0, 1);  // backwards: a deflated member restarts
}

bool is_finite_box(const eval::Box& b) {
  return std::isfinite(b.x1) && std::isfinite(b.y1) && std::isfinite(b.x2) && std::isfinite(b.y2);
}

}  // namespace

void run_model_loader(std::string_view bytes) {
  // No base folder: external data is rejected, so the fuzzer never reads other files.
  const auto model =
      engine::Model::load_from_bytes(bytes, {}, engine::LoadOptions{.check_ops = false});
  (void)model.unsupported_nodes();
}

void run_npy(std::string_view bytes) {
  const InputFile file(bytes, "data.npy");
  read_independently("npy", [&] {
    NpyReader reader(file.path());  // calibrate/eval --data
    read_some_rows(reader);
  });
  read_independently("npy", [&] { (void)read_npy(file.path()); });  // run --input
}

void run_npz(std::string_view bytes) {
  const InputFile file(bytes, "data.npz");
  read_independently("npz", [&] {  // calibrate/eval --data: each member streamed
    const auto names = npz_array_names(file.path());
    for (std::size_t k = 0; k < std::min<std::size_t>(names.size(), 4); ++k) {
      NpzArrayReader reader(file.path(), names[k]);
      read_some_rows(reader);
    }
  });
  read_independently("npz", [&] { (void)read_npz(file.path()); });  // whole archive
}

void run_recipe_json(std::string_view bytes) {
  const InputFile file(bytes, "recipe.json");
  const preprocess::Recipe recipe = preprocess::resolve_recipe(file.path().string());
  // What qcal writes must read back as the same recipe (save_recipe_file, NPU configs).
  const nlohmann::json written = preprocess::recipe_to_json(recipe);
  const preprocess::Recipe again = preprocess::recipe_from_json(written, "written recipe");
  if (preprocess::recipe_to_json(again) != written) {
    fail_check("recipe_json", "a written recipe reads back differently: " + written.dump());
  }
  run_downstream([&] { (void)preprocess::infer_shape(recipe); });
}

void run_dxcom_config(std::string_view bytes) {
  const InputFile file(bytes, "config.json");
  const preprocess::DxcomConfig config = preprocess::load_dxcom_config(file.path());
  const nlohmann::json written = preprocess::dxcom_config_to_json(config);
  const auto again = preprocess::dxcom_config_from_json(written, "written config");
  if (preprocess::dxcom_config_to_json(again) != written) {
    fail_check("dxcom_config", "a written config reads back differently: " + written.dump());
  }
}

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

void run_stats_file(std::string_view bytes) {
  // The file ends in a CRC-32 of the rest; fix it so mutations reach the parser (a CRC
  // mismatch is tested by the unit tests).
  std::string fixed(bytes);
  if (fixed.size() >= 4) {
    const std::size_t body = fixed.size() - 4;
    const auto crc = static_cast<std::uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(fixed.data()), static_cast<uInt>(body)));
    for (int b = 0; b < 4; ++b) fixed[body + b] = static_cast<char>((crc >> (8 * b)) & 0xff);
  }
  const InputFile file(fixed, "stats.qcs");
  const calib::StatsSet stats = calib::StatsSet::load(file.path());
  run_downstream([&] {
    calib::StatsSet merged = stats;  // calibrate --load-stats A B
    merged.merge(stats);
  });
  for (const auto method : {calib::Method::kMinMax, calib::Method::kEma, calib::Method::kPercentile,
                            calib::Method::kEntropy, calib::Method::kMse}) {
    calib::SelectOptions options;
    options.method = method;
    run_downstream([&] { (void)calib::select_ranges(stats.tensors(), options, 1); });
  }
}

void run_yolo_labels(std::string_view bytes) {
  const InputFile file(bytes, "image.txt");
  for (const auto& box : eval::read_yolo_labels(file.path().parent_path(), "image", 640, 480)) {
    if (!is_finite_box(box.box) || box.class_id < 0) {
      fail_check("yolo_labels", "a label became a non-finite box or a negative class");
    }
  }
}

void run_coco_labels(std::string_view bytes) {
  const InputFile file(bytes, "instances.json");
  const eval::CocoDataset dataset = eval::read_coco_instances(file.path());
  for (const auto& image : dataset.images) {
    if (dataset.find(image.file_name) != &image) {
      fail_check("coco_labels", "image '" + image.file_name + "' is not found by its name");
    }
    for (const auto& box : image.ground_truth) {
      if (!is_finite_box(box.box) || box.class_id < 0 ||
          static_cast<std::size_t>(box.class_id) >= dataset.category_ids.size()) {
        fail_check("coco_labels", "a box of '" + image.file_name +
                                      "' is not finite or its class "
                                      "is out of range");
      }
    }
  }
}

void run_accuracy_json(std::string_view bytes) {
  const InputFile file(bytes, "eval.json");
  const plan::AccuracyTable table = plan::load_accuracy({file.path()});
  for (const auto& e : table.evidence) {
    if (!std::isfinite(e.drop_pp)) fail_check("accuracy_json", "a drop is not finite");
  }
}

}  // namespace qcal::fuzz
