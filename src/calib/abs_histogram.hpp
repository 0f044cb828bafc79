// Streaming histogram of |x| whose range grows by powers of two with exact bin merging, so the
// counts depend only on the data seen (not on batch order or sharding).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace qcal::calib {

inline constexpr int kDefaultNumBins = 2048;
// Smallest range exponent: the histogram spans at least [0, 2^kMinRangeExponent). Keeps the
// bin-index scale factor 2^(log2(num_bins) - exponent) a normal float (no overflow for any
// finite input) and treats magnitudes below ~1e-30 as zero-like.
inline constexpr int kMinRangeExponent = -100;

// Histogram of |x| over [0, 2^range_exponent) in num_bins equal bins (num_bins a power of two).
//
// Why power-of-two ranges: the range is the smallest power of two strictly above the largest
// |x| seen. When a larger value arrives the range doubles (once or more) and adjacent bin pairs
// are summed. Because the bin width is a power of two, the bin of x is floor(x * 2^k) computed
// exactly in float, and floor(floor(y) / 2) == floor(y / 2): binning at a fine width and merging
// gives exactly the bin that direct binning at the coarse width gives. The final histogram is
// therefore a function of the multiset of values only: any batch order, any sharding, any
// thread split produce identical counts. The price is resolution: the data's absmax lies in
// the upper half of the range, so between num_bins/2 and num_bins bins cover [0, absmax].
class AbsHistogram {
 public:
  explicit AbsHistogram(int num_bins = kDefaultNumBins);

  int num_bins() const { return static_cast<int>(counts_.size()); }
  bool has_range() const { return has_range_; }
  int range_exponent() const { return range_exponent_; }
  // Upper end of the range (2^range_exponent), 0 while only zeros were seen.
  double range() const;
  double bin_width() const { return range() / num_bins(); }
  std::span<const std::uint64_t> counts() const { return counts_; }
  std::uint64_t total() const;

  // Grows the range so that it covers absmax (finite, >= 0). Call before add_values() with
  // the batch's largest magnitude.
  void cover(float absmax);
  // Adds |x| for every x; all values must be finite with |x| < range() (callers cover() first).
  void add_values(std::span<const float> values);
  // Adds another histogram (same num_bins), growing to the larger range first.
  void merge(const AbsHistogram& other);

  // Restores a saved state (used by the stats file reader); validates sizes.
  static AbsHistogram from_state(bool has_range, int range_exponent,
                                 std::vector<std::uint64_t> counts);

 private:
  friend class AbsBinner;
  void grow_to(int exponent);

  std::vector<std::uint64_t> counts_;
  int log2_bins_ = 0;
  bool has_range_ = false;
  int range_exponent_ = kMinRangeExponent;
};

// Adds values to an AbsHistogram block by block, growing its range as larger magnitudes arrive,
// so that a tensor can be scanned and binned in one pass while each block is in cache. Growing
// between blocks gives exactly the counts of binning everything at the final range (see
// AbsHistogram). Between flushes it counts into four interleaved 32-bit sub-histograms: four
// counters per bin break the store-to-load chain when neighbouring values share a bin (typical
// of activations), and interleaving keeps the four in one cache line. One binner per thread.
class AbsBinner {
 public:
  explicit AbsBinner(AbsHistogram& hist);
  ~AbsBinner();
  AbsBinner(const AbsBinner&) = delete;
  AbsBinner& operator=(const AbsBinner&) = delete;

  // Adds |x| for every x of values; all finite, max |x| == absmax (or below).
  void add(std::span<const float> values, float absmax);
  // Moves the pending sub-counts into the histogram (also done by the destructor).
  void flush();

 private:
  AbsHistogram& hist_;
  std::uint32_t* sub_;          // 4 * num_bins counters (thread-local scratch, all zero when idle)
  std::size_t pending_ = 0;     // values counted in sub_ since the last flush
  std::size_t flush_bins_ = 0;  // bins [0, flush_bins_) may hold pending counts
  bool owns_tls_ = false;       // sub_ is this thread's scratch (released by the destructor)
  std::vector<std::uint32_t> owned_;  // sub_ when the thread's scratch is in use
};

// Exponent e of the smallest power of two strictly greater than absmax, at least
// kMinRangeExponent.
int range_exponent_for(float absmax);

}  // namespace qcal::calib
