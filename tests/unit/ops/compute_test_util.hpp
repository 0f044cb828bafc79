// Shared helpers for the fast-vs-reference kernel sweeps: seeded data, NaN poisoning, and a
// tolerance comparison scaled by the reduction length.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/rng.hpp"

namespace qcal::test {

inline std::vector<float> random_floats(Rng& rng, std::int64_t n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<float>(rng.next_double() * 2.0 - 1.0);
  return v;
}

inline std::vector<float> poisoned(std::int64_t n) {
  return std::vector<float>(static_cast<std::size_t>(n), std::numeric_limits<float>::quiet_NaN());
}

// |fast - ref| <= 1e-5 * reduction_length + 1e-5 * |ref|: float sums of `reduction_length`
// terms in [-1, 1] in a different order differ by a few ulps per term at most.
inline void expect_close(const std::vector<float>& fast, const std::vector<float>& ref,
                         std::int64_t reduction_length, const std::string& what) {
  ASSERT_EQ(fast.size(), ref.size()) << what;
  const double tol = 1e-5 * static_cast<double>(reduction_length);
  for (std::size_t i = 0; i < ref.size(); ++i) {
    ASSERT_FALSE(std::isnan(fast[i])) << what << " element " << i << " left unwritten (NaN)";
    ASSERT_NEAR(fast[i], ref[i], tol + 1e-5 * std::fabs(ref[i])) << what << " element " << i;
  }
}

}  // namespace qcal::test
