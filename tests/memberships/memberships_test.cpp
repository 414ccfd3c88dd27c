#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "conceptree/batch_errors.hpp"
#include "conceptree/error.hpp"
#include "conceptree/memberships.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using testing::ScratchDir;

std::vector<std::string> names_of(const Memberships& memberships) {
  std::vector<std::string> names;
  for (const auto& concept_entry : memberships.concepts) names.push_back(concept_entry.name);
  return names;
}

// The concept called `name`; fails the test when there is none.
const Concept& concept_named(const Memberships& memberships, const std::string& name) {
  for (const auto& concept_entry : memberships.concepts) {
    if (concept_entry.name == name) return concept_entry;
  }
  ADD_FAILURE() << "no concept " << name;
  static const Concept missing;
  return missing;
}

Memberships read_text_as(const ScratchDir& scratch, const std::string& file_name, const std::string& contents,
                         BatchErrors& errors) {
  const fs::path path = scratch / file_name;
  testing::write_text(path, contents);
  return read_memberships(path, errors);
}

// ---------------------------------------------------------------------------------------------
// TSV

TEST(MembershipsTsv, TwoColumnsWithoutHeader) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships = read_text_as(scratch, "m.tsv", "rock\tt1\nrock\tt2\njazz\tt1\n", errors);
  EXPECT_THAT(names_of(memberships), ElementsAre("rock", "jazz"));
  EXPECT_THAT(memberships.concepts[0].tracks, ElementsAre("t1", "t2"));
  EXPECT_THAT(memberships.concepts[1].tracks, ElementsAre("t1"));
  EXPECT_EQ(memberships.concepts[0].type, "");
  EXPECT_EQ(memberships.pairs_read, 3u);
  EXPECT_EQ(memberships.duplicate_pairs, 0u);
  EXPECT_THAT(memberships.type_conflicts, IsEmpty());
  EXPECT_EQ(errors.count(), 0u);
}

TEST(MembershipsTsv, HeaderIsSkippedAndTheThirdColumnIsTheType) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships = read_text_as(scratch, "m.tsv",
                                        "concept\ttrack_id\ttype\n"
                                        "rock\tt1\tgenre\n"
                                        "happy\tt1\tmood\n"
                                        "rock\tt2\tgenre\n",
                                        errors);
  EXPECT_THAT(names_of(memberships), ElementsAre("rock", "happy"));
  EXPECT_EQ(concept_named(memberships, "rock").type, "genre");
  EXPECT_THAT(concept_named(memberships, "rock").tracks, ElementsAre("t1", "t2"));
  EXPECT_EQ(concept_named(memberships, "happy").type, "mood");
  EXPECT_EQ(memberships.pairs_read, 3u);
  EXPECT_EQ(errors.count(), 0u);
}

TEST(MembershipsTsv, HeaderIsRecognisedInAnyCaseAfterLeadingBlankLines) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships = read_text_as(scratch, "m.tsv", "\n\nConcept\tTrack\nrock\tt1\n", errors);
  EXPECT_THAT(names_of(memberships), ElementsAre("rock"));
  EXPECT_EQ(memberships.pairs_read, 1u);
}

TEST(MembershipsTsv, CrlfLineEndingsLeaveNoCarriageReturns) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships = read_text_as(scratch, "m.tsv",
                                        "concept\ttrack\ttype\r\n"
                                        "rock\tt1\tgenre\r\n"
                                        "rock\tt2\r\n"
                                        "\r\n"
                                        "jazz\tt3\r\n",
                                        errors);
  EXPECT_THAT(names_of(memberships), ElementsAre("rock", "jazz"));
  EXPECT_EQ(concept_named(memberships, "rock").type, "genre");
  EXPECT_THAT(concept_named(memberships, "rock").tracks, ElementsAre("t1", "t2"));
  EXPECT_THAT(concept_named(memberships, "jazz").tracks, ElementsAre("t3"));
  EXPECT_EQ(errors.count(), 0u);
}

TEST(MembershipsTsv, BlankAndWhitespaceOnlyLinesAreIgnored) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships = read_text_as(scratch, "m.tsv", "\nrock\tt1\n   \n\t\n\njazz\tt2\n\n", errors);
  EXPECT_THAT(names_of(memberships), ElementsAre("rock", "jazz"));
  EXPECT_EQ(memberships.pairs_read, 2u);
  EXPECT_EQ(errors.count(), 0u);
}

TEST(MembershipsTsv, DuplicatePairsAreCountedAndDropped) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships =
      read_text_as(scratch, "m.tsv", "rock\tt1\nrock\tt2\nrock\tt1\njazz\tt1\nrock\tt1\njazz\tt1\n", errors);
  EXPECT_THAT(concept_named(memberships, "rock").tracks, ElementsAre("t1", "t2"));
  EXPECT_THAT(concept_named(memberships, "jazz").tracks, ElementsAre("t1"));
  EXPECT_EQ(memberships.pairs_read, 6u);
  EXPECT_EQ(memberships.duplicate_pairs, 3u);
  EXPECT_EQ(errors.count(), 0u);
}

TEST(MembershipsTsv, TypeConflictsKeepTheFirstTypeAndAreListedOnce) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships = read_text_as(scratch, "m.tsv",
                                        "rock\tt1\tgenre\n"
                                        "rock\tt2\tmood\n"
                                        "rock\tt3\tstyle\n"
                                        "jazz\tt1\n"          // untyped first,
                                        "jazz\tt2\tgenre\n"   // then typed: not a conflict
                                        "pop\tt1\tgenre\n"
                                        "pop\tt2\tgenre\n"
                                        "happy\tt1\tmood\n"
                                        "happy\tt2\tgenre\n",
                                        errors);
  EXPECT_EQ(concept_named(memberships, "rock").type, "genre");
  EXPECT_EQ(concept_named(memberships, "jazz").type, "genre");
  EXPECT_EQ(concept_named(memberships, "pop").type, "genre");
  EXPECT_EQ(concept_named(memberships, "happy").type, "mood");
  EXPECT_THAT(memberships.type_conflicts, ElementsAre("rock", "happy"));
  EXPECT_THAT(concept_named(memberships, "rock").tracks, ElementsAre("t1", "t2", "t3"));
  EXPECT_EQ(errors.count(), 0u);
}

const char* const kMalformedTsv =
    "rock\tt1\n"          // 1
    "justconcept\n"       // 2: one field
    "a\tb\tc\td\n"        // 3: four fields
    "\tt2\n"              // 4: empty concept
    "rock\tt3\tgenre\n";  // 5

TEST(MembershipsTsv, MalformedLinesAreSkippedAndNamedByLine) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships = read_text_as(scratch, "m.tsv", kMalformedTsv, errors);
  EXPECT_THAT(names_of(memberships), ElementsAre("rock"));
  EXPECT_THAT(memberships.concepts[0].tracks, ElementsAre("t1", "t3"));
  EXPECT_EQ(memberships.pairs_read, 2u);
  ASSERT_EQ(errors.count(), 3u);
  const std::string path = (scratch / "m.tsv").string();
  const auto items = errors.items();
  EXPECT_EQ(items[0].item, path + ":2");
  EXPECT_THAT(items[0].problem, HasSubstr("1 field"));
  EXPECT_EQ(items[1].item, path + ":3");
  EXPECT_THAT(items[1].problem, HasSubstr("4 field"));
  EXPECT_EQ(items[2].item, path + ":4");
  EXPECT_THAT(items[2].problem, HasSubstr("empty concept"));
}

TEST(MembershipsTsv, MalformedLineIsFatalWhenStrict) {
  const ScratchDir scratch;
  BatchErrors errors(true, default_context());
  try {
    read_text_as(scratch, "m.tsv", kMalformedTsv, errors);
    FAIL() << "a strict read accepted a malformed line";
  } catch (const FatalError& error) {
    EXPECT_THAT(error.what(), HasSubstr((scratch / "m.tsv").string() + ":2"));
  }
  for (const char* bad_line : {"a\tb\tc\td\n", "\tt2\n"}) {
    BatchErrors strict(true, default_context());
    EXPECT_THROW(read_text_as(scratch, "one.tsv", std::string("rock\tt1\n") + bad_line, strict), FatalError) << bad_line;
  }
}

TEST(MembershipsTsv, MissingFileIsFatal) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  EXPECT_THROW(read_memberships(scratch / "absent.tsv", errors), FatalError);
}

// ---------------------------------------------------------------------------------------------
// JSON

TEST(MembershipsJson, ListFormWithDuplicates) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships =
      read_text_as(scratch, "m.json", R"({"rock": ["t1", "t2", "t1"], "jazz": ["t3"]})", errors);
  EXPECT_THAT(names_of(memberships), UnorderedElementsAre("rock", "jazz"));
  EXPECT_THAT(concept_named(memberships, "rock").tracks, ElementsAre("t1", "t2"));
  EXPECT_THAT(concept_named(memberships, "jazz").tracks, ElementsAre("t3"));
  EXPECT_EQ(concept_named(memberships, "rock").type, "");
  EXPECT_EQ(memberships.pairs_read, 4u);
  EXPECT_EQ(memberships.duplicate_pairs, 1u);
  EXPECT_EQ(errors.count(), 0u);
}

TEST(MembershipsJson, ConceptsKeepTheirOrderInTheFile) {
  // Memberships::concepts is documented as "in order of first appearance", as for TSV.
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships =
      read_text_as(scratch, "m.json", R"({"zebra": ["t1"], "apple": ["t2"], "mango": ["t3"]})", errors);
  EXPECT_THAT(names_of(memberships), ElementsAre("zebra", "apple", "mango"));
}

TEST(MembershipsJson, ObjectFormWithTypeAndTracks) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships = read_text_as(scratch, "m.json",
                                        R"({"rock": {"type": "genre", "tracks": ["t1", "t2"]},
                                            "happy": {"tracks": ["t1"]},
                                            "chill": ["t2"]})",
                                        errors);
  EXPECT_EQ(memberships.concepts.size(), 3u);
  EXPECT_EQ(concept_named(memberships, "rock").type, "genre");
  EXPECT_THAT(concept_named(memberships, "rock").tracks, ElementsAre("t1", "t2"));
  EXPECT_EQ(concept_named(memberships, "happy").type, "");
  EXPECT_THAT(concept_named(memberships, "happy").tracks, ElementsAre("t1"));
  EXPECT_THAT(concept_named(memberships, "chill").tracks, ElementsAre("t2"));
  EXPECT_EQ(errors.count(), 0u);
}

TEST(MembershipsJson, IntegerIdsBecomeDecimalText) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships =
      read_text_as(scratch, "m.json", R"({"c": [1, 22, "x", 12345678901234, "1"]})", errors);
  // "1" and 1 name the same track, as they would in a TSV file.
  EXPECT_THAT(concept_named(memberships, "c").tracks, ElementsAre("1", "22", "x", "12345678901234"));
  EXPECT_EQ(memberships.duplicate_pairs, 1u);
  EXPECT_EQ(errors.count(), 0u);
}

TEST(MembershipsJson, EmptyListIsAConceptWithoutTracks) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships = read_text_as(scratch, "m.json", R"({"empty": [], "full": ["t"]})", errors);
  EXPECT_THAT(names_of(memberships), UnorderedElementsAre("empty", "full"));
  EXPECT_THAT(concept_named(memberships, "empty").tracks, IsEmpty());
  EXPECT_EQ(memberships.pairs_read, 1u);
  EXPECT_EQ(errors.count(), 0u);
}

TEST(MembershipsJson, DetectedByContentWithoutTheExtension) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships = read_text_as(scratch, "m.txt", "\n  {\"rock\": [\"t1\"]}\n", errors);
  EXPECT_THAT(names_of(memberships), ElementsAre("rock"));
  EXPECT_THAT(memberships.concepts[0].tracks, ElementsAre("t1"));
}

TEST(MembershipsJson, InvalidJsonIsFatal) {
  const ScratchDir scratch;
  for (const char* contents : {R"({"rock": ["t1")", R"({"rock": ["t1"],})", "not json at all", R"(["t1", "t2"])", ""}) {
    BatchErrors errors(false, default_context());
    EXPECT_THROW(read_text_as(scratch, "m.json", contents, errors), FatalError) << contents;
  }
}

TEST(MembershipsJson, BadEntriesAreSkippedAndNamed) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships = read_text_as(scratch, "m.json",
                                        R"({"number": 5,
                                            "string": "t1",
                                            "no_tracks": {"type": "genre"},
                                            "float_id": ["t1", 1.5],
                                            "null_id": [null],
                                            "tracks_not_a_list": {"tracks": "t1"},
                                            "good": ["t1"]})",
                                        errors);
  EXPECT_THAT(names_of(memberships), ElementsAre("good"));
  EXPECT_EQ(memberships.pairs_read, 1u);
  ASSERT_EQ(errors.count(), 6u);
  std::vector<std::string> items;
  for (const auto& bad : errors.items()) items.push_back(bad.item);
  const std::string path = (scratch / "m.json").string();
  EXPECT_THAT(items, UnorderedElementsAre(path + ": concept 'number'", path + ": concept 'string'",
                                          path + ": concept 'no_tracks'", path + ": concept 'float_id'",
                                          path + ": concept 'null_id'", path + ": concept 'tracks_not_a_list'"));
}

TEST(MembershipsJson, BadEntryIsFatalWhenStrict) {
  const ScratchDir scratch;
  BatchErrors errors(true, default_context());
  EXPECT_THROW(read_text_as(scratch, "m.json", R"({"good": ["t1"], "bad": 5})", errors), FatalError);
}

// ---------------------------------------------------------------------------------------------
// validate_memberships

Memberships sample_memberships() {
  Memberships memberships;
  memberships.concepts = {
      Concept{"A", "", {"t1", "t2", "t3"}},
      Concept{"B", "", {"t2", "x1"}},
      Concept{"C", "", {"x1", "x2"}},  // every track unknown to the store
      Concept{"D", "", {}},            // no track at all
      Concept{"E", "genre", {"t1"}},
  };
  memberships.pairs_read = 10;
  memberships.duplicate_pairs = 2;
  memberships.type_conflicts = {"E"};
  return memberships;
}

TEST(ValidateMemberships, AgainstStoreIdsCountsUnknownTracksAndEmptyConcepts) {
  const std::vector<std::string> known = {"t1", "t2", "t3", "t4"};
  const auto report = validate_memberships(sample_memberships(), known);
  EXPECT_TRUE(report.checked_against_store);
  EXPECT_EQ(report.concepts, 5u);
  EXPECT_EQ(report.distinct_tracks, 5u);  // t1 t2 t3 x1 x2
  EXPECT_EQ(report.memberships, 8u);
  EXPECT_EQ(report.duplicate_pairs, 2u);
  EXPECT_EQ(report.type_conflicts, 1u);
  EXPECT_EQ(report.concepts_per_type, (std::map<std::string, std::size_t>{{"", 4}, {"genre", 1}}));
  EXPECT_EQ(report.unknown_tracks, 2u);
  EXPECT_EQ(report.unknown_memberships, 3u);  // B-x1, C-x1, C-x2
  EXPECT_THAT(report.unknown_examples, ElementsAre("x1", "x2"));
  EXPECT_THAT(report.empty_concepts, ElementsAre("C", "D"));
  // Known sizes: A 3, B 1, C 0, D 0, E 1.
  EXPECT_EQ(report.min_size, 0u);
  EXPECT_EQ(report.median_size, 1u);
  EXPECT_EQ(report.max_size, 3u);
}

TEST(ValidateMemberships, WithoutAStoreOnlyTrulyEmptyConceptsAreEmpty) {
  const auto report = validate_memberships(sample_memberships());
  EXPECT_FALSE(report.checked_against_store);
  EXPECT_EQ(report.unknown_tracks, 0u);
  EXPECT_EQ(report.unknown_memberships, 0u);
  EXPECT_THAT(report.unknown_examples, IsEmpty());
  EXPECT_THAT(report.empty_concepts, ElementsAre("D"));
  EXPECT_EQ(report.distinct_tracks, 5u);
  EXPECT_EQ(report.memberships, 8u);
  // Sizes: A 3, B 2, C 2, D 0, E 1.
  EXPECT_EQ(report.min_size, 0u);
  EXPECT_EQ(report.median_size, 2u);
  EXPECT_EQ(report.max_size, 3u);
}

TEST(ValidateMemberships, UnknownExamplesStopAtFiveInFirstSeenOrder) {
  Memberships memberships;
  memberships.concepts = {Concept{"big", "", {"u7", "u6", "known", "u5", "u4", "u3", "u2", "u1"}},
                          Concept{"other", "", {"u7", "u8"}}};
  const std::vector<std::string> known = {"known"};
  const auto report = validate_memberships(memberships, known);
  EXPECT_EQ(report.unknown_tracks, 8u);
  EXPECT_EQ(report.unknown_memberships, 9u);
  EXPECT_THAT(report.unknown_examples, ElementsAre("u7", "u6", "u5", "u4", "u3"));
  EXPECT_THAT(report.empty_concepts, ElementsAre("other"));
  EXPECT_EQ(report.min_size, 0u);
  EXPECT_EQ(report.median_size, 1u);
  EXPECT_EQ(report.max_size, 1u);
}

TEST(ValidateMemberships, NoConceptsGivesZeroSizes) {
  const auto report = validate_memberships(Memberships{});
  EXPECT_EQ(report.concepts, 0u);
  EXPECT_EQ(report.distinct_tracks, 0u);
  EXPECT_EQ(report.min_size, 0u);
  EXPECT_EQ(report.median_size, 0u);
  EXPECT_EQ(report.max_size, 0u);
  EXPECT_THAT(report.empty_concepts, IsEmpty());
}

TEST(ValidateMemberships, ReadFromTsvThenCheckedAgainstIds) {
  const ScratchDir scratch;
  BatchErrors errors(false, default_context());
  const auto memberships = read_text_as(scratch, "m.tsv",
                                        "concept\ttrack_id\ttype\n"
                                        "rock\tt1\tgenre\n"
                                        "rock\tt1\tgenre\n"
                                        "rock\tgone\tgenre\n"
                                        "happy\tgone\tmood\n"
                                        "sad\tt2\tmood\n",
                                        errors);
  const std::vector<std::string> known = {"t1", "t2"};
  const auto report = validate_memberships(memberships, known);
  EXPECT_EQ(report.concepts, 3u);
  EXPECT_EQ(report.memberships, 4u);
  EXPECT_EQ(report.duplicate_pairs, 1u);
  EXPECT_EQ(report.concepts_per_type, (std::map<std::string, std::size_t>{{"genre", 1}, {"mood", 2}}));
  EXPECT_EQ(report.unknown_tracks, 1u);
  EXPECT_EQ(report.unknown_memberships, 2u);
  EXPECT_THAT(report.empty_concepts, ElementsAre("happy"));
}

}  // namespace
}  // namespace conceptree
