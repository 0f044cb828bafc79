// libFuzzer target for the ONNX loader: any bytes must load or throw qcal::Error, never crash,
// hang or allocate past the limits. Built with clang when QCAL_BUILD_FUZZ=ON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "engine/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    // No base folder: external data is rejected, so the fuzzer never reads files.
    const auto model = qcal::engine::Model::load_from_bytes(
        std::string_view(reinterpret_cast<const char*>(data), size), {},
        qcal::engine::LoadOptions{.check_ops = false});
    (void)model.unsupported_nodes();
  } catch (const qcal::Error&) {
    // Expected for malformed input.
  }
  return 0;
}
