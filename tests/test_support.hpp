// Test helpers shared by all test binaries: temporary folders, running commands, data paths.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

namespace qcal::test {

// A fresh folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string stem = info ? std::string(info->test_suite_name()) + "_" + info->name() : "qcal";
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("qcal_" + stem + "_" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command, capturing stdout+stderr.
inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The qcal binary under test (ctest passes QCAL_BIN).
inline std::string qcal_bin() {
  const char* env = std::getenv("QCAL_BIN");
  return env ? env : std::string(QCAL_BINARY_DIR) + "/tools/qcal/qcal";
}

// Debian's python3 with python3-numpy and python3-opencv (not a pyenv shim).
inline std::string system_python() { return "/usr/bin/python3"; }

inline std::filesystem::path opencv_data() { return "/usr/share/doc/opencv-doc/examples/data"; }
inline std::filesystem::path deps_dir() {
  const char* env = std::getenv("QCAL_DEPS");
  return env && *env ? env : QCAL_DEPS_DIR;
}

}  // namespace qcal::test
