// TensorRT calibration cache (the text format IInt8Calibrator::writeCalibrationCache produces
// and readCalibrationCache consumes): a "TRT-<version>-<algorithm>" header line, then one
// "<tensor>: <hex>" line per tensor, hex being the big-endian IEEE-754 bits of amax / 127.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qcal::exporter {

enum class TrtAlgorithm { kEntropyCalibration2, kMinMaxCalibration };
std::string_view trt_algorithm_name(TrtAlgorithm algorithm);

// NV_TENSORRT_VERSION as TensorRT writes it: 8601 for 8.6.1, 100300 for 10.3.0.
inline constexpr int kDefaultTrtVersion = 100300;
// Throws kInvalidArgument unless 1000 <= version <= 999999 (TensorRT 1.0 to 99.x).
void validate_trt_version(int version);

struct TrtCacheEntry {
  std::string tensor;
  float amax = 0.0f;  // symmetric threshold; 0 or non-finite gets the all-zero fallback scale
};

// The 8 lowercase hex digits of the float32 scale amax / 127 (after calib::usable_amax).
std::string trt_scale_hex(float amax);
// The whole cache text, entries in the given order. Tensor names containing a newline or ": "
// cannot be represented and throw kInvalidArgument naming the tensor.
std::string format_trt_cache(std::span<const TrtCacheEntry> entries, TrtAlgorithm algorithm,
                             int trt_version);

// Parses a cache (ours or TensorRT's) back to tensor -> scale, for tests and for importing.
struct TrtCache {
  std::string header;
  std::vector<std::pair<std::string, float>> scales;  // file order
};
TrtCache parse_trt_cache(std::string_view text, const std::string& what);

}  // namespace qcal::exporter
