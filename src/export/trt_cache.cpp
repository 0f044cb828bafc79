// TensorRT calibration cache writer and reader.
#include "export/trt_cache.hpp"

#include <bit>
#include <cstdio>
#include <cstdlib>

#include "calib/range_select.hpp"
#include "core/error.hpp"

namespace qcal::exporter {

std::string_view trt_algorithm_name(TrtAlgorithm algorithm) {
  return algorithm == TrtAlgorithm::kMinMaxCalibration ? "MinMaxCalibration"
                                                       : "EntropyCalibration2";
}

void validate_trt_version(int version) {
  if (version < 1000 || version > 999999) {
    throw_invalid(
        "--trt-version must be NV_TENSORRT_VERSION as TensorRT prints it (8601 for "
        "8.6.1, 100300 for 10.3.0), got " +
        std::to_string(version));
  }
}

std::string trt_scale_hex(float amax) {
  // TensorRT stores the scale (dynamic range / 127) as a float32 and prints its bit pattern
  // with %08x, most significant nibble first.
  const float scale = calib::usable_amax(amax) / 127.0f;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", std::bit_cast<std::uint32_t>(scale));
  return buf;
}

std::string format_trt_cache(std::span<const TrtCacheEntry> entries, TrtAlgorithm algorithm,
                             int trt_version) {
  validate_trt_version(trt_version);
  std::string out = "TRT-" + std::to_string(trt_version) + "-" +
                    std::string(trt_algorithm_name(algorithm)) + "\n";
  for (const auto& e : entries) {
    if (e.tensor.empty() || e.tensor.find('\n') != std::string::npos ||
        e.tensor.find(": ") != std::string::npos) {
      Error err(ErrorCode::kInvalidArgument,
                "tensor name cannot be written to a TensorRT calibration cache");
      err.with("tensor", e.tensor);
      throw err;
    }
    out += e.tensor + ": " + trt_scale_hex(e.amax) + "\n";
  }
  return out;
}

TrtCache parse_trt_cache(std::string_view text, const std::string& what) {
  TrtCache cache;
  std::size_t pos = 0;
  int line_no = 0;
  auto fail = [&](const std::string& why) {
    Error e(ErrorCode::kFormat, "malformed TensorRT calibration cache: " + why);
    e.with("file", what).with("line", std::to_string(line_no));
    throw e;
  };
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line_no == 1) {
      if (line.substr(0, 4) != "TRT-") fail("header does not start with TRT-");
      cache.header = std::string(line);
      continue;
    }
    const std::size_t colon = line.rfind(": ");
    if (colon == std::string_view::npos) fail("expected '<tensor>: <hex>'");
    const std::string hex(line.substr(colon + 2));
    char* stop = nullptr;
    const unsigned long bits = std::strtoul(hex.c_str(), &stop, 16);
    if (hex.empty() || hex.size() > 8 || *stop != '\0') fail("bad hex value '" + hex + "'");
    cache.scales.emplace_back(std::string(line.substr(0, colon)),
                              std::bit_cast<float>(static_cast<std::uint32_t>(bits)));
  }
  if (cache.header.empty()) fail("empty file");
  return cache;
}

}  // namespace qcal::exporter
