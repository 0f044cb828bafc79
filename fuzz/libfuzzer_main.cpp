// libFuzzer entry point for one target, chosen at build time: QCAL_FUZZ_TARGET (its name) and
// QCAL_FUZZ_FUNCTION (its reader function in fuzz_readers.hpp). qcal::Error naming the input is a
// normal outcome; anything else aborts, which libFuzzer reports as a finding and saves the input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "fuzz_readers.hpp"
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const qcal::fuzz::Target target{QCAL_FUZZ_TARGET, &qcal::fuzz::QCAL_FUZZ_FUNCTION};
  try {
    (void)qcal::fuzz::run_target(target,
                                 std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz target %s: unexpected exception: %s\n", QCAL_FUZZ_TARGET, e.what());
    std::abort();
  }
  return 0;
}
