// Pairs file, pair scores and best-threshold verification accuracy.
#include "eval/embedding.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "eval/tensor_metrics.hpp"

namespace qcal::eval {

std::vector<VerificationPair> parse_pairs(const std::string& text,
                                          std::span<const std::string> names,
                                          const std::string& what) {
  auto resolve = [&](const std::string& tok, int line_no) -> std::size_t {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == tok) return i;
    }
    // Not a name: a 0-based index.
    std::size_t idx = 0;
    bool digits = !tok.empty() && std::all_of(tok.begin(), tok.end(),
                                              [](char ch) { return ch >= '0' && ch <= '9'; });
    if (digits && tok.size() < 18) idx = std::stoull(tok);
    if (!digits || tok.size() >= 18 || idx >= names.size()) {
      throw Error(ErrorCode::kFormat, "pairs: '" + tok +
                                          "' is neither a sample name nor an index "
                                          "below " +
                                          std::to_string(names.size()))
          .with("file", what)
          .with("line", std::to_string(line_no));
    }
    return idx;
  };
  std::vector<VerificationPair> pairs;
  std::istringstream lines(text);
  std::string line;
  int line_no = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream f(line);
    std::vector<std::string> tok;
    for (std::string t; f >> t;) tok.push_back(t);
    if (tok.empty() || tok[0][0] == '#') continue;
    if (tok.size() != 3 || (tok[2] != "0" && tok[2] != "1")) {
      throw Error(ErrorCode::kFormat, "pairs: expected 'A B LABEL' with LABEL 0 or 1")
          .with("file", what)
          .with("line", std::to_string(line_no));
    }
    pairs.push_back({resolve(tok[0], line_no), resolve(tok[1], line_no), tok[2] == "1"});
  }
  return pairs;
}

std::vector<VerificationPair> read_pairs(const std::filesystem::path& path,
                                         std::span<const std::string> names) {
  return parse_pairs(read_file(path), names, path.string());
}

VerificationResult verification_accuracy(std::span<const double> scores,
                                         std::span<const std::uint8_t> same) {
  if (scores.size() != same.size()) {
    throw Error(ErrorCode::kInvalidArgument, "verification: scores and labels differ in count");
  }
  VerificationResult r;
  const std::size_t n = scores.size();
  r.pairs = static_cast<std::int64_t>(n);
  if (n == 0) {
    r.threshold = std::numeric_limits<double>::infinity();
    return r;
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  std::size_t positives = 0;
  for (std::uint8_t s : same) positives += s ? 1 : 0;
  // Threshold below everything: all "same"; correct = positives. Walk thresholds upward: moving
  // past a group of equal scores turns those pairs into "different".
  std::size_t best_correct = positives;
  double best_thr = scores[order[0]];
  std::size_t correct = positives;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) {
      correct += same[order[j]] ? std::size_t(0) : std::size_t(1);
      correct -= same[order[j]] ? std::size_t(1) : std::size_t(0);
      ++j;
    }
    // Threshold now just above scores[order[i]]: the next distinct score, or +inf.
    const double thr = j < n ? scores[order[j]] : std::numeric_limits<double>::infinity();
    if (correct > best_correct) {
      best_correct = correct;
      best_thr = thr;
    }
    i = j;
  }
  r.accuracy = static_cast<double>(best_correct) / static_cast<double>(n);
  r.threshold = best_thr;
  return r;
}

std::vector<double> pair_scores(std::span<const std::vector<float>> embeddings,
                                std::span<const VerificationPair> pairs) {
  std::vector<double> out;
  out.reserve(pairs.size());
  for (const VerificationPair& p : pairs) {
    if (p.first >= embeddings.size() || p.second >= embeddings.size()) {
      throw Error(ErrorCode::kInvalidArgument, "verification pair refers to a missing sample");
    }
    out.push_back(cosine_similarity(embeddings[p.first], embeddings[p.second]));
  }
  return out;
}

}  // namespace qcal::eval
