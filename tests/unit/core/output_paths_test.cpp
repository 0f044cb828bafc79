// Output-path checks, temporary names and list lines: the rules behind docs/guarantees.md.
#include "core/output_paths.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/list_file.hpp"
#include "core/temp_files.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

namespace fs = std::filesystem;

TEST(OutputPaths, RefusesSameInsideAndReplacedHolders) {
  test::TempDir dir;
  fs::create_directories(dir / "imgs/sub");
  write_file_atomic(dir / "model.onnx", "m");
  const auto check = [&](const fs::path& out, OutputKind kind) {
    RunPaths p;
    p.input(dir / "model.onnx", "the model").input(dir / "imgs", "--data");
    p.output(out, "-o", kind);
    p.check();
  };
  EXPECT_THROW(check(dir / "model.onnx", OutputKind::kFile), Error);
  EXPECT_THROW(check(dir / "imgs/./sub/../", OutputKind::kFolderWritten), Error);
  EXPECT_THROW(check(dir / "imgs/sub/x.npy", OutputKind::kFile), Error);
  EXPECT_THROW(check(dir.path(), OutputKind::kFolderReplaced), Error);
  EXPECT_NO_THROW(check(dir.path(), OutputKind::kFolderWritten));      // writes beside the model
  EXPECT_NO_THROW(check(dir / "imgs2", OutputKind::kFolderReplaced));  // a prefix, not a parent
  EXPECT_NO_THROW(check(dir / "model.qdq.onnx", OutputKind::kFile));
  // A hard link and a symbolic link are the file itself.
  fs::create_hard_link(dir / "model.onnx", dir / "hard.onnx");
  fs::create_symlink(dir / "imgs", dir / "link");
  EXPECT_THROW(check(dir / "hard.onnx", OutputKind::kFile), Error);
  EXPECT_THROW(check(dir / "link/y.npy", OutputKind::kFile), Error);
}

TEST(OutputPaths, OutputFoldersNameTheBlockingFile) {
  test::TempDir dir;
  write_file_atomic(dir / "file", "x");
  EXPECT_NO_THROW(check_output_dir(dir / "new/deeper", "-o"));
  EXPECT_FALSE(fs::exists(dir / "new"));  // checking creates nothing
  try {
    check_output_dir(dir / "file/sub", "-o");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(e.describe().find("exists and is not a folder"), std::string::npos);
  }
  EXPECT_THROW(create_output_dir(dir / "file/sub"), Error);
  EXPECT_THROW(check_output_file(dir.path(), "--json"), Error);
  EXPECT_THROW(check_output_file(dir / "no/such/x.json", "--json"), Error);
}

TEST(TempFiles, NamesCarryThePidAndOnlyTheyAreRecognised) {
  const fs::path t = temp_path_for("/data/out/calib.npy");
  EXPECT_EQ(t.parent_path(), fs::path("/data/out"));
  EXPECT_EQ(temp_name_pid(t.filename().string()), ::getpid());
  EXPECT_EQ(temp_name_pid(".x.qcal-tmp-42-7"), 42);
  for (const char* other : {"x.qcal-tmp-42-7", ".x.tmp-42-7", ".x.qcal-tmp-42", ".x.qcal-tmp-a-1",
                            ".x.qcal-tmp--1-2", ".x.qcal-tmp-0-1"}) {
    EXPECT_FALSE(temp_name_pid(other)) << other;
  }
}

TEST(TempFiles, CommitTogetherRenamesAllOrLeavesAllUntouched) {
  test::TempDir dir;
  write_file_atomic(dir / "a", "old a");
  {
    AtomicFile a(dir / "a");
    AtomicFile b(dir / "b");
    a.write("new a");
    b.write("new b");
    commit_together({&a, &b});
  }
  EXPECT_EQ(read_file(dir / "a"), "new a");
  EXPECT_EQ(read_file(dir / "b"), "new b");
  {
    AtomicFile a(dir / "a");
    a.write("newer a");
    // Dropped without commit: the previous file stays, the temporary goes.
  }
  EXPECT_EQ(read_file(dir / "a"), "new a");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 2);
}

TEST(TempFiles, AtomicDirReplacesThePreviousFolderInOneRename) {
  test::TempDir dir;
  fs::create_directories(dir / "out");
  write_file_atomic(dir / "out/stale.jpg", "old");
  {
    AtomicDir d(dir / "out");
    write_file_atomic(d.path() / "new.jpg", "new");
    EXPECT_TRUE(fs::exists(dir / "out/stale.jpg"));
    d.commit();
  }
  EXPECT_FALSE(fs::exists(dir / "out/stale.jpg"));
  EXPECT_EQ(read_file(dir / "out/new.jpg"), "new");
  { AtomicDir abandoned(dir / "out"); }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(ListFile, WritersRefuseWhatReadersWouldNotReadBack) {
  EXPECT_EQ(list_line("imgs/a b.jpg"), "imgs/a b.jpg");
  for (const char* bad :
       {"two\nlines.jpg", "cr\r.jpg", " lead.jpg", "trail.jpg ", "#hash.jpg", "", "bad\xff.jpg"}) {
    EXPECT_THROW(list_line(bad), Error) << bad;
  }
}

}  // namespace
}  // namespace qcal
