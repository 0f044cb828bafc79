// YOLO txt and COCO JSON ground truth: pixel boxes, segments, category mapping, errors.
#include "eval/labels.hpp"

#include <gtest/gtest.h>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "test_support.hpp"

namespace qcal::eval {
namespace {

TEST(YoloLabels, BoxesInPixels) {
  const auto g = parse_yolo_labels("0 0.5 0.5 0.2 0.4\n\n3 0.1 0.2 0.2 0.2\n", 100, 50, "a.txt");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].class_id, 0);
  EXPECT_FLOAT_EQ(g[0].box.x1, 40);
  EXPECT_FLOAT_EQ(g[0].box.y1, 15);
  EXPECT_FLOAT_EQ(g[0].box.x2, 60);
  EXPECT_FLOAT_EQ(g[0].box.y2, 35);
  EXPECT_EQ(g[1].class_id, 3);
  EXPECT_NEAR(g[1].box.x1, 0.0, 1e-5);
  EXPECT_FALSE(g[0].crowd);
}

TEST(YoloLabels, SegmentsGiveTheirBoundingBox) {
  const auto g = parse_yolo_labels("2 0.1 0.2 0.5 0.1 0.3 0.9", 10, 10, "s.txt");
  ASSERT_EQ(g.size(), 1u);
  EXPECT_FLOAT_EQ(g[0].box.x1, 1);
  EXPECT_FLOAT_EQ(g[0].box.y1, 1);
  EXPECT_FLOAT_EQ(g[0].box.x2, 5);
  EXPECT_FLOAT_EQ(g[0].box.y2, 9);
}

TEST(YoloLabels, ErrorsNameFileAndLine) {
  try {
    (void)parse_yolo_labels("0 0.5 0.5 0.2 0.4\n1 0.5 0.5 0.2\n", 10, 10, "bad.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormat);
    EXPECT_NE(e.describe().find("bad.txt"), std::string::npos);
    EXPECT_NE(e.describe().find("line: 2"), std::string::npos);
  }
  EXPECT_THROW((void)parse_yolo_labels("x 0.5 0.5 0.2 0.4", 10, 10, "b"), Error);
  EXPECT_THROW((void)parse_yolo_labels("1.5 0.5 0.5 0.2 0.4", 10, 10, "b"), Error);
  EXPECT_THROW((void)parse_yolo_labels("1 0.5 0.5 -0.2 0.4", 10, 10, "b"), Error);
}

TEST(YoloLabels, CoordinatesOutsideZeroToOneAreRefused) {
  // A fuzzing finding: 1e308 became an infinite box. Ultralytics refuses the same files.
  for (const char* text :
       {"0 1e308 0.5 0.2 0.2", "0 0.5 0.5 1.5 0.2", "0 0.1 0.1 0.2 0.1 -0.3 0.9"}) {
    try {
      (void)parse_yolo_labels(std::string("0 0.5 0.5 0.1 0.1\n") + text, 10, 10, "big.txt");
      FAIL() << text;
    } catch (const Error& e) {
      EXPECT_NE(e.describe().find("normalised to 0..1"), std::string::npos) << e.describe();
      EXPECT_NE(e.describe().find("big.txt"), std::string::npos);
      EXPECT_NE(e.describe().find("line: 2"), std::string::npos);
    }
  }
  EXPECT_EQ(parse_yolo_labels("0 1 0 1 1\n", 10, 10, "edge.txt").size(), 1u);  // bounds inclusive
}

TEST(YoloLabels, MissingFileIsBackground) {
  test::TempDir dir;
  EXPECT_TRUE(read_yolo_labels(dir.path(), "nothing", 10, 10).empty());
  write_file_atomic(dir / "img.txt", "1 0.5 0.5 1 1\n");
  EXPECT_EQ(read_yolo_labels(dir.path(), "img", 10, 10).size(), 1u);
}

constexpr const char* kCoco = R"({
  "images": [{"id": 7, "file_name": "dir/a.jpg", "width": 640, "height": 480},
             {"id": 9, "file_name": "b.jpg", "width": 100, "height": 100}],
  "annotations": [
    {"id": 1, "image_id": 7, "category_id": 3, "bbox": [10, 20, 30, 40], "iscrowd": 0},
    {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 5], "iscrowd": 1},
    {"id": 3, "image_id": 9, "category_id": 2, "bbox": [1, 1, 2, 2]}],
  "categories": [{"id": 3, "name": "car"}, {"id": 1, "name": "person"}, {"id": 2, "name": "bicycle"}]
})";

TEST(CocoInstances, ParsesAndMapsCategoriesInIdOrder) {
  const CocoDataset ds = parse_coco_instances(kCoco, "inst.json");
  ASSERT_EQ(ds.category_ids.size(), 3u);
  EXPECT_EQ(ds.category_ids[0], 1);
  EXPECT_EQ(ds.category_names[2], "car");
  const CocoImage* a = ds.find("a.jpg");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->width, 640);
  ASSERT_EQ(a->ground_truth.size(), 2u);
  EXPECT_EQ(a->ground_truth[0].class_id, 2);  // category 3 is the third id
  EXPECT_FLOAT_EQ(a->ground_truth[0].box.x2, 40);
  EXPECT_FLOAT_EQ(a->ground_truth[0].box.y2, 60);
  EXPECT_TRUE(a->ground_truth[1].crowd);
  EXPECT_EQ(ds.find("/some/where/b.jpg")->ground_truth.size(), 1u);
  EXPECT_EQ(ds.find("c.jpg"), nullptr);
}

TEST(CocoInstances, Errors) {
  EXPECT_THROW((void)parse_coco_instances("{", "x.json"), Error);
  EXPECT_THROW((void)parse_coco_instances(R"({"images": []})", "x.json"), Error);
  const std::string unknown_cat = R"({"images": [{"id": 1, "file_name": "a", "width": 1,
      "height": 1}], "annotations": [{"image_id": 1, "category_id": 5, "bbox": [0,0,1,1]}],
      "categories": [{"id": 1}]})";
  try {
    (void)parse_coco_instances(unknown_cat, "x.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("category id 5"), std::string::npos);
  }
  const std::string bad_box = R"({"images": [{"id": 1, "file_name": "a", "width": 1,
      "height": 1}], "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0,0,-1,1]}],
      "categories": [{"id": 1}]})";
  EXPECT_THROW((void)parse_coco_instances(bad_box, "x.json"), Error);
}

// Fuzzing findings: numbers that do not fit the field were wrapped (4294967297 -> 1) or cast
// out of range (undefined); now each is refused naming the field and the file.
TEST(CocoInstances, NumbersOutOfRangeAreRefused) {
  auto with_image = [](const std::string& image, const std::string& bbox) {
    return R"({"images": [)" + image + R"(], "annotations": [{"image_id": 1, "category_id": 1,
        "bbox": )" +
           bbox + R"(}], "categories": [{"id": 1}]})";
  };
  const std::string good = R"({"id": 1, "file_name": "a", "width": 640.0, "height": 1})";
  EXPECT_EQ(parse_coco_instances(with_image(good, "[0, 0, 1, 1]"), "ok.json").images[0].width, 640);
  for (const std::string& bad :
       {with_image(R"({"id": 1, "file_name": "a", "width": 4294967297, "height": 1})", "[0,0,1,1]"),
        with_image(R"({"id": 1, "file_name": "a", "width": 1e300, "height": 1})", "[0,0,1,1]"),
        with_image(R"({"id": 1e30, "file_name": "a", "width": 1, "height": 1})", "[0,0,1,1]"),
        with_image(R"({"id": 1, "file_name": "a", "width": 2.5, "height": 1})", "[0,0,1,1]"),
        with_image(good, "[1e308, 0, 1e308, 1]")}) {
    try {
      (void)parse_coco_instances(bad, "bad.json");
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_NE(e.describe().find("bad.json"), std::string::npos) << e.describe();
    }
  }
}

}  // namespace
}  // namespace qcal::eval
