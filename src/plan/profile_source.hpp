// From a profiling CSV to calibration inputs: which video each `frame_source_name` names (by
// stem, any extension, any letter case) and the engine input size from `engine_shape`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace qcal::plan {

struct ProfileSource {
  std::string name;                               // frame_source_name as written in the CSV
  std::filesystem::path video;                    // the one video it resolves to
  std::vector<std::vector<std::int64_t>> shapes;  // distinct engine_shape values of its rows
  // Input height and width from the shapes: NCHW (dims[1] is 1, 3 or 4 channels) or NHWC
  // (dims[3] is); nullopt when there is no shape, the layout is unclear, or shapes disagree.
  std::optional<std::int64_t> input_height, input_width;
  std::vector<std::string> engines;  // distinct engine names of its rows
  std::size_t rows = 0;
};

struct ProfileSources {
  std::vector<ProfileSource> sources;  // sorted by name
  std::size_t rows_read = 0;
  std::size_t rows_without_source = 0;  // empty frame_source_name or malformed CSV record
};

// Reads the CSVs' frame_source_name (and engine_shape / engine_name when present) and finds each
// named video under video_dir (recursively; extensions of core/files.hpp kVideoExtensions). A
// name may carry an extension ("clip.MP4" matches clip.mp4). Throws kFormat when a CSV has no
// frame source column or names no source, and kInvalidArgument, listing the candidates, when a
// name matches no video or several.
ProfileSources resolve_profile_sources(const std::vector<std::filesystem::path>& csvs,
                                       const std::filesystem::path& video_dir);

// {"sources": [{"frame_source_name", "video", "shapes", "input_height", "input_width",
// "engines", "rows"}], "rows_read", "rows_without_source"}, 2-space indented.
std::string format_profile_sources_json(const ProfileSources& s);

}  // namespace qcal::plan
