// Checked arithmetic for sizes computed from files: overflow and absurd sizes become qcal::Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/error.hpp"

namespace qcal {

// Largest single allocation qcal makes for data read from a file (tensors, images, buffers).
// Above it is an error rather than an out-of-memory: 16 GiB holds 1000 images of 1x3x1280x1280.
inline constexpr std::uint64_t kMaxAllocBytes = 16ULL << 30;

inline std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* what = "size") {
  std::int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) {
    throw Error(ErrorCode::kLimit, std::string(what) + " overflows 64-bit arithmetic");
  }
  return r;
}

inline std::int64_t checked_add(std::int64_t a, std::int64_t b, const char* what = "size") {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    throw Error(ErrorCode::kLimit, std::string(what) + " overflows 64-bit arithmetic");
  }
  return r;
}

// Product of dimensions; negative dimensions are an error.
inline std::int64_t checked_numel(std::span<const std::int64_t> dims, const char* what = "tensor") {
  std::int64_t n = 1;
  for (std::int64_t d : dims) {
    if (d < 0)
      throw Error(ErrorCode::kInvalidArgument, std::string(what) + " has a negative dimension");
    n = checked_mul(n, d, what);
  }
  return n;
}

// Throws kLimit when an allocation of `bytes` would exceed kMaxAllocBytes.
inline void check_alloc(std::uint64_t bytes, const std::string& what) {
  if (bytes > kMaxAllocBytes) {
    throw Error(ErrorCode::kLimit, what + " needs " + std::to_string(bytes) +
                                       " bytes, more than the limit of " +
                                       std::to_string(kMaxAllocBytes));
  }
}

}  // namespace qcal
