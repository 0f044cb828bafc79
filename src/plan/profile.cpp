// Profiling CSV loading: column roles, unit conversion by suffix, per-row validation.
#include "plan/profile.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <utility>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "plan/csv.hpp"

namespace qcal::plan {
namespace {

// Physical ranges of measurements: outside them a row is unusable (a latency of 1e-320 ms would
// otherwise win at "inf FPS"). Generous: the point is to catch corrupt numbers, not judge rigs.
constexpr double kMinLatencyMs = 1e-6;  // 1 ns
constexpr double kMaxLatencyMs = 1e9;   // about 11 days
constexpr double kMaxPowerW = 1e6;
constexpr double kAbsoluteZeroC = -273.15;
constexpr double kMaxTempC = 1000.0;
constexpr double kMaxSizeMb = 1e7;

struct PhysicalRange {
  double lowest;
  double highest;
  const char* text;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "Latency (ms)" / "latency[ms]" / "trt latency ms" -> "latency_ms"-style, lower case.
std::string normalize_name(std::string_view s) {
  std::string out;
  for (char c : lower(s)) {
    if (c == '(' || c == '[' || c == ' ' || c == '-' || c == '.') {
      if (!out.empty() && out.back() != '_') out.push_back('_');
    } else if (c == ')' || c == ']') {
      continue;
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

struct Unit {
  std::string_view suffix;
  double factor;  // multiply a value by it to get the canonical unit
  double offset;  // added after the factor (temperatures)
};

// Canonical units: milliseconds, watts, degrees Celsius, megabytes (10^6 bytes).
constexpr std::array<Unit, 6> kTimeUnits = {{{"ms", 1.0, 0},
                                             {"msec", 1.0, 0},
                                             {"us", 1e-3, 0},
                                             {"ns", 1e-6, 0},
                                             {"s", 1e3, 0},
                                             {"sec", 1e3, 0}}};
constexpr std::array<Unit, 3> kPowerUnits = {{{"mw", 1e-3, 0}, {"w", 1.0, 0}, {"uw", 1e-6, 0}}};
// Fahrenheit: (F - 32) * 5/9 = F * 5/9 - 160/9. Kelvin: K - 273.15.
constexpr std::array<Unit, 4> kTempUnits = {
    {{"c", 1.0, 0}, {"degc", 1.0, 0}, {"f", 5.0 / 9.0, -160.0 / 9.0}, {"k", 1.0, -273.15}}};
constexpr std::array<Unit, 6> kSizeUnits = {{{"mb", 1.0, 0},
                                             {"mib", 1.048576, 0},
                                             {"kb", 1e-3, 0},
                                             {"gb", 1e3, 0},
                                             {"b", 1e-6, 0},
                                             {"bytes", 1e-6, 0}}};

// Splits "trt_latency_ms" into base "trt_latency" and the unit "ms" when the suffix is a unit of
// the family; nullopt otherwise.
template <std::size_t N>
std::optional<std::pair<std::string, Unit>> split_unit(const std::string& norm,
                                                       const std::array<Unit, N>& units) {
  std::size_t us = norm.rfind('_');
  if (us == std::string::npos) return std::nullopt;
  std::string_view suffix = std::string_view(norm).substr(us + 1);
  for (const Unit& u : units) {
    if (suffix == u.suffix) return std::make_pair(norm.substr(0, us), u);
  }
  return std::nullopt;
}

struct Column {
  int index = -1;
  Unit unit{"", 1.0, 0};
  std::string name;  // as written in the header
};

// Finds a measurement column: an exact override, or the best-ranked column whose base contains
// `stem` and whose suffix is a unit of the family. Ties at the top rank are ambiguous.
template <std::size_t N>
Column find_measure(const std::vector<std::string>& header, const std::string& override_name,
                    std::string_view stem, const std::array<Unit, N>& units,
                    std::vector<std::pair<std::string_view, int>> ranks, const char* flag,
                    const std::string& file, std::vector<std::string>& warnings) {
  Column col;
  if (!override_name.empty()) {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (lower(header[i]) != lower(override_name)) continue;
      col.index = static_cast<int>(i);
      col.name = header[i];
      if (auto split = split_unit(normalize_name(header[i]), units)) {
        col.unit = split->second;
      } else {
        col.unit = units[0];
        warnings.push_back(file + ": column '" + header[i] + "' has no unit suffix; read as " +
                           std::string(units[0].suffix));
      }
      return col;
    }
    std::string names;
    for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
    throw Error(ErrorCode::kInvalidArgument,
                std::string(flag) + " '" + override_name + "' is not a column of the CSV")
        .with("file", file)
        .with("columns", names);
  }
  int best_rank = -1;
  std::vector<int> best;
  for (std::size_t i = 0; i < header.size(); ++i) {
    auto split = split_unit(normalize_name(header[i]), units);
    if (!split || split->first.find(stem) == std::string::npos) continue;
    int rank = 0;
    for (const auto& [base, r] : ranks) {
      if (split->first == base) rank = r;
    }
    if (rank > best_rank) {
      best_rank = rank;
      best.clear();
    }
    if (rank == best_rank) best.push_back(static_cast<int>(i));
  }
  if (best.size() > 1) {
    std::string names;
    for (int i : best) names += (names.empty() ? "" : ", ") + header[i];
    throw Error(ErrorCode::kFormat, "several columns could be the " + std::string(stem) +
                                        " column; choose one with " + flag)
        .with("file", file)
        .with("candidates", names);
  }
  if (best.size() == 1) {
    col.index = best[0];
    col.name = header[best[0]];
    col.unit = split_unit(normalize_name(col.name), units)->second;
  }
  return col;
}

int find_named(const std::vector<std::string>& header,
               std::initializer_list<std::string_view> names) {
  for (std::string_view want : names) {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (normalize_name(header[i]) == want) return static_cast<int>(i);
    }
  }
  return -1;
}

template <std::size_t N>
Column find_sized(const std::vector<std::string>& header, std::string_view stem,
                  const std::array<Unit, N>& units) {
  Column col;
  for (std::size_t i = 0; i < header.size(); ++i) {
    auto split = split_unit(normalize_name(header[i]), units);
    if (split && split->first == stem) {
      col.index = static_cast<int>(i);
      col.name = header[i];
      col.unit = split->second;
      return col;
    }
  }
  return col;
}

// Rejoins cells that an unquoted bracketed list was split into: "[1", "3", "640", "640]".
std::vector<std::string> rejoin_brackets(const std::vector<std::string>& cells, char delim) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const std::string& c = cells[i];
    bool opens = !c.empty() && (c.front() == '[' || c.front() == '(');
    char close = (!c.empty() && c.front() == '[') ? ']' : ')';
    if (!opens || c.find(close) != std::string::npos) {
      out.push_back(c);
      continue;
    }
    std::string joined = c;
    std::size_t j = i + 1;
    for (; j < cells.size(); ++j) {
      joined += delim;
      joined += ' ';
      joined += cells[j];
      if (cells[j].find(close) != std::string::npos) break;
    }
    if (j == cells.size()) return cells;  // never closed: leave the row as it was
    out.push_back(joined);
    i = j;
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

std::optional<double> parse_number(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  double value = 0;
  auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

std::string canonical_precision(std::string_view text) {
  std::string p = lower(text);
  p.erase(std::remove_if(p.begin(), p.end(), [](char c) { return c == ' ' || c == '\t'; }),
          p.end());
  static const std::array<std::pair<std::string_view, std::string_view>, 17> kAliases = {{
      {"fp32", "fp32"},
      {"float32", "fp32"},
      {"float", "fp32"},
      {"f32", "fp32"},
      {"tf32", "tf32"},
      {"fp16", "fp16"},
      {"float16", "fp16"},
      {"half", "fp16"},
      {"f16", "fp16"},
      {"bf16", "bf16"},
      {"bfloat16", "bf16"},
      {"fp8", "fp8"},
      {"int8", "int8"},
      {"i8", "int8"},
      {"int4", "int4"},
      {"best", "mixed"},
      {"mixed", "mixed"},
  }};
  for (const auto& [alias, canon] : kAliases) {
    if (p == alias) return std::string(canon);
  }
  if (p.empty() || p.size() > 32) return "";
  for (char c : p) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '+') return "";
  }
  return p;
}

namespace {
constexpr std::array<std::string_view, 8> kKnownPrecisions = {"fp32", "tf32", "fp16", "bf16",
                                                              "fp8",  "int8", "int4", "mixed"};
}  // namespace

bool is_known_precision(std::string_view canonical) {
  return std::find(kKnownPrecisions.begin(), kKnownPrecisions.end(), canonical) !=
         kKnownPrecisions.end();
}

int precision_rank(std::string_view canonical) {
  auto it = std::find(kKnownPrecisions.begin(), kKnownPrecisions.end(), canonical);
  return static_cast<int>(it - kKnownPrecisions.begin());
}

std::optional<std::vector<std::int64_t>> parse_shape(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c == '[' || c == ']' || c == '(' || c == ')' || c == ',' || c == 'x' || c == 'X' ||
        c == '*' || c == ';' || c == '\t') {
      c = ' ';
    }
  }
  std::vector<std::int64_t> dims;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) break;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    std::int64_t d = 0;
    auto [ptr, ec] = std::from_chars(s.data() + i, s.data() + j, d);
    if (ec != std::errc() || ptr != s.data() + j || d <= 0 || d > (1LL << 31)) return std::nullopt;
    dims.push_back(d);
    i = j;
  }
  if (dims.empty() || dims.size() > 8) return std::nullopt;
  return dims;
}

std::string format_shape(const std::vector<std::int64_t>& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

namespace {

// Column names that appear twice (case-insensitively): the first one is used.
void warn_duplicate_columns(const std::vector<std::string>& header, const std::string& file,
                            std::vector<std::string>& warnings) {
  for (std::size_t i = 0; i < header.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (!header[i].empty() && lower(header[i]) == lower(header[j])) {
        warnings.push_back(file + ": column '" + header[i] +
                           "' appears twice; the first one is used");
      }
    }
  }
}

// Where each field is in a file's header; -1 when absent.
struct ProfileLayout {
  Column latency;
  Column power;
  Column temp;
  Column size;
  int precision_i = -1;
  int batch_i = -1;
  int shape_i = -1;
  int name_i = -1;
  int source_i = -1;
};

ProfileLayout find_columns(const std::vector<std::string>& header, const ProfileColumns& overrides,
                           const std::string& file, std::vector<std::string>& warnings) {
  ProfileLayout layout;
  layout.latency =
      find_measure(header, overrides.latency, "latency", kTimeUnits,
                   {{"trt_latency", 3}, {"latency", 2}}, "--latency-column", file, warnings);
  layout.power =
      find_measure(header, overrides.power, "power", kPowerUnits,
                   {{"power", 3}, {"total_power", 2}, {"board_power", 2}, {"gpu_power", 1}},
                   "--power-column", file, warnings);
  layout.temp = find_measure(header, overrides.temperature, "temp", kTempUnits,
                             {{"gpu_temp", 3}, {"temp", 2}, {"temperature", 2}}, "--temp-column",
                             file, warnings);
  layout.size = find_sized(header, "engine_size", kSizeUnits);
  layout.precision_i = find_named(header, {"engine_precision", "precision"});
  layout.batch_i = find_named(header, {"engine_batch", "batch", "batch_size"});
  layout.shape_i = find_named(header, {"engine_shape", "input_shape", "shape"});
  layout.name_i = find_named(header, {"engine_name", "engine", "model_name", "model"});
  layout.source_i =
      find_named(header, {"frame_source_name", "frame_source", "source_name", "source"});

  if (layout.latency.index < 0) {
    throw Error(ErrorCode::kFormat,
                "no latency column: expected a column like trt_latency_ms (the unit is the name's "
                "suffix: _ms, _us, _ns or _s), or name one with --latency-column")
        .with("file", file)
        .with("columns", join(header));
  }
  if (layout.precision_i < 0) {
    throw Error(ErrorCode::kFormat, "no precision column: expected engine_precision or precision")
        .with("file", file)
        .with("columns", join(header));
  }
  return layout;
}

// The mapping `qcal plan` reports: which header column became which field.
ColumnMapping describe_mapping(const std::vector<std::string>& header, const ProfileLayout& layout,
                               const std::string& file) {
  ColumnMapping map;
  map.file = file;
  auto name_of = [&](int i) { return i >= 0 ? header[i] : std::string(); };
  map.latency = layout.latency.name;
  map.power = layout.power.name;
  map.temperature = layout.temp.name;
  map.size = layout.size.name;
  map.precision = name_of(layout.precision_i);
  map.batch = name_of(layout.batch_i);
  map.shape = name_of(layout.shape_i);
  map.name = name_of(layout.name_i);
  map.source = name_of(layout.source_i);
  const int used[] = {layout.latency.index, layout.power.index, layout.temp.index,
                      layout.size.index,    layout.precision_i, layout.batch_i,
                      layout.shape_i,       layout.name_i,      layout.source_i};
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (std::find(std::begin(used), std::end(used), static_cast<int>(i)) == std::end(used)) {
      map.ignored.push_back(header[i]);
    }
  }
  return map;
}

// Replaces cells_in by the repaired cells when a row has more cells than the header; false, with
// the reason, when it cannot be repaired.
bool repair_cells(const CsvRecord& rec, std::size_t header_size, char delimiter,
                  std::vector<std::string>& repaired, const std::vector<std::string>*& cells_in,
                  std::size_t& rejoined, std::string& reason) {
  repaired = rec.cells;
  std::vector<std::string>& cells = repaired;
  // Trailing empty cells (a trailing delimiter) are harmless; an unquoted "[1, 3, 640, 640]"
  // is rejoined; anything else would shift values into the wrong columns.
  while (cells.size() > header_size && cells.back().empty()) cells.pop_back();
  if (cells.size() > header_size) {
    std::vector<std::string> joined = rejoin_brackets(cells, delimiter);
    if (joined.size() == header_size) {
      cells = std::move(joined);
      ++rejoined;
    }
  }
  if (cells.size() > header_size) {
    reason = "has " + std::to_string(rec.cells.size()) + " cells but the header has " +
             std::to_string(header_size) + " (an unquoted delimiter inside a value?)";
    return false;
  }
  cells_in = &repaired;
  return true;
}

// Reads one row's cells into a ProfileRun, collecting what is wrong with them.
class RowParser {
 public:
  RowParser(const std::vector<std::string>& header, const ProfileLayout& layout, char delimiter)
      : header_(header), layout_(layout), delimiter_(delimiter) {}

  std::vector<std::string> parse(const std::vector<std::string>& cells, ProfileRun& run) {
    cells_ = &cells;
    // Missing trailing cells read as empty.
    present_ = cells.size();
    std::vector<std::string> problems;
    parse_required(run, problems);
    if (layout_.name_i >= 0) run.engine_name = cell(layout_.name_i);
    if (layout_.source_i >= 0) run.frame_source = cell(layout_.source_i);
    parse_shape_and_batch(run, problems);
    optional_measure(layout_.power, run.power_w, {0.0, kMaxPowerW, "0 to 1e6 W"}, problems);
    optional_measure(layout_.temp, run.temp_c, {kAbsoluteZeroC, kMaxTempC, "-273.15 to 1000 C"},
                     problems);
    optional_measure(layout_.size, run.engine_size_mb, {0.0, kMaxSizeMb, "0 to 1e7 MB"}, problems);
    return problems;
  }

 private:
  const std::string& cell(int i) const {
    static const std::string kEmpty;
    return static_cast<std::size_t>(i) < present_ ? (*cells_)[static_cast<std::size_t>(i)] : kEmpty;
  }
  std::string missing_note(int i) const {
    return static_cast<std::size_t>(i) >= present_
               ? " (the row has " + std::to_string(present_) + " of " +
                     std::to_string(header_.size()) + " columns)"
               : std::string();
  }
  // Numbers: with ';' as delimiter a decimal comma ("12,5") is accepted.
  std::optional<double> number(const std::string& text) const {
    if (delimiter_ == ';' && text.find('.') == std::string::npos &&
        std::count(text.begin(), text.end(), ',') == 1) {
      std::string t = text;
      std::replace(t.begin(), t.end(), ',', '.');
      return parse_number(t);
    }
    return parse_number(text);
  }

  // Latency and precision: a row without them is unusable.
  void parse_required(ProfileRun& run, std::vector<std::string>& problems) const {
    const std::string& lat_text = cell(layout_.latency.index);
    if (lat_text.empty()) {
      problems.push_back(layout_.latency.name + " is empty" + missing_note(layout_.latency.index));
    } else if (auto v = number(lat_text); !v) {
      problems.push_back(layout_.latency.name + " '" + lat_text + "' is not a number");
    } else if (*v <= 0) {
      problems.push_back(layout_.latency.name + " " + lat_text + " is not positive");
    } else if (const double ms = *v * layout_.latency.unit.factor;
               !(ms >= kMinLatencyMs && ms <= kMaxLatencyMs)) {
      problems.push_back(layout_.latency.name + " " + lat_text +
                         " is outside physical latencies (1 ns to 1e9 ms)");
    } else {
      run.latency_ms = ms;
    }

    const std::string& prec_text = cell(layout_.precision_i);
    run.precision = canonical_precision(prec_text);
    if (prec_text.empty()) {
      problems.push_back(header_[layout_.precision_i] + " is empty" +
                         missing_note(layout_.precision_i));
    } else if (run.precision.empty()) {
      problems.push_back(header_[layout_.precision_i] + " '" + prec_text +
                         "' is not a precision name");
    }
  }

  void parse_shape_and_batch(ProfileRun& run, std::vector<std::string>& problems) {
    if (layout_.shape_i >= 0 && !cell(layout_.shape_i).empty()) {
      // Logs repeat one shape for thousands of rows: parse a new text only.
      if (cell(layout_.shape_i) != last_shape_text_) {
        last_shape_text_ = cell(layout_.shape_i);
        last_shape_ = parse_shape(last_shape_text_);
      }
      if (last_shape_) {
        run.shape = *last_shape_;
      } else {
        problems.push_back(header_[layout_.shape_i] + " '" + cell(layout_.shape_i) +
                           "' is not a list of positive dimensions");
      }
    }

    if (layout_.batch_i >= 0 && !cell(layout_.batch_i).empty()) {
      auto v = number(cell(layout_.batch_i));
      if (!v || *v < 1 || *v != std::floor(*v) || *v > 1e6) {
        problems.push_back(header_[layout_.batch_i] + " '" + cell(layout_.batch_i) +
                           "' is not a positive integer");
      } else {
        run.batch = static_cast<std::int64_t>(*v);
      }
    } else if (!run.shape.empty()) {
      run.batch = run.shape[0];  // NCHW: the batch is the leading dimension
    }
  }

  // Optional measurements: an empty cell means "not measured"; text that is there but is not a
  // number makes the row unusable (the log is corrupt there, the rest may be too).
  void optional_measure(const Column& col, std::optional<double>& out, const PhysicalRange& range,
                        std::vector<std::string>& problems) const {
    if (col.index < 0) return;
    const std::string& t = cell(col.index);
    if (t.empty()) return;
    auto v = number(t);
    if (!v) {
      problems.push_back(col.name + " '" + t + "' is not a number");
      return;
    }
    const double value = *v * col.unit.factor + col.unit.offset;
    if (range.lowest == 0.0 && value < 0) {
      problems.push_back(col.name + " " + t + " is negative");
    } else if (!(value >= range.lowest && value <= range.highest)) {
      problems.push_back(col.name + " " + t + " is outside physical values (" + range.text + ")");
    } else {
      out = value;
    }
  }

  const std::vector<std::string>& header_;
  const ProfileLayout& layout_;
  const char delimiter_;
  const std::vector<std::string>* cells_ = nullptr;
  std::size_t present_ = 0;
  std::string last_shape_text_;
  std::optional<std::vector<std::int64_t>> last_shape_;
};

void load_one(const std::filesystem::path& path, const ProfileColumns& overrides, ProfileSet& set) {
  const std::string file = path.string();
  // Streamed: one record at a time, so a large log is not held as millions of strings.
  const std::string content = read_file(path);
  CsvReader reader(content);
  CsvRecord header_record;
  if (!reader.next(header_record)) {
    throw Error(ErrorCode::kFormat, "the CSV file is empty (no header row)").with("file", file);
  }
  if (!header_record.error.empty()) {
    throw Error(ErrorCode::kFormat, "the CSV header row is malformed: " + header_record.error)
        .with("file", file);
  }
  const std::vector<std::string>& header = header_record.cells;
  const char delimiter = reader.delimiter();
  warn_duplicate_columns(header, file, set.warnings);
  const ProfileLayout layout = find_columns(header, overrides, file, set.warnings);
  set.mappings.push_back(describe_mapping(header, layout, file));

  std::size_t rejoined = 0;
  const auto file_index = static_cast<std::uint32_t>(set.mappings.size() - 1);
  // One cheap pass over the bytes bounds the row count, so the runs vector never reallocates
  // (on a 200k-row log the moves and page faults of its growth cost more than the parsing).
  set.runs.reserve(set.runs.size() +
                   static_cast<std::size_t>(std::count(content.begin(), content.end(), '\n')) + 1);
  CsvRecord rec;
  std::vector<std::string> repaired;
  RowParser parser(header, layout, delimiter);
  while (reader.next(rec)) {
    ++set.rows_read;
    auto reject = [&](std::string reason) {
      set.rejected.push_back({file, rec.line, std::move(reason)});
    };
    if (!rec.error.empty()) {
      reject("malformed CSV: " + rec.error);
      continue;
    }
    const std::vector<std::string>* cells_in = &rec.cells;
    if (rec.cells.size() > header.size()) {
      std::string reason;
      if (!repair_cells(rec, header.size(), delimiter, repaired, cells_in, rejoined, reason)) {
        reject(std::move(reason));
        continue;
      }
    }
    ProfileRun run;
    run.file_index = file_index;
    run.line = rec.line;
    const std::vector<std::string> problems = parser.parse(*cells_in, run);
    if (!problems.empty()) {
      std::string reason;
      for (const auto& p : problems) reason += (reason.empty() ? "" : "; ") + p;
      reject(std::move(reason));
      continue;
    }
    set.runs.push_back(std::move(run));
  }
  if (rejoined > 0) {
    set.warnings.push_back(file + ": " + std::to_string(rejoined) +
                           " row(s) had an unquoted bracketed list split by the delimiter; it "
                           "was rejoined");
  }
}

}  // namespace

ProfileSet load_profiles(const std::vector<std::filesystem::path>& paths,
                         const ProfileColumns& columns) {
  if (paths.empty()) throw_invalid("no profiling CSV given");
  ProfileSet set;
  for (const auto& p : paths) load_one(p, columns, set);
  return set;
}

}  // namespace qcal::plan
