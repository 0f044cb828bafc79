// File listing: recursive, case-insensitive extensions, sorted; list files.
#include "core/files.hpp"

#include <gtest/gtest.h>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/list_file.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

TEST(Files, ListsRecursivelyAnyCaseSorted) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "b/c");
  for (const char* name : {"b/c/z.MOV", "a.mp4", "b/y.Mp4", "notes.txt", "b/c/x.avi"}) {
    write_file_atomic(dir / name, "x");
  }
  auto files = list_files(dir.path(), kVideoExtensions);
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0].filename(), "a.mp4");
  EXPECT_EQ(files[1].filename(), "x.avi");
  EXPECT_EQ(files[2].filename(), "z.MOV");
  EXPECT_EQ(files[3].filename(), "y.Mp4");
  EXPECT_THROW(list_files(dir / "missing", kVideoExtensions), Error);
}

TEST(Files, ExtensionLower) {
  EXPECT_EQ(extension_lower("IMG_6929.MOV"), "mov");
  EXPECT_EQ(extension_lower("noext"), "");
  EXPECT_TRUE(has_extension("a.JPEG", kImageExtensions));
}

TEST(Files, ReadListFile) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "base/imgs");
  write_file_atomic(dir / "base/imgs/a.jpg", "x");
  write_file_atomic(dir / "b.jpg", "x");
  write_file_atomic(dir / "list.txt",
                    "# comment\nimgs/a.jpg\n\n" + (dir / "b.jpg").string() + "  \r\n");
  auto paths = read_list_file(dir / "list.txt", dir / "base");
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0], dir / "base/imgs/a.jpg");
  EXPECT_EQ(paths[1], dir / "b.jpg");
  EXPECT_THROW(read_list_file(dir / "none.txt", "/"), Error);
}

}  // namespace
}  // namespace qcal
