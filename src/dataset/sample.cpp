// Reproducible subsets: sorted candidates, seeded portable draw, one path per line.
#include "dataset/sample.hpp"

#include <algorithm>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/rng.hpp"

namespace fs = std::filesystem;

namespace qcal::dataset {

SampleResult sample_subset(const SampleOptions& options) {
  if (options.n == 0) throw_invalid("-n must be at least 1");
  std::error_code ec;
  if (!fs::exists(options.src, ec)) {
    Error e(ErrorCode::kIo, "source does not exist");
    e.with("path", options.src.string());
    throw e;
  }
  std::vector<fs::path> files;
  const bool is_list =
      fs::is_regular_file(options.src, ec) && !has_extension(options.src, kImageExtensions);
  if (is_list) {
    files = read_list_file(options.src, fs::path());
  } else {
    files = list_files(options.src, kImageExtensions);
  }
  std::vector<std::string> candidates;
  candidates.reserve(files.size());
  for (const auto& f : files) candidates.push_back(f.generic_string());
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  if (candidates.empty()) {
    Error e(ErrorCode::kInvalidArgument,
            is_list ? "the list file names no paths"
                    : "no images found (looked for .jpg .jpeg .png .bmp .tif .tiff .webp)");
    e.with("path", options.src.string());
    throw e;
  }
  std::size_t k = options.n;
  if (k > candidates.size()) {
    if (!options.allow_fewer) {
      Error e(ErrorCode::kInvalidArgument,
              "-n " + std::to_string(k) + " is more than the " + std::to_string(candidates.size()) +
                  " candidates; lower -n or pass --allow-fewer to take them all");
      e.with("path", options.src.string());
      throw e;
    }
    k = candidates.size();
  }
  Rng rng(options.seed);
  SampleResult result;
  result.candidates = candidates.size();
  const fs::path base = options.relative_to.empty()
                            ? fs::path()
                            : fs::absolute(options.relative_to).lexically_normal();
  for (std::size_t i : sample_indices(candidates.size(), k, rng)) {
    fs::path p(candidates[i]);
    if (!base.empty()) p = fs::absolute(p).lexically_normal().lexically_relative(base);
    result.lines.push_back(p.generic_string());
  }
  if (!options.output.empty()) {
    std::string text;
    for (const auto& line : result.lines) text += line + "\n";
    write_file_atomic(options.output, text);
  }
  return result;
}

}  // namespace qcal::dataset
