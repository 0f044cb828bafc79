// AtomicFile: nothing under the final name until commit; abandoned writes leave nothing.
#include "core/atomic_file.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

TEST(AtomicFile, CommitRenames) {
  test::TempDir dir;
  {
    AtomicFile f(dir / "out.txt");
    f.write("hello");
    EXPECT_FALSE(std::filesystem::exists(dir / "out.txt"));
    f.commit();
  }
  EXPECT_EQ(read_file(dir / "out.txt"), "hello");
}

TEST(AtomicFile, NoCommitNoFile) {
  test::TempDir dir;
  { AtomicFile f(dir / "out.txt"); f.write("partial"); }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(AtomicFile, ReplacesExisting) {
  test::TempDir dir;
  write_file_atomic(dir / "a", "one");
  write_file_atomic(dir / "a", "two");
  EXPECT_EQ(read_file(dir / "a"), "two");
}

TEST(AtomicFile, MissingFolderIsAnIoError) {
  test::TempDir dir;
  try {
    AtomicFile f(dir / "no/such/dir/out.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(e.describe().find("out.txt"), std::string::npos);
  }
}

}  // namespace
}  // namespace qcal
