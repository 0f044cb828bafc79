// Every step and preset against the Python reference (cv2 + numpy + PIL): bit for bit.
#include "preprocess/pipeline.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"
#include "preprocess/recipe_json.hpp"
#include "preprocess_test_support.hpp"

namespace qcal::preprocess {
namespace {

using nlohmann::json;

// Real photos plus a portrait and a tiny image written as lossless PNGs (both sides decode them).
std::vector<std::filesystem::path> test_images(const test::TempDir& tmp) {
  std::vector<std::filesystem::path> images = test::sample_photos();
  images.erase(std::remove_if(images.begin(), images.end(),
                              [](const auto& p) { return !std::filesystem::exists(p); }),
               images.end());
  cv::Mat messi = cv::imread((test::opencv_data() / "messi5.jpg").string());
  cv::Mat portrait;
  cv::rotate(messi, portrait, cv::ROTATE_90_CLOCKWISE);
  cv::imwrite((tmp / "portrait.png").string(), portrait);
  images.push_back(tmp / "portrait.png");
  cv::Mat tiny;
  cv::resize(messi, tiny, cv::Size(37, 23), 0, 0, cv::INTER_AREA);
  cv::imwrite((tmp / "tiny.png").string(), tiny);
  images.push_back(tmp / "tiny.png");
  return images;
}

std::string describe_mismatch(const Tensor& ours, const Tensor& ref) {
  if (ours.dtype() != ref.dtype()) {
    return "dtype " + std::string(dtype_name(ours.dtype())) + " vs reference " +
           std::string(dtype_name(ref.dtype()));
  }
  if (ours.shape() != ref.shape())
    return "shape " + shape_to_string(ours.shape()) + " vs reference " +
           shape_to_string(ref.shape());
  if (std::memcmp(ours.raw_data(), ref.raw_data(), ours.nbytes()) == 0) return "";
  std::int64_t first = -1;
  double max_diff = 0;
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < ours.numel(); ++i) {
    double a = 0;
    double b = 0;
    if (ours.dtype() == DType::kFloat32) {
      a = ours.data<float>()[i];
      b = ref.data<float>()[i];
    } else {
      a = ours.data<std::uint8_t>()[i];
      b = ref.data<std::uint8_t>()[i];
    }
    if (std::memcmp(&a, &b, sizeof a) != 0) {
      if (first < 0) first = i;
      ++count;
      max_diff = std::max(max_diff, std::fabs(a - b));
    }
  }
  return std::to_string(count) + " elements differ, first at " + std::to_string(first) +
         ", max |diff| " + std::to_string(max_diff);
}

// Collects (recipe, label) pairs and, when it goes out of scope, runs them all through qcal and
// through one Python reference process (importing cv2 once per test keeps the suite fast).
class ReferenceBatch {
 public:
  void operator()(const json& recipe_json, const std::string& label) {
    jobs_.emplace_back(recipe_json, label);
  }
  ~ReferenceBatch() {
    test::TempDir tmp;
    const auto images = test_images(tmp);
    json spec = {{"jobs", json::array()}};
    for (const auto& [recipe, label] : jobs_) spec["jobs"].push_back(recipe);
    write_file_atomic(tmp / "jobs.json", spec.dump());
    (void)test::run_reference(tmp / "jobs.json", tmp.path(), images);
    for (std::size_t j = 0; j < jobs_.size(); ++j) {
      const auto& [recipe, label] = jobs_[j];
      SCOPED_TRACE(label + ": " + recipe.dump());
      Pipeline pipeline(recipe_from_json(recipe, label));
      for (std::size_t i = 0; i < images.size(); ++i) {
        SCOPED_TRACE(images[i].string());
        const auto ref_path = tmp / (std::to_string(j) + "_" + std::to_string(i) + ".npy");
        if (!std::filesystem::exists(ref_path)) {
          ADD_FAILURE() << "reference output missing: " << ref_path;
          continue;
        }
        Tensor ours = pipeline.run(decode_image(images[i]));
        EXPECT_EQ(describe_mismatch(ours, read_npy(ref_path)), "");
      }
    }
  }

 private:
  std::vector<std::pair<json, std::string>> jobs_;
};

json steps(std::initializer_list<json> list) {
  json a = json::array();
  for (const auto& item : list) a.push_back(item);
  json r = json::object();
  r["preprocessings"] = a;
  return r;
}
json with_dtype(json r, const char* dtype) {
  r["dtype"] = dtype;
  return r;
}

TEST(PipelineReference, Presets) {
  ReferenceBatch expect_matches_reference;
  for (const auto& name : preset_names()) {
    expect_matches_reference(recipe_to_json(make_preset(name)), name);
  }
  expect_matches_reference(recipe_to_json(make_preset("yolo", 320, 256)), "yolo 320x256");
  expect_matches_reference(recipe_to_json(make_preset("yunet", 640, 640)), "yunet 640");
}

TEST(PipelineReference, ConvertColorEveryForm) {
  ReferenceBatch expect_matches_reference;
  for (const char* form : {"BGR2RGB", "RGB2BGR", "BGR2GRAY", "RGB2GRAY", "BGR2YCrCb", "RGB2YCrCb",
                           "BGR2YUV", "RGB2YUV", "BGR2HSV", "RGB2HSV", "BGR2LAB", "RGB2LAB"}) {
    // uint8 output: the cvtColor result itself, byte for byte.
    expect_matches_reference(with_dtype(steps({{{"resize", {{"width", 96}, {"height", 64}}}},
                                               {{"convertColor", {{"form", form}}}}}),
                                        "uint8"),
                             form);
  }
}

TEST(PipelineReference, ResizeDefaultEveryInterpolation) {
  ReferenceBatch expect_matches_reference;
  for (const char* interp : {"LINEAR", "NEAREST", "CUBIC", "AREA", "LANCZOS4"}) {
    expect_matches_reference(
        with_dtype(
            steps({{{"resize", {{"width", 300}, {"height", 200}, {"interpolation", interp}}}}}),
            "uint8"),
        std::string("default ") + interp);
    expect_matches_reference(
        with_dtype(steps({{{"resize", {{"size", 640}, {"interpolation", interp}}}}}), "uint8"),
        std::string("default up ") + interp);
  }
}

TEST(PipelineReference, ResizeTorchvisionEveryFilter) {
  ReferenceBatch expect_matches_reference;
  for (const char* interp : {"BILINEAR", "BICUBIC", "LANCZOS", "BOX", "HAMMING"}) {
    expect_matches_reference(
        with_dtype(steps({{{"resize",
                            {{"mode", "torchvision"}, {"size", 224}, {"interpolation", interp}}}}}),
                   "uint8"),
        std::string("torchvision short side ") + interp);
    expect_matches_reference(with_dtype(steps({{{"resize",
                                                 {{"mode", "torchvision"},
                                                  {"width", 333},
                                                  {"height", 611},
                                                  {"interpolation", interp}}}}}),
                                        "uint8"),
                             std::string("torchvision exact ") + interp);
  }
}

TEST(PipelineReference, LetterboxVariants) {
  ReferenceBatch expect_matches_reference;
  expect_matches_reference(steps({{{"resize", {{"mode", "pad"}, {"size", 640}}}}}),
                           "pad 640 default");
  expect_matches_reference(
      steps({{{"resize",
               {{"mode", "pad"}, {"width", 320}, {"height", 480}, {"pad_value", {0, 0, 0}}}}}}),
      "pad 320x480 black");
  expect_matches_reference(
      steps({{{"resize", {{"mode", "pad"}, {"size", 416}, {"pad_location", "corner"}}}}}),
      "pad corner");
  expect_matches_reference(
      steps({{{"resize",
               {{"mode", "pad"}, {"size", 333}, {"interpolation", "AREA"}, {"pad_value", 114}}}}}),
      "pad odd size area");
}

TEST(PipelineReference, CenterCrop) {
  ReferenceBatch expect_matches_reference;
  expect_matches_reference(with_dtype(steps({{{"resize", {{"mode", "torchvision"}, {"size", 256}}}},
                                             {{"centercrop", {{"width", 224}, {"height", 224}}}}}),
                                      "uint8"),
                           "resize 256 + crop 224");
  expect_matches_reference(
      with_dtype(steps({{{"centercrop", {{"width", 301}, {"height", 700}}}}}), "uint8"),
      "crop larger than image (zero padding)");
}

TEST(PipelineReference, Arithmetic) {
  ReferenceBatch expect_matches_reference;
  expect_matches_reference(
      steps({{{"convertColor", {{"form", "BGR2RGB"}}}},
             {{"resize", {{"mode", "torchvision"}, {"size", 232}, {"interpolation", "BICUBIC"}}}},
             {{"centercrop", {{"width", 224}, {"height", 224}}}},
             {{"div", {{"x", 255}}}},
             {{"normalize", {{"mean", {0.485, 0.456, 0.406}}, {"std", {0.229, 0.224, 0.225}}}}},
             {{"transpose", {{"axis", {2, 0, 1}}}}},
             {{"expandDim", {{"axis", 0}}}}}),
      "imagenet");
  expect_matches_reference(steps({{{"resize", {{"width", 128}, {"height", 96}}}},
                                  {{"mul", {{"x", 0.0078125}}}},
                                  {{"subtract", {{"x", 1}}}},
                                  {{"add", {{"x", 0.25}}}},
                                  {{"normalize", {{"mean", 0.1}, {"std", 3}}}}}),
                           "mul/subtract/add/scalar normalize");
}

TEST(PipelineReference, ArithmeticBeforeImageStepsRunsInFloat) {
  ReferenceBatch expect_matches_reference;
  // div before resize: cv::resize on a float32 image, then colour on float.
  expect_matches_reference(
      steps({{{"div", {{"x", 255}}}},
             {{"resize", {{"width", 200}, {"height", 150}, {"interpolation", "CUBIC"}}}},
             {{"convertColor", {{"form", "BGR2HSV"}}}}}),
      "float resize + float HSV");
}

TEST(PipelineReference, Layouts) {
  ReferenceBatch expect_matches_reference;
  expect_matches_reference(
      steps({{{"resize", {{"width", 64}, {"height", 48}}}}, {{"expandDim", {{"axis", 0}}}}}),
      "NHWC via expandDim");
  expect_matches_reference(steps({{{"resize", {{"width", 64}, {"height", 48}}}},
                                  {{"transpose", {{"axis", {2, 0, 1}}}}}}),
                           "CHW without batch");
  expect_matches_reference(steps({{{"resize", {{"width", 64}, {"height", 48}}}},
                                  {{"transpose", {{"axis", {1, 0, 2}}}}},
                                  {{"expandDim", {{"axis", -1}}}}}),
                           "WHC + trailing axis");
  json nhwc = steps({{{"resize", {{"width", 64}, {"height", 48}}}}, {{"div", {{"x", 255}}}}});
  nhwc["layout"] = "NHWC";
  expect_matches_reference(nhwc, "layout key NHWC");
  expect_matches_reference(steps({{{"resize", {{"width", 64}, {"height", 48}}}},
                                  {{"convertColor", {{"form", "BGR2GRAY"}}}}}),
                           "gray NCHW");
}

// pack produces planar outputs in row pieces (prepare + write_plane_rows, one PreparedImage
// reused across images of different sizes): the pieces must be the whole run's bytes.
TEST(Pipeline, PlanePiecesEqualTheWholeRun) {
  test::TempDir tmp;
  const auto images = test_images(tmp);
  for (const auto& name : preset_names()) {
    SCOPED_TRACE(name);
    const Pipeline pipeline(make_preset(name));
    ASSERT_TRUE(pipeline.planar());
    PreparedImage p;
    for (const auto& path : images) {
      SCOPED_TRACE(path.string());
      const cv::Mat img = decode_image(path);
      const Tensor whole = pipeline.run(img);
      pipeline.prepare(img, p);
      ASSERT_EQ(p.info.shape, whole.shape());
      const auto height =
          static_cast<int>(p.info.shape[static_cast<std::size_t>(p.info.height_axis)]);
      const auto row_bytes =
          static_cast<std::size_t>(p.info.shape[static_cast<std::size_t>(p.info.width_axis)]) *
          dtype_size(whole.dtype());
      std::vector<unsigned char> pieces(whole.nbytes());
      std::size_t at = 0;
      for (int c = 0; c < p.info.channels; ++c) {
        for (int y = 0; y < height; y += 7) {  // 7 rows: pieces that straddle the padding
          const int y1 = std::min(height, y + 7);
          pipeline.write_plane_rows(p, c, y, y1, pieces.data() + at);
          at += static_cast<std::size_t>(y1 - y) * row_bytes;
        }
      }
      ASSERT_EQ(at, whole.nbytes());
      EXPECT_EQ(std::memcmp(pieces.data(), whole.raw_data(), whole.nbytes()), 0);
    }
  }
  // A non-planar layout is produced whole.
  json nhwc = steps({{{"resize", {{"width", 64}, {"height", 48}}}}});
  nhwc["layout"] = "NHWC";
  EXPECT_FALSE(Pipeline(recipe_from_json(nhwc, "nhwc")).planar());
}

TEST(Pipeline, UndecodableImageIsAClearError) {
  test::TempDir tmp;
  write_file_atomic(tmp / "broken.jpg", "this is not a jpeg");
  try {
    decode_image(tmp / "broken.jpg");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("broken.jpg"), std::string::npos) << e.describe();
    EXPECT_NE(e.describe().find("does not decode"), std::string::npos) << e.describe();
  }
  EXPECT_THROW(decode_image(tmp / "missing.jpg"), Error);
}

// A JPEG with an EXIF APP1 segment saying Orientation = 6 (rotate 90 degrees clockwise to view).
void write_exif_rotated_jpeg(const std::filesystem::path& path, const cv::Mat& img) {
  std::vector<unsigned char> jpg;
  cv::imencode(".jpg", img, jpg, {cv::IMWRITE_JPEG_QUALITY, 90});
  const unsigned char app1[] = {
      0xFF, 0xE1, 0x00, 34,                            // APP1, length 34 (itself + payload)
      'E',  'x',  'i',  'f',  0, 0,                    // Exif header
      'I',  'I',  0x2A, 0x00, 8, 0, 0, 0,              // TIFF little-endian, IFD at offset 8
      1,    0,                                         // one entry
      0x12, 0x01, 3,    0,    1, 0, 0, 0, 6, 0, 0, 0,  // Orientation (0x0112), SHORT, 1, value 6
      0,    0,    0,    0};                            // no next IFD
  jpg.insert(jpg.begin() + 2, std::begin(app1), std::end(app1));
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(jpg.data()), jpg.size()));
}

// pack's decode (one read, cv::imdecode) gives imread's pixels: JPEG, PNG, an EXIF-rotated
// JPEG, images of changing size through the same buffers; a bad file after a good one is an
// error, never the previous image.
TEST(Pipeline, DecodeIntoReusedBuffersEqualsImread) {
  test::TempDir tmp;
  std::vector<std::filesystem::path> images = test_images(tmp);
  cv::Mat messi = cv::imread((test::opencv_data() / "messi5.jpg").string());
  ASSERT_FALSE(messi.empty());
  write_exif_rotated_jpeg(tmp / "exif6.jpg", messi);
  images.push_back(tmp / "exif6.jpg");
  {
    const cv::Mat rotated = decode_image(tmp / "exif6.jpg");
    ASSERT_EQ(rotated.rows, messi.cols) << "imread did not apply the EXIF orientation";
    ASSERT_EQ(rotated.cols, messi.rows);
  }
  std::vector<unsigned char> bytes;
  cv::Mat reused;
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& path : images) {
      SCOPED_TRACE(path.string());
      const cv::Mat want = decode_image(path);
      decode_image_into(path, bytes, reused);
      ASSERT_EQ(reused.size(), want.size());
      ASSERT_EQ(reused.type(), want.type());
      EXPECT_EQ(cv::norm(reused, want, cv::NORM_INF), 0.0);
    }
  }
  write_file_atomic(tmp / "broken.jpg", "this is not a jpeg");
  write_file_atomic(tmp / "empty.jpg", "");
  for (const char* name : {"broken.jpg", "empty.jpg", "missing.jpg"}) {
    try {
      decode_image_into(tmp / name, bytes, reused);
      FAIL() << "expected an error for " << name;
    } catch (const Error& e) {
      EXPECT_NE(e.describe().find(name), std::string::npos) << e.describe();
    }
  }
}

}  // namespace
}  // namespace qcal::preprocess
