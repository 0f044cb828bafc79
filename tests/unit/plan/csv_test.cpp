// CSV reader: RFC 4180 quoting, BOM, line ends, delimiters, malformed records.
#include "plan/csv.hpp"

#include <gtest/gtest.h>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "test_support.hpp"

namespace qcal::plan {
namespace {

TEST(Csv, QuotedFieldsWithCommasQuotesAndNewlines) {
  CsvTable t = parse_csv("a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\r\nlines\",3\n");
  ASSERT_EQ(t.header.cells, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_EQ(t.records[0].cells, (std::vector<std::string>{"1", "x, y", "say \"hi\""}));
  EXPECT_EQ(t.records[1].cells, (std::vector<std::string>{"2", "two\nlines", "3"}));
  EXPECT_EQ(t.records[0].line, 2u);
  EXPECT_EQ(t.records[1].line, 3u);
  EXPECT_TRUE(t.records[0].error.empty());
}

TEST(Csv, BomCrlfBlankLinesAndTrimming) {
  std::string text = "\xEF\xBB\xBFname , value\r\n\r\n  a ,  1 \r\nb,2";  // no final line end
  CsvTable t = parse_csv(text);
  EXPECT_EQ(t.header.cells, (std::vector<std::string>{"name", "value"}));
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_EQ(t.records[0].cells, (std::vector<std::string>{"a", "1"}));
  EXPECT_EQ(t.records[0].line, 3u);  // the blank line 2 is skipped but counted
  EXPECT_EQ(t.records[1].cells, (std::vector<std::string>{"b", "2"}));
}

TEST(Csv, LoneCarriageReturnEndsLines) {
  CsvTable t = parse_csv("a,b\r1,2\r3,4\r");
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_EQ(t.records[1].cells, (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(t.records[1].line, 3u);
}

TEST(Csv, EmptyCellsAndRaggedRowsAreKept) {
  CsvTable t = parse_csv("a,b,c\n1,,3\n4\n5,6,7,8\n,,\n");
  ASSERT_EQ(t.records.size(), 4u);
  EXPECT_EQ(t.records[0].cells, (std::vector<std::string>{"1", "", "3"}));
  EXPECT_EQ(t.records[1].cells, (std::vector<std::string>{"4"}));
  EXPECT_EQ(t.records[2].cells.size(), 4u);
  EXPECT_EQ(t.records[3].cells, (std::vector<std::string>{"", "", ""}));
}

TEST(Csv, SniffsSemicolonAndTabDelimiters) {
  CsvTable s = parse_csv("a;b\n\"1;5\";2\n");
  EXPECT_EQ(s.delimiter, ';');
  EXPECT_EQ(s.records[0].cells, (std::vector<std::string>{"1;5", "2"}));
  CsvTable t = parse_csv("a\tb\n1\t2\n");
  EXPECT_EQ(t.delimiter, '\t');
  EXPECT_EQ(t.records[0].cells, (std::vector<std::string>{"1", "2"}));
  // A comma in the header wins, even when a semicolon appears too.
  EXPECT_EQ(parse_csv("a,b;c\n").delimiter, ',');
}

TEST(Csv, UnterminatedQuoteIsAnErrorOnThatRecord) {
  CsvTable t = parse_csv("a,b\n1,2\n3,\"never closed\n4,5\n");
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_TRUE(t.records[0].error.empty());
  EXPECT_NE(t.records[1].error.find("never closed"), std::string::npos);
  EXPECT_NE(t.records[1].error.find("line 3"), std::string::npos);
}

TEST(Csv, TextAfterClosingQuoteIsMalformedButParsingResumes) {
  CsvTable t = parse_csv("a,b\n\"x\"y,1\n2,3\n");
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_NE(t.records[0].error.find("after the closing quote of field 1"), std::string::npos);
  EXPECT_TRUE(t.records[1].error.empty());
  EXPECT_EQ(t.records[1].cells, (std::vector<std::string>{"2", "3"}));
}

TEST(Csv, LiteralQuoteInsideUnquotedCellIsKept) {
  CsvTable t = parse_csv("a,b\n12\" screen,1\n");
  EXPECT_EQ(t.records[0].cells[0], "12\" screen");
  EXPECT_TRUE(t.records[0].error.empty());
}

TEST(Csv, EmptyFileIsAFormatErrorNamingTheFile) {
  test::TempDir dir;
  write_file_atomic(dir / "empty.csv", "\xEF\xBB\xBF\r\n\r\n");
  try {
    read_csv_file(dir / "empty.csv");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormat);
    EXPECT_NE(e.describe().find("empty.csv"), std::string::npos);
  }
  EXPECT_THROW(read_csv_file(dir / "missing.csv"), Error);
}

}  // namespace
}  // namespace qcal::plan
