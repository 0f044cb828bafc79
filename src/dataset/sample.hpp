// `qcal sample`: a reproducible random subset of image paths from a folder or a list file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace qcal::dataset {

struct SampleOptions {
  // A folder (searched recursively for images) or a list file (one path per line; '#' comments
  // and blank lines skipped; relative entries are relative to the list's folder, as everywhere).
  std::filesystem::path src;
  std::size_t n = 100;
  std::uint64_t seed = 42;
  // Where written paths are relative to. Empty: the output list's folder (so any qcal verb
  // reading the list finds them), or, with no output file, the working folder.
  std::filesystem::path relative_to;
  bool allow_fewer = false;      // n above the candidates: take them all instead of failing
  std::filesystem::path output;  // empty: only return the lines
};

struct SampleResult {
  std::size_t candidates = 0;
  std::vector<std::string> lines;  // the chosen paths, sorted, as written to the output
};

// Candidates are sorted byte-wise and deduplicated, then k of them are drawn with the portable
// qcal::Rng (partial Fisher-Yates, Lemire bounded draws), so the same seed and files give the
// same subset on every machine and standard library. Throws kInvalidArgument when n exceeds the
// candidates (unless allow_fewer) or there are none.
SampleResult sample_subset(const SampleOptions& options);

}  // namespace qcal::dataset
