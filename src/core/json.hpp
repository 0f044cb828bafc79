// JSON input with limits: parsing bounded in nesting depth, errors that name the file and the
// line:column, and bounded excerpts of values for error messages.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace qcal {

// Deeper documents are refused before nlohmann parses them: its serialiser and every consumer
// that walks a value recurse once per level, so a 100,000-deep array would exhaust the stack.
// No format qcal reads nests more than a handful of levels.
inline constexpr std::size_t kMaxJsonDepth = 128;
// Longest excerpt of a value quoted in an error message, in characters.
inline constexpr std::size_t kJsonExcerptChars = 80;

// Parses `text` as JSON. Throws kFormat naming `what` (usually the file) and the line:column for
// a syntax error, a document nested deeper than kMaxJsonDepth, or a number outside double's
// range (1e400).
nlohmann::json parse_json(std::string_view text, const std::string& what);
nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& what);

// `value` serialised compactly, cut to at most max_chars characters (with "..." when cut); the
// work is bounded by max_chars, whatever the value's size and depth.
std::string json_excerpt(const nlohmann::json& value, std::size_t max_chars = kJsonExcerptChars);
std::string json_excerpt(const nlohmann::ordered_json& value,
                         std::size_t max_chars = kJsonExcerptChars);

// "line L, column C" of byte `offset` in `text` (1-based, columns in bytes).
std::string text_location(std::string_view text, std::size_t offset);

}  // namespace qcal
