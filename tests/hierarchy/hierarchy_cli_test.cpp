// The hierarchy and info commands on small similarity files written here.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "conceptree/similarity.hpp"
#include "support/test_support.hpp"

namespace {

using conceptree::SimilarityMatrix;
using conceptree::testing::quoted_args;
using conceptree::testing::read_text;
using conceptree::testing::run_cli;
using conceptree::testing::ScratchDir;
using conceptree::testing::write_text;

// rock and pop are broad: their members look like each other; metal and punk look like rock.
SimilarityMatrix music_similarity() {
  SimilarityMatrix s;
  s.measure = "activation";
  s.layer = "pool5";
  s.names = {"rock", "pop", "metal", "punk"};
  s.types = {"genre", "genre", "genre", "genre"};
  s.support = {10, 10, 10, 10};
  s.values = {0.9f, 0.6f, 0.55f, 0.6f,  //
              0.6f, 0.9f, 0.1f,  0.2f,  //
              0.7f, 0.1f, 0.9f,  0.3f,  //
              0.7f, 0.2f, 0.3f,  0.9f};
  return s;
}

TEST(HierarchyCli, LabelsGiveDisplayNamesAndUnknownIdsAreReported) {
  ScratchDir dir;
  conceptree::write_similarity(dir / "sim.h5", music_similarity());
  write_text(dir / "labels.tsv", "rock\tRock & Roll\nmetal\tHeavy Metal\nskiffle\tSkiffle\n");
  const auto result = run_cli(quoted_args({"hierarchy", "-s", (dir / "sim.h5").string(), "-o", (dir / "tree.json").string(), "--labels",
                                           (dir / "labels.tsv").string()}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("1 of 3 labelled ids are not concepts"), std::string::npos) << result.err;
  const auto tree = nlohmann::json::parse(read_text(dir / "tree.json"));
  ASSERT_EQ(tree["nodes"].size(), 4u);
  EXPECT_EQ(tree["nodes"][0]["id"], "rock");
  EXPECT_EQ(tree["nodes"][0]["label"], "Rock & Roll");
  EXPECT_EQ(tree["nodes"][1]["label"], "pop") << "unlabelled concepts show their id";
  EXPECT_EQ(tree["nodes"][2]["label"], "Heavy Metal");
  // rock is the graph's hub (edges to pop, metal, punk), so it is the top level and takes the rest.
  EXPECT_EQ(tree["nodes"][0]["depth"], 0);
  ASSERT_EQ(tree["links"].size(), 3u);
  for (const auto& link : tree["links"]) EXPECT_EQ(link["source"], "rock") << link;
}

TEST(HierarchyCli, ABadLabelsLineIsAnErrorNamingFileAndLine) {
  ScratchDir dir;
  conceptree::write_similarity(dir / "sim.h5", music_similarity());
  write_text(dir / "labels.tsv", "rock\tRock\nno tab here\n");
  const auto result = run_cli(quoted_args({"hierarchy", "-s", (dir / "sim.h5").string(), "-o", (dir / "tree.json").string(), "--labels",
                                           (dir / "labels.tsv").string()}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("labels.tsv:2"), std::string::npos) << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "tree.json"));
}

TEST(HierarchyCli, OrderChoosesHowHeymannVisitsAndIsRecorded) {
  ScratchDir dir;
  // The instruments' members look like the family: it is the most general concept, so it is
  // visited first and takes both instruments. The order used is recorded with the hierarchy.
  SimilarityMatrix s;
  s.measure = "activation";
  s.names = {"a", "family", "b"};
  s.types = {"instrument", "family", "instrument"};
  s.support = {10, 10, 10};
  s.values = {1.0f, 0.9f, 0.25f,  //
              0.5f, 1.0f, 0.5f,   //
              0.3f, 0.9f, 1.0f};
  conceptree::write_similarity(dir / "sim.h5", s);
  const auto tree_for = [&](const std::string& order) {
    const auto result = run_cli(quoted_args({"hierarchy", "-s", (dir / "sim.h5").string(), "-o", (dir / (order + ".json")).string(),
                                             "--order", order}));
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return nlohmann::json::parse(read_text(dir / (order + ".json")));
  };
  const auto general_first = tree_for("generality");
  EXPECT_EQ(general_first["params"]["order"], "generality");
  ASSERT_EQ(general_first["links"].size(), 2u);
  for (const auto& link : general_first["links"]) EXPECT_EQ(link["source"], "family") << link;
  EXPECT_EQ(tree_for("betweenness")["params"]["order"], "betweenness");

  const auto bad = run_cli(quoted_args({"hierarchy", "-s", (dir / "sim.h5").string(), "-o", (dir / "x.json").string(), "--order", "alphabetical"}));
  EXPECT_EQ(bad.exit_code, 2) << "a usage error";
  EXPECT_NE(bad.err.find("alphabetical"), std::string::npos) << bad.err;
}

TEST(HierarchyCli, MissingSimilarityFileIsAClearError) {
  ScratchDir dir;
  const auto result = run_cli(quoted_args({"hierarchy", "-s", (dir / "nope.h5").string(), "-o", (dir / "tree.json").string()}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("nope.h5"), std::string::npos) << result.err;
}

TEST(InfoCli, SummarisesSimilarityAndHierarchyFiles) {
  ScratchDir dir;
  conceptree::write_similarity(dir / "sim.h5", music_similarity());
  ASSERT_EQ(run_cli(quoted_args({"hierarchy", "-s", (dir / "sim.h5").string(), "-o", (dir / "tree.json").string()})).exit_code, 0);

  const auto similarity = run_cli(quoted_args({"info", (dir / "sim.h5").string()}));
  ASSERT_EQ(similarity.exit_code, 0) << similarity.err;
  EXPECT_NE(similarity.out.find("concept similarity (activation)"), std::string::npos) << similarity.out;
  EXPECT_NE(similarity.out.find("concept graph at 0.5: 3 edges"), std::string::npos) << similarity.out;

  const auto tree = run_cli(quoted_args({"info", (dir / "tree.json").string()}));
  ASSERT_EQ(tree.exit_code, 0) << tree.err;
  EXPECT_NE(tree.out.find("concept hierarchy (heymann), a tree"), std::string::npos) << tree.out;
  EXPECT_NE(tree.out.find("depth             1 (concepts per depth: 1, 3)"), std::string::npos) << tree.out;
  EXPECT_NE(tree.out.find("3  rock"), std::string::npos) << tree.out;
}

TEST(InfoCli, ReadsThePaperHierarchiesAndStillTakesJsonMembershipsForMemberships) {
  // The memberships half needs no shared data: it runs before the paper's file is required.
  ScratchDir dir;
  write_text(dir / "memberships.json", R"({"nodes": ["t1", "t2"], "rock": ["t3"]})");
  const auto memberships = run_cli(quoted_args({"info", (dir / "memberships.json").string()}));
  ASSERT_EQ(memberships.exit_code, 0) << memberships.err;
  EXPECT_NE(memberships.out.find("concept memberships"), std::string::npos)
      << "a concept called 'nodes' holding track ids is still memberships: " << memberships.out;

  CONCEPTREE_REQUIRE_SHARED(baseline_top1, "deezer_table1/baseline_top1.json");
  const auto published = run_cli(quoted_args({"info", baseline_top1.string()}));
  ASSERT_EQ(published.exit_code, 0) << published.err;
  EXPECT_NE(published.out.find("a graph with cycles"), std::string::npos) << published.out;
  EXPECT_NE(published.out.find("3456"), std::string::npos) << published.out;
}

}  // namespace
