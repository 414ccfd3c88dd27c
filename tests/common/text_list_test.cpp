// The one line reader behind every TSV and list input: CRLF, blank lines, tab splitting, the
// header, line numbers in messages, unreadable files; and read_text_list on top of it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "conceptree/error.hpp"
#include "conceptree/text_list.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using conceptree::testing::input_error_from;
using conceptree::testing::ScratchDir;
using conceptree::testing::write_text;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct SeenLine {
  std::size_t number;
  std::vector<std::string> fields;
  std::string where;
};

std::vector<SeenLine> read_lines(const fs::path& path, const TsvHeaderTest& is_header = {}) {
  std::vector<SeenLine> seen;
  for_each_tsv_line(
      path, [&](const TsvLine& line) { seen.push_back({line.number, line.fields, line.where()}); }, is_header);
  return seen;
}

bool first_field_is_id(const std::vector<std::string>& fields) { return fields[0] == "id"; }

TEST(TsvReader, CrlfLineEndingsLeaveNoCarriageReturns) {
  const ScratchDir dir;
  write_text(dir / "t.tsv", "a\tb\r\nc\td\r\ne\r\n");
  const auto lines = read_lines(dir / "t.tsv");
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_THAT(lines[0].fields, ElementsAre("a", "b"));
  EXPECT_THAT(lines[1].fields, ElementsAre("c", "d"));
  EXPECT_THAT(lines[2].fields, ElementsAre("e"));
}

TEST(TsvReader, BlankAndWhitespaceOnlyLinesAreSkippedButCounted) {
  const ScratchDir dir;
  write_text(dir / "t.tsv", "\na\n   \n\t\n\r\nb\n\n");
  const auto lines = read_lines(dir / "t.tsv");
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0].number, 2U);
  EXPECT_EQ(lines[1].number, 6U);
  EXPECT_EQ(lines[1].where, (dir / "t.tsv").string() + ":6");
}

TEST(TsvReader, EveryTabSplitsSoEmptyFieldsKeepTheirPlace) {
  const ScratchDir dir;
  write_text(dir / "t.tsv", "a\t\tc\n\tb\na\t\nno tab\n a \t b ");
  const auto lines = read_lines(dir / "t.tsv");
  ASSERT_EQ(lines.size(), 5U);
  EXPECT_THAT(lines[0].fields, ElementsAre("a", "", "c"));
  EXPECT_THAT(lines[1].fields, ElementsAre("", "b"));
  EXPECT_THAT(lines[2].fields, ElementsAre("a", ""));
  EXPECT_THAT(lines[3].fields, ElementsAre("no tab"));
  EXPECT_THAT(lines[4].fields, ElementsAre(" a ", " b "));
}

TEST(TsvReader, TextFromRejoinsTheRestOfTheLine) {
  const ScratchDir dir;
  write_text(dir / "t.tsv", "id\tfree\ttext\t\n");
  std::vector<std::string> texts;
  for_each_tsv_line(dir / "t.tsv", [&](const TsvLine& line) {
    for (std::size_t first = 0; first <= line.fields.size(); ++first) texts.push_back(line.text_from(first));
  });
  EXPECT_THAT(texts, ElementsAre("id\tfree\ttext\t", "free\ttext\t", "text\t", "", ""));
}

TEST(TsvReader, TheHeaderTestSeesOnlyTheFirstNonBlankLine) {
  const ScratchDir dir;
  write_text(dir / "t.tsv", "\n\nid\tname\nx\t1\nid\tagain\n");
  const auto lines = read_lines(dir / "t.tsv", first_field_is_id);
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0].number, 4U);
  EXPECT_THAT(lines[1].fields, ElementsAre("id", "again"));

  write_text(dir / "plain.tsv", "x\t1\nid\tname\n");
  EXPECT_EQ(read_lines(dir / "plain.tsv", first_field_is_id).size(), 2U);
  EXPECT_EQ(read_lines(dir / "t.tsv").size(), 3U) << "without a header test every line is data";
}

TEST(TsvReader, AFileWithoutAFinalNewlineKeepsItsLastLine) {
  const ScratchDir dir;
  write_text(dir / "t.tsv", "a\tb\nc\td");
  const auto lines = read_lines(dir / "t.tsv");
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_THAT(lines[1].fields, ElementsAre("c", "d"));
}

TEST(TsvReader, AMissingFileIsAnInputErrorNamingIt) {
  const ScratchDir dir;
  const auto error = input_error_from([&] { read_lines(dir / "absent.tsv"); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->item(), (dir / "absent.tsv").string());
  EXPECT_EQ(error->problem(), "cannot open");
}

TEST(TsvReader, AFileThatCannotBeReadIsAnInputErrorNamingIt) {
  const ScratchDir dir;
  // A folder opens like a file on Linux, and its first read fails.
  fs::create_directories(dir / "folder.tsv");
  const auto error = input_error_from([&] { read_lines(dir / "folder.tsv"); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->item(), (dir / "folder.tsv").string());
  EXPECT_EQ(error->problem(), "read error");
}

TEST(TsvReader, ErrorsFromTheCallerNameTheLine) {
  const ScratchDir dir;
  write_text(dir / "t.tsv", "a\tb\n\nbad\n");
  const auto error = input_error_from([&] {
    for_each_tsv_line(dir / "t.tsv", [](const TsvLine& line) {
      if (line.fields.size() != 2) throw InputError(line.where(), "expected two fields");
    });
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->item(), (dir / "t.tsv").string() + ":3");
  EXPECT_THAT(error->what(), HasSubstr("t.tsv:3: expected two fields"));
}

TEST(TextList, OneEntryPerLineWithCrlfAndTrailingBlankLines) {
  const ScratchDir dir;
  write_text(dir / "ids.txt", "t1\r\nt 2\r\nt3\twith a tab\r\n\r\n  \n");
  EXPECT_THAT(read_text_list(dir / "ids.txt"), ElementsAre("t1", "t 2", "t3\twith a tab"));
}

TEST(TextList, ABlankLineInsideTheListIsAnErrorAtThatLine) {
  const ScratchDir dir;
  write_text(dir / "ids.txt", "t1\nt2\n\n \nt3\n");
  auto error = input_error_from([&] { read_text_list(dir / "ids.txt"); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->item(), (dir / "ids.txt").string() + ":3");
  EXPECT_EQ(error->problem(), "empty line in a list of names");

  write_text(dir / "ids.txt", "\nt1\n");
  error = input_error_from([&] { read_text_list(dir / "ids.txt"); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->item(), (dir / "ids.txt").string() + ":1");
}

TEST(TextList, AnEmptyFileIsAnEmptyList) {
  const ScratchDir dir;
  write_text(dir / "ids.txt", "");
  EXPECT_TRUE(read_text_list(dir / "ids.txt").empty());
}

}  // namespace
}  // namespace conceptree
