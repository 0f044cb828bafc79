// List-file reading and writing with one escaping-free rule: what the writer accepts, the reader
// reads back byte for byte.
#include "core/list_file.hpp"

#include <string_view>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;

namespace qcal {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Length of the UTF-8 sequence starting at s[i] (1..4), or 0 when it is not valid UTF-8
// (overlong forms, surrogates and code points past U+10FFFF included).
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  }
  return n;
}

// The first reason `text` is not a line of list text (tab allowed), or empty.
std::string text_problem(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0) return "a NUL byte";
    if (c == '\n' || c == '\r') return "a line break";
    if ((c < 0x20 && c != '\t') || c == 0x7F) return "a control character";
    const std::size_t n = utf8_length(text, i);
    if (n == 0) return "bytes that are not UTF-8";
    i += n;
  }
  return {};
}

std::string_view trim(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return line;
}

Error list_error(const std::string& message, const fs::path& list_path, std::size_t line) {
  return Error(ErrorCode::kFormat, message)
      .with("file", list_path.string())
      .with("line", std::to_string(line));
}

}  // namespace

std::vector<fs::path> read_list_file(const fs::path& list_path, const fs::path& base_dir) {
  std::string_view text;
  const std::string content = read_file(list_path);
  text = content;
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  std::vector<fs::path> out;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (const std::string why = text_problem(line); !why.empty()) {
      throw list_error("not a list file: line " + std::to_string(number) + " holds " + why +
                           " (a list file is UTF-8 text, one path per line)",
                       list_path, number);
    }
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    const fs::path p(line);
    fs::path resolved = p.is_absolute() ? p : base_dir / p;
    std::error_code ec;
    if (!fs::exists(resolved, ec)) {
      throw list_error("line " + std::to_string(number) + " names '" + std::string(line) +
                           "', which does not exist" +
                           (p.is_absolute() ? std::string()
                                            : " (relative entries are relative to the list "
                                              "file's folder)"),
                       list_path, number)
          .with("path", resolved.string());
    }
    out.push_back(std::move(resolved));
  }
  return out;
}

std::string list_line(const fs::path& entry) {
  const std::string s = entry.string();
  std::string why = text_problem(s);
  if (why.empty() && s.empty()) why = "nothing (an empty path)";
  if (why.empty() && trim(s) != s) why = "blanks at its start or end";
  if (why.empty() && s.front() == '#') why = "a leading '#' (a comment in a list file)";
  if (!why.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "this path cannot be written to a list file: it holds " + why +
                    " (one path per line, read back as written); rename the file")
        .with("path", s);
  }
  return s;
}

std::string list_text(const std::vector<fs::path>& entries) {
  std::string text;
  for (const auto& e : entries) text += list_line(e) + "\n";
  return text;
}

}  // namespace qcal
