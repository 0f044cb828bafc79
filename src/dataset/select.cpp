// Calibration-set selection: parallel scoring, threshold, and the four strategies.
#include "dataset/select.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/rng.hpp"
#include "dataset/parallel.hpp"
#include "dataset/select_output.hpp"

namespace fs = std::filesystem;

namespace qcal::dataset {

namespace {

std::string fmt(const char* format, double a, double b = 0.0) {
  char buf[128];
  std::snprintf(buf, sizeof buf, format, a, b);
  return buf;
}

// Candidate positions ordered best first: higher score, then lower position.
std::vector<std::size_t> rank_by_score(const std::vector<double>& scores) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  return order;
}

double squared_distance(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double diff = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    d += diff * diff;
  }
  return d;
}

}  // namespace

const char* strategy_name(Strategy s) {
  switch (s) {
    case Strategy::kHybrid:
      return "hybrid";
    case Strategy::kTop:
      return "top";
    case Strategy::kUniform:
      return "uniform";
    case Strategy::kDiverse:
      return "diverse";
  }
  return "?";
}

Strategy parse_strategy(const std::string& name) {
  if (name == "hybrid") return Strategy::kHybrid;
  if (name == "top") return Strategy::kTop;
  if (name == "uniform") return Strategy::kUniform;
  if (name == "diverse") return Strategy::kDiverse;
  throw_invalid("--strategy must be hybrid, top, uniform or diverse, not '" + name + "'");
}

double threshold_for(std::vector<double> totals, std::size_t n) {
  if (n == 0) return 100.0;
  if (totals.size() < n) return -1.0;
  std::sort(totals.begin(), totals.end(), std::greater<>());
  return std::floor(totals[n - 1] * 10.0) / 10.0;
}

std::vector<std::size_t> choose(const std::vector<double>& scores,
                                const std::vector<const std::vector<float>*>& descriptors,
                                std::size_t n, Strategy strategy, std::uint64_t seed,
                                std::vector<std::string>* reasons) {
  const std::size_t count = scores.size();
  n = std::min(n, count);
  std::vector<std::pair<std::size_t, std::string>> picked;  // position, reason
  Rng rng(seed);
  const auto ranked = rank_by_score(scores);
  switch (strategy) {
    case Strategy::kTop: {
      for (std::size_t r = 0; r < n; ++r) {
        picked.emplace_back(ranked[r], "top: quality rank " + std::to_string(r + 1) + " of " +
                                           std::to_string(count));
      }
      break;
    }
    case Strategy::kUniform: {
      for (std::size_t pos : sample_indices(count, n, rng)) {
        picked.emplace_back(
            pos, "uniform: seeded random draw among the " + std::to_string(count) + " candidates");
      }
      break;
    }
    case Strategy::kHybrid: {
      // Half (rounded up) are the best; the rest come one from each of m equal-size strata of
      // the remaining candidates ranked by quality, a seeded draw inside each stratum.
      const std::size_t n_top = (n + 1) / 2;
      for (std::size_t r = 0; r < n_top; ++r) {
        picked.emplace_back(ranked[r], "hybrid: best half, quality rank " + std::to_string(r + 1) +
                                           " of " + std::to_string(count));
      }
      const std::size_t rest = count - n_top;
      const std::size_t m = n - n_top;
      for (std::size_t j = 0; j < m; ++j) {
        const std::size_t lo = j * rest / m;
        const std::size_t hi = (j + 1) * rest / m;
        const std::size_t r = n_top + lo + static_cast<std::size_t>(rng.next_below(hi - lo));
        picked.emplace_back(
            ranked[r],
            "hybrid: quality stratum " + std::to_string(j + 1) + " of " + std::to_string(m) +
                " (scores " +
                fmt("%.1f-%.1f", scores[ranked[n_top + hi - 1]], scores[ranked[n_top + lo]]) + ")");
      }
      break;
    }
    case Strategy::kDiverse: {
      // Greedy farthest-point: start from the best image, then repeatedly add the candidate
      // farthest (in descriptor space) from everything chosen; ties go to the better rank.
      if (n == 0) break;
      std::vector<double> nearest(count, INFINITY);
      std::vector<char> taken(count, 0);
      std::size_t current = ranked[0];
      picked.emplace_back(current, "diverse: the best image starts the farthest-point walk");
      taken[current] = 1;
      for (std::size_t step = 1; step < n; ++step) {
        double best = -1.0;
        std::size_t best_pos = count;
        for (std::size_t r = 0; r < count; ++r) {
          const std::size_t pos = ranked[r];
          if (taken[pos]) continue;
          nearest[pos] =
              std::min(nearest[pos], squared_distance(*descriptors[pos], *descriptors[current]));
          if (nearest[pos] > best) {
            best = nearest[pos];
            best_pos = pos;
          }
        }
        current = best_pos;
        taken[current] = 1;
        picked.emplace_back(current, fmt("diverse: farthest-point step %.0f, descriptor distance "
                                         "%.4f to the nearest chosen image",
                                         static_cast<double>(step + 1), std::sqrt(best)));
      }
      break;
    }
  }
  std::sort(picked.begin(), picked.end());
  std::vector<std::size_t> out;
  for (auto& [pos, why] : picked) {
    out.push_back(pos);
    if (reasons) reasons->push_back(std::move(why));
  }
  return out;
}

SelectReport select_calibration_set(const SelectOptions& options,
                                    const SelectProgressFn& progress) {
  if (options.n == 0) throw_invalid("-n must be at least 1");
  if (!(options.threshold >= 0 && options.threshold <= 100)) {
    throw_invalid("--threshold must be in 0..100");
  }
  if (options.input_width <= 0 || options.input_height <= 0) {
    throw_invalid("--input-size must be two positive numbers (width height)");
  }
  std::error_code ec;
  if (!fs::is_directory(options.src_dir, ec)) {
    Error e(ErrorCode::kIo, "source folder does not exist or is not a folder");
    e.with("path", options.src_dir.string());
    throw e;
  }
  // Refuses a folder with unrelated files before any work.
  prepare_out_dir(options.out_dir);

  SelectReport report;
  // An OUT_DIR inside SRC_DIR holds earlier selections: never score those copies again.
  const std::string out_in_src = fs::weakly_canonical(options.out_dir)
                                     .lexically_relative(fs::weakly_canonical(options.src_dir))
                                     .generic_string();
  const bool nested = !out_in_src.empty() && out_in_src.rfind("..", 0) != 0;
  std::vector<fs::path> files;
  for (auto& f : list_files(options.src_dir, kImageExtensions)) {
    const std::string rel = f.lexically_relative(options.src_dir).generic_string();
    if (nested && (out_in_src == "." || rel.rfind(out_in_src + "/", 0) == 0)) continue;
    files.push_back(std::move(f));
  }
  report.images.resize(files.size());
  const bool need_descriptor = options.strategy == Strategy::kDiverse;
  std::atomic<std::size_t> done{0};
  parallel_for(files.size(), options.threads, [&](std::size_t i) {
    ScoredImage& img = report.images[i];
    img.path = files[i];
    img.relative = files[i].lexically_relative(options.src_dir).generic_string();
    try {
      img.measures = measure_image(files[i], need_descriptor ? &img.descriptor : nullptr);
      img.scores = score_measures(img.measures, options.input_width, options.input_height);
      img.total = total_score(img.scores, options.weights);
      img.readable = true;
      img.passed = img.total >= options.threshold;
    } catch (const Error& e) {
      img.error = e.message();
    }
    const std::size_t now = done.fetch_add(1) + 1;
    if (progress) progress(now, files.size());
  });

  std::vector<std::size_t> candidates;
  std::vector<double> readable_totals;
  for (std::size_t i = 0; i < report.images.size(); ++i) {
    const auto& img = report.images[i];
    if (!img.readable) continue;
    ++report.readable;
    readable_totals.push_back(img.total);
    if (img.passed) candidates.push_back(i);
  }
  report.passed = candidates.size();
  if (report.readable == 0) {
    Error e(ErrorCode::kInvalidArgument,
            files.empty()
                ? "no images found (looked for .jpg .jpeg .png .bmp .tif .tiff .webp)"
                : "none of the " + std::to_string(files.size()) + " images could be read");
    e.with("path", options.src_dir.string());
    throw e;
  }
  if (candidates.size() < options.n) {
    std::string msg = "only " + std::to_string(candidates.size()) + " of " +
                      std::to_string(report.readable) + " readable images score at least " +
                      fmt("%.1f", options.threshold) + ", fewer than the " +
                      std::to_string(options.n) + " requested; ";
    const double t = threshold_for(readable_totals, options.n);
    if (t >= 0) {
      msg += "--threshold " + fmt("%.1f", t) + " would give " + std::to_string(options.n);
    } else {
      msg += "only " + std::to_string(report.readable) +
             " images are readable, so -n can be at most that";
    }
    if (!options.allow_fewer) {
      Error e(ErrorCode::kInvalidArgument, msg + " (or pass --allow-fewer)");
      e.with("path", options.src_dir.string());
      throw e;
    }
    report.fewer_than_requested = true;
    report.shortfall_message = msg;
  }

  std::vector<double> scores;
  std::vector<const std::vector<float>*> descriptors;
  for (std::size_t i : candidates) {
    scores.push_back(report.images[i].total);
    descriptors.push_back(&report.images[i].descriptor);
  }
  std::vector<std::string> reasons;
  const auto chosen =
      choose(scores, descriptors, options.n, options.strategy, options.seed, &reasons);
  for (std::size_t k = 0; k < chosen.size(); ++k) {
    ScoredImage& img = report.images[candidates[chosen[k]]];
    img.selected = true;
    img.reason = reasons[k];
  }
  report.selected = chosen.size();
  write_selection(options, report);
  return report;
}

}  // namespace qcal::dataset
