// TensorRT calibration cache: byte format (header, hex of float32 amax/127), round trip.
#include "export/trt_cache.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <vector>

#include "core/error.hpp"

namespace qcal::exporter {
namespace {

TEST(TrtCache, HexIsBigEndianFloat32OfAmaxOver127) {
  // Values checked with Python: struct.pack('>f', np.float32(a) / np.float32(127)).hex()
  EXPECT_EQ(trt_scale_hex(1.0f), "3c010204");  // 1/127, an input in [0, 1]
  EXPECT_EQ(trt_scale_hex(2.6406f), "3caa543f");
  EXPECT_EQ(trt_scale_hex(0.001f), "37041aa4");
  EXPECT_EQ(trt_scale_hex(123.456f), "3f78db2f");
  EXPECT_EQ(trt_scale_hex(6.5f), "3d51a347");
  EXPECT_EQ(trt_scale_hex(0.0f), "3c010204");  // all-zero tensor: usable fallback amax 1
}

TEST(TrtCache, FormatsHeaderAndLines) {
  std::vector<TrtCacheEntry> entries{{"images", 1.0f}, {"/model.0/conv/Conv_output_0", 6.5f}};
  EXPECT_EQ(format_trt_cache(entries, TrtAlgorithm::kEntropyCalibration2, 8601),
            "TRT-8601-EntropyCalibration2\nimages: 3c010204\n"
            "/model.0/conv/Conv_output_0: 3d51a347\n");
  EXPECT_EQ(format_trt_cache(entries, TrtAlgorithm::kMinMaxCalibration, 100300).substr(0, 29),
            "TRT-100300-MinMaxCalibration\n");
  EXPECT_THROW(format_trt_cache(entries, TrtAlgorithm::kMinMaxCalibration, 86), Error);
  std::vector<TrtCacheEntry> bad{{"a\nb", 1.0f}};
  EXPECT_THROW(format_trt_cache(bad, TrtAlgorithm::kMinMaxCalibration, 8601), Error);
}

TEST(TrtCache, ParsesBackToScales) {
  std::vector<TrtCacheEntry> entries{{"x", 3.0f}, {"(Unnamed Layer* 64) [Shuffle]_output", 0.5f}};
  const auto text = format_trt_cache(entries, TrtAlgorithm::kEntropyCalibration2, 101401);
  const auto cache = parse_trt_cache(text, "calibration.cache");
  EXPECT_EQ(cache.header, "TRT-101401-EntropyCalibration2");
  ASSERT_EQ(cache.scales.size(), 2u);
  EXPECT_EQ(cache.scales[1].first, "(Unnamed Layer* 64) [Shuffle]_output");
  EXPECT_EQ(cache.scales[0].second, 3.0f / 127.0f);
  // TensorRT's own caches carry "0" for some tensors.
  const auto trt = parse_trt_cache("TRT-8601-EntropyCalibration2\nfoo: 0\n", "c");
  EXPECT_EQ(trt.scales[0].second, 0.0f);
  EXPECT_THROW(parse_trt_cache("garbage\n", "c"), Error);
  EXPECT_THROW(parse_trt_cache("TRT-8601-EntropyCalibration2\nfoo 12\n", "c"), Error);
}

}  // namespace
}  // namespace qcal::exporter
