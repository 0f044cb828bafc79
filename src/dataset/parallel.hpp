// A minimal parallel loop over indices for per-file work (videos, images): each index is handled
// by exactly one thread and results go to per-index slots, so output never depends on threads.
#pragma once

#include <cstddef>
#include <functional>

namespace qcal::dataset {

// Calls fn(i) for i in [0, n) on up to `threads` threads (<= 1: the calling thread only).
// If calls throw, the exception of the lowest index is rethrown after all threads finish.
void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& fn);

}  // namespace qcal::dataset
