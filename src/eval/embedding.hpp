// Embedding models (face recognition): per-image cosine between FP32 and INT8 embeddings, and
// face-verification accuracy on labelled pairs with the best threshold.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace qcal::eval {

// One verification pair: two samples and whether they show the same person.
struct VerificationPair {
  std::size_t first = 0, second = 0;
  bool same = false;
};

// Reads a pairs file: one pair per line, "A B LABEL", LABEL 1 (same person) or 0; A and B are
// sample names (as `names` lists them, e.g. image file names or stems) or 0-based indices.
// '#' comments and blank lines are skipped. Throws kFormat naming the file and line.
std::vector<VerificationPair> read_pairs(const std::filesystem::path& path,
                                         std::span<const std::string> names);
std::vector<VerificationPair> parse_pairs(const std::string& text,
                                          std::span<const std::string> names,
                                          const std::string& what);

struct VerificationResult {
  std::int64_t pairs = 0;
  double accuracy = 0.0;   // best over thresholds: fraction of pairs classified right
  double threshold = 0.0;  // "same" when cosine >= threshold; +inf when "never same" is best
};

// Best-threshold accuracy: every distinct score is tried as a threshold (plus +infinity,
// predicting "different" for all); the highest accuracy wins, ties going to the lowest
// threshold. The threshold is fitted on the pairs it is measured on, so this is an upper
// bound of what a fixed deployment threshold gives (LFW's 10-fold protocol would fit on 9
// folds); it is meant to compare FP32 and INT8 on the same pairs, not to report a benchmark.
VerificationResult verification_accuracy(std::span<const double> scores,
                                         std::span<const std::uint8_t> same);

// Cosine scores of pairs from per-sample embeddings (each of the same length).
std::vector<double> pair_scores(std::span<const std::vector<float>> embeddings,
                                std::span<const VerificationPair> pairs);

}  // namespace qcal::eval
