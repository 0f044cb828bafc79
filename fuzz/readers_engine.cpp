// Fuzzed reader of engine/: the ONNX model loader.
#include "engine/model.hpp"
#include "fuzz_readers.hpp"

namespace qcal::fuzz {

void run_model_loader(std::string_view bytes) {
  // No base folder: external data is rejected, so the fuzzer never reads other files.
  const auto model =
      engine::Model::load_from_bytes(bytes, {}, engine::LoadOptions{.check_ops = false});
  (void)model.unsupported_nodes();
}

}  // namespace qcal::fuzz
