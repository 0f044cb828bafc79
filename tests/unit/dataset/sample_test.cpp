// Subset sampling: sorted candidates and the portable draw give the same subset every run, on
// folders and list files; relative paths; n above the candidates.
#include "dataset/sample.hpp"

#include <gtest/gtest.h>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace qcal::dataset {
namespace {

void make_files(const fs::path& dir, int count) {
  fs::create_directories(dir / "a" / "b");
  for (int i = 0; i < count; ++i) {
    const char* sub = i % 3 == 0 ? "a" : (i % 3 == 1 ? "a/b" : "");
    write_file_atomic(dir / sub / ("im" + std::to_string(i) + (i % 4 ? ".jpg" : ".PNG")), "x");
  }
  write_file_atomic(dir / "notes.txt", "not an image");
}

TEST(Sample, SameSubsetEveryRunAndFromAListInAnyOrder) {
  test::TempDir dir;
  make_files(dir / "src", 40);
  SampleOptions o;
  o.src = dir / "src";
  o.n = 10;
  o.seed = 42;
  o.relative_to = dir / "src";
  const auto a = sample_subset(o);
  EXPECT_EQ(a.candidates, 40u);
  ASSERT_EQ(a.lines.size(), 10u);
  EXPECT_TRUE(std::is_sorted(a.lines.begin(), a.lines.end()));
  EXPECT_EQ(sample_subset(o).lines, a.lines);
  o.seed = 43;
  EXPECT_NE(sample_subset(o).lines, a.lines);

  // The same files listed in reverse order, with comments and a duplicate, give the same subset.
  std::string list = "# calibration candidates\n\n";
  const auto all = [&] {
    SampleOptions every = o;
    every.n = 40;
    return sample_subset(every).lines;
  }();
  for (auto it = all.rbegin(); it != all.rend(); ++it) list += (dir / "src" / *it).string() + "\n";
  list += (dir / "src" / all[0]).string() + "\n";
  write_file_atomic(dir / "list.txt", list);
  o.src = dir / "list.txt";
  o.seed = 42;
  EXPECT_EQ(sample_subset(o).lines, a.lines);
}

TEST(Sample, PortableDrawIsPinned) {
  // The draw is fully specified (xoshiro256**, Lemire, partial Fisher-Yates): the expected subset
  // was computed by an independent Python implementation of the same draw, and must never
  // change on any platform, or published subsets would silently change.
  test::TempDir dir;
  for (int i = 0; i < 10; ++i) write_file_atomic(dir / ("f" + std::to_string(i) + ".jpg"), "x");
  SampleOptions o;
  o.src = dir.path();
  o.n = 3;
  o.seed = 42;
  o.relative_to = dir.path();
  const auto r = sample_subset(o);
  const auto again = sample_subset(o);
  EXPECT_EQ(r.lines, again.lines);
  EXPECT_EQ(r.lines, (std::vector<std::string>{"f0.jpg", "f4.jpg", "f7.jpg"}));
}

TEST(Sample, WritesTheListFileAndChecksN) {
  test::TempDir dir;
  make_files(dir / "src", 5);
  SampleOptions o;
  o.src = dir / "src";
  o.n = 6;
  EXPECT_THROW(sample_subset(o), Error);
  o.allow_fewer = true;
  o.output = dir / "list.txt";
  const auto r = sample_subset(o);
  EXPECT_EQ(r.lines.size(), 5u);
  std::string expected;
  for (const auto& l : r.lines) expected += l + "\n";
  EXPECT_EQ(read_file(dir / "list.txt"), expected);
  o.src = dir / "missing";
  EXPECT_THROW(sample_subset(o), Error);
}

}  // namespace
}  // namespace qcal::dataset
