// YOLO txt and COCO JSON ground-truth readers.
#include "eval/labels.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/json.hpp"

namespace qcal::eval {

namespace {

bool parse_double(std::string_view token, double& out) {
  // strtod (C locale in qcal) reads what Python's float() writes, exponents included.
  std::string s(token);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && !s.empty() && std::isfinite(out);
}

// A value as written in an error ("1e+308", "1.5").
std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

std::vector<GroundTruthBox> parse_yolo_labels(const std::string& text, int image_w, int image_h,
                                              const std::string& what) {
  std::vector<GroundTruthBox> out;
  std::istringstream lines(text);
  std::string line;
  int line_no = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    std::istringstream fields(line);
    std::vector<double> v;
    std::string tok;
    while (fields >> tok) {
      double x = 0;
      if (!parse_double(tok, x)) {
        throw Error(ErrorCode::kFormat, "YOLO label: '" + tok + "' is not a number")
            .with("file", what)
            .with("line", std::to_string(line_no));
      }
      v.push_back(x);
    }
    if (v.empty()) continue;
    const bool is_box = v.size() == 5;
    const bool is_segment = v.size() >= 7 && v.size() % 2 == 1;
    if (!is_box && !is_segment) {
      throw Error(ErrorCode::kFormat,
                  "YOLO label: expected 'class cx cy w h' (5 values) or a "
                  "segment 'class x1 y1 x2 y2 x3 y3 ...', got " +
                      std::to_string(v.size()) + " values")
          .with("file", what)
          .with("line", std::to_string(line_no));
    }
    if (v[0] < 0 || v[0] != std::floor(v[0]) || v[0] > 1e6) {
      throw Error(ErrorCode::kFormat, "YOLO label: class must be a non-negative integer")
          .with("file", what)
          .with("line", std::to_string(line_no));
    }
    // Normalised coordinates, as Ultralytics requires them ("non-normalized or out of bounds
    // coordinates"): anything else would become a box off the image or a non-finite one.
    for (std::size_t i = 1; i < v.size(); ++i) {
      if (v[i] < 0 || v[i] > 1) {
        throw Error(ErrorCode::kFormat, "YOLO label: coordinates are normalised to 0..1, value " +
                                            std::to_string(i + 1) + " is " + number_text(v[i]))
            .with("file", what)
            .with("line", std::to_string(line_no));
      }
    }
    double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    if (is_box) {
      x1 = v[1] - v[3] / 2;
      y1 = v[2] - v[4] / 2;
      x2 = v[1] + v[3] / 2;
      y2 = v[2] + v[4] / 2;
    } else {
      x1 = x2 = v[1];
      y1 = y2 = v[2];
      for (std::size_t i = 1; i + 1 < v.size(); i += 2) {
        x1 = std::min(x1, v[i]);
        x2 = std::max(x2, v[i]);
        y1 = std::min(y1, v[i + 1]);
        y2 = std::max(y2, v[i + 1]);
      }
    }
    GroundTruthBox g;
    g.class_id = static_cast<int>(v[0]);
    g.box = {static_cast<float>(x1 * image_w), static_cast<float>(y1 * image_h),
             static_cast<float>(x2 * image_w), static_cast<float>(y2 * image_h)};
    out.push_back(g);
  }
  return out;
}

std::vector<GroundTruthBox> read_yolo_labels(const std::filesystem::path& labels_dir,
                                             const std::string& image_stem, int image_w,
                                             int image_h) {
  const std::filesystem::path p = labels_dir / (image_stem + ".txt");
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) return {};
  return parse_yolo_labels(read_file(p), image_w, image_h, p.string());
}

const CocoImage* CocoDataset::find(const std::string& file_name) const {
  const std::string key = std::filesystem::path(file_name).filename().string();
  auto it = by_name.find(key);
  return it == by_name.end() ? nullptr : &images[it->second];
}

namespace {

// An integer field of a COCO entry (id, width, iscrowd): JSON integers, or floats holding an
// exact integer (640.0), within [lo, hi]. A plain get<int>() would wrap 4294967297 to 1 and is
// undefined for 1e300.
std::int64_t coco_integer(const nlohmann::json& entry, const char* key, std::int64_t lo,
                          std::int64_t hi, const std::function<Error(const std::string&)>& fail) {
  const nlohmann::json& v = entry.at(key);
  double d = 0;
  if (v.is_number_unsigned()) {
    d = static_cast<double>(v.get<std::uint64_t>());
  } else if (v.is_number()) {
    d = v.get<double>();
  } else {
    throw fail(std::string(key) + " must be a number, got " + v.type_name());
  }
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d)) {
    throw fail(std::string(key) + " must be an integer in " + std::to_string(lo) + ".." +
               std::to_string(hi) + ", got " + v.dump());
  }
  return v.is_number_integer() ? v.get<std::int64_t>() : static_cast<std::int64_t>(d);
}

// Ids up to 2^53: every id a JSON writer produces exactly (pycocotools' are small integers).
constexpr std::int64_t kMaxCocoId = std::int64_t{1} << 53;
// Image sides up to 2^20 pixels: far beyond any camera, small enough for float box arithmetic.
constexpr std::int64_t kMaxCocoSide = std::int64_t{1} << 20;

}  // namespace

CocoDataset parse_coco_instances(const std::string& json_text, const std::string& what) {
  nlohmann::json j = parse_json(json_text, what);
  auto fail = [&](const std::string& msg) -> Error {
    return Error(ErrorCode::kFormat, "COCO JSON: " + msg).with("file", what);
  };
  if (!j.is_object() || !j.contains("images") || !j["images"].is_array() ||
      !j.contains("annotations") || !j["annotations"].is_array() || !j.contains("categories") ||
      !j["categories"].is_array()) {
    throw fail("expected an object with arrays \"images\", \"annotations\" and \"categories\"");
  }
  CocoDataset ds;
  try {
    std::vector<std::pair<std::int64_t, std::string>> cats;
    for (const auto& c : j["categories"]) {
      cats.emplace_back(coco_integer(c, "id", -kMaxCocoId, kMaxCocoId, fail),
                        c.value("name", std::string()));
    }
    std::sort(cats.begin(), cats.end());
    for (std::size_t i = 0; i < cats.size(); ++i) {
      if (i > 0 && cats[i].first == cats[i - 1].first) {
        throw fail("category id " + std::to_string(cats[i].first) + " appears twice");
      }
      ds.category_ids.push_back(cats[i].first);
      ds.category_names.push_back(cats[i].second);
    }
    std::map<std::int64_t, std::size_t> image_index;
    for (const auto& im : j["images"]) {
      CocoImage ci;
      ci.id = coco_integer(im, "id", -kMaxCocoId, kMaxCocoId, fail);
      ci.file_name = im.at("file_name").get<std::string>();
      ci.width = static_cast<int>(coco_integer(im, "width", 1, kMaxCocoSide, fail));
      ci.height = static_cast<int>(coco_integer(im, "height", 1, kMaxCocoSide, fail));
      if (!image_index.emplace(ci.id, ds.images.size()).second) {
        throw fail("image id " + std::to_string(ci.id) + " appears twice");
      }
      const std::string key = std::filesystem::path(ci.file_name).filename().string();
      if (!ds.by_name.emplace(key, ds.images.size()).second) {
        throw fail("file name " + key + " appears twice");
      }
      ds.images.push_back(std::move(ci));
    }
    for (const auto& a : j["annotations"]) {
      const std::int64_t image_id = coco_integer(a, "image_id", -kMaxCocoId, kMaxCocoId, fail);
      const std::int64_t cat = coco_integer(a, "category_id", -kMaxCocoId, kMaxCocoId, fail);
      auto it = image_index.find(image_id);
      if (it == image_index.end()) {
        throw fail("annotation refers to unknown image id " + std::to_string(image_id));
      }
      auto cit = std::lower_bound(ds.category_ids.begin(), ds.category_ids.end(), cat);
      if (cit == ds.category_ids.end() || *cit != cat) {
        throw fail("annotation refers to unknown category id " + std::to_string(cat));
      }
      const auto& bb = a.at("bbox");
      if (!bb.is_array() || bb.size() != 4) throw fail("bbox must be [x, y, width, height]");
      const double x = bb[0].get<double>(), y = bb[1].get<double>();
      const double w = bb[2].get<double>(), h = bb[3].get<double>();
      // Pixels; a bound far past any image keeps x + w finite and exact enough in float.
      constexpr double kMaxPixels = 1e7;
      if (!(std::fabs(x) <= kMaxPixels) || !(std::fabs(y) <= kMaxPixels) ||
          !(w >= 0 && w <= kMaxPixels) || !(h >= 0 && h <= kMaxPixels)) {
        throw fail("bbox of image id " + std::to_string(image_id) +
                   " must be finite, non-negative in size and within 1e7 pixels");
      }
      GroundTruthBox g;
      g.class_id = static_cast<int>(cit - ds.category_ids.begin());
      g.box = {static_cast<float>(x), static_cast<float>(y), static_cast<float>(x + w),
               static_cast<float>(y + h)};
      g.crowd = a.contains("iscrowd") && coco_integer(a, "iscrowd", 0, 1, fail) != 0;
      ds.images[it->second].ground_truth.push_back(g);
    }
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("unexpected content: ") + e.what());
  }
  return ds;
}

CocoDataset read_coco_instances(const std::filesystem::path& path) {
  return parse_coco_instances(read_file(path), path.string());
}

}  // namespace qcal::eval
