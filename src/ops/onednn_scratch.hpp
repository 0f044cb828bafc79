// Grow-only scratch buffers shared by the oneDNN kernels of one thread: layout copies of
// activations live here, not per kernel, so blocked layouts cost no persistent memory.
#pragma once

#include <cstddef>

namespace qcal::ops {

// Returns a 64-byte aligned buffer of at least `bytes` for `slot` (0..3), valid until the next
// call with the same slot on this thread. Contents are unspecified.
void* onednn_scratch(int slot, std::size_t bytes);

}  // namespace qcal::ops
