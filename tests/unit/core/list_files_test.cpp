// list_files on awkward trees: symbolic-link loops, folders and files reached twice, dangling
// links, unreadable folders.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

namespace fs = std::filesystem;

TEST(ListFiles, SymlinkLoopsAndSecondNamesListEachRealFileOnce) {
  test::TempDir dir;
  fs::create_directories(dir / "photos/sub");
  write_file_atomic(dir / "photos/a.jpg", "a");
  write_file_atomic(dir / "photos/sub/b.png", "b");
  fs::create_directory_symlink(dir / "photos", dir / "photos/sub/loop");  // back to an ancestor
  fs::create_directory_symlink("sub", dir / "photos/sub_again");          // a folder twice
  fs::create_hard_link(dir / "photos/a.jpg", dir / "photos/z_hardlink.jpg");
  fs::create_symlink(dir / "photos/a.jpg", dir / "photos/y_link.jpg");
  fs::create_symlink(dir / "missing.jpg", dir / "photos/dangling.jpg");
  fs::create_symlink("self.jpg", dir / "photos/self.jpg");  // a link to itself (ELOOP)
  const auto files = list_files(dir / "photos", kImageExtensions);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0], dir / "photos/a.jpg");
  EXPECT_EQ(files[1], dir / "photos/sub/b.png");
}

TEST(ListFiles, UnreadableFolderIsAnErrorNamingIt) {
  test::TempDir dir;
  fs::create_directories(dir / "photos/locked");
  write_file_atomic(dir / "photos/a.jpg", "a");
  write_file_atomic(dir / "photos/locked/b.jpg", "b");
  ASSERT_EQ(::chmod((dir / "photos/locked").c_str(), 0), 0);
  DIR* probe = ::opendir((dir / "photos/locked").c_str());
  if (probe) {
    ::closedir(probe);
    ::chmod((dir / "photos/locked").c_str(), 0755);
    GTEST_SKIP() << "running with permission to read any folder (root)";
  }
  try {
    (void)list_files(dir / "photos", kImageExtensions);
    ADD_FAILURE() << "an unreadable folder was skipped silently";
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("cannot list folder: Permission denied"), std::string::npos)
        << e.describe();
    EXPECT_NE(e.describe().find("locked"), std::string::npos) << e.describe();
  }
  ::chmod((dir / "photos/locked").c_str(), 0755);
}

}  // namespace
}  // namespace qcal
