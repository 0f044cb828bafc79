// `qcal eval` end to end on real models and images: yolov8n through ONNX Runtime on OpenCV's
// sample photos (against itself, and against hand-made labels in both label formats), raw and
// embedding metrics of two ONNX backend-test models in both runtimes checked against numpy,
// determinism, and errors on bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

namespace fs = std::filesystem;

const fs::path kNodeTests = "/usr/share/libonnx-testdata/data/node";

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
std::string yolo_model() { return (test::deps_dir() / "models" / "yolov8n.onnx").string(); }

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_file(p)); }

test::CommandResult qcal_eval(const std::string& args) {
  return test::run_command(test::qcal_bin() + " eval " + args);
}

// messi5.jpg (548x342), labelled by hand from the photo: the player (person, class 0) and the
// ball (sports ball, class 32).
constexpr const char* kMessiYolo =
    "0 0.479015 0.578947 0.709854 0.807018\n"
    "32 0.662409 0.913743 0.091241 0.137427\n";

std::string messi_coco_json() {
  // COCO's 80 category ids; the model's class k is the k-th (person = 1, sports ball = 37).
  const int ids[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 13, 14, 15, 16, 17,
                     18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34, 35, 36,
                     37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53,
                     54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73,
                     74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90};
  nlohmann::json cats = nlohmann::json::array();
  for (int id : ids) cats.push_back({{"id", id}, {"name", "c" + std::to_string(id)}});
  // The same boxes as kMessiYolo, in pixels [x, y, w, h].
  const double w = 548, h = 342;
  auto box = [&](double cx, double cy, double bw, double bh) {
    return nlohmann::json::array({(cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h});
  };
  nlohmann::json j = {
      {"images", {{{"id", 5}, {"file_name", "messi5.jpg"}, {"width", 548}, {"height", 342}}}},
      {"annotations",
       {{{"id", 1},
         {"image_id", 5},
         {"category_id", 1},
         {"iscrowd", 0},
         {"bbox", box(0.479015, 0.578947, 0.709854, 0.807018)}},
        {{"id", 2},
         {"image_id", 5},
         {"category_id", 37},
         {"iscrowd", 0},
         {"bbox", box(0.662409, 0.913743, 0.091241, 0.137427)}}}},
      {"categories", cats}};
  return j.dump();
}

fs::path copy_images(const test::TempDir& dir, std::initializer_list<const char*> names) {
  const fs::path images = dir / "images";
  fs::create_directories(images);
  for (const char* n : names) fs::copy_file(test::opencv_data() / n, images / n);
  return images;
}

TEST(EvalCli, YoloAgainstItselfInOnnxRuntime) {
  test::TempDir dir;
  const fs::path images = copy_images(dir, {"messi5.jpg", "basketball1.png", "fruits.jpg"});
  const auto r = qcal_eval(q(yolo_model()) + " " + q(yolo_model()) + " --data " + q(images) +
                           " --recipe yolo --task yolo --runtime ort -o " + q(dir / "out") +
                           " --json-file " + q(dir / "eval.json") + " --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("mAP50-95"), std::string::npos) << r.output;
  const auto j = read_json(dir / "eval.json");
  EXPECT_EQ(read_file(dir / "eval.json"), read_file(dir / "out" / "eval.json"));
  EXPECT_EQ(j["format"], "qcal.eval/1");
  EXPECT_EQ(j["precision"], "int8");
  EXPECT_EQ(j["reference"], "fp32");
  EXPECT_EQ(j["samples"], 3);
  EXPECT_EQ(j["primary_metric"], "map50_95");
  // The same model twice: identical outputs, mAP exactly equal, no drop.
  EXPECT_EQ(j["outputs"][0]["cosine"], 1.0);
  EXPECT_EQ(j["outputs"][0]["sqnr_db"], "inf");
  EXPECT_EQ(j["outputs"][0]["max_abs_error"], 0.0);
  EXPECT_EQ(j["metrics"]["map50_95"]["fp32"], j["metrics"]["map50_95"]["int8"]);
  EXPECT_EQ(j["metrics"]["map50_95"]["drop"], 0.0);
  EXPECT_GT(j["metrics"]["map50_95"]["int8"].get<double>(), 0.99);
  // What each model reports (score > 0.25): every FP32 object found again, nothing else.
  const auto& objects = j["objects"]["int8_vs_fp32"];
  EXPECT_EQ(j["objects"]["score_threshold"], 0.25);
  EXPECT_GT(objects["reference"].get<int>(), 2);
  EXPECT_EQ(objects["matched"], objects["reference"]);
  EXPECT_EQ(objects["test"], objects["reference"]);
  EXPECT_EQ(j["metrics"]["f1"]["int8"], 1.0);
  // yolov8n sees the people in messi5 and basketball1.
  bool person = false;
  for (const auto& c : j["detection"]["fp32"]["classes"]) person = person || c["class"] == 0;
  EXPECT_TRUE(person);
  EXPECT_FALSE(j["detection"].contains("drop_interval"));  // no labels, no interval
  const std::string html = read_file(dir / "out" / "report.html");
  EXPECT_NE(html.find("<table class=\"accuracy\">"), std::string::npos);
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
  EXPECT_NE(html.find("messi5.jpg"), std::string::npos);
}

TEST(EvalCli, YoloAgainstHandLabelsBothFormatsAgree) {
  test::TempDir dir;
  const fs::path images = copy_images(dir, {"messi5.jpg"});
  fs::create_directories(dir / "labels");
  write_file_atomic(dir / "labels" / "messi5.txt", kMessiYolo);
  write_file_atomic(dir / "instances.json", messi_coco_json());
  const std::string common = q(yolo_model()) + " " + q(yolo_model()) + " --data " + q(images) +
                             " --recipe yolo --task yolo --runtime ort";
  const auto a = qcal_eval(common + " --labels " + q(dir / "labels") + " -o " + q(dir / "a"));
  ASSERT_EQ(a.exit_code, 0) << a.output;
  const auto b =
      qcal_eval(common + " --labels " + q(dir / "instances.json") + " -o " + q(dir / "b"));
  ASSERT_EQ(b.exit_code, 0) << b.output;
  auto ja = read_json(dir / "a" / "eval.json");
  auto jb = read_json(dir / "b" / "eval.json");
  EXPECT_EQ(ja["reference"], "labels");
  // Both formats give the same boxes, so the same numbers (the COCO file adds class names).
  EXPECT_EQ(ja["metrics"], jb["metrics"]);
  EXPECT_EQ(ja["detection"]["fp32"]["map50_95"], jb["detection"]["fp32"]["map50_95"]);
  EXPECT_EQ(jb["detection"]["fp32"]["classes"][0]["name"], "c1");
  for (auto* j : {&ja, &jb}) {
    for (auto& c : (*j)["detection"]["fp32"]["classes"]) c.erase("name");
    for (auto& c : (*j)["detection"]["int8"]["classes"]) c.erase("name");
  }
  EXPECT_EQ(ja["detection"], jb["detection"]);
  // With labels, the paired bootstrap interval of the drop: the same model twice gives 0 on
  // every resample.
  const auto& interval = ja["detection"]["drop_interval"];
  EXPECT_EQ(interval["metric"], "map50_95");
  EXPECT_EQ(interval["drop"], 0.0);
  EXPECT_EQ(interval["lower"], 0.0);
  EXPECT_EQ(interval["upper"], 0.0);
  EXPECT_EQ(interval["lower_quantile"], 0.05);
  EXPECT_EQ(interval["resamples"], 1000);
  EXPECT_NE(a.output.find("90 % paired bootstrap interval over images 0.00 to 0.00"),
            std::string::npos)
      << a.output;
  // Agreement with FP32's own detections (score > 0.25): the same model finds exactly them.
  EXPECT_NEAR(ja["detection"]["int8_vs_fp32"]["map50_95"].get<double>(), 1.0, 1e-12);
  EXPECT_NE(a.output.find("agreement: INT8 mAP50-95 1.0000 against FP32's detections"),
            std::string::npos);
  // Two labelled objects, both found by yolov8n with boxes within a few pixels of the hand
  // boxes (IoU about 0.97), so near-perfect even at IoU 0.95.
  const auto& classes = ja["detection"]["fp32"]["classes"];
  ASSERT_EQ(classes.size(), 2u);
  EXPECT_EQ(classes[0]["class"], 0);
  EXPECT_EQ(classes[1]["class"], 32);
  EXPECT_EQ(classes[0]["ground_truth"], 1);
  EXPECT_GT(ja["metrics"]["map50"]["fp32"].get<double>(), 0.99);
  EXPECT_GT(ja["metrics"]["map50_95"]["fp32"].get<double>(), 0.9);
  // Both labelled objects are among the reported detections (score > 0.25), matched in their class.
  EXPECT_EQ(ja["objects"]["fp32_vs_labels"]["reference"], 2);
  EXPECT_EQ(ja["objects"]["fp32_vs_labels"]["matched"], 2);
  EXPECT_EQ(ja["objects"]["fp32_vs_labels"], ja["objects"]["int8_vs_labels"]);
  const auto& found = ja["objects"]["fp32_vs_labels"];
  const double p = 2.0 / found["test"].get<double>(), f1 = 2 * p / (p + 1);
  EXPECT_NEAR(ja["metrics"]["f1"]["fp32"].get<double>(), f1, 1e-12);
  // Labels matter: with the ball labelled in the top-left corner (among the spectators), the
  // ball class scores 0 and the mean halves.
  write_file_atomic(dir / "labels" / "messi5.txt",
                    "0 0.479015 0.578947 0.709854 0.807018\n32 0.05 0.07 0.09 0.13\n");
  const auto c = qcal_eval(common + " --labels " + q(dir / "labels") + " -o " + q(dir / "c"));
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const auto jc = read_json(dir / "c" / "eval.json");
  EXPECT_EQ(jc["detection"]["fp32"]["classes"][1]["ap50"], 0.0);
  EXPECT_NEAR(jc["metrics"]["map50"]["fp32"].get<double>(), 0.5, 1e-6);
  EXPECT_EQ(jc["objects"]["fp32_vs_labels"]["matched"], 1);
}

struct RawCase {
  test::TempDir dir;
  nlohmann::json expected;
  explicit RawCase(int n, const std::string& pairs = "") {
    if (!pairs.empty()) write_file_atomic(dir / "pairs.txt", pairs);
    const auto r = test::run_command(
        test::system_python() + " " +
        q(fs::path(QCAL_SOURCE_DIR) / "tests" / "integration" / "eval" / "eval_reference.py") +
        " " + q(dir.path()) + " " + std::to_string(n));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    expected = read_json(dir / "reference.json");
  }
  std::string models() const {
    return q(kNodeTests / "test_relu" / "model.onnx") + " " +
           q(kNodeTests / "test_leakyrelu_default" / "model.onnx");
  }
};

TEST(EvalCli, RawMetricsMatchNumpyInBothRuntimes) {
  RawCase c(5);
  nlohmann::json by_runtime[2];
  int k = 0;
  for (const char* runtime : {"qcal", "ort"}) {
    const auto r = qcal_eval(c.models() + " --data " + q(c.dir / "x.npy") + " --runtime " +
                             runtime + " -o " + q(c.dir / runtime) + " --json");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto j = read_json(c.dir / runtime / "eval.json");
    const auto& out = j["outputs"][0];
    EXPECT_EQ(out["name"], "y");
    EXPECT_EQ(out["samples"], 5);
    EXPECT_NEAR(out["cosine"].get<double>(), c.expected["cosine"].get<double>(), 1e-12) << runtime;
    EXPECT_NEAR(out["sqnr_db"].get<double>(), c.expected["sqnr_db"].get<double>(), 1e-9) << runtime;
    EXPECT_NEAR(out["max_abs_error"].get<double>(), c.expected["max_abs_error"].get<double>(),
                1e-7);
    EXPECT_EQ(j["primary_metric"], "cosine");
    EXPECT_LT(j["metrics"]["cosine"]["int8"].get<double>(), 1.0);
    EXPECT_GT(j["metrics"]["cosine"]["drop"].get<double>(), 0.0);
    // --json prints the JSON instead of the table.
    EXPECT_EQ(r.output.find("\"format\": \"qcal.eval/1\""), r.output.find("\"format\""));
    by_runtime[k++] = out;
  }
  // qcal's engine and ONNX Runtime agree.
  EXPECT_NEAR(by_runtime[0]["cosine"].get<double>(), by_runtime[1]["cosine"].get<double>(), 1e-12);
  EXPECT_NEAR(by_runtime[0]["sqnr_db"].get<double>(), by_runtime[1]["sqnr_db"].get<double>(), 1e-9);
}

TEST(EvalCli, EmbeddingCosinesAndVerificationMatchNumpy) {
  RawCase c(6, "0 1 1\n2 3 0\n4 5 1\n0 5 0\n1 2 0\n3 4 1\n");
  const auto r =
      qcal_eval(c.models() + " --data " + q(c.dir / "x.npy") + " --task embedding --pairs " +
                q(c.dir / "pairs.txt") + " -o " + q(c.dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = read_json(c.dir / "out" / "eval.json");
  const auto& per = j["embedding"]["cosine_per_sample"];
  ASSERT_EQ(per.size(), 6u);
  double sum = 0;
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_NEAR(per[i].get<double>(), c.expected["cosines"][i].get<double>(), 1e-12);
    sum += per[i].get<double>();
  }
  EXPECT_NEAR(j["metrics"]["cosine"]["int8"].get<double>(), sum / 6, 1e-12);
  EXPECT_DOUBLE_EQ(j["metrics"]["verification_accuracy"]["fp32"].get<double>(),
                   c.expected["verification_fp32"].get<double>());
  EXPECT_DOUBLE_EQ(j["metrics"]["verification_accuracy"]["int8"].get<double>(),
                   c.expected["verification_int8"].get<double>());
}

TEST(EvalCli, SameInputsGiveIdenticalFiles) {
  RawCase c(3);
  for (const char* out : {"a", "b"}) {
    const auto r = qcal_eval(c.models() + " --data " + q(c.dir / "x.npy") + " -o " +
                             q(c.dir / out) + (out[0] == 'a' ? " -j 1" : " -j 2"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  EXPECT_EQ(read_file(c.dir / "a" / "eval.json"), read_file(c.dir / "b" / "eval.json"));
  EXPECT_EQ(read_file(c.dir / "a" / "report.html"), read_file(c.dir / "b" / "report.html"));
}

TEST(EvalCli, BadInputGivesClearErrors) {
  RawCase c(2);
  const fs::path images = copy_images(c.dir, {"fruits.jpg"});
  // Images without a recipe.
  auto r = qcal_eval(q(yolo_model()) + " " + q(yolo_model()) + " --data " + q(images) +
                     " --task yolo --runtime ort -o " + q(c.dir / "o1"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--recipe"), std::string::npos) << r.output;
  // Labels with tensor data: no image geometry.
  fs::create_directories(c.dir / "labels");
  r = qcal_eval(c.models() + " --data " + q(c.dir / "x.npy") + " --task yolo --labels " +
                q(c.dir / "labels") + " -o " + q(c.dir / "o2"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--labels needs image data"), std::string::npos) << r.output;
  // Data that does not fit the model's input.
  r = qcal_eval(q(yolo_model()) + " " + q(yolo_model()) + " --data " + q(c.dir / "x.npy") +
                " --runtime ort -o " + q(c.dir / "o3"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("does not match model input 'images'"), std::string::npos) << r.output;
  // --pairs outside the embedding task; an unknown task (usage error).
  write_file_atomic(c.dir / "p.txt", "0 1 1\n");
  r = qcal_eval(c.models() + " --data " + q(c.dir / "x.npy") + " --pairs " + q(c.dir / "p.txt") +
                " -o " + q(c.dir / "o4"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--pairs applies to the embedding task"), std::string::npos);
  r = qcal_eval(c.models() + " --data " + q(c.dir / "x.npy") + " --task segment");
  EXPECT_EQ(r.exit_code, 2);
  // Nothing is left under the output names after a failure.
  EXPECT_FALSE(fs::exists(c.dir / "o3" / "eval.json"));
}

// Presets fit the model's input in calibrate and eval as in pack: yunet's preset is 320x320,
// the face detector takes 640x640 (a YuNet exported at 640 is the same case); BlazeFace takes
// an NHWC 128x128 input and gets the yolo preset at that size and layout.
TEST(EvalCli, PresetsFitTheModelInputInCalibrateAndEval) {
  test::TempDir dir;
  fs::create_directories(dir / "imgs");
  for (const char* f : {"messi5.jpg", "baboon.jpg"}) {
    fs::copy_file(test::opencv_data() / f, dir / "imgs" / f);
  }
  const fs::path models = test::deps_dir() / "models";
  const std::string common = " --data " + q(dir / "imgs") + " -n 2 --dominant-noise off -q";
  auto r = test::run_command(test::qcal_bin() + " calibrate " + q(models / "yolov8n-face.onnx") +
                             common + " --recipe yunet -o " + q(dir / "face"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = qcal_eval(q(models / "yolov8n-face.onnx") + " " + q(dir / "face" / "yolov8n-face.qdq.onnx") +
                " --data " + q(dir / "imgs") + " --recipe yunet --limit 2 -q -o " +
                q(dir / "face-eval"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(read_file(dir / "face-eval" / "eval.json"));
  EXPECT_EQ(j["samples"], 2);
  // Evaluated on its own calibration images: eval says so (calibration_samples.json beside the
  // QDQ model), by content and by file, on stderr, in eval.json and in the verdict.
  EXPECT_NE(r.output.find("2 of 2 evaluation samples are calibration samples"), std::string::npos)
      << r.output;
  EXPECT_EQ(j["calibration_overlap"]["overlapping"], 2);
  EXPECT_EQ(j["calibration_overlap"]["same_tensor"], 2);
  EXPECT_EQ(j["calibration_overlap"]["same_file"], 2);
  EXPECT_NE(read_file(dir / "face-eval" / "report.html").find("Warning: 2 of 2 evaluation"),
            std::string::npos);
  r = test::run_command(test::qcal_bin() + " calibrate " +
                        q(models / "face_detection_front_128x128_barracuda.onnx") + common +
                        " --recipe yolo -o " + q(dir / "blaze"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // A recipe file is kept as written and refused, naming both shapes, when it cannot feed the
  // model.
  write_file_atomic(dir / "r.json", R"({"preprocessings": [{"resize": {"mode": "pad", "size": 320}},
    {"div": {"x": 255}}, {"transpose": {"axis": [2, 0, 1]}}, {"expandDim": {"axis": 0}}]})");
  r = test::run_command(test::qcal_bin() + " calibrate " + q(models / "yolov8n-face.onnx") +
                        common + " --recipe " + q(dir / "r.json") + " -o " + q(dir / "bad"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("[1, 3, 320, 320]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[1, 3, 640, 640]"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace qcal
