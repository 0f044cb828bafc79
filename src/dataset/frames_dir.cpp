// Recognises an earlier `qcal frames` run by its frames.csv: the "output" column names every file
// it wrote.
#include "dataset/frames_dir.hpp"

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;

namespace qcal::dataset {
namespace {

// One CSV record as frames.csv writes it (fields quoted when they hold , " or a line break;
// "" inside quotes). Returns false at the end of the text.
bool next_record(const std::string& text, std::size_t& pos, std::vector<std::string>& fields) {
  fields.assign(1, {});
  if (pos >= text.size()) return false;
  bool quoted = false;
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (quoted) {
      if (c == '"' && pos + 1 < text.size() && text[pos + 1] == '"') {
        fields.back() += '"';
        ++pos;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      ++pos;
      return true;
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return true;
}

Error foreign_entry(const fs::path& out_dir, const std::string& entry, const std::string& why) {
  const std::string message =
      "the output folder is not empty and does not hold only an earlier qcal frames run (" + why +
      "); choose another folder or empty it";
  return Error(ErrorCode::kInvalidArgument, message)
      .with("path", out_dir.string())
      .with("file", entry);
}

// The names an earlier run wrote, from its frames.csv.
std::set<std::string> earlier_run_files(const fs::path& out_dir, const std::string& first) {
  const fs::path csv = out_dir / kFramesCsvName;
  std::error_code ec;
  if (!fs::is_regular_file(csv, ec)) throw foreign_entry(out_dir, first, "no frames.csv");
  const std::string text = read_file(csv);
  std::size_t pos = 0;
  std::vector<std::string> fields;
  if (!next_record(text, pos, fields) || fields.size() != 5 || fields[3] != "output") {
    throw foreign_entry(out_dir, kFramesCsvName, "frames.csv is not one qcal frames writes");
  }
  std::set<std::string> ours = {kFramesCsvName, kProfileSourcesName};
  while (next_record(text, pos, fields)) {
    if (fields.size() != 5) {
      throw foreign_entry(out_dir, kFramesCsvName, "frames.csv is not one qcal frames writes");
    }
    if (!fields[3].empty()) ours.insert(fields[3]);
  }
  return ours;
}

}  // namespace

void check_frames_out_dir(const fs::path& out_dir) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(out_dir, ec))) return;
  if (!fs::is_directory(out_dir, ec)) {
    throw Error(ErrorCode::kIo, "the output path exists and is not a folder")
        .with("path", out_dir.string());
  }
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(out_dir)) {
    entries.push_back(e.path().filename().string());
  }
  if (entries.empty()) return;
  const std::set<std::string> ours = earlier_run_files(out_dir, entries.front());
  for (const auto& name : entries) {
    if (!ours.count(name)) throw foreign_entry(out_dir, name, "frames.csv does not list it");
  }
}

}  // namespace qcal::dataset
