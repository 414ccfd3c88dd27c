// Bootstrap support: the consensus of hand-made runs (support, placement, cycles, missing
// concepts), support in every hierarchy format, and `conceptree bootstrap` end to end on a
// synthetic corpus (resume, thread count, settings changes).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "conceptree/bootstrap.hpp"
#include "conceptree/hierarchy.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

using testing::quoted_args;
using testing::read_text;
using testing::run_cli;
using testing::ScratchDir;

// A run over `ids` with links given as (parent id, child id).
Hierarchy run_of(const std::vector<std::string>& ids, const std::vector<std::pair<std::string, std::string>>& links) {
  Hierarchy h;
  for (const auto& id : ids) h.nodes.push_back({.id = id, .label = id, .type = "t", .centrality = 1.0, .depth = 0});
  const auto index = [&](const std::string& id) {
    return static_cast<std::uint32_t>(std::find(ids.begin(), ids.end(), id) - ids.begin());
  };
  for (const auto& [parent, child] : links) h.links.push_back({index(parent), index(child), 0.5F});
  assign_depths(h);
  return h;
}

struct Link {
  std::string parent, child;
  float support;
  bool operator==(const Link&) const = default;
};

std::vector<Link> links_of(const Hierarchy& h, const std::vector<HierarchyLink>& list) {
  std::vector<Link> out;
  for (const auto& link : list) out.push_back({h.nodes[link.parent].id, h.nodes[link.child].id, link.support});
  return out;
}

TEST(Consensus, SupportIsTheShareOfRunsAndEachConceptTakesItsMostSupportedParent) {
  const std::vector<std::string> ids = {"family", "a", "b"};
  const std::vector<Hierarchy> runs = {run_of(ids, {{"family", "a"}, {"family", "b"}}), run_of(ids, {{"family", "a"}, {"family", "b"}}),
                                       run_of(ids, {{"family", "a"}, {"a", "b"}}), run_of(ids, {{"family", "a"}, {"family", "b"}})};
  const Hierarchy consensus = consensus_hierarchy(runs, {});
  EXPECT_EQ(links_of(consensus, consensus.links), (std::vector<Link>{{"family", "a", 1.0F}, {"family", "b", 0.75F}}));
  EXPECT_EQ(links_of(consensus, consensus.alternatives), (std::vector<Link>{{"a", "b", 0.25F}}));
  EXPECT_TRUE(consensus.has_support());
  EXPECT_EQ(consensus.nodes[2].depth, 1);
}

TEST(Consensus, StayingTopLevelIsAPlacementThatCanWin) {
  const std::vector<std::string> ids = {"x", "y"};
  const std::vector<Hierarchy> runs = {run_of(ids, {}), run_of(ids, {}), run_of(ids, {{"y", "x"}})};
  const Hierarchy consensus = consensus_hierarchy(runs, {});
  EXPECT_TRUE(consensus.links.empty()) << "x is top level in 2 of 3 runs";
  EXPECT_EQ(links_of(consensus, consensus.alternatives), (std::vector<Link>{{"y", "x", 1.0F / 3.0F}}));
  EXPECT_FALSE(consensus.has_support()) << "no link, nothing to carry support";
}

TEST(Consensus, NeverClosesACycle) {
  const std::vector<std::string> ids = {"a", "b", "c"};
  const std::vector<Hierarchy> runs = {run_of(ids, {{"a", "b"}, {"b", "c"}}), run_of(ids, {{"b", "c"}, {"c", "a"}}),
                                       run_of(ids, {{"c", "a"}, {"a", "b"}})};
  const Hierarchy consensus = consensus_hierarchy(runs, {});
  ASSERT_EQ(consensus.links.size(), 2u) << "three links of equal support form a cycle: one must stay out";
  EXPECT_EQ(consensus.alternatives.size(), 1u);
  EXPECT_EQ(consensus.top_level().size(), 1u);
  for (const auto& node : consensus.nodes) EXPECT_GE(node.depth, 0) << node.id << " is reached from the top level";
}

TEST(Consensus, ConceptsMissingFromSomeRunsAndMajorityRule) {
  Hierarchy first = run_of({"f", "a", "b"}, {{"f", "a"}, {"f", "b"}});
  first.nodes[0].centrality = 0.2;
  Hierarchy second = run_of({"f", "a"}, {{"f", "a"}});
  second.nodes[0].centrality = 0.4;
  const Hierarchy third = run_of({"f", "a", "c"}, {{"f", "a"}, {"a", "c"}});
  const Hierarchy consensus = consensus_hierarchy({first, second, third}, {});
  ASSERT_EQ(consensus.nodes.size(), 4u);
  EXPECT_EQ(consensus.nodes[3].id, "c") << "nodes in order of first appearance";
  EXPECT_NEAR(consensus.nodes[0].centrality, (0.2 + 0.4 + 1.0) / 3, 1e-12) << "mean over the runs that have the concept";
  EXPECT_EQ(links_of(consensus, consensus.links),
            (std::vector<Link>{{"f", "a", 1.0F}, {"f", "b", 1.0F / 3.0F}, {"a", "c", 1.0F / 3.0F}}))
      << "b and c are in one run each, under a parent there: support is over all runs";
  const Hierarchy majority = consensus_hierarchy({first, second, third}, {.min_support = 0.5});
  EXPECT_EQ(links_of(majority, majority.links), (std::vector<Link>{{"f", "a", 1.0F}}));
  EXPECT_EQ(majority.alternatives.size(), 2u);
  EXPECT_THROW(consensus_hierarchy({}, {}), FatalError);
}

TEST(Consensus, SupportInEveryFormat) {
  const std::vector<std::string> ids = {"family", "a", "b"};
  Hierarchy consensus = consensus_hierarchy({run_of(ids, {{"family", "a"}, {"family", "b"}}), run_of(ids, {{"family", "a"}, {"a", "b"}}),
                                             run_of(ids, {{"family", "a"}, {"family", "b"}}), run_of(ids, {{"family", "a"}, {"family", "b"}})},
                                            {});
  ScratchDir dir;
  write_hierarchy(dir / "c.json", consensus, HierarchyFormat::Json);
  const auto json = nlohmann::json::parse(read_text(dir / "c.json"));
  EXPECT_EQ(json["links"][1]["support"], 0.75);
  EXPECT_EQ(json["alternative_links"][0]["support"], 0.25);
  const Hierarchy read = read_hierarchy_json(dir / "c.json");
  EXPECT_EQ(links_of(read, read.links), links_of(consensus, consensus.links)) << "support reads back";
  EXPECT_EQ(links_of(read, read.alternatives), links_of(consensus, consensus.alternatives));

  const std::string graphml = format_hierarchy(consensus, HierarchyFormat::Graphml);
  EXPECT_NE(graphml.find("<key id=\"support\" for=\"edge\" attr.name=\"support\" attr.type=\"double\"/>"), std::string::npos) << graphml;
  EXPECT_NE(graphml.find("<data key=\"support\">0.75</data>"), std::string::npos) << graphml;
  const std::string dot = format_hierarchy(consensus, HierarchyFormat::Dot);
  EXPECT_NE(dot.find("\"family\" -> \"b\" [similarity=\"0.5\", support=\"0.75\", penwidth=\"3.25\"]"), std::string::npos) << dot;
  EXPECT_EQ(format_hierarchy(consensus, HierarchyFormat::Newick), "(a[&&NHX:support=1],b[&&NHX:support=0.75])family;\n");
  EXPECT_EQ(format_hierarchy(consensus, HierarchyFormat::Tsv), "child\tparent\tsupport\na\tfamily\t1\nb\tfamily\t0.75\nfamily\t\t\n");
  EXPECT_EQ(format_hierarchy(run_of(ids, {{"family", "a"}}), HierarchyFormat::Tsv), "child\tparent\na\tfamily\nfamily\t\nb\t\n")
      << "a hierarchy without support keeps the two-column TSV";

  testing::write_text(dir / "bad.json", R"({"nodes": [{"id": "a"}, {"id": "b"}], "links": [{"source": "a", "target": "b", "support": 1.5}]})");
  EXPECT_THROW(read_hierarchy_json(dir / "bad.json"), InputError);
}

// ---------------------------------------------------------------------------------------------
// conceptree bootstrap

void make_corpus(const ScratchDir& dir) {
  const auto synth = run_cli(quoted_args({"synth", "-o", (dir / "corpus").string(), "--layout", "store", "--tracks", "400", "--families", "2",
                                          "--concepts-per-family", "3", "--min-concept-tracks", "39", "--max-concept-tracks", "100"}));
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
}

testing::CommandResult bootstrap(const ScratchDir& dir, const std::string& output, std::initializer_list<std::string> extra) {
  return run_cli(quoted_args({"bootstrap", "-e", (dir / "corpus" / "store.h5").string(), "-m", (dir / "corpus" / "memberships.tsv").string(),
                              "-o", (dir / output).string(), "--runs", "3", "--workdir", (dir / "runs").string()}) +
                 " " + quoted_args(extra));
}

TEST(BootstrapCli, GivesEachLinkItsSupportResumesAndDoesNotDependOnThreads) {
  ScratchDir dir;
  ASSERT_NO_FATAL_FAILURE(make_corpus(dir));
  const auto first = bootstrap(dir, "tree.json", {"--keep-runs", "--jobs", "1"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("run 3/3 (seed 2)"), std::string::npos) << first.err;
  const auto tree = nlohmann::json::parse(read_text(dir / "tree.json"));
  ASSERT_FALSE(tree["links"].empty());
  for (const auto& link : tree["links"]) {
    const double support = link["support"];
    EXPECT_GT(support, 0.0);
    EXPECT_LE(support, 1.0);
    EXPECT_NEAR(support * 3, std::round(support * 3), 1e-6) << "a share of 3 runs";
  }
  EXPECT_EQ(tree["params"]["bootstrap_runs"], 3);
  EXPECT_EQ(tree["params"]["order"], "generality");
  EXPECT_TRUE(std::filesystem::exists(dir / "runs" / "run0002-tree.json")) << "--keep-runs";

  // The runs are found finished; the consensus is the same, and the same from two threads.
  const auto resumed = bootstrap(dir, "again.json", {"--keep-runs", "--jobs", "2"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("3 runs (3 found finished"), std::string::npos) << resumed.err;
  EXPECT_EQ(read_text(dir / "again.json"), read_text(dir / "tree.json"));
  std::filesystem::remove_all(dir / "runs");
  const auto fresh = bootstrap(dir, "fresh.json", {"--jobs", "2"});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_EQ(read_text(dir / "fresh.json"), read_text(dir / "tree.json")) << "two threads from scratch give the same bytes";
  EXPECT_FALSE(std::filesystem::exists(dir / "runs")) << "the work folder goes once the consensus is written";

  // Other settings never reuse runs made with these; an existing output is kept.
  ASSERT_EQ(bootstrap(dir, "kept.json", {"--keep-runs"}).exit_code, 0);
  const auto changed = bootstrap(dir, "changed.json", {"--negative-ratio", "2"});
  EXPECT_NE(changed.exit_code, 0);
  EXPECT_NE(changed.err.find("other settings"), std::string::npos) << changed.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "changed.json"));
  const auto exists = bootstrap(dir, "tree.json", {});
  EXPECT_NE(exists.exit_code, 0);
  EXPECT_NE(exists.err.find("--overwrite"), std::string::npos) << exists.err;

  const auto info = run_cli(quoted_args({"info", (dir / "tree.json").string()}));
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("over 3 runs;"), std::string::npos) << info.out;

  const auto newick = bootstrap(dir, "tree.nwk", {"--overwrite"});
  ASSERT_EQ(newick.exit_code, 0) << newick.err;
  EXPECT_NE(read_text(dir / "tree.nwk").find("[&&NHX:support="), std::string::npos);
}

}  // namespace
}  // namespace conceptree
