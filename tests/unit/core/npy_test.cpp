// .npy: round trips, streaming writer, row reader, malformed files, and numpy as the judge.
#include "core/npy.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

using test::TempDir;

TEST(Npy, RoundTripFloat) {
  TempDir dir;
  std::vector<float> v{1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  Tensor t = Tensor::from_values<float>({2, 3}, v);
  write_npy(dir / "a.npy", t);
  Tensor r = read_npy(dir / "a.npy");
  EXPECT_EQ(r.dtype(), DType::kFloat32);
  EXPECT_EQ(r.shape(), (Shape{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(r.data<float>()[i], v[static_cast<std::size_t>(i)]);
}

TEST(Npy, HeaderIsPaddedTo64) {
  std::string h = make_npy_header(DType::kUInt8, Shape{5});
  EXPECT_EQ(h.size() % 64, 0u);
  EXPECT_NE(h.find("'shape': (5,)"), std::string::npos);
  EXPECT_EQ(h.back(), '\n');
}

TEST(Npy, StreamingWriterPatchesRowCount) {
  TempDir dir;
  NpyWriter w(dir / "s.npy", DType::kFloat32, {2, 2});
  EXPECT_FALSE(std::filesystem::exists(dir / "s.npy"));  // not under the final name yet
  for (int i = 0; i < 3; ++i) {
    std::vector<float> row{float(i), float(i) + 0.5f, -float(i), 1.0f};
    w.append(row.data(), 1);
  }
  w.finish();
  NpyReader reader(dir / "s.npy");
  EXPECT_EQ(reader.header().shape, (Shape{3, 2, 2}));
  Tensor rows = reader.read_rows(1, 2);
  EXPECT_EQ(rows.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(rows.data<float>()[0], 1.0f);
  EXPECT_EQ(rows.data<float>()[4], 2.0f);
}

TEST(Npy, AbandonedWriterLeavesNoFile) {
  TempDir dir;
  {
    NpyWriter w(dir / "x.npy", DType::kFloat32, {4});
    float row[4] = {1, 2, 3, 4};
    w.append(row, 1);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Npy, NumpyReadsWhatWeWrite) {
  TempDir dir;
  NpyWriter w(dir / "n.npy", DType::kFloat32, {3});
  std::vector<float> data{0.25f, 1.0f, -3.0f, 4.0f, 5.0f, 6.0f};
  w.append(data.data(), 2);
  w.finish();
  auto r = test::run_command(test::system_python() + " -c \"import numpy as np; a=np.load('" +
                             (dir / "n.npy").string() + "'); print(a.shape, a.dtype, a.sum())\"");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "(2, 3) float32 13.25\n");
}

TEST(Npy, ReadsWhatNumpyWrites) {
  TempDir dir;
  auto path = (dir / "p.npy").string();
  auto r = test::run_command(test::system_python() + " -c \"import numpy as np; np.save('" + path +
                             "', np.arange(24, dtype=np.int64).reshape(2,3,4))\"");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Tensor t = read_npy(path);
  EXPECT_EQ(t.dtype(), DType::kInt64);
  EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(t.data<std::int64_t>()[23], 23);
}

TEST(Npy, MalformedFilesGiveClearErrors) {
  TempDir dir;
  write_file_atomic(dir / "text.npy", "this is not numpy");
  try {
    read_npy(dir / "text.npy");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormat);
    EXPECT_NE(e.describe().find("text.npy"), std::string::npos);
  }
  // Truncated data: header claims more than the file holds.
  std::string full = serialize_npy(Tensor(DType::kFloat32, {10, 10}));
  write_file_atomic(dir / "trunc.npy", full.substr(0, full.size() - 40));
  EXPECT_THROW(read_npy(dir / "trunc.npy"), Error);
  // Absurd shape: checked arithmetic, no allocation.
  std::string absurd = make_npy_header(DType::kFloat32, Shape{1LL << 40, 1LL << 40});
  write_file_atomic(dir / "absurd.npy", absurd);
  EXPECT_THROW(read_npy(dir / "absurd.npy"), Error);
  EXPECT_THROW(read_npy(dir / "missing.npy"), Error);
}

TEST(Npy, FortranOrderRejected) {
  std::string h = make_npy_header(DType::kFloat32, Shape{2});
  auto pos = h.find("False");
  h.replace(pos, 5, "True ");
  EXPECT_THROW(parse_npy_header(h), Error);
}

}  // namespace
}  // namespace qcal
