// RFC 4180 CSV reader implementation: one pass, a small state machine over the bytes.
#include "plan/csv.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace qcal::plan {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view strip_bom(std::string_view text) {
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF) {
    text.remove_prefix(3);
  }
  return text;
}

// The delimiter of the first line, judged outside quotes.
char sniff_delimiter(std::string_view text) {
  std::size_t commas = 0, semicolons = 0, tabs = 0;
  bool quoted = false;
  for (char c : text) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '\n' || c == '\r') break;
    if (c == ',') ++commas;
    if (c == ';') ++semicolons;
    if (c == '\t') ++tabs;
  }
  if (commas > 0) return ',';
  if (semicolons > 0) return ';';
  if (tabs > 0) return '\t';
  return ',';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Blank lines parse as one empty cell; they are skipped.
bool is_blank_record(const CsvRecord& r) {
  return r.error.empty() && r.cells.size() == 1 && r.cells[0].empty();
}

}  // namespace

CsvReader::CsvReader(std::string_view text)
    : text_(strip_bom(text)), delim_(sniff_delimiter(text_)) {}

bool CsvReader::next(CsvRecord& out) {
  for (;;) {
    if (pos_ >= text_.size()) {
      out.cells.clear();
      out.error.clear();
      return false;
    }
    out.line = line_;
    out.error.clear();
    // Cells are parsed into the record's existing strings, so their buffers are reused.
    std::size_t n = 0;
    for (;;) {
      if (n == out.cells.size()) out.cells.emplace_back();
      std::string& cell = out.cells[n];
      cell.clear();
      bool at_end_of_record = parse_cell(out, n, cell);
      ++n;
      if (at_end_of_record) break;
    }
    out.cells.resize(n);
    if (!is_blank_record(out)) return true;
  }
}

// Consumes a line end at pos_ if there is one ("\r\n", "\n" or "\r").
bool CsvReader::eat_line_end() {
  if (pos_ >= text_.size()) return false;
  if (text_[pos_] == '\r') {
    ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
    ++line_;
    return true;
  }
  if (text_[pos_] == '\n') {
    ++pos_;
    ++line_;
    return true;
  }
  return false;
}

// Parses one cell into `cell` (empty on entry); returns true when the record ends after it.
bool CsvReader::parse_cell(CsvRecord& rec, std::size_t field, std::string& cell) {
  std::size_t start = pos_;
  while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
  if (pos_ < text_.size() && text_[pos_] == '"') return parse_quoted(rec, field, cell);
  pos_ = start;
  // A quote inside an unquoted cell (12" screen) is kept literally, as most readers do.
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == delim_) {
      cell.assign(trim(text_.substr(start, pos_ - start)));
      ++pos_;
      return false;
    }
    if (c == '\n' || c == '\r') {
      cell.assign(trim(text_.substr(start, pos_ - start)));
      eat_line_end();
      return true;
    }
    ++pos_;
  }
  cell.assign(trim(text_.substr(start, pos_ - start)));
  return true;
}

bool CsvReader::parse_quoted(CsvRecord& rec, std::size_t field, std::string& cell) {
  std::size_t open_line = line_;
  ++pos_;  // opening quote
  for (;;) {
    if (pos_ >= text_.size()) {
      if (rec.error.empty()) {
        rec.error = "a quoted field opened on line " + std::to_string(open_line) +
                    " is never closed (it runs to the end of the file)";
      }
      return true;
    }
    char c = text_[pos_];
    if (c == '"') {
      if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
        cell.push_back('"');
        pos_ += 2;
        continue;
      }
      ++pos_;  // closing quote
      break;
    }
    if (c == '\r' || c == '\n') {
      // Embedded line end: kept as "\n" whatever the file uses, and counted for line numbers.
      eat_line_end();
      cell.push_back('\n');
      continue;
    }
    cell.push_back(c);
    ++pos_;
  }
  while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
  if (pos_ >= text_.size()) return true;
  char c = text_[pos_];
  if (c == delim_) {
    ++pos_;
    return false;
  }
  if (eat_line_end()) return true;
  // Text after the closing quote ("ab"cd): RFC 4180 forbids it; keep going to the end of the
  // cell so the next record starts in the right place, and mark the record malformed.
  if (rec.error.empty()) {
    rec.error = "text after the closing quote of field " + std::to_string(field + 1);
    if (open_line != line_) {
      rec.error += " (the quoted field runs from line " + std::to_string(open_line) + " to line " +
                   std::to_string(line_) + ": an unbalanced quote?)";
    }
  }
  while (pos_ < text_.size()) {
    c = text_[pos_];
    if (c == delim_) {
      ++pos_;
      return false;
    }
    if (eat_line_end()) return true;
    cell.push_back(c);
    ++pos_;
  }
  return true;
}

CsvTable parse_csv(std::string_view text) {
  CsvReader reader(text);
  CsvTable table;
  table.delimiter = reader.delimiter();
  if (!reader.next(table.header)) return table;
  CsvRecord rec;
  while (reader.next(rec)) table.records.push_back(rec);
  return table;
}

CsvTable read_csv_file(const std::filesystem::path& path) {
  std::string text = read_file(path);
  CsvTable table = parse_csv(text);
  if (table.header.cells.empty()) {
    throw Error(ErrorCode::kFormat, "the CSV file is empty (no header row)")
        .with("file", path.string());
  }
  if (!table.header.error.empty()) {
    throw Error(ErrorCode::kFormat, "the CSV header row is malformed: " + table.header.error)
        .with("file", path.string());
  }
  return table;
}

}  // namespace qcal::plan
