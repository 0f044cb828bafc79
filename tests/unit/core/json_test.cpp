// core/json: depth-limited parsing, located errors, bounded excerpts.
#include "core/json.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"

namespace qcal {
namespace {

std::string parse_error_of(const std::string& text) {
  try {
    (void)parse_json(text, "recipe.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormat);
    return e.describe();
  }
  ADD_FAILURE() << "no error for " << text.substr(0, 40);
  return "";
}

TEST(Json, DeepNestingIsRefusedWithItsLocation) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string message = parse_error_of(deep);
  EXPECT_NE(message.find("nested deeper than 128 levels at line 1, column 129"), std::string::npos)
      << message;
  EXPECT_NE(message.find("file: recipe.json"), std::string::npos) << message;
  EXPECT_LT(message.size(), 200u);
}

TEST(Json, NestingAtTheLimitParsesAndBracketsInStringsDoNotCount) {
  const std::string at_limit = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(parse_json(at_limit, "x").is_array());
  const std::string in_string = "{\"a\": \"" + std::string(1000, '[') + "\\\"[\"}";
  EXPECT_EQ(parse_json(in_string, "x")["a"].get<std::string>().size(), 1002u);
}

TEST(Json, NumberOverflowNamesTheLocation) {
  const std::string message = parse_error_of("{\n  \"std\": [1, 1e400]\n}");
  EXPECT_NE(message.find("1e400"), std::string::npos) << message;
  EXPECT_NE(message.find("line 2, column 14"), std::string::npos) << message;
}

TEST(Json, SyntaxErrorNamesLineAndColumn) {
  const std::string message = parse_error_of("{\n  \"a\": ,\n}");
  EXPECT_NE(message.find("line 2, column"), std::string::npos) << message;
  EXPECT_EQ(message.find("[json.exception"), std::string::npos) << message;
}

TEST(Json, ExcerptIsBoundedWhateverTheValue) {
  // A value built in memory, deeper than any parse would allow: the excerpt does bounded work.
  nlohmann::json deep = nlohmann::json::array();
  for (int i = 0; i < 20000; ++i) deep = nlohmann::json::array({std::move(deep)});
  const std::string e = json_excerpt(deep);
  EXPECT_EQ(e.size(), kJsonExcerptChars);
  EXPECT_EQ(e.substr(e.size() - 3), "...");
  EXPECT_EQ(json_excerpt(nlohmann::json::parse(R"({"a":[1,2.5,"x"]})")), R"({"a":[1,2.5,"x"]})");
  EXPECT_EQ(json_excerpt(nlohmann::json(std::string(500, 'z')), 10), "\"zzzzzz...");
  // A cut never splits a UTF-8 character.
  const std::string e2 = json_excerpt(nlohmann::json(std::string(100, 'a') + "\xc3\xa9"
                                                                             "bbbb"),
                                      105);
  EXPECT_EQ(e2.find('\xc3'), std::string::npos) << e2;
}

}  // namespace
}  // namespace qcal
