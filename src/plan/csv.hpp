// RFC 4180 CSV reader for profiling logs: quoted fields with embedded commas, quotes and
// newlines, UTF-8 BOM, CRLF/LF/CR line ends, ragged rows. Malformed records are returned with a
// reason instead of aborting the file, so the caller can report them row by row.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace qcal::plan {

struct CsvRecord {
  std::size_t line = 0;            // 1-based physical line where the record starts
  std::vector<std::string> cells;  // unquoted cell values; unquoted cells are trimmed
  std::string error;               // non-empty when the record is malformed (cells unreliable)
};

struct CsvTable {
  char delimiter = ',';
  CsvRecord header;                // first non-blank record
  std::vector<CsvRecord> records;  // the data records after the header, blank lines skipped
};

// Streaming reader: one record at a time, reusing the caller's record buffers, so a large log is
// never held as strings all at once. `text` must outlive the reader; a BOM is skipped.
class CsvReader {
 public:
  explicit CsvReader(std::string_view text);
  char delimiter() const { return delim_; }
  // The next non-blank record (the first one is the header); false at the end of the text.
  bool next(CsvRecord& rec);

 private:
  bool parse_cell(CsvRecord& rec, std::size_t field, std::string& cell);
  bool parse_quoted(CsvRecord& rec, std::size_t field, std::string& cell);
  bool eat_line_end();

  std::string_view text_;
  char delim_ = ',';
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

// Parses CSV text. The delimiter is sniffed from the header line: ',' unless the header holds no
// comma outside quotes but holds ';' or a tab (spreadsheet exports in some locales).
// Never throws on content; an empty text gives an empty header.
CsvTable parse_csv(std::string_view text);

// Reads and parses a file; throws kIo naming the file when it cannot be read, and kFormat when
// it has no header row.
CsvTable read_csv_file(const std::filesystem::path& path);

}  // namespace qcal::plan
