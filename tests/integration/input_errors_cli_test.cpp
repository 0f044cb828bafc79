// Bad input end to end (issue 18, the input side): each class of bad input gives exit 1 with an
// error naming the file, never a crash, an internal error or a silently wrong result.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/atomic_file.hpp"
#include "test_support.hpp"

namespace qcal::test {
namespace {

namespace fs = std::filesystem;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

CommandResult qcal(const std::string& args) { return run_command(qcal_bin() + " " + args); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Permission checks do not bite for root: as root, commands run as user nobody (setpriv, from
// util-linux). Empty when the tests already run unprivileged; nullopt when that is impossible.
std::optional<std::string> unprivileged() {
  if (::geteuid() != 0) return std::string();
  if (!fs::exists("/usr/bin/setpriv")) return std::nullopt;
  return std::string("/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups ");
}

fs::path make_image_dir(const TempDir& tmp, const std::string& name = "images") {
  const fs::path dir = tmp / name;
  fs::create_directories(dir);
  fs::copy_file(opencv_data() / "baboon.jpg", dir / "baboon.jpg");
  return dir;
}

// A recipe nested 100,000 levels deep once killed every verb that reads recipes (SIGSEGV while
// serialising the bad value into the error); a number beyond double's range was exit 70.
TEST(InputErrorsCli, DeepOrOverflowingRecipeIsAnErrorInEveryVerb) {
  TempDir tmp;
  const fs::path images = make_image_dir(tmp);
  const fs::path deep = tmp / "deep.json";
  write_file_atomic(
      deep, "{\"preprocessings\": " + std::string(100000, '[') + std::string(100000, ']') + "}");
  const fs::path big = tmp / "big.json";
  write_file_atomic(big,
                    "{\"preprocessings\": [{\"resize\": {\"mode\": \"default\", \"size\": 64}},\n"
                    "  {\"div\": {\"x\": 1e400}}]}");
  const fs::path nested_value = tmp / "nested_value.json";
  write_file_atomic(nested_value,
                    "{\"preprocessings\": [{\"resize\": {\"mode\": \"default\", "
                    "\"size\": " +
                        std::string(120, '[') + "1" + std::string(120, ']') + "}}]}");
  for (const std::string& verb :
       {"pack " + q(images) + " -o " + q(tmp / "o.npy"), "check " + q(images),
        "config --model-type custom --dataset-path " + q(images) + " -o " + q(tmp / "c.json")}) {
    auto r = qcal(verb + " --recipe " + q(deep));
    EXPECT_EQ(r.exit_code, 1) << verb << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "nested deeper than 128 levels")) << r.output;
    EXPECT_TRUE(contains(r.output, "file: " + deep.string())) << r.output;
    r = qcal(verb + " --recipe " + q(big));
    EXPECT_EQ(r.exit_code, 1) << verb << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "1e400")) << r.output;
    EXPECT_TRUE(contains(r.output, "line 2, column 17")) << r.output;
    r = qcal(verb + " --recipe " + q(nested_value));
    EXPECT_EQ(r.exit_code, 1) << verb << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "size must be a number, got [[[[")) << r.output;
    EXPECT_LT(r.output.size(), 400u) << r.output;
  }
  EXPECT_FALSE(fs::exists(tmp / "o.npy"));
}

// A truncated JPEG was packed, checked (PASS) and calibrated on with its missing half grey; a
// JPEG damaged in the middle (its end marker present) likewise. Every verb refuses both.
TEST(InputErrorsCli, TruncatedOrDamagedJpegIsRefusedByEveryVerb) {
  TempDir tmp;
  const std::string photo = read_file(opencv_data() / "messi5.jpg");
  for (const std::string kind : {"truncated", "damaged"}) {
    SCOPED_TRACE(kind);
    const fs::path dir = tmp / kind;
    fs::create_directories(dir);
    fs::copy_file(opencv_data() / "baboon.jpg", dir / "baboon.jpg");
    const std::string half = photo.substr(0, photo.size() / 2);
    write_file_atomic(dir / "cut.jpg", kind == "truncated" ? half : half + "\xff\xd9");
    const std::string reason = kind == "truncated" ? "JPEG is truncated (no end-of-image marker)"
                                                   : "JPEG data is damaged: Corrupt JPEG data";
    auto r = qcal("pack " + q(dir) + " --recipe yolo -o " + q(tmp / "x.npy"));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, reason)) << r.output;
    EXPECT_TRUE(contains(r.output, "image: " + (dir / "cut.jpg").string())) << r.output;
    EXPECT_FALSE(fs::exists(tmp / "x.npy"));
    r = qcal("check " + q(dir) + " --recipe yolo");
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "FAIL: " + reason)) << r.output;
  }
  const fs::path dir = tmp / "truncated";
  auto r = qcal("select " + q(dir) + " -n 1 -o " + q(tmp / "sel"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "1 readable, 1 unreadable")) << r.output;
  EXPECT_TRUE(fs::exists(tmp / "sel/baboon.jpg"));
}

// A symbolic link back to an ancestor made select and sample see 82 "images" in a folder of 2.
TEST(InputErrorsCli, SymlinkLoopListsEachImageOnce) {
  TempDir tmp;
  const fs::path dir = tmp / "photos";
  fs::create_directories(dir / "sub");
  fs::copy_file(opencv_data() / "baboon.jpg", dir / "baboon.jpg");
  fs::copy_file(opencv_data() / "fruits.jpg", dir / "sub/fruits.jpg");
  fs::create_directory_symlink("..", dir / "sub/loop");
  fs::create_directory_symlink(dir / "sub", dir / "again");
  auto r = qcal("select " + q(dir) + " -n 3 -o " + q(tmp / "sel"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "only 2 images are readable")) << r.output;
  r = qcal("sample " + q(dir) + " -n 3 -o " + q(tmp / "list.txt"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "-n 3 is more than the 2 candidates")) << r.output;
  r = qcal("pack " + q(dir) + " --recipe yolo --size 64 64 -o " + q(tmp / "x.npy") + " --json");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "\"count\": 2,")) << r.output;
}

// Permission denied was reported as "image does not decode", and an unreadable subfolder was
// skipped silently.
TEST(InputErrorsCli, PermissionDeniedIsSaidAndNothingIsSkippedSilently) {
  const auto as_user = unprivileged();
  if (!as_user) GTEST_SKIP() << "running as root without setpriv";
  TempDir tmp;
  fs::permissions(tmp.path(), fs::perms::all);  // outputs written by the unprivileged user
  const fs::path dir = make_image_dir(tmp);
  fs::copy_file(dir / "baboon.jpg", dir / "locked.jpg");
  fs::permissions(dir / "locked.jpg", fs::perms::none);
  auto r = run_command(*as_user + qcal_bin() + " select " + q(dir) + " -n 1 -o " + q(tmp / "s"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "1 readable, 1 unreadable")) << r.output;
  EXPECT_TRUE(contains(r.output, "locked.jpg: cannot open image file: Permission denied"))
      << r.output;
  r = run_command(*as_user + qcal_bin() + " pack " + q(dir) + " --recipe yolo -o " +
                  q(tmp / "x.npy"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "cannot open image file: Permission denied")) << r.output;
  EXPECT_FALSE(contains(r.output, "does not decode")) << r.output;

  fs::remove(dir / "locked.jpg");
  fs::create_directories(dir / "locked");
  fs::copy_file(dir / "baboon.jpg", dir / "locked/b.jpg");
  fs::permissions(dir / "locked", fs::perms::none);
  for (const std::string& verb : {"select " + q(dir) + " -n 1 -o " + q(tmp / "s2"),
                                  "sample " + q(dir) + " -n 1 -o " + q(tmp / "l.txt"),
                                  "pack " + q(dir) + " --recipe yolo -o " + q(tmp / "y.npy")}) {
    r = run_command(*as_user + qcal_bin() + " " + verb);
    EXPECT_EQ(r.exit_code, 1) << verb << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "cannot list folder: Permission denied")) << r.output;
    EXPECT_TRUE(contains(r.output, (dir / "locked").string())) << r.output;
  }
  fs::permissions(dir / "locked", fs::perms::owner_all);
}

// eval --labels that match no image, hold no objects or only classes the model does not have
// reported mAP 0 or "nan" with exit 0 (and plan --accuracy then trusted it).
TEST(InputErrorsCli, LabelsThatMeasureNothingAreAnError) {
  TempDir tmp;
  const fs::path images = make_image_dir(tmp);
  const std::string model = q(deps_dir() / "models" / "yolov8n.onnx");
  const fs::path labels = tmp / "labels";
  fs::create_directories(labels);
  const std::string common = "eval " + model + " " + model + " --data " + q(images) +
                             " --recipe yolo --task yolo --labels " + q(labels) + " -o ";
  struct Case {
    const char* name;
    const char* file;
    const char* text;
    const char* error;
  };
  for (const Case& c :
       {Case{"no match", "other.txt", "0 0.5 0.5 0.2 0.2\n", "no label matches any"},
        Case{"empty", "baboon.txt", "", "hold no ground-truth objects"},
        Case{"unknown class", "baboon.txt", "95 0.5 0.5 0.2 0.2\n",
             "has a class id the model predicts (0..79)"}}) {
    SCOPED_TRACE(c.name);
    for (const auto& e : fs::directory_iterator(labels)) fs::remove(e.path());
    write_file_atomic(labels / c.file, c.text);
    const auto r = qcal(common + q(tmp / "out"));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, c.error)) << r.output;
    EXPECT_FALSE(contains(r.output, "nan")) << r.output;
    EXPECT_FALSE(fs::exists(tmp / "out" / "eval.json"));
  }
}

// --weights 1e308,... gave NaN scores; a folder of only bad images gave no reason.
TEST(InputErrorsCli, SelectWeightsStayFiniteAndAllBadImagesGiveReasons) {
  TempDir tmp;
  const fs::path images = make_image_dir(tmp);
  fs::copy_file(opencv_data() / "fruits.jpg", images / "fruits.jpg");
  auto r = qcal("select " + q(images) + " -n 2 --threshold 0 -o " + q(tmp / "sel") +
                " --weights 1e308,1e308,1e308,1e308,1e308");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto analysis = nlohmann::json::parse(read_file(tmp / "sel/calibration_analysis.json"));
  ASSERT_EQ(analysis["images"].size(), 2u);
  for (const auto& image : analysis["images"]) {
    ASSERT_TRUE(image["total"].is_number()) << image.dump();
    EXPECT_GT(image["total"].get<double>(), 0.0) << image.dump();
  }
  EXPECT_EQ(analysis["parameters"]["weights"]["sharpness"], 20.0);

  const fs::path bad = tmp / "bad";
  fs::create_directories(bad);
  write_file_atomic(bad / "a.jpg", "");
  write_file_atomic(bad / "b.png", "not a png");
  r = qcal("select " + q(bad) + " -n 1 -o " + q(tmp / "sel2"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "none of the 2 images could be read:")) << r.output;
  EXPECT_TRUE(contains(r.output, (bad / "a.jpg").string() + ": image file is empty")) << r.output;
  EXPECT_TRUE(contains(r.output, (bad / "b.png").string() + ": cannot decode")) << r.output;
}

}  // namespace
}  // namespace qcal::test
