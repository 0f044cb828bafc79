// Writes a selection: copies (or symbolic links, each made under a temporary name and renamed),
// the per-image analysis as JSON and a README with the reproducing command.
#include "dataset/select_output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/temp_files.hpp"

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

namespace qcal::dataset {

namespace {

constexpr const char* kAnalysisName = "calibration_analysis.json";
constexpr const char* kReadmeName = "README.md";
constexpr const char* kHoldoutName = "holdout.json";

// Scores are written rounded to 4 decimals: enough to rank, stable to read.
double round4(double v) { return std::round(v * 1e4) / 1e4; }

std::string fmt1(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

Error dir_error(const std::string& message, const fs::path& path) {
  Error e(ErrorCode::kInvalidArgument, message);
  e.with("path", path.string());
  return e;
}

// The link is made under a registered temporary name (core/temp_files.hpp) and renamed.
void link_atomic(const fs::path& target, const fs::path& link_path) {
  const fs::path tmp = temp_path_for(link_path);
  const TempLock lock;
  register_temp(tmp);
  std::error_code ec;
  fs::create_symlink(target, tmp, ec);
  if (!ec) fs::rename(tmp, link_path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    unregister_temp(tmp);
    Error e(ErrorCode::kIo, "cannot create symbolic link: " + ec.message());
    e.with("file", link_path.string());
    throw e;
  }
  unregister_temp(tmp);
}

// Quantile by linear interpolation between closest ranks (numpy's default), on sorted values.
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

ordered_json statistics(const std::vector<double>& values) {
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0.0;
  for (double v : sorted) sum += v;
  const double n = static_cast<double>(sorted.size());
  const double mean = sorted.empty() ? 0.0 : sum / n;
  double sq = 0.0;
  for (double v : sorted) sq += (v - mean) * (v - mean);
  ordered_json j;
  j["count"] = sorted.size();
  j["min"] = round4(sorted.empty() ? 0.0 : sorted.front());
  j["p10"] = round4(quantile(sorted, 0.10));
  j["p25"] = round4(quantile(sorted, 0.25));
  j["median"] = round4(quantile(sorted, 0.50));
  j["p75"] = round4(quantile(sorted, 0.75));
  j["p90"] = round4(quantile(sorted, 0.90));
  j["max"] = round4(sorted.empty() ? 0.0 : sorted.back());
  j["mean"] = round4(mean);
  j["std"] = round4(sorted.empty() ? 0.0 : std::sqrt(sq / n));
  return j;
}

ordered_json analysis_json(const SelectOptions& o, const SelectReport& r) {
  ordered_json j;
  j["tool"] = "qcal select";
  j["qcal_version"] = QCAL_VERSION;
  ordered_json p;
  p["source"] = o.src_dir.generic_string();
  p["output"] = o.out_dir.generic_string();
  p["n"] = o.n;
  p["threshold"] = o.threshold;
  p["seed"] = o.seed;
  p["strategy"] = strategy_name(o.strategy);
  p["weights"] = {{"sharpness", o.weights.sharpness},
                  {"brightness", o.weights.brightness},
                  {"contrast", o.weights.contrast},
                  {"resolution", o.weights.resolution},
                  {"colorfulness", o.weights.colorfulness}};
  p["input_size"] = {o.input_width, o.input_height};
  p["link"] = o.link;
  p["allow_fewer"] = o.allow_fewer;
  p["holdout"] = o.holdout;
  if (o.holdout > 0) p["holdout_dir"] = holdout_dir_of(o).generic_string();
  j["parameters"] = p;

  ordered_json counts;
  counts["images_found"] = r.images.size();
  counts["readable"] = r.readable;
  counts["unreadable"] = r.images.size() - r.readable;
  counts["held_out"] = r.held_out;
  counts["passed_threshold"] = r.passed;
  counts["selected"] = r.selected;
  j["counts"] = counts;
  if (r.fewer_than_requested) j["shortfall"] = r.shortfall_message;

  std::vector<double> totals, sharp, bright, contrast, res, color, sel_totals;
  for (const auto& img : r.images) {
    if (!img.readable) continue;
    totals.push_back(img.total);
    sharp.push_back(img.scores.sharpness);
    bright.push_back(img.scores.brightness);
    contrast.push_back(img.scores.contrast);
    res.push_back(img.scores.resolution);
    color.push_back(img.scores.colorfulness);
    if (img.selected) sel_totals.push_back(img.total);
  }
  ordered_json dist;
  dist["total"] = statistics(totals);
  dist["selected_total"] = statistics(sel_totals);
  dist["sharpness"] = statistics(sharp);
  dist["brightness"] = statistics(bright);
  dist["contrast"] = statistics(contrast);
  dist["resolution"] = statistics(res);
  dist["colorfulness"] = statistics(color);
  // Histogram of totals: ten bins [0,10), [10,20), ..., [90,100].
  std::vector<std::size_t> hist(10, 0);
  for (double t : totals)
    hist[std::min<std::size_t>(9, static_cast<std::size_t>(std::max(0.0, t) / 10.0))]++;
  dist["total_histogram_bins_of_10"] = hist;
  j["distribution"] = dist;

  ordered_json selected = ordered_json::array();
  ordered_json unreadable = ordered_json::array();
  for (const auto& img : r.images) {
    if (!img.readable) {
      unreadable.push_back({{"path", img.relative}, {"error", img.error}});
    } else if (img.selected) {
      selected.push_back({{"path", img.relative},
                          {"output", img.output},
                          {"total", round4(img.total)},
                          {"reason", img.reason}});
    }
  }
  j["selected"] = selected;
  j["unreadable"] = unreadable;
  return j;
}

ordered_json image_json(const ScoredImage& img) {
  ordered_json e;
  e["path"] = img.relative;
  e["width"] = img.measures.width;
  e["height"] = img.measures.height;
  e["analysis_scale"] = img.measures.analysis_scale;
  e["measures"] = {{"laplacian_var", round4(img.measures.laplacian_var)},
                   {"mean_luma", round4(img.measures.mean_luma)},
                   {"std_luma", round4(img.measures.std_luma)},
                   {"colorfulness", round4(img.measures.colorfulness)}};
  e["scores"] = {{"sharpness", round4(img.scores.sharpness)},
                 {"brightness", round4(img.scores.brightness)},
                 {"contrast", round4(img.scores.contrast)},
                 {"resolution", round4(img.scores.resolution)},
                 {"colorfulness", round4(img.scores.colorfulness)}};
  e["total"] = round4(img.total);
  e["passed"] = img.passed;
  e["selected"] = img.selected;
  if (img.held_out) {
    e["held_out"] = true;
    e["held_out_output"] = img.output;
  }
  if (img.selected) {
    e["reason"] = img.reason;
    e["output"] = img.output;
  }
  return e;
}

// Appends `text` with every line indented by `indent` spaces.
void append_indented(std::string& out, const std::string& text, std::size_t indent) {
  out.append(indent, ' ');
  for (char c : text) {
    out.push_back(c);
    if (c == '\n') out.append(indent, ' ');
  }
}

// calibration_analysis.json, streamed: the same bytes as dump(2) of the whole document with the
// per-image array last, without holding a million images as JSON values.
void write_analysis(const fs::path& path, const SelectOptions& o, const SelectReport& r) {
  constexpr std::size_t kChunk = 1u << 20;
  std::string text = analysis_json(o, r).dump(2);
  text.resize(text.size() - 2);  // the closing "\n}"
  text += ",\n  \"images\": ";
  AtomicFile file(path);
  bool any = false;
  for (const auto& img : r.images) {
    if (!img.readable) continue;
    text += any ? ",\n" : "[\n";
    append_indented(text, image_json(img).dump(2), 4);
    any = true;
    if (text.size() >= kChunk) {
      file.write(text);
      text.clear();
    }
  }
  text += any ? "\n  ]\n}\n" : "[]\n}\n";
  file.write(text);
  file.commit();
}

std::string strategy_text(const SelectOptions& o) {
  switch (o.strategy) {
    case Strategy::kHybrid:
      return "hybrid: the best half by quality score, the other half one seeded draw from each "
             "of equal-size quality strata of the remaining candidates";
    case Strategy::kTop:
      return "top: the highest quality scores";
    case Strategy::kUniform:
      return "uniform: a seeded uniform random draw among the candidates";
    case Strategy::kDiverse:
      return "diverse: greedy farthest-point selection on 8x8 colour thumbnails, starting from the "
             "best image, so near-duplicates are not chosen together";
  }
  return "";
}

std::string readme_text(const SelectOptions& o, const SelectReport& r) {
  std::string s = "# Calibration set\n\n";
  s += std::to_string(r.selected) +
       " images chosen by `qcal select` (qcal " QCAL_VERSION ") from `" +
       o.src_dir.generic_string() + "`: " + std::to_string(r.images.size()) + " images found, " +
       std::to_string(r.readable) + " readable, " + std::to_string(r.passed) +
       " scoring at least " + fmt1(o.threshold) + " of 100.\n\n";
  if (r.fewer_than_requested) s += "Fewer than requested: " + r.shortfall_message + ".\n\n";
  if (r.held_out > 0) {
    s += std::to_string(r.held_out) + " other images, a seeded uniform draw over all readable " +
         "images made before selection, are held out in `" + r.holdout_dir.generic_string() +
         "` (listed in its holdout.json) to evaluate on: the selection never saw them.\n\n";
  }
  s += "## How it was made\n\n";
  s += "- Quality score 0-100, the weighted mean of five sub-scores: sharpness " +
       fmt1(o.weights.sharpness) + ", brightness " + fmt1(o.weights.brightness) + ", contrast " +
       fmt1(o.weights.contrast) + ", resolution " + fmt1(o.weights.resolution) + " (against a " +
       std::to_string(o.input_width) + "x" + std::to_string(o.input_height) +
       " model input), colourfulness " + fmt1(o.weights.colorfulness) + ".\n";
  s += "- Candidates: images scoring at least " + fmt1(o.threshold) + ".\n";
  s += "- Strategy " + strategy_text(o) + "; seed " + std::to_string(o.seed) + ", n " +
       std::to_string(o.n) + ".\n";
  s += std::string("- The images here are ") +
       (o.link ? "symbolic links to the originals" : "copies of the originals") + ".\n\n";
  s += "## Reproduce\n\nFrom `" + o.working_dir + "`:\n\n```sh\n" +
       (o.command_line.empty() ? reproduce_select_command(o) : o.command_line) + "\n```\n\n";
  s += "The same files, options and seed give the same selection on any machine and thread "
       "count.\n\n";
  s += "## Files\n\n- `calibration_analysis.json`: every image's measurements, sub-scores and "
       "total, "
       "the score distribution, the parameters, unreadable files, and which images were selected "
       "and why.\n";
  return s;
}

}  // namespace

namespace {

// A folder qcal may write a result into: created, or empty, or holding only a previous result
// (the manifest, the `extra` names, and the "output" of each entry of the manifest's `key`).
std::vector<fs::path> prepare_result_dir(const fs::path& out_dir, const char* manifest,
                                         const char* key, std::set<std::string> ours) {
  if (out_dir.empty()) throw_invalid("an output folder is required (-o OUT_DIR)");
  std::error_code ec;
  if (fs::exists(out_dir, ec) && !fs::is_directory(out_dir, ec)) {
    throw dir_error("the output path exists and is not a folder", out_dir);
  }
  if (!fs::exists(out_dir, ec)) {
    fs::create_directories(out_dir, ec);
    if (ec) {
      Error e(ErrorCode::kIo, "cannot create the output folder: " + ec.message());
      e.with("path", out_dir.string());
      throw e;
    }
    return {};
  }
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(out_dir)) entries.push_back(entry.path());
  if (entries.empty()) return {};
  ours.insert(manifest);
  const fs::path listing = out_dir / manifest;
  if (fs::is_regular_file(listing)) {
    try {
      auto j = parse_json(read_file(listing), listing.string());
      for (const auto& s : j.at(key)) ours.insert(s.at("output").get<std::string>());
    } catch (const std::exception&) {
      throw dir_error(std::string("the output folder holds a ") + manifest +
                          " qcal cannot read; choose another folder or empty it",
                      out_dir);
    }
  }
  for (const auto& p : entries) {
    if (!ours.count(p.filename().string())) {
      Error e(ErrorCode::kInvalidArgument,
              "the output folder is not empty and does not hold only a previous qcal result; "
              "choose another folder or empty it");
      e.with("path", out_dir.string()).with("file", p.filename().string());
      throw e;
    }
  }
  return entries;
}

// Output names: the file name, or the relative path with '/' -> '__' when two files of the set
// share a name (image folders such as LFW reuse names across subfolders) or one would take a
// manifest's name. Then the copies or links.
void write_images(const SelectOptions& options, SelectReport& report, bool held_out,
                  const fs::path& dir) {
  std::map<std::string, int> name_count;
  const auto in_set = [&](const ScoredImage& img) {
    return held_out ? img.held_out : img.selected;
  };
  for (const auto& img : report.images) {
    if (in_set(img)) name_count[img.path.filename().string()]++;
  }
  for (auto& img : report.images) {
    if (!in_set(img)) continue;
    std::string name = img.path.filename().string();
    if (name_count[name] > 1 || name == kAnalysisName || name == kReadmeName ||
        name == kHoldoutName) {
      name = img.relative;
      std::size_t pos = 0;
      while ((pos = name.find('/', pos)) != std::string::npos) name.replace(pos, 1, "__");
    }
    img.output = name;
    const fs::path dest = dir / name;
    if (options.link) {
      link_atomic(fs::absolute(img.path), dest);
    } else {
      write_file_atomic(dest, read_file(img.path));
    }
  }
}

}  // namespace

std::vector<fs::path> prepare_out_dir(const fs::path& out_dir) {
  return prepare_result_dir(out_dir, kAnalysisName, "selected", {kReadmeName});
}

std::vector<fs::path> prepare_holdout_dir(const fs::path& dir) {
  return prepare_result_dir(dir, kHoldoutName, "images", {});
}

void write_holdout(const SelectOptions& options, SelectReport& report,
                   const std::vector<fs::path>& previous) {
  for (const auto& p : previous) fs::remove(p);
  write_images(options, report, true, report.holdout_dir);
  ordered_json j;
  j["tool"] = "qcal select --holdout";
  j["qcal_version"] = QCAL_VERSION;
  j["source"] = options.src_dir.generic_string();
  j["calibration_set"] = options.out_dir.generic_string();
  j["seed"] = options.seed;
  j["count"] = report.held_out;
  j["rule"] =
      "a seeded uniform draw over all readable images, made before selection; the calibration "
      "set is chosen from the others";
  ordered_json images = ordered_json::array();
  for (const auto& img : report.images) {
    if (img.held_out) images.push_back({{"path", img.relative}, {"output", img.output}});
  }
  j["images"] = images;
  write_file_atomic(report.holdout_dir / kHoldoutName, j.dump(2) + "\n");
}

void write_selection(const SelectOptions& options, SelectReport& report,
                     const std::vector<fs::path>& previous) {
  for (const auto& p : previous) fs::remove(p);
  write_images(options, report, false, options.out_dir);
  report.analysis_path = options.out_dir / kAnalysisName;
  write_analysis(report.analysis_path, options, report);
  report.readme_path = options.out_dir / kReadmeName;
  write_file_atomic(report.readme_path, readme_text(options, report));
}

}  // namespace qcal::dataset
