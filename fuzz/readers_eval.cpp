// Fuzzed readers of eval/: YOLO txt and COCO JSON labels (eval --labels).
#include <cmath>

#include "eval/labels.hpp"
#include "fuzz_readers.hpp"

namespace qcal::fuzz {
namespace {

bool is_finite_box(const eval::Box& b) {
  return std::isfinite(b.x1) && std::isfinite(b.y1) && std::isfinite(b.x2) && std::isfinite(b.y2);
}

}  // namespace

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

}  // namespace qcal::fuzz
