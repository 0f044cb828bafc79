// Ground-truth readers: Ultralytics YOLO txt labels and COCO instances JSON, into pixel boxes.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "eval/coco_map.hpp"

namespace qcal::eval {

// Parses one YOLO label file's text: one object per line, "class cx cy w h" normalised to the
// image (0..1), or a segment "class x1 y1 x2 y2 ..." (Ultralytics' polygon labels), whose
// bounding box is used. Blank lines are skipped. Boxes come back in pixels of an image of
// image_w x image_h. `what` names the file in errors (kFormat with the line number).
std::vector<GroundTruthBox> parse_yolo_labels(const std::string& text, int image_w, int image_h,
                                              const std::string& what);

// The label file for an image: <labels_dir>/<image stem>.txt. A missing file means an image
// without objects (Ultralytics' convention for background images).
std::vector<GroundTruthBox> read_yolo_labels(const std::filesystem::path& labels_dir,
                                             const std::string& image_stem, int image_w,
                                             int image_h);

// A COCO instances file, reduced to what detection evaluation needs.
struct CocoImage {
  std::int64_t id = 0;
  std::string file_name;
  int width = 0, height = 0;
  std::vector<GroundTruthBox> ground_truth;  // class_id = index into CocoDataset::category_ids
};

struct CocoDataset {
  // Category ids in increasing order. A model's class k is taken to be category_ids[k]: for
  // COCO's 80 categories this is Ultralytics' coco80_to_coco91_class mapping.
  std::vector<std::int64_t> category_ids;
  std::vector<std::string> category_names;
  std::vector<CocoImage> images;  // in file order
  // Looks an image up by file name (its last path component), nullptr when absent.
  const CocoImage* find(const std::string& file_name) const;
  std::map<std::string, std::size_t> by_name;
};

// Reads "images", "annotations" (bbox [x, y, w, h] in pixels, category_id, image_id, iscrowd)
// and "categories". Throws kFormat naming the file and the offending entry.
CocoDataset read_coco_instances(const std::filesystem::path& path);
CocoDataset parse_coco_instances(const std::string& json_text, const std::string& what);

}  // namespace qcal::eval
