// What a track id or concept name may hold: printable UTF-8 of any script, quotes, markup and
// slashes pass; control characters and bytes that are not UTF-8 are named with where they are.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "conceptree/error.hpp"
#include "conceptree/names.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

using conceptree::testing::input_error_from;
using ::testing::HasSubstr;

TEST(Names, PrintableTextOfAnyScriptPasses) {
  for (const std::string name : {"plain", "it's \"quoted\"", "<script>alert(1)</script>", "a & b", "../x", "/abs", "a/b", "back\\slash",
                                 "Zürich 音楽 🎵", "\u0645\u0648\u0633\u064a\u0642\u0649\u200f", "(a),[b];c:d", "\u00a0no-break", ""}) {
    EXPECT_EQ(name_problem(name), "") << name;
    EXPECT_EQ(printable_name(name), name);
  }
}

TEST(Names, ControlCharactersAreNamedWithTheirByte) {
  EXPECT_EQ(name_problem("a\tb"), "holds a tab at byte 2");
  EXPECT_EQ(name_problem("ab\n"), "holds a newline at byte 3");
  EXPECT_EQ(name_problem("\r"), "holds a carriage return at byte 1");
  EXPECT_EQ(name_problem(std::string("a\0b", 3)), "holds a NUL byte at byte 2");
  EXPECT_EQ(name_problem("a\x01"), "holds the control character \\x01 at byte 2");
  EXPECT_EQ(name_problem("a\x7f"), "holds the control character \\x7F at byte 2");
  EXPECT_EQ(printable_name(std::string("a\tb\nc\rd\0e\x1b", 10)), "a\\tb\\nc\\rd\\x00e\\x1B");
}

TEST(Names, BytesThatAreNotUtf8AreRefused) {
  for (const std::string bad : {"\xff", "a\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xf0\x9f\x8e"}) {
    EXPECT_THAT(name_problem(bad), HasSubstr("is not valid UTF-8 at byte")) << printable_name(bad);
  }
  EXPECT_EQ(name_problem("ok \xff"), "is not valid UTF-8 at byte 4");
  EXPECT_EQ(printable_name("a\xc3(b"), "a\\xC3(b");
}

TEST(Names, CheckNameThrowsAnInputErrorNamingTheItemAndTheName) {
  EXPECT_FALSE(input_error_from([] { check_name("fine/name", "list.txt:3", "track id"); }));
  const auto error = input_error_from([] { check_name("bad\tname", "list.txt:3", "track id"); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->item(), "list.txt:3");
  EXPECT_THAT(error->problem(), HasSubstr("track id 'bad\\tname' holds a tab at byte 4"));
}

}  // namespace
}  // namespace conceptree
