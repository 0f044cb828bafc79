// JSON input with limits: a depth pre-scan, nlohmann's parser, located errors, bounded excerpts.
#include "core/json.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace qcal {
namespace {

[[noreturn]] void throw_json(const std::string& message, const std::string& what) {
  Error e(ErrorCode::kFormat, "invalid JSON: " + message);
  e.with("file", what);
  throw e;
}

// Throws when brackets nest deeper than kMaxJsonDepth. One pass over the bytes, no recursion;
// brackets inside strings do not count.
void check_json_depth(std::string_view text, const std::string& what) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        throw_json("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels at " +
                       text_location(text, i),
                   what);
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string plain_message(const nlohmann::json::exception& ex) {
  std::string m = ex.what();
  if (!m.empty() && m[0] == '[') {
    const auto end = m.find("] ");
    if (end != std::string::npos) m.erase(0, end + 2);
  }
  return m;
}

// Where the number in "number overflow parsing '1e400'" sits in the text (nlohmann gives no
// position for it).
std::string overflow_location(std::string_view text, const std::string& message) {
  const auto open = message.find('\'');
  const auto close = message.rfind('\'');
  if (open == std::string::npos || close <= open + 1) return "";
  const std::string token = message.substr(open + 1, close - open - 1);
  const auto at = text.find(token);
  return at == std::string_view::npos ? "" : " at " + text_location(text, at);
}

template <typename Json>
Json parse_with_limits(std::string_view text, const std::string& what) {
  check_json_depth(text, what);
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& ex) {
    throw_json(plain_message(ex), what);
  } catch (const nlohmann::json::out_of_range& ex) {
    // 406: a number beyond double's range, e.g. 1e400.
    const std::string m = plain_message(ex);
    throw_json(m + " (beyond the range of a double)" + overflow_location(text, m), what);
  } catch (const nlohmann::json::exception& ex) {
    throw_json(plain_message(ex), what);
  }
}

// Drops a trailing partial UTF-8 sequence so a cut never splits a character.
void trim_utf8_tail(std::string& s) {
  std::size_t keep = s.size();
  while (keep > 0 && (static_cast<unsigned char>(s[keep - 1]) & 0xC0) == 0x80) --keep;
  if (keep > 0 && static_cast<unsigned char>(s[keep - 1]) >= 0xC0) {
    const auto lead = static_cast<unsigned char>(s[keep - 1]);
    const std::size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (s.size() - (keep - 1) < need) s.resize(keep - 1);
  }
}

template <typename Json>
void append_string(const std::string& s, std::string& out, std::size_t limit) {
  std::string head = s.substr(0, std::min(s.size(), limit + 1));
  trim_utf8_tail(head);
  out += Json(head).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Appends value's compact serialisation until out passes limit characters. Each level adds at
// least one character, so the recursion is at most limit + 1 deep whatever the value.
template <typename Json>
void append_excerpt(const Json& value, std::string& out, std::size_t limit) {
  if (out.size() > limit) return;
  if (value.is_array() || value.is_object()) {
    const bool object = value.is_object();
    out += object ? '{' : '[';
    bool first = true;
    for (auto it = value.begin(); it != value.end() && out.size() <= limit; ++it) {
      if (!first) out += ',';
      first = false;
      if (object) {
        append_string<Json>(it.key(), out, limit);
        out += ':';
      }
      append_excerpt(it.value(), out, limit);
    }
    out += object ? '}' : ']';
  } else if (value.is_string()) {
    append_string<Json>(value.template get_ref<const std::string&>(), out, limit);
  } else {
    out += value.dump();
  }
}

template <typename Json>
std::string excerpt_of(const Json& value, std::size_t max_chars) {
  std::string out;
  append_excerpt(value, out, max_chars);
  if (out.size() > max_chars) {
    out.resize(max_chars > 3 ? max_chars - 3 : 0);
    trim_utf8_tail(out);
    out += "...";
  }
  return out;
}

}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string& what) {
  return parse_with_limits<nlohmann::json>(text, what);
}

nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& what) {
  return parse_with_limits<nlohmann::ordered_json>(text, what);
}

std::string json_excerpt(const nlohmann::json& value, std::size_t max_chars) {
  return excerpt_of(value, max_chars);
}

std::string json_excerpt(const nlohmann::ordered_json& value, std::size_t max_chars) {
  return excerpt_of(value, max_chars);
}

std::string text_location(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1);
}

}  // namespace qcal
