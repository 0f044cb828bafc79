// Fuzzed reader of calib/: the .qcs stats file (calibrate --load-stats).
#include <zlib.h>

#include "calib/range_select.hpp"
#include "calib/stats_file.hpp"
#include "fuzz_readers.hpp"

namespace qcal::fuzz {

void run_stats_file(std::string_view bytes) {
  // The file ends in a CRC-32 of the rest; fix it so mutations reach the parser (a CRC
  // mismatch is tested by the unit tests).
  std::string fixed(bytes);
  if (fixed.size() >= 4) {
    const std::size_t body = fixed.size() - 4;
    const auto crc = static_cast<std::uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(fixed.data()), static_cast<uInt>(body)));
    for (int b = 0; b < 4; ++b) fixed[body + b] = static_cast<char>((crc >> (8 * b)) & 0xff);
  }
  const InputFile file(fixed, "stats.qcs");
  const calib::StatsSet stats = calib::StatsSet::load(file.path());
  run_downstream([&] {
    calib::StatsSet merged = stats;  // calibrate --load-stats A B
    merged.merge(stats);
  });
  for (const auto method : {calib::Method::kMinMax, calib::Method::kEma, calib::Method::kPercentile,
                            calib::Method::kEntropy, calib::Method::kMse}) {
    calib::SelectOptions options;
    options.method = method;
    run_downstream([&] { (void)calib::select_ranges(stats.tensors(), options, 1); });
  }
}

}  // namespace qcal::fuzz
