// pack's JPEG decoder (libjpeg-turbo straight into BGR) against cv::imread, pixel for pixel: every
// JPEG in opencv-doc's data, encoder variants, EXIF, damaged files, and buffer reuse.
#include "preprocess/jpeg_decode.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string_view>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "preprocess/pipeline.hpp"
#include "preprocess_test_support.hpp"

namespace qcal::preprocess {
namespace {

std::vector<unsigned char> read_bytes(const std::filesystem::path& p) {
  const std::string s = read_file(p);
  return {s.begin(), s.end()};
}

void write_bytes(const std::filesystem::path& p, const std::vector<unsigned char>& b) {
  write_file_atomic(p, std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

::testing::AssertionResult same_pixels(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != b.type()) {
    return ::testing::AssertionFailure()
           << "size/type " << a.cols << "x" << a.rows << "/" << a.type() << " vs " << b.cols << "x"
           << b.rows << "/" << b.type();
  }
  const double d = cv::norm(a, b, cv::NORM_INF);
  if (d != 0) return ::testing::AssertionFailure() << "max |diff| " << d;
  return ::testing::AssertionSuccess();
}

// Inserts an APP1 segment right after SOI.
std::vector<unsigned char> with_app1(std::vector<unsigned char> jpg,
                                     const std::vector<unsigned char>& payload) {
  std::vector<unsigned char> seg = {0xFF, 0xE1,
                                    static_cast<unsigned char>((payload.size() + 2) >> 8),
                                    static_cast<unsigned char>((payload.size() + 2) & 0xFF)};
  seg.insert(seg.end(), payload.begin(), payload.end());
  jpg.insert(jpg.begin() + 2, seg.begin(), seg.end());
  return jpg;
}

// An EXIF payload whose IFD0 holds one Orientation entry (little-endian TIFF).
std::vector<unsigned char> exif_orientation(unsigned char value) {
  return {'E',  'x',  'i', 'f', 0, 0, 'I', 'I', 0x2A,  0x00, 8, 0, 0, 0, 1, 0,
          0x12, 0x01, 3,   0,   1, 0, 0,   0,   value, 0,    0, 0, 0, 0, 0, 0};
}

cv::Mat messi() {
  cv::Mat m = cv::imread((test::opencv_data() / "messi5.jpg").string());
  EXPECT_FALSE(m.empty());
  return m;
}

TEST(JpegDecode, EveryOpencvDocJpegEqualsImread) {
  const std::array<std::string_view, 2> jpeg = {"jpg", "jpeg"};
  const auto files = list_files(test::opencv_data(), jpeg);
  ASSERT_GT(files.size(), 20u);
  int fast = 0;
  cv::Mat out;
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    const cv::Mat want = cv::imread(f.string(), cv::IMREAD_COLOR);
    const auto bytes = read_bytes(f);
    if (decode_jpeg_bgr(bytes.data(), bytes.size(), out)) {
      ++fast;
      EXPECT_TRUE(same_pixels(out, want));
    }
  }
  // Most real files take the fast path (the rest are counted, not required).
  EXPECT_GT(fast * 10, static_cast<int>(files.size()) * 8) << fast << " of " << files.size();
}

TEST(JpegDecode, EncoderVariantsEqualImread) {
  test::TempDir tmp;
  const cv::Mat m = messi();
  cv::Mat gray;
  cv::cvtColor(m, gray, cv::COLOR_BGR2GRAY);
  struct Variant {
    const char* name;
    cv::Mat image;
    std::vector<int> params;
  };
  const std::vector<Variant> variants = {
      {"q95", m, {cv::IMWRITE_JPEG_QUALITY, 95}},
      {"q30", m, {cv::IMWRITE_JPEG_QUALITY, 30}},
      {"progressive", m, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}},
      {"optimized", m, {cv::IMWRITE_JPEG_OPTIMIZE, 1}},
      {"restart", m, {cv::IMWRITE_JPEG_RST_INTERVAL, 3}},
      {"444",
       m,
       {cv::IMWRITE_JPEG_LUMA_QUALITY, 90, cv::IMWRITE_JPEG_CHROMA_QUALITY, 70}},  // no subsampling
      {"gray", gray, {}},
      {"1x1", m(cv::Rect(5, 5, 1, 1)).clone(), {}},
      {"odd 17x13", m(cv::Rect(3, 7, 17, 13)).clone(), {}},
      {"odd 333x1", m(cv::Rect(0, 100, 333, 1)).clone(), {}},
      {"odd 1x301", m(cv::Rect(9, 0, 1, 301)).clone(), {}},
  };
  cv::Mat out;
  for (const auto& v : variants) {
    SCOPED_TRACE(v.name);
    const auto path = tmp / (std::string(v.name) + ".jpg");
    ASSERT_TRUE(cv::imwrite(path.string(), v.image, v.params));
    const auto bytes = read_bytes(path);
    ASSERT_TRUE(decode_jpeg_bgr(bytes.data(), bytes.size(), out));
    EXPECT_TRUE(same_pixels(out, cv::imread(path.string(), cv::IMREAD_COLOR)));
  }
}

// The cases the fast path hands to imdecode; decode_image_into still gives imread's pixels.
TEST(JpegDecode, FallbacksStillEqualImread) {
  test::TempDir tmp;
  std::vector<unsigned char> jpg;
  ASSERT_TRUE(cv::imencode(".jpg", messi(), jpg));
  std::vector<unsigned char> no_dht;  // an MJPEG-style frame: OpenCV supplies the Huffman tables
  for (std::size_t i = 0; i < jpg.size();) {
    if (i + 3 < jpg.size() && jpg[i] == 0xFF && jpg[i + 1] == 0xC4) {
      i += 2 + ((static_cast<std::size_t>(jpg[i + 2]) << 8) | jpg[i + 3]);
    } else {
      no_dht.push_back(jpg[i++]);
    }
  }
  ASSERT_LT(no_dht.size(), jpg.size());
  const std::vector<unsigned char> xmp = {'h', 't', 't', 'p', ':', '/', '/', 'n',
                                          's', '.', 'a', 'd', 'o', 'b', 'e', '.'};
  struct Case {
    const char* name;
    std::vector<unsigned char> bytes;
    bool fast;  // whether the fast path takes it
  };
  const std::vector<Case> cases = {
      {"exif orientation 1", with_app1(jpg, exif_orientation(1)), true},
      {"exif orientation 6", with_app1(jpg, exif_orientation(6)), false},
      {"exif orientation 3", with_app1(jpg, exif_orientation(3)), false},
      {"xmp first", with_app1(with_app1(jpg, exif_orientation(6)), xmp), false},
      {"short app1", with_app1(jpg, {'E', 'x', 'i'}), false},
      {"truncated",
       std::vector<unsigned char>(jpg.begin(),
                                  jpg.begin() + static_cast<std::ptrdiff_t>(jpg.size() / 2)),
       false},
      {"no huffman tables", no_dht, false},
  };
  std::vector<unsigned char> buf;
  cv::Mat out;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto path = tmp / "case.jpg";
    write_bytes(path, c.bytes);
    const cv::Mat want = cv::imread(path.string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(want.empty());
    cv::Mat fast;
    EXPECT_EQ(decode_jpeg_bgr(c.bytes.data(), c.bytes.size(), fast), c.fast);
    if (c.fast) {
      EXPECT_TRUE(same_pixels(fast, want));
    }
    if (std::string(c.name) == "truncated") {
      // imread fills the missing half grey; qcal refuses the file, naming it.
      std::string corrupt;
      EXPECT_FALSE(decode_jpeg_bgr(c.bytes.data(), c.bytes.size(), fast, &corrupt));
      EXPECT_NE(corrupt.find("Premature end of JPEG file"), std::string::npos) << corrupt;
      try {
        decode_image_into(path, buf, out);
        ADD_FAILURE() << "a truncated JPEG decoded";
      } catch (const Error& e) {
        EXPECT_NE(e.describe().find("JPEG is truncated"), std::string::npos) << e.describe();
        EXPECT_NE(e.describe().find("case.jpg"), std::string::npos) << e.describe();
      }
      continue;
    }
    decode_image_into(path, buf, out);
    EXPECT_TRUE(same_pixels(out, want));
  }
  // Not a JPEG at all.
  std::vector<unsigned char> png;
  ASSERT_TRUE(cv::imencode(".png", messi(), png));
  EXPECT_FALSE(decode_jpeg_bgr(png.data(), png.size(), out));
  EXPECT_FALSE(decode_jpeg_bgr(png.data(), 0, out));
}

// The output buffer is reused only when nothing else holds it.
TEST(JpegDecode, ReusesOnlyAnUnsharedBuffer) {
  std::vector<unsigned char> a;
  std::vector<unsigned char> b;
  const cv::Mat m = messi();
  ASSERT_TRUE(cv::imencode(".jpg", m, a));
  cv::Mat flipped;
  cv::flip(m, flipped, 1);
  ASSERT_TRUE(cv::imencode(".jpg", flipped, b));
  cv::Mat out;
  ASSERT_TRUE(decode_jpeg_bgr(a.data(), a.size(), out));
  const unsigned char* first = out.data;
  ASSERT_TRUE(decode_jpeg_bgr(b.data(), b.size(), out));
  EXPECT_EQ(out.data, first) << "same size, unshared: reused";
  const cv::Mat held = out;  // shares the pixels now
  const cv::Mat snapshot = held.clone();
  ASSERT_TRUE(decode_jpeg_bgr(a.data(), a.size(), out));
  EXPECT_NE(out.data, held.data);
  EXPECT_TRUE(same_pixels(held, snapshot)) << "a Mat that shared the old buffer was overwritten";
  EXPECT_TRUE(same_pixels(out, cv::imdecode(a, cv::IMREAD_COLOR)));
}

}  // namespace
}  // namespace qcal::preprocess
