// Reproducible subsets: sorted candidates, seeded portable draw, one path per line.
#include "dataset/sample.hpp"

#include <algorithm>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/list_file.hpp"
#include "core/rng.hpp"

namespace fs = std::filesystem;

namespace qcal::dataset {

namespace {

// The path with its folder's symbolic links resolved (the file name is kept: a linked image is
// listed under its own name).
fs::path real_folder(const fs::path& p) {
  std::error_code ec;
  const fs::path abs = fs::absolute(p, ec).lexically_normal();
  const fs::path dir = fs::weakly_canonical(abs.parent_path(), ec);
  return ec ? abs : dir / abs.filename();
}

// Empty: the paths as found (relative to the working folder).
fs::path written_relative_to(const SampleOptions& o) {
  std::error_code ec;
  if (!o.relative_to.empty()) return fs::weakly_canonical(fs::absolute(o.relative_to), ec);
  if (o.output.empty()) return {};
  const fs::path dir = o.output.parent_path().empty() ? fs::path(".") : o.output.parent_path();
  return fs::weakly_canonical(fs::absolute(dir), ec);
}

}  // namespace

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
    files = read_list_file(options.src, options.src.parent_path());
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
  const fs::path base = written_relative_to(options);
  std::vector<fs::path> written;
  for (std::size_t i : sample_indices(candidates.size(), k, rng)) {
    fs::path p(candidates[i]);
    if (!base.empty()) p = real_folder(p).lexically_relative(base);
    written.push_back(p.generic_string());
    result.lines.push_back(list_line(written.back()));
  }
  if (!options.output.empty()) write_file_atomic(options.output, list_text(written));
  return result;
}

}  // namespace qcal::dataset
