// Profiling runs from CSV logs: column roles found by name, units converted by column-name
// suffix, every row validated; unusable rows are kept with their file, line and reason.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace qcal::plan {

// One usable row: an inference measurement of one engine configuration.
struct ProfileRun {
  std::uint32_t file_index = 0;  // index into ProfileSet::mappings (which names the file)
  std::size_t line = 0;
  std::string engine_name;  // "" when the CSV has no name column
  std::string precision;    // canonical: fp32, tf32, fp16, bf16, fp8, int8, int4, mixed, or as
                            // written (lower case)
  std::int64_t batch = 1;
  std::vector<std::int64_t> shape;  // empty when the CSV has no shape column
  double latency_ms = 0;            // > 0
  std::optional<double> power_w;
  std::optional<double> temp_c;
  std::optional<double> engine_size_mb;
  std::string frame_source;  // frame_source_name, "" when absent
};

struct RejectedRow {
  std::string file;
  std::size_t line = 0;
  std::string reason;
};

// How one file's columns were understood (shown in reports so a user can check the mapping).
struct ColumnMapping {
  std::string file;
  std::string latency;  // column names as written in the header, "" when absent
  std::string power;
  std::string temperature;
  std::string precision;
  std::string batch;
  std::string shape;
  std::string name;
  std::string size;
  std::string source;
  std::vector<std::string> ignored;  // header columns qcal does not use
};

struct ProfileSet {
  std::vector<ProfileRun> runs;
  std::vector<RejectedRow> rejected;
  std::vector<ColumnMapping> mappings;
  std::vector<std::string> warnings;
  std::size_t rows_read = 0;  // data records seen, usable or not
};

// Column overrides by exact header name (case-insensitive); empty: found by name.
struct ProfileColumns {
  std::string latency;
  std::string power;
  std::string temperature;
};

// Loads and validates the CSVs. Throws kIo for unreadable files and kFormat when a file lacks
// a column the plan cannot do without (latency, precision) or a column choice is ambiguous;
// row-level problems become RejectedRow entries.
ProfileSet load_profiles(const std::vector<std::filesystem::path>& paths,
                         const ProfileColumns& columns = {});

// Helpers exposed for tests and for the profile-to-video resolution.
// Canonical precision name ("FP16" -> "fp16", "float32" -> "fp32"); "" when unusable.
std::string canonical_precision(std::string_view text);
// True for the precisions qcal knows by name (fp32, tf32, fp16, bf16, fp8, int8, int4, mixed).
bool is_known_precision(std::string_view canonical);
// Sort rank: fp32 first, then tf32, fp16, bf16, fp8, int8, int4, mixed, then unknown names.
int precision_rank(std::string_view canonical);
// Parses "[1, 3, 640, 640]", "(1,3,640,640)", "1x3x640x640"; nullopt when not a dimension list.
std::optional<std::vector<std::int64_t>> parse_shape(std::string_view text);
// "1x3x640x640"
std::string format_shape(const std::vector<std::int64_t>& shape);
// Strict decimal number (surrounding blanks allowed); nullopt for text, NaN or infinity.
std::optional<double> parse_number(std::string_view text);

}  // namespace qcal::plan
