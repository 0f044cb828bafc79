// Profile-to-video resolution for `qcal frames --from-profile`.
#include "plan/profile_source.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "plan/csv.hpp"
#include "plan/profile.hpp"

namespace qcal::plan {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int find_column(const std::vector<std::string>& header, std::initializer_list<const char*> names) {
  for (const char* want : names) {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (lower(header[i]) == want) return static_cast<int>(i);
    }
  }
  return -1;
}

bool is_channels(std::int64_t d) { return d == 1 || d == 3 || d == 4; }

void set_input_size(ProfileSource& s) {
  if (s.shapes.size() != 1 || s.shapes[0].size() != 4) return;
  const auto& d = s.shapes[0];
  bool nchw = is_channels(d[1]), nhwc = is_channels(d[3]);
  if (nchw == nhwc) return;  // neither, or both (1x3x3x3): unclear
  s.input_height = nchw ? d[2] : d[1];
  s.input_width = nchw ? d[3] : d[2];
}

std::string list(const std::vector<fs::path>& paths, std::size_t max_shown) {
  std::string s;
  for (std::size_t i = 0; i < paths.size() && i < max_shown; ++i) {
    s += (s.empty() ? "" : ", ") + paths[i].string();
  }
  if (paths.size() > max_shown) s += ", ... (" + std::to_string(paths.size()) + " in all)";
  return s;
}

}  // namespace

ProfileSources resolve_profile_sources(const std::vector<fs::path>& csvs,
                                       const fs::path& video_dir) {
  if (csvs.empty()) throw_invalid("no profiling CSV given");
  ProfileSources out;
  std::map<std::string, ProfileSource> by_name;
  std::map<std::string, std::set<std::vector<std::int64_t>>> shapes;
  std::map<std::string, std::set<std::string>> engines;
  for (const fs::path& csv : csvs) {
    CsvTable t = read_csv_file(csv);
    const auto& header = t.header.cells;
    int src_i = find_column(header, {"frame_source_name", "frame_source", "source_name", "source"});
    int shape_i = find_column(header, {"engine_shape", "input_shape", "shape"});
    int name_i = find_column(header, {"engine_name", "engine", "model_name", "model"});
    if (src_i < 0) {
      std::string cols;
      for (const auto& h : header) cols += (cols.empty() ? "" : ", ") + h;
      throw Error(ErrorCode::kFormat,
                  "no frame_source_name column: the CSV does not say which "
                  "video the runs were measured on")
          .with("file", csv.string())
          .with("columns", cols);
    }
    for (const CsvRecord& rec : t.records) {
      ++out.rows_read;
      auto cell = [&](int i) -> std::string {
        return i >= 0 && static_cast<std::size_t>(i) < rec.cells.size() ? rec.cells[i] : "";
      };
      std::string name = cell(src_i);
      if (!rec.error.empty() || name.empty()) {
        ++out.rows_without_source;
        continue;
      }
      ProfileSource& s = by_name[name];
      s.name = name;
      ++s.rows;
      if (auto shape = parse_shape(cell(shape_i)); shape) shapes[name].insert(*shape);
      if (!cell(name_i).empty()) engines[name].insert(cell(name_i));
    }
  }
  if (by_name.empty()) {
    throw Error(ErrorCode::kFormat, "no row of the profiling CSV names a frame source")
        .with("file", csvs.front().string());
  }

  if (!fs::is_directory(video_dir)) {
    throw Error(ErrorCode::kIo, "the video folder does not exist or is not a folder")
        .with("video-dir", video_dir.string());
  }
  std::vector<fs::path> videos = list_files(video_dir, kVideoExtensions);
  for (auto& [name, s] : by_name) {
    // The name may be a stem ("YOLOvideo") or a file name ("YOLOvideo.mp4"); match either.
    const std::string want = lower(name);
    // A name like "clip.v2" keeps its dot: only a video extension is taken off.
    const std::string want_stem = has_extension(fs::path(name), kVideoExtensions)
                                      ? lower(fs::path(name).stem().string())
                                      : want;
    std::vector<fs::path> matches;
    for (const fs::path& v : videos) {
      std::string stem = lower(v.stem().string());
      if (stem == want || lower(v.filename().string()) == want || stem == want_stem) {
        matches.push_back(v);
      }
    }
    if (matches.empty()) {
      throw Error(ErrorCode::kInvalidArgument, "frame_source_name '" + name +
                                                   "' matches no video (by stem, any extension, "
                                                   "any letter case)")
          .with("video-dir", video_dir.string())
          .with("candidates",
                videos.empty() ? std::string("(no video files there)") : list(videos, 20));
    }
    if (matches.size() > 1) {
      throw Error(ErrorCode::kInvalidArgument,
                  "frame_source_name '" + name +
                      "' matches several videos; keep one, or point "
                      "--video-dir at a folder holding only one of them")
          .with("video-dir", video_dir.string())
          .with("candidates", list(matches, 20));
    }
    s.video = matches.front();
    s.shapes.assign(shapes[name].begin(), shapes[name].end());
    s.engines.assign(engines[name].begin(), engines[name].end());
    set_input_size(s);
    out.sources.push_back(s);
  }
  return out;
}

std::string format_profile_sources_json(const ProfileSources& s) {
  nlohmann::ordered_json j;
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& src : s.sources) {
    nlohmann::ordered_json e;
    e["frame_source_name"] = src.name;
    e["video"] = src.video.string();
    e["shapes"] = src.shapes;
    e["input_height"] = src.input_height ? nlohmann::ordered_json(*src.input_height) : nullptr;
    e["input_width"] = src.input_width ? nlohmann::ordered_json(*src.input_width) : nullptr;
    e["engines"] = src.engines;
    e["rows"] = src.rows;
    arr.push_back(e);
  }
  j["sources"] = arr;
  j["rows_read"] = s.rows_read;
  j["rows_without_source"] = s.rows_without_source;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace qcal::plan
