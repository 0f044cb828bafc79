// Issue #18, the output side, end to end through the CLI on real data from opencv-doc: outputs
// never overwrite or replace inputs, user errors exit 1 naming the path, SIGINT/SIGTERM leave no
// temporaries and the previous outputs intact, list files have one rule, frames replaces an
// earlier run's frames.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/atomic_file.hpp"
#include "test_support.hpp"

namespace qcal::test {
namespace {

namespace fs = std::filesystem;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
CommandResult qcal(const std::string& args) { return run_command(qcal_bin() + " " + args); }

fs::path make_photos(const TempDir& tmp, const std::string& name = "photos") {
  const fs::path dir = tmp / name;
  fs::create_directories(dir);
  for (const char* f : {"messi5.jpg", "baboon.jpg", "fruits.jpg"}) {
    fs::copy_file(opencv_data() / f, dir / f);
  }
  return dir;
}

// Every entry of the folder (recursively) whose name marks a qcal temporary.
std::vector<std::string> temporaries(const fs::path& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".qcal-tmp-") != std::string::npos || name.find(".tmp-") != std::string::npos) {
      found.push_back(e.path().string());
    }
  }
  return found;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// --- 1. an output is never, holds or lies inside an input -------------------------------------

TEST(OutputPaths, PackRefusesTheImageFolderAsItsOutput) {
  TempDir tmp;
  const fs::path photos = make_photos(tmp);
  auto r = qcal("pack " + q(photos) + " --recipe yolo -o " + q(photos) + " --force");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "would overwrite")) << r.output;
  EXPECT_TRUE(fs::exists(photos / "messi5.jpg"));
  // A folder output that holds the images, and an output inside the image folder.
  r = qcal("pack " + q(photos) + " --recipe yolo -o " + q(tmp.path()) + " --force");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "holds")) << r.output;
  r = qcal("pack " + q(photos) + " --recipe yolo -o " + q(photos / "calib.npy"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "lies inside")) << r.output;
  EXPECT_EQ(std::distance(fs::directory_iterator(photos), fs::directory_iterator()), 3);
  // Through a symlink to the folder, and a list naming an image in the output folder.
  fs::create_directory_symlink(photos, tmp / "link");
  r = qcal("pack " + q(photos) + " --recipe yolo -o " + q(tmp / "link") + " --force");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  write_file_atomic(tmp / "list.txt", "photos/messi5.jpg\n");
  r = qcal("pack " + q(tmp / "list.txt") + " --recipe yolo -o " + q(photos) + " --force");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(fs::exists(photos / "messi5.jpg"));
}

TEST(OutputPaths, CalibrateEvalPlanNeverOverwriteTheirInputs) {
  TempDir tmp;
  const fs::path model = tmp / "model.onnx";
  fs::copy_file(deps_dir() / "models" / "face_detection_front_128x128_barracuda.onnx", model);
  const std::string before = read_file(model);
  const fs::path photos = make_photos(tmp);
  auto r = qcal("calibrate " + q(model) + " --data " + q(photos) + " --recipe yolo -o " +
                q(tmp / "out") + " --save-stats " + q(model));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "--save-stats would overwrite the model")) << r.output;
  fs::create_symlink(model, tmp / "alias.onnx");
  r = qcal("calibrate " + q(model) + " --data " + q(photos) + " --recipe yolo -o " +
           q(tmp / "out") + " --save-stats " + q(tmp / "alias.onnx"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  r = qcal("calibrate " + q(model) + " --data " + q(photos) + " --recipe yolo -o " +
           q(photos / "int8"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "lies inside --data")) << r.output;
  r = qcal("eval " + q(model) + " " + q(model) + " --data " + q(photos) + " --recipe yolo -o " +
           q(tmp / "ev") + " --json-file " + q(model));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "--json-file would overwrite")) << r.output;
  EXPECT_EQ(read_file(model), before);
  EXPECT_FALSE(fs::exists(tmp / "out"));
  EXPECT_FALSE(fs::exists(tmp / "ev"));

  const std::string csv = "engine_precision,trt_latency_ms\nfp16,2.0\nint8,1.0\n";
  write_file_atomic(tmp / "p.csv", csv);
  r = qcal("plan --profiles " + q(tmp / "p.csv") + " --html " + q(tmp / "p.csv"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "--html would overwrite")) << r.output;
  EXPECT_EQ(read_file(tmp / "p.csv"), csv);
}

// --- 2. user errors on outputs exit 1 naming the path, not 70 ----------------------------------

TEST(OutputErrors, OutputsThatCannotBeWrittenAreUserErrors) {
  TempDir tmp;
  const fs::path model = tmp / "model.onnx";
  fs::copy_file(deps_dir() / "models" / "face_detection_front_128x128_barracuda.onnx", model);
  write_file_atomic(tmp / "file", "x");
  const fs::path photos = make_photos(tmp);
  for (const fs::path& out : {tmp / "file", tmp / "file" / "sub"}) {
    auto r = qcal("calibrate " + q(model) + " --data " + q(photos) + " --recipe yolo -o " + q(out));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "exists and is not a folder")) << r.output;
    EXPECT_TRUE(contains(r.output, out.string())) << r.output;
    r = qcal("eval " + q(model) + " " + q(model) + " --data " + q(photos) + " --recipe yolo -o " +
             q(out));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, out.string())) << r.output;
  }
  // `run -o model.onnx`: the model itself, or another existing file where a folder is expected.
  const std::string npy = "import numpy as np; np.save('" + (tmp / "in.npy").string() +
                          "', np.zeros((1,128,128,3), np.float32))";
  ASSERT_EQ(run_command(system_python() + " -c \"" + npy + "\"").exit_code, 0);
  auto r = qcal("run " + q(model) + " -i " + q(tmp / "in.npy") + " -o " + q(model));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "would overwrite the model")) << r.output;
  fs::copy_file(model, tmp / "other.onnx");
  r = qcal("run " + q(model) + " -i " + q(tmp / "in.npy") + " -o " + q(tmp / "other.onnx"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "exists and is not a folder")) << r.output;
}

// --- 3. signals: temporaries removed, previous outputs intact, exit 128 + signal -------------

// A list naming the photos `copies` times: enough work to be stopped in the middle.
fs::path long_list(const TempDir& tmp, const fs::path& photos, int copies) {
  std::string text;
  for (int i = 0; i < copies; ++i) {
    for (const char* f : {"messi5.jpg", "baboon.jpg", "fruits.jpg"}) {
      text += (photos / f).string() + "\n";
    }
  }
  write_file_atomic(tmp / "long.txt", text);
  return tmp / "long.txt";
}

// Waits (up to 60 s) until process `pid` catches `sig` (its handlers are installed: qcal runs).
bool wait_until_catching(pid_t pid, int sig) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("SigCgt:", 0) != 0) continue;
      const unsigned long long caught = std::stoull(line.substr(7), nullptr, 16);
      if ((caught >> (sig - 1)) & 1u) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// Starts `args` under /bin/sh, waits until a temporary shows up in `watch` (the run is writing),
// then sends `sig`. Returns the exit status, or -1 when the run ended before it could be stopped.
int stop_midway(const std::string& args, const fs::path& watch, int sig) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string cmd = "exec " + qcal_bin() + " " + args + " >/dev/null 2>&1";
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return -1;
    if (!temporaries(watch).empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ::kill(pid, sig);
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

TEST(Signals, PackStoppedMidRunLeavesThePreviousOutputAndNoTemporaries) {
  TempDir tmp;
  const fs::path photos = make_photos(tmp);
  const fs::path out = tmp / "out";
  fs::create_directories(out);
  const std::string small = "--recipe yolo --size 64 64 -q -j 2";
  ASSERT_EQ(qcal("pack " + q(photos) + " " + small + " -o " + q(out / "calib.npy")).exit_code, 0);
  ASSERT_EQ(qcal("pack " + q(photos) + " " + small + " -o " + q(out / "folder")).exit_code, 0);
  const std::string npy = read_file(out / "calib.npy");
  const std::string sidecar = read_file(out / "calib.npy.json");
  const std::string listing = read_file(out / "folder" / "dataset.txt");
  const fs::path list = long_list(tmp, photos, 400);

  const int rc_int =
      stop_midway("pack " + q(list) + " " + small + " -o " + q(out / "calib.npy"), out, SIGINT);
  const int rc_term = stop_midway(
      "pack " + q(list) + " " + small + " -o " + q(out / "folder") + " --force", out, SIGTERM);
  EXPECT_EQ(rc_int, 130);
  EXPECT_EQ(rc_term, 143);
  EXPECT_EQ(temporaries(tmp.path()), std::vector<std::string>{});
  EXPECT_EQ(read_file(out / "calib.npy"), npy);
  EXPECT_EQ(read_file(out / "calib.npy.json"), sidecar);
  EXPECT_EQ(read_file(out / "folder" / "dataset.txt"), listing);
}

TEST(Signals, CalibrateStoppedMidRunLeavesThePreviousOutputs) {
  TempDir tmp;
  const fs::path photos = make_photos(tmp);
  const fs::path model = tmp / "blazeface.onnx";
  fs::copy_file(deps_dir() / "models" / "face_detection_front_128x128_barracuda.onnx", model);
  const fs::path out = tmp / "int8";
  const std::string common =
      " --recipe yolo -o " + q(out) + " --method minmax --dominant-noise off --no-report -q";
  ASSERT_EQ(qcal("calibrate " + q(model) + " --data " + q(photos) + common + " --save-stats " +
                 q(out / "s.qcs"))
                .exit_code,
            0);
  std::map<std::string, std::string> before;
  for (const auto& e : fs::directory_iterator(out)) {
    before[e.path().filename().string()] = read_file(e.path());
  }
  ASSERT_EQ(before.size(), 5u);  // QDQ model, cache, ranges, samples list, statistics
  const fs::path list = long_list(tmp, photos, 600);
  // No temporary appears before the end: stop it a second after its handlers are in place, well
  // inside the run.
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string cmd = "exec " + qcal_bin() + " calibrate " + q(model) + " --data " + q(list) +
                            common + " --save-stats " + q(out / "s.qcs") + " >/dev/null 2>&1";
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_TRUE(wait_until_catching(pid, SIGINT));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  std::map<std::string, std::string> after;
  for (const auto& e : fs::directory_iterator(out)) {
    after[e.path().filename().string()] = read_file(e.path());
  }
  EXPECT_EQ(after, before);
}

TEST(Signals, ALaterRunSweepsTemporariesOfDeadRunsOnly) {
  TempDir tmp;
  const fs::path photos = make_photos(tmp);
  // The PID of a process that has exited.
  const auto echo = run_command("sh -c 'echo $$'");
  const std::string dead = echo.output.substr(0, echo.output.find('\n'));
  const std::string alive = std::to_string(::getpid());
  const fs::path out = tmp / "out";
  fs::create_directories(out / (".calib.npy.qcal-tmp-" + dead + "-3"));  // a folder temporary
  write_file_atomic(out / (".calib.npy.qcal-tmp-" + dead + "-0"), "stale");
  write_file_atomic(out / (".calib.npy.qcal-tmp-" + alive + "-0"), "live");
  write_file_atomic(out / (".notes.tmp-" + dead + "-0"), "not qcal's name");
  auto r = qcal("pack " + q(photos) + " --recipe yolo --size 64 64 -q -o " + q(out / "calib.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(out / (".calib.npy.qcal-tmp-" + dead + "-0")));
  EXPECT_FALSE(fs::exists(out / (".calib.npy.qcal-tmp-" + dead + "-3")));
  EXPECT_TRUE(fs::exists(out / (".calib.npy.qcal-tmp-" + alive + "-0")));
  EXPECT_TRUE(fs::exists(out / (".notes.tmp-" + dead + "-0")));
}

// --- 4. list files: one rule, checked reading and writing --------------------------------------

TEST(ListFiles, SampleWritesWhatPackReads) {
  TempDir tmp;
  make_photos(tmp);
  fs::create_directories(tmp / "lists");
  auto r = run_command("cd " + q(tmp.path()) + " && " + qcal_bin() +
                       " sample photos -n 2 -o lists/two.txt");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string list = read_file(tmp / "lists" / "two.txt");
  EXPECT_EQ(list.rfind("../photos/", 0), 0u) << list;
  r = qcal("pack " + q(tmp / "lists" / "two.txt") + " --recipe yolo --size 64 64 -o " +
           q(tmp / "two.npy") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "\"count\": 2")) << r.output;
  // sample reads a list by the same rule: its entries relative to the list's folder.
  r = qcal("sample " + q(tmp / "lists" / "two.txt") + " -n 2 -o " + q(tmp / "again.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_file(tmp / "again.txt").rfind("photos/", 0), 0u);
}

TEST(ListFiles, BadListsAreRefusedNamingTheLine) {
  TempDir tmp;
  make_photos(tmp);
  write_file_atomic(tmp / "bom.txt", "\xEF\xBB\xBFphotos/messi5.jpg\nphotos/baboon.jpg\n");
  auto r = qcal("pack " + q(tmp / "bom.txt") + " --recipe yolo --size 64 64 -o " +
                q(tmp / "bom.npy") + " --json");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "\"count\": 2")) << r.output;

  std::string noise(3000, '\0');
  std::uint32_t x = 12345;
  for (auto& c : noise) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  write_file_atomic(tmp / "noise.txt", noise);
  r = qcal("sample " + q(tmp / "noise.txt") + " -n 1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "not a list file")) << r.output;

  write_file_atomic(tmp / "missing.txt", "photos/messi5.jpg\n# note\nphotos/nothere.jpg\n");
  for (const std::string& args :
       {"sample " + q(tmp / "missing.txt") + " -n 1",
        "pack " + q(tmp / "missing.txt") + " --recipe yolo -o " + q(tmp / "x.npy")}) {
    r = qcal(args);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "line 3 names 'photos/nothere.jpg'")) << r.output;
  }
}

TEST(ListFiles, NamesWithALineBreakAreRefusedByEveryListWriter) {
  TempDir tmp;
  const fs::path photos = make_photos(tmp);
  fs::copy_file(photos / "messi5.jpg", photos / "two\nlines.jpg");
  auto r = qcal("sample " + q(photos) + " -n 4 -o " + q(tmp / "l.txt"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "line break")) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "l.txt"));
  r = qcal("config --format rknn --model-type yolo --dataset-path " + q(photos) + " -o " +
           q(tmp / "dataset.txt"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "line break")) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "dataset.txt"));
}

// --- 5. frames replaces an earlier run's frames, refuses other files ---------------------------

TEST(FramesOutput, AnEarlierRunIsReplacedAndForeignFilesRefused) {
  TempDir tmp;
  const fs::path video = opencv_data() / "Megamind.avi";
  const fs::path out = tmp / "frames";
  auto r = qcal("frames " + q(video) + " -o " + q(out) + " --fps 4 --end 1 --keep-blank -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto count = [&] {
    return std::distance(fs::directory_iterator(out), fs::directory_iterator());
  };
  EXPECT_EQ(count(), 5);  // 4 frames + frames.csv
  r = qcal("frames " + q(video) + " -o " + q(out) + " --fps 1 --end 1 --keep-blank -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(count(), 2);  // the earlier 4 are gone
  EXPECT_EQ(temporaries(tmp.path()), std::vector<std::string>{});
  write_file_atomic(out / "mine.txt", "the user's");
  r = qcal("frames " + q(video) + " -o " + q(out) + " --fps 1 --end 1 --keep-blank -q");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "mine.txt")) << r.output;
  EXPECT_EQ(read_file(out / "mine.txt"), "the user's");
}

TEST(SelectOutput, APreviousSelectionIsReplacedAsAWhole) {
  TempDir tmp;
  const fs::path photos = make_photos(tmp);
  const fs::path out = tmp / "sel";
  auto r = qcal("select " + q(photos) + " -o " + q(out) + " -n 3 --threshold 0 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), 5);
  r = qcal("select " + q(photos) + " -o " + q(out) + " -n 1 --threshold 0 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), 3);
  EXPECT_EQ(temporaries(tmp.path()), std::vector<std::string>{});
  r = qcal("select " + q(photos) + " -o " + q(photos / "sel") + " -n 1 --threshold 0 -q");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "lies inside")) << r.output;
}

}  // namespace
}  // namespace qcal::test
