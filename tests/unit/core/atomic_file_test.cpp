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
  {
    AtomicFile f(dir / "out.txt");
    f.write("partial");
  }
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

// Reserved space does not change the file's bytes: the size is what was written.
TEST(AtomicFile, ReserveSpaceKeepsContents) {
  test::TempDir dir;
  {
    AtomicFile f(dir / "out.bin");
    f.write("head");
    f.reserve_space(std::uint64_t{1} << 20);
    f.write("tail");
    f.commit();
  }
  EXPECT_EQ(read_file(dir / "out.bin"), "headtail");
}

// More space than any file can have is an I/O error naming the output, before anything is
// written (2^64 - 1 bytes: refused whatever the filesystem; 2^62: refused by the filesystem
// where it can preallocate, ignored where it cannot).
TEST(AtomicFile, ReserveSpaceBeyondAnyDiskIsAnIoError) {
  test::TempDir dir;
  for (std::uint64_t bytes : {~std::uint64_t{0}, std::uint64_t{1} << 62}) {
    AtomicFile f(dir / "big.npy");
    try {
      f.reserve_space(bytes);
      EXPECT_NE(bytes, ~std::uint64_t{0});
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kIo);
      EXPECT_NE(e.describe().find("big.npy"), std::string::npos);
      EXPECT_NE(e.describe().find("not enough space"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace qcal
