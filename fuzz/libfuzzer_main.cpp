// libFuzzer entry point for one target, chosen at build time by QCAL_FUZZ_TARGET (its name in
// fuzz_targets.cpp). qcal::Error naming the input is a normal outcome; anything else aborts,
// which libFuzzer reports as a finding and saves the input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const qcal::fuzz::Target* const target = qcal::fuzz::find_target(QCAL_FUZZ_TARGET);
  if (target == nullptr) {
    std::fprintf(stderr, "no fuzz target named %s\n", QCAL_FUZZ_TARGET);
    std::abort();
  }
  try {
    (void)qcal::fuzz::run_target(*target,
                                 std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz target %s: unexpected exception: %s\n", QCAL_FUZZ_TARGET, e.what());
    std::abort();
  }
  return 0;
}
