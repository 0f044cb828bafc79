// The `qcal` launcher: it gives qcal-main a short libgomp spin unless the user chose a wait
// policy, passes the arguments through unchanged, and fails clearly without qcal-main. Tested by
// copying it next to a stand-in qcal-main that prints what it received.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/atomic_file.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

class Launcher : public ::testing::Test {
 protected:
  void SetUp() override {
    launcher_ = dir_ / "qcal";
    std::filesystem::copy_file(test::qcal_bin(), launcher_);
  }
  void stand_in() {
    const auto main = dir_ / "qcal-main";
    write_file_atomic(main,
                      "#!/bin/sh\necho \"spin=${GOMP_SPINCOUNT-unset} "
                      "policy=${OMP_WAIT_POLICY-unset} args=$*\"\n");
    ::chmod(main.c_str(), 0755);
  }
  test::TempDir dir_;
  std::filesystem::path launcher_;
};

TEST_F(Launcher, SetsTheSpinCountUnlessTheUserChoseAPolicy) {
  stand_in();
  const std::string clean = "env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY ";
  auto r = test::run_command(clean + launcher_.string() + " calibrate 'a b' --threads 2");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, std::string("spin=") + QCAL_SPINCOUNT_EXPECTED +
                          " policy=unset args=calibrate a b --threads 2\n");
  r = test::run_command(clean + "OMP_WAIT_POLICY=active " + launcher_.string() + " run");
  EXPECT_EQ(r.output, "spin=unset policy=active args=run\n");
  r = test::run_command(clean + "GOMP_SPINCOUNT=7 " + launcher_.string());
  EXPECT_EQ(r.output, "spin=7 policy=unset args=\n");
}

TEST_F(Launcher, MissingMainIsAClearError) {
  const auto r = test::run_command(launcher_.string() + " --version");
  EXPECT_EQ(r.exit_code, 70);
  EXPECT_NE(r.output.find("cannot run " + (dir_ / "qcal-main").string()), std::string::npos)
      << r.output;
}

// An unknown verb is a usage error (exit 2) naming the verb and listing the real ones, also with
// --help after it; a real verb's --help still exits 0.
TEST(Cli, UnknownVerbIsAUsageErrorListingTheVerbs) {
  for (const char* args : {" frobnicate", " preprocess --help"}) {
    const auto r = test::run_command(test::qcal_bin() + args + " 2>&1");
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.output;
    EXPECT_NE(r.output.find("unknown verb '"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("calibrate, eval, plan"), std::string::npos) << r.output;
  }
  EXPECT_EQ(test::run_command(test::qcal_bin() + " calibrate --help").exit_code, 0);
}

}  // namespace
}  // namespace qcal
