// Portable deterministic random numbers: the same seed gives the same draws on every platform
// and standard library (std::uniform_*_distribution differ between implementations).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace qcal {

// xoshiro256** seeded through SplitMix64 (Blackman & Vigna). Fully specified, 64-bit output.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  std::uint64_t next_u64();
  // Uniform integer in [0, bound), bound >= 1, without modulo bias (Lemire's multiply-shift
  // with rejection), so it is exactly reproducible.
  std::uint64_t next_below(std::uint64_t bound);
  // Uniform double in [0, 1) from the top 53 bits.
  double next_double();
  // Standard normal via Box-Muller on next_double() (deterministic, portable).
  double next_normal();

 private:
  std::uint64_t s_[4];
};

// Fisher-Yates shuffle driven by Rng::next_below.
template <typename T>
void shuffle(std::span<T> items, Rng& rng) {
  for (std::size_t i = items.size(); i > 1; --i) {
    std::size_t j = static_cast<std::size_t>(rng.next_below(i));
    std::swap(items[i - 1], items[j]);
  }
}

// k distinct indices from [0, n), in increasing order; k <= n.
std::vector<std::size_t> sample_indices(std::size_t n, std::size_t k, Rng& rng);

}  // namespace qcal
