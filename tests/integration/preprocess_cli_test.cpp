// qcal pack / config / check end to end on real photos from opencv-doc: outputs read back by
// numpy and compared with the Python reference bit for bit; bad inputs give clear errors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/atomic_file.hpp"
#include "test_support.hpp"

namespace qcal::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

CommandResult qcal(const std::string& args) { return run_command(qcal_bin() + " " + args); }

// A folder of real photos with the mix of names users have (upper-case extension, sub-folder).
fs::path make_photo_dir(const TempDir& tmp) {
  const fs::path dir = tmp / "photos";
  fs::create_directories(dir / "sub");
  const auto d = opencv_data();
  fs::copy_file(d / "messi5.jpg", dir / "messi5.jpg");
  fs::copy_file(d / "baboon.jpg", dir / "baboon.jpg");
  fs::copy_file(d / "fruits.jpg", dir / "sub" / "fruits.jpg");
  fs::copy_file(d / "HappyFish.jpg", dir / "HappyFish.JPG");
  fs::copy_file(d / "building.jpg", dir / "building.jpeg");
  fs::copy_file(d / "smarties.png", dir / "smarties.png");
  return dir;
}

// Runs the reference on the images (in the order given) and compares with the packed .npy
// (stacked) in Python: exact equality.
void expect_npy_matches_reference(const TempDir& tmp, const fs::path& npy, const json& recipe,
                                  const std::vector<fs::path>& images) {
  write_file_atomic(tmp / "ref_recipe.json", recipe.dump());
  const fs::path ref_dir = tmp / "ref";
  fs::create_directories(ref_dir);
  std::string cmd = system_python() + " " + std::string(QCAL_SOURCE_DIR) +
                    "/tests/unit/preprocess/reference_preprocess.py " + q(tmp / "ref_recipe.json") +
                    " " + q(ref_dir);
  for (const auto& i : images) cmd += " " + q(i);
  auto r = run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string script =
      "import numpy as np, sys\n"
      "a = np.load(sys.argv[1])\n"
      "n = int(sys.argv[3])\n"
      "assert a.shape[0] == n, a.shape\n"
      "for i in range(n):\n"
      "    ref = np.load('%s/%d.npy' % (sys.argv[2], i))\n"
      "    ref = ref[0] if ref.shape[0] == 1 else ref\n"
      "    assert a[i].shape == ref.shape and a.dtype == ref.dtype, (a.shape, ref.shape, a.dtype, "
      "ref.dtype)\n"
      "    assert np.array_equal(a[i], ref), (i, np.abs(a[i].astype(np.float64) - ref).max())\n"
      "print('match', a.shape, a.dtype)\n";
  write_file_atomic(tmp / "cmp.py", script);
  r = run_command(system_python() + " " + q(tmp / "cmp.py") + " " + q(npy) + " " + q(ref_dir) +
                  " " + std::to_string(images.size()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("match"), std::string::npos) << r.output;
}

std::vector<fs::path> sorted_images(const fs::path& dir) {
  // Byte-wise order of generic paths, as qcal lists them.
  std::vector<fs::path> out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    return a.generic_string() < b.generic_string();
  });
  return out;
}

json preset_steps(const std::string& name) {
  // The steps qcal writes for a preset, as DX-COM JSON (qcal config prints them).
  if (name == "yolo") {
    return json::parse(
        R"([{"resize": {"mode": "pad", "size": 640, "pad_location": "edge", "pad_value": [114, 114, 114]}},
      {"div": {"x": 255}}, {"convertColor": {"form": "BGR2RGB"}}, {"transpose": {"axis": [2, 0, 1]}}, {"expandDim": {"axis": 0}}])");
  }
  return json::parse(
      R"([{"convertColor": {"form": "BGR2RGB"}}, {"resize": {"width": 112, "height": 112}}, {"div": {"x": 255}},
      {"normalize": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}, {"transpose": {"axis": [2, 0, 1]}}, {"expandDim": {"axis": 0}}])");
}

TEST(PackCli, YoloNpyMatchesReferenceAndIsThreadIndependent) {
  TempDir tmp;
  const fs::path photos = make_photo_dir(tmp);
  auto r = qcal("pack " + q(photos) + " --recipe yolo -o " + q(tmp / "calib.npy") + " --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("packed 6 samples [6, 3, 640, 640] float32"), std::string::npos)
      << r.output;
  expect_npy_matches_reference(tmp, tmp / "calib.npy", preset_steps("yolo"), sorted_images(photos));
  r = qcal("pack " + q(photos) + " --recipe yolo -o " + q(tmp / "calib3.npy") + " --threads 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_file(tmp / "calib.npy"), read_file(tmp / "calib3.npy"));
  // Sidecar: recipe, sources, count, fingerprint, not synthetic.
  const json side = json::parse(read_file(tmp / "calib.npy.json"));
  EXPECT_EQ(side["synthetic"], false);
  EXPECT_EQ(side["count"], 6);
  EXPECT_EQ(side["shape"], json({6, 3, 640, 640}));
  EXPECT_EQ(side["sources"].size(), 6u);
  EXPECT_EQ(side["recipe"]["name"], "yolo");
  EXPECT_EQ(side["data_xxh3_64"].get<std::string>().size(), 16u);
}

// A recipe without image steps: each sample is the decoded image's own pixels (pack then keeps
// the decoded buffer with the sample until it is written), for any thread count.
TEST(PackCli, NoImageStepsKeepsDecodedPixelsPerSample) {
  TempDir tmp;
  const fs::path frames = tmp / "frames";
  fs::create_directories(frames);
  auto r = run_command(system_python() +
                       " -c \"import cv2, sys\n"
                       "cap = cv2.VideoCapture(sys.argv[1])\n"
                       "for i in range(12):\n"
                       "    ok, f = cap.read(); assert ok\n"
                       "    cv2.imwrite('%s/f%02d.jpg' % (sys.argv[2], i), f)\n\" " +
                       q(opencv_data() / "vtest.avi") + " " + q(frames));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json steps = json::parse(
      R"([{"div": {"x": 255}}, {"transpose": {"axis": [2, 0, 1]}}, {"expandDim": {"axis": 0}}])");
  write_file_atomic(tmp / "plain.json", json({{"preprocessings", steps}}).dump());
  for (int threads : {1, 3}) {
    r = qcal("pack " + q(frames) + " --recipe " + q(tmp / "plain.json") + " -o " +
             q(tmp / ("plain" + std::to_string(threads) + ".npy")) + " --threads " +
             std::to_string(threads));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  EXPECT_EQ(read_file(tmp / "plain1.npy"), read_file(tmp / "plain3.npy"));
  expect_npy_matches_reference(tmp, tmp / "plain3.npy", steps, sorted_images(frames));
}

TEST(PackCli, NpzKeyedByInputNameAndRknnFolder) {
  TempDir tmp;
  const fs::path photos = make_photo_dir(tmp);
  auto r = qcal("pack " + q(photos) + " --recipe edgeface -o " + q(tmp / "faces.npz") + " -j 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = qcal("pack " + q(photos) + " --recipe edgeface -o " + q(tmp / "rknn") + " -j 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(fs::exists(tmp / "rknn" / "dataset.txt"));
  const std::string script =
      "import numpy as np, sys, os\n"
      "z = np.load(sys.argv[1]); assert z.files == ['input'], z.files\n"
      "a = z['input']; assert a.shape == (6, 3, 112, 112) and a.dtype == np.float32, a.shape\n"
      "assert a.min() >= -1 and a.max() <= 1\n"
      "lines = open(os.path.join(sys.argv[2], 'dataset.txt')).read().split()\n"
      "assert len(lines) == 6, lines\n"
      "for i, p in enumerate(lines):\n"
      "    assert os.path.isabs(p) and os.path.exists(p), p\n"
      "    s = np.load(p); assert s.shape == (1, 3, 112, 112), s.shape\n"
      "    assert np.array_equal(s[0], a[i])\n"
      "print('ok')\n";
  write_file_atomic(tmp / "check.py", script);
  r = run_command(system_python() + " " + q(tmp / "check.py") + " " + q(tmp / "faces.npz") + " " +
                  q(tmp / "rknn"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(PackCli, ListFileAndDxcomConfigSources) {
  TempDir tmp;
  const fs::path photos = make_photo_dir(tmp);
  // List file as `qcal sample` writes it: one path per line, relative to the list's folder.
  write_file_atomic(tmp / "quant.txt", "photos/baboon.jpg\n# comment\n\nphotos/sub/fruits.jpg\n");
  auto r = qcal("pack " + q(tmp / "quant.txt") + " --recipe yolo-resize -o " + q(tmp / "list.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<fs::path> listed = {photos / "baboon.jpg", photos / "sub" / "fruits.jpg"};
  json resize_steps = json::parse(
      R"([{"resize": {"width": 640, "height": 640}}, {"convertColor": {"form": "BGR2RGB"}},
      {"div": {"x": 255}}, {"transpose": {"axis": [2, 0, 1]}}, {"expandDim": {"axis": 0}}])");
  expect_npy_matches_reference(tmp, tmp / "list.npy", resize_steps, listed);

  // A DX-COM config written by qcal config is an image source and a recipe.
  r = qcal("config --model-type yunet --dataset-path " + q(photos) + " --output-path " +
           q(tmp / "yunet.json") + " --calibration-num 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = qcal("pack " + q(tmp / "yunet.json") + " -o " + q(tmp / "yunet.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("packed 4 samples [4, 3, 320, 320]"), std::string::npos) << r.output;
  const json cfg = json::parse(read_file(tmp / "yunet.json"));
  std::vector<fs::path> first4 = sorted_images(photos);
  first4.resize(4);
  expect_npy_matches_reference(tmp, tmp / "yunet.npy", cfg["default_loader"]["preprocessings"],
                               first4);
}

TEST(PackCli, ModelFitsPresetAndRefusesMismatch) {
  TempDir tmp;
  const fs::path photos = make_photo_dir(tmp);
  const fs::path yolo = deps_dir() / "models" / "yolov8n.onnx";
  ASSERT_TRUE(fs::exists(yolo)) << yolo;
  auto r = qcal("pack " + q(photos) + " --recipe yolo --model " + q(yolo) + " --limit 2 -o " +
                q(tmp / "m.npz"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command(system_python() + " -c \"import numpy as np; z = np.load('" +
                  (tmp / "m.npz").string() + "'); print(z.files, z['images'].shape)\"");
  EXPECT_NE(r.output.find("['images'] (2, 3, 640, 640)"), std::string::npos) << r.output;
  // A recipe file whose output cannot feed the model: refused, naming both shapes.
  write_file_atomic(tmp / "face.json", json({{"preprocessings", preset_steps("edgeface")}}).dump());
  r = qcal("pack " + q(photos) + " --recipe " + q(tmp / "face.json") + " --model " + q(yolo) +
           " -o " + q(tmp / "bad.npy"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("[1, 3, 112, 112]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[1, 3, 640, 640]"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "bad.npy"));
}

TEST(PackCli, DynamicModelInputNeedsSize) {
  TempDir tmp;
  const fs::path photos = make_photo_dir(tmp);
  const fs::path det = deps_dir() / "models" / "ch_PP-OCRv4_det_infer.onnx";
  ASSERT_TRUE(fs::exists(det)) << det;
  auto r = qcal("pack " + q(photos) + " --recipe yolo-resize --model " + q(det) + " -o " +
                q(tmp / "d.npy"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("dynamic size"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--size"), std::string::npos) << r.output;
  r = qcal("pack " + q(photos) + " --recipe yolo-resize --model " + q(det) +
           " --size 320 256 --limit 2 -o " + q(tmp / "d.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[2, 3, 256, 320]"), std::string::npos) << r.output;
}

TEST(PackCli, BadInputsGiveClearErrors) {
  TempDir tmp;
  const fs::path photos = make_photo_dir(tmp);
  write_file_atomic(photos / "zz_broken.jpg", "not a jpeg at all");
  auto r = qcal("pack " + q(photos) + " --recipe yolo -o " + q(tmp / "x.npy"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("does not decode"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("zz_broken.jpg"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "x.npy"));
  for (const auto& e : fs::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos);

  r = qcal("pack " + q(tmp / "nope") + " --recipe yolo -o " + q(tmp / "x.npy"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;

  write_file_atomic(tmp / "bad_step.json", R"({"preprocessings": [{"sharpen": {}}]})");
  r = qcal("pack " + q(photos) + " --recipe " + q(tmp / "bad_step.json") + " -o " +
           q(tmp / "x.npy"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("unknown step 'sharpen'"), std::string::npos) << r.output;

  write_file_atomic(tmp / "neg.json", R"([{"resize": {"width": -640, "height": 640}}])");
  r = qcal("pack " + q(photos) + " --recipe " + q(tmp / "neg.json") + " -o " + q(tmp / "x.npy"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("positive"), std::string::npos) << r.output;

  r = qcal("pack " + q(photos) + " --recipe yolo -o " + q(tmp / "x.txt"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(".npy"), std::string::npos) << r.output;

  // An image-size-dependent recipe packs only when all images agree.
  write_file_atomic(tmp / "short.json", R"([{"resize": {"mode": "torchvision", "size": 64}}])");
  r = qcal("pack " + q(photos) + " --recipe " + q(tmp / "short.json") + " -o " + q(tmp / "x.npy"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("differs from the first sample"), std::string::npos) << r.output;
}

TEST(PackCli, SyntheticOnlyOnRequestAndRecorded) {
  TempDir tmp;
  auto r = qcal("pack --synthetic 3 --shape 1x3x32x48 --seed 7 -o " + q(tmp / "syn.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("WARNING"), std::string::npos);
  EXPECT_NE(r.output.find("SYNTHETIC"), std::string::npos);
  const json side = json::parse(read_file(tmp / "syn.npy.json"));
  EXPECT_EQ(side["synthetic"], true);
  EXPECT_EQ(side["seed"], 7);
  r = qcal("pack --synthetic 3 --shape 1x3x32x48 --seed 7 -o " + q(tmp / "syn2.npy"));
  EXPECT_EQ(read_file(tmp / "syn.npy"), read_file(tmp / "syn2.npy"));
  r = run_command(system_python() + " -c \"import numpy as np; a = np.load('" +
                  (tmp / "syn.npy").string() +
                  "'); print(a.shape, a.dtype, bool(a.min() >= 0 and a.max() <= 1))\"");
  EXPECT_NE(r.output.find("(3, 3, 32, 48) float32 True"), std::string::npos) << r.output;
}

TEST(ConfigCli, DxcomJsonWarningsAndOtherFormats) {
  TempDir tmp;
  const fs::path photos = make_photo_dir(tmp);
  auto r = qcal("config --model-type edgeface --dataset-path " + q(photos) + " --output-path " +
                q(tmp / "ef.json") + " --calibration-num 100 --calibration-method minmax");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("calibration_num 100 exceeds the 6 image(s)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("added \"JPG\""), std::string::npos) << r.output;
  const json cfg = json::parse(read_file(tmp / "ef.json"));
  EXPECT_EQ(cfg["inputs"], json({{"input", {1, 3, 112, 112}}}));
  EXPECT_EQ(cfg["calibration_num"], 100);
  EXPECT_EQ(cfg["calibration_method"], "minmax");
  EXPECT_EQ(cfg["default_loader"]["preprocessings"], preset_steps("edgeface"));
  EXPECT_EQ(cfg["default_loader"]["dataset_path"],
            fs::absolute(photos).lexically_normal().string());
  const auto exts = cfg["default_loader"]["file_extensions"];
  EXPECT_NE(std::find(exts.begin(), exts.end(), "JPG"), exts.end());

  // Explicit extensions that miss files: warned.
  r = qcal("config --model-type yolo --dataset-path " + q(photos) + " --output-path " +
           q(tmp / "y.json") + " --file-extensions jpg png --calibration-num 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("will skip them"), std::string::npos) << r.output;

  // --model gives the input name and shape.
  r = qcal("config --model-type yolo --model " + q(deps_dir() / "models" / "yolov8n.onnx") +
           " --dataset-path " + q(photos) + " --output-path " + q(tmp / "ym.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(json::parse(read_file(tmp / "ym.json"))["inputs"],
            json({{"images", {1, 3, 640, 640}}}));

  r = qcal("config --model-type yolo --format ultralytics --dataset-path " + q(photos) +
           " --output-path " + q(tmp / "calibration.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string yaml = read_file(tmp / "calibration.yaml");
  EXPECT_NE(yaml.find("path: \"" + fs::absolute(photos).lexically_normal().string() + "\""),
            std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("val: ."), std::string::npos);

  r = qcal("config --model-type yolo --format rknn --calibration-num 3 --dataset-path " +
           q(photos) + " --output-path " + q(tmp / "dataset.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string list = read_file(tmp / "dataset.txt");
  EXPECT_EQ(std::count(list.begin(), list.end(), '\n'), 3);

  r = qcal("config --model-type yunet --dataset-path " + q(tmp / "missing") + " --output-path " +
           q(tmp / "m.json"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("dataset folder does not exist"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "m.json"));
}

TEST(CheckCli, PassesGoodConfigAndCatchesWrongRecipes) {
  TempDir tmp;
  const fs::path photos = make_photo_dir(tmp);
  auto r = qcal("config --model-type edgeface --dataset-path " + q(photos) + " --output-path " +
                q(tmp / "ef.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = qcal("check --config " + q(tmp / "ef.json") +
           " --model-type edgeface --num-samples 4 --visualize --output-dir " + q(tmp / "vis"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("PASS"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(tmp / "vis" / "sample_00.png"));
  EXPECT_TRUE(fs::exists(tmp / "vis" / "sample_03.png"));
  EXPECT_TRUE(fs::exists(tmp / "vis" / "contact_sheet.png"));
  // Each panel and the sheet open with a PASS band (green, BGR 52 123 30).
  const auto band = [](const fs::path& png) {
    const cv::Mat m = cv::imread(png.string(), cv::IMREAD_COLOR);
    return m.empty() ? cv::Vec3b() : m.at<cv::Vec3b>(2, 2);
  };
  EXPECT_EQ(band(tmp / "vis" / "contact_sheet.png"), cv::Vec3b(52, 123, 30));
  EXPECT_EQ(band(tmp / "vis" / "sample_00.png"), cv::Vec3b(52, 123, 30));

  // Deliberately wrong: no /255 and no normalize (0..255 where -1..1 is expected).
  json cfg = json::parse(read_file(tmp / "ef.json"));
  cfg["default_loader"]["preprocessings"] = json::parse(R"([{"convertColor": {"form": "BGR2RGB"}},
      {"resize": {"width": 112, "height": 112}}, {"transpose": {"axis": [2, 0, 1]}}, {"expandDim": {"axis": 0}}])");
  write_file_atomic(tmp / "wrong_range.json", cfg.dump());
  r = qcal("check --config " + q(tmp / "wrong_range.json") +
           " --model-type edgeface --num-samples 2 --visualize -o " + q(tmp / "vis_bad"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("missing div 255"), std::string::npos) << r.output;
  // A failing check does not look like a passing one: red FAIL bands (BGR 30 38 179).
  EXPECT_EQ(band(tmp / "vis_bad" / "contact_sheet.png"), cv::Vec3b(30, 38, 179));
  EXPECT_EQ(band(tmp / "vis_bad" / "sample_00.png"), cv::Vec3b(30, 38, 179));

  // Deliberately wrong: BGR kept where EdgeFace wants RGB; the data shows it too.
  cfg["default_loader"]["preprocessings"] =
      json::parse(R"([{"resize": {"width": 112, "height": 112}}, {"div": {"x": 255}},
      {"normalize": {"mean": 0.5, "std": 0.5}}, {"transpose": {"axis": [2, 0, 1]}}, {"expandDim": {"axis": 0}}])");
  write_file_atomic(tmp / "wrong_color.json", cfg.dump());
  r = qcal("check --config " + q(tmp / "wrong_color.json") + " --model-type edgeface --json");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  const json report = json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(report["ok"], false);
  EXPECT_NE(report["problems"].dump().find("feeds BGR but preset 'edgeface' expects RGB"),
            std::string::npos)
      << r.output;
  EXPECT_NE(report["samples"].dump().find("suggest BGR order"), std::string::npos) << r.output;

  // A recipe whose shape does not match the config's declared input.
  cfg["default_loader"]["preprocessings"] = preset_steps("yolo");
  write_file_atomic(tmp / "wrong_shape.json", cfg.dump());
  r = qcal("check --config " + q(tmp / "wrong_shape.json"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("does not match the config's input 'input' [1, 3, 112, 112]"),
            std::string::npos)
      << r.output;

  // A channel made constant (multiplied by 0).
  r = qcal("check " + q(photos) + " --recipe " + q(tmp / "zero.json") + " -n 2");
  EXPECT_EQ(r.exit_code, 1) << r.output;  // the recipe file does not exist yet: a clear error
  write_file_atomic(tmp / "zero.json", R"([{"resize": {"size": 32}}, {"mul": {"x": 0}}])");
  r = qcal("check " + q(photos) + " --recipe " + q(tmp / "zero.json") + " -n 2");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("is constant"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace qcal::test
