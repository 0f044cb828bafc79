// .npz writer and reader: numpy reads what we write, we read what numpy writes (stored and
// deflated), corrupt archives give clear errors, and a failed write leaves no file.
#include "core/npz.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

Tensor iota_f32(Shape shape, float start) {
  Tensor t(DType::kFloat32, std::move(shape));
  for (std::int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = start + static_cast<float>(i) * 0.5f;
  return t;
}

TEST(Npz, NumpyReadsStreamedAndWholeArrays) {
  test::TempDir tmp;
  const auto path = tmp / "out.npz";
  {
    NpzWriter w(path);
    w.begin_array("images", DType::kFloat32, {3, 4, 5});
    Tensor rows = iota_f32({2, 3, 4, 5}, 0.0f);
    w.append_rows(rows.raw_data(), 2);
    Tensor more = iota_f32({1, 3, 4, 5}, 1000.0f);
    w.append_rows(more.raw_data(), 1);
    w.end_array();
    Tensor ids = Tensor::from_values<std::int64_t>({3}, std::vector<std::int64_t>{7, 8, 9});
    w.add("ids", ids);
    EXPECT_FALSE(std::filesystem::exists(path));  // appears only when finished
    w.finish();
  }
  ASSERT_TRUE(std::filesystem::exists(path));
  const std::string script =
      "import numpy as np, zipfile, sys\n"
      "z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None\n"
      "d = np.load(sys.argv[1])\n"
      "a = d['images']; assert a.shape == (3, 3, 4, 5) and a.dtype == np.float32, (a.shape, "
      "a.dtype)\n"
      "exp = np.concatenate([np.arange(120, dtype=np.float32).reshape(2,3,4,5) * 0.5,\n"
      "                      1000 + np.arange(60, dtype=np.float32).reshape(1,3,4,5) * 0.5])\n"
      "assert (a == exp).all()\n"
      "assert list(d['ids']) == [7, 8, 9] and d['ids'].dtype == np.int64\n"
      "assert sorted(d.files) == ['ids', 'images']\n"
      "print('ok')\n";
  write_file_atomic(tmp / "check.py", script);
  auto r = test::run_command(test::system_python() + " " + (tmp / "check.py").string() + " " +
                             path.string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ok"), std::string::npos) << r.output;

  // And our reader reads it back.
  auto arrays = read_npz(path);
  ASSERT_EQ(arrays.size(), 2u);
  EXPECT_EQ(arrays[0].first, "images");
  EXPECT_EQ(arrays[0].second.shape(), (Shape{3, 3, 4, 5}));
  EXPECT_EQ(arrays[0].second.data<float>()[119], 59.5f);
  EXPECT_EQ(arrays[0].second.data<float>()[120], 1000.0f);
  EXPECT_EQ(arrays[1].first, "ids");
  EXPECT_EQ(arrays[1].second.data<std::int64_t>()[2], 9);
}

TEST(Npz, ReadsNumpyStoredAndCompressed) {
  test::TempDir tmp;
  const std::string script =
      "import numpy as np, sys\n"
      "a = (np.arange(6000, dtype=np.float32).reshape(10, 600) % 17) / 3\n"
      "b = np.arange(5, dtype=np.uint8)\n"
      "np.savez(sys.argv[1] + '/plain.npz', a=a, b=b)\n"
      "np.savez_compressed(sys.argv[1] + '/packed.npz', a=a, b=b)\n";
  write_file_atomic(tmp / "make.py", script);
  auto r = test::run_command(test::system_python() + " " + (tmp / "make.py").string() + " " +
                             tmp.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name : {"plain.npz", "packed.npz"}) {
    auto arrays = read_npz(tmp / name);
    ASSERT_EQ(arrays.size(), 2u) << name;
    EXPECT_EQ(arrays[0].first, "a");
    EXPECT_EQ(arrays[0].second.shape(), (Shape{10, 600}));
    EXPECT_FLOAT_EQ(arrays[0].second.data<float>()[5999], static_cast<float>(5999 % 17) / 3.0f);
    EXPECT_EQ(arrays[1].second.dtype(), DType::kUInt8);
    EXPECT_EQ(arrays[1].second.data<std::uint8_t>()[4], 4);
  }
}

// The streaming reader gives the same rows as the whole-archive reader, in any order, for
// stored and deflated members, and rejects a corrupt member on opening.
TEST(Npz, ArrayReaderStreamsRowsOfStoredAndCompressedMembers) {
  test::TempDir tmp;
  const std::string script =
      "import numpy as np, sys\n"
      "rng = np.random.default_rng(3)\n"
      "a = rng.standard_normal((40, 3, 50, 70)).astype(np.float32)\n"
      "b = np.arange(5, dtype=np.uint8)\n"
      "np.savez(sys.argv[1] + '/plain.npz', images=a, b=b)\n"
      "np.savez_compressed(sys.argv[1] + '/packed.npz', images=a, b=b)\n";
  write_file_atomic(tmp / "make.py", script);
  auto r = test::run_command(test::system_python() + " " + (tmp / "make.py").string() + " " +
                             tmp.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name : {"plain.npz", "packed.npz"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(npz_array_names(tmp / name), (std::vector<std::string>{"images", "b"}));
    const Tensor whole = read_npz(tmp / name)[0].second;
    NpzArrayReader reader(tmp / name, "images");
    ASSERT_EQ(reader.rows(), 40);
    const std::size_t row_bytes = whole.nbytes() / 40;
    // Forward, then backwards (a deflated member restarts), then a skip ahead.
    for (std::int64_t first : {0, 3, 10, 2, 37, 0, 20}) {
      const std::int64_t count = first == 37 ? 3 : 2;
      const Tensor rows = reader.read_rows(first, count);
      EXPECT_EQ(rows.shape(), (Shape{count, 3, 50, 70}));
      EXPECT_EQ(std::memcmp(rows.raw_data(),
                            static_cast<const char*>(whole.raw_data()) +
                                row_bytes * static_cast<std::size_t>(first),
                            row_bytes * static_cast<std::size_t>(count)),
                0)
          << "rows " << first;
    }
    EXPECT_THROW(reader.read_rows(39, 2), Error);
    EXPECT_THROW(NpzArrayReader(tmp / name, "nope"), Error);
  }
  // A flipped byte in the middle of the stored member's data fails on opening, naming it.
  std::string bytes = read_file(tmp / "plain.npz");
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  write_file_atomic(tmp / "flipped.npz", bytes);
  try {
    NpzArrayReader reader(tmp / "flipped.npz", "images");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("CRC mismatch"), std::string::npos) << e.describe();
    EXPECT_NE(e.describe().find("images.npy"), std::string::npos) << e.describe();
  }
}

std::string error_of(const std::filesystem::path& p) {
  try {
    read_npz(p);
  } catch (const Error& e) {
    return e.describe();
  }
  return "";
}

TEST(Npz, CorruptArchivesGiveClearErrors) {
  test::TempDir tmp;
  {
    NpzWriter w(tmp / "good.npz");
    w.add("x", iota_f32({4, 4}, 1.0f));
    w.finish();
  }
  const std::string good = read_file(tmp / "good.npz");
  write_file_atomic(tmp / "short.npz", good.substr(0, 10));
  EXPECT_NE(error_of(tmp / "short.npz").find("too short"), std::string::npos);
  write_file_atomic(tmp / "cut.npz", good.substr(0, good.size() - 30));
  EXPECT_NE(error_of(tmp / "cut.npz").find("not a valid .npz"), std::string::npos);
  std::string flipped = good;
  flipped[120] = static_cast<char>(flipped[120] ^ 0x5a);  // inside the member's data
  write_file_atomic(tmp / "flipped.npz", flipped);
  const std::string e = error_of(tmp / "flipped.npz");
  EXPECT_NE(e.find("CRC mismatch"), std::string::npos) << e;
  EXPECT_NE(e.find("x.npy"), std::string::npos) << e;
  EXPECT_NE(e.find("flipped.npz"), std::string::npos) << e;
  write_file_atomic(tmp / "text.npz", std::string(100, 'a'));
  EXPECT_NE(error_of(tmp / "text.npz").find("end-of-central-directory"), std::string::npos);
  EXPECT_NE(error_of(tmp / "missing.npz").find("cannot open"), std::string::npos);
}

TEST(Npz, AbandonedWriterLeavesNothing) {
  test::TempDir tmp;
  {
    NpzWriter w(tmp / "half.npz");
    w.begin_array("x", DType::kFloat32, {2});
    float v[2] = {1, 2};
    w.append_rows(v, 1);
  }
  EXPECT_FALSE(std::filesystem::exists(tmp / "half.npz"));
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
}

TEST(Npz, DuplicateAndBadNamesAreRejected) {
  test::TempDir tmp;
  NpzWriter w(tmp / "d.npz");
  w.add("x", iota_f32({1}, 0));
  EXPECT_THROW(w.add("x", iota_f32({1}, 0)), Error);
  EXPECT_THROW(w.begin_array("a/b", DType::kFloat32, {1}), Error);
}

}  // namespace
}  // namespace qcal
