// Hierarchy files: JSON written and read back, GraphML read by networkx, Newick parsed by a reader
// written here, TSV and DOT (checked by Graphviz when it is installed), and format-by-extension.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conceptree/error.hpp"
#include "conceptree/hierarchy.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using conceptree::testing::input_error_from;
using conceptree::testing::python_with_networkx;
using conceptree::testing::read_text;
using conceptree::testing::run_command;
using conceptree::testing::run_python_script;
using conceptree::testing::ScratchDir;
using conceptree::testing::shell_quote;
using conceptree::testing::write_text;

HierarchyNode node(std::string id, std::string label, std::string type, double centrality) {
  HierarchyNode n;
  n.id = std::move(id);
  n.label = std::move(label);
  n.type = std::move(type);
  n.centrality = centrality;
  return n;
}

// A forest of two trees whose ids and labels hold every character some format must escape:
// XML's & < > " ', DOT's " and \, Newick's ' ( ) , : ; [ ] _ and spaces, a newline, and UTF-8.
//   rock -> hip_hop -> say "hi"\now -> (a,b):c;[x]
//   rock -> rock 'n' roll
//   chill -> ambient
Hierarchy sample_forest() {
  Hierarchy h;
  h.nodes = {
      node("rock", "Rock & Roll <live> \"best\" of 'em", "genre", 0.5),
      node("hip_hop", "hip hop", "genre", 0.25),
      node("rock 'n' roll", "R'n'R", "genre", 0.125),
      node("say \"hi\"\\now", "back\\slash", "mood", 0.0),
      node("(a,b):c;[x]", "Café «live»", "mood", 0.0625),
      node("chill", "chill", "mood", 1.0 / 3.0),
      node("ambient", "ambient\nmusic", "", 0.1),
  };
  h.links = {{0, 1, 0.62f}, {0, 2, 0.1f}, {1, 3, 0.75f}, {3, 4, 0.33f}, {5, 6, 0.9f}};
  h.params = {{"method", std::string("heymann")}, {"threshold", 0.5}, {"max_children", 20.0}};
  assign_depths(h);
  return h;
}

// The parent's id of every node, "" for the top level (only meaningful for trees and forests).
std::map<std::string, std::string> parent_ids(const Hierarchy& h) {
  std::map<std::string, std::string> parents;
  for (const auto& n : h.nodes) parents[n.id] = "";
  for (const auto& link : h.links) parents[h.nodes[link.child].id] = h.nodes[link.parent].id;
  return parents;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------------
// JSON

TEST(HierarchyJson, RoundTripsNodesLinksDepthsAndParams) {
  ScratchDir dir;
  Hierarchy written = sample_forest();
  // Written as JSON escapes, a newline in a name is refused where a hierarchy is read, naming it.
  write_text(dir / "h.json", format_hierarchy(written, HierarchyFormat::Json));
  const auto refused = input_error_from([&] { read_hierarchy_json(dir / "h.json"); });
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->problem().find("nodes[6].label: label 'ambient\\nmusic' holds a newline"), std::string::npos) << refused->problem();
  written.nodes[6].label = "ambient music";
  write_text(dir / "h.json", format_hierarchy(written, HierarchyFormat::Json));
  const Hierarchy read = read_hierarchy_json(dir / "h.json");

  ASSERT_EQ(read.nodes.size(), written.nodes.size());
  for (std::size_t i = 0; i < written.nodes.size(); ++i) {
    EXPECT_EQ(read.nodes[i].id, written.nodes[i].id) << i;
    EXPECT_EQ(read.nodes[i].label, written.nodes[i].label) << i;
    EXPECT_EQ(read.nodes[i].type, written.nodes[i].type) << i;
    EXPECT_EQ(read.nodes[i].centrality, written.nodes[i].centrality) << i;  // exactly: JSON keeps doubles whole
    EXPECT_EQ(read.nodes[i].depth, written.nodes[i].depth) << i;
  }
  ASSERT_EQ(read.links.size(), written.links.size());
  for (std::size_t i = 0; i < written.links.size(); ++i) {
    EXPECT_EQ(read.links[i].parent, written.links[i].parent) << i;
    EXPECT_EQ(read.links[i].child, written.links[i].child) << i;
    EXPECT_EQ(read.links[i].weight, written.links[i].weight) << i;
  }
  EXPECT_EQ(read.params, written.params);

  // Weights are written as the float's shortest decimal, not the double it widens to.
  const auto document = nlohmann::json::parse(read_text(dir / "h.json"));
  EXPECT_EQ(document["links"][0]["weight"].dump(), "0.62");
  EXPECT_EQ(document["params"]["max_children"].dump(), "20");
}

TEST(HierarchyJson, DepthIsNullForNodesOnACycleAndReadsBackAsMinusOne) {
  // top -> a; b -> c -> b, as the top1 baseline can produce.
  Hierarchy h;
  h.nodes = {node("top", "top", "", 0), node("a", "a", "", 0), node("b", "b", "", 0), node("c", "c", "", 0)};
  h.links = {{0, 1, 0.5f}, {2, 3, 0.5f}, {3, 2, 0.5f}};
  assign_depths(h);
  const std::string text = format_hierarchy(h, HierarchyFormat::Json);
  const auto document = nlohmann::json::parse(text);
  EXPECT_EQ(document["nodes"][0]["depth"], 0);
  EXPECT_EQ(document["nodes"][1]["depth"], 1);
  EXPECT_TRUE(document["nodes"][2]["depth"].is_null()) << text;
  EXPECT_TRUE(document["nodes"][3]["depth"].is_null()) << text;

  ScratchDir dir;
  write_text(dir / "cycle.json", text);
  const Hierarchy read = read_hierarchy_json(dir / "cycle.json");
  EXPECT_EQ(read.nodes[2].depth, -1);
  EXPECT_EQ(read.nodes[3].depth, -1);
}

TEST(HierarchyJson, ReadsOtherToolsJsonWithIntegerIdsAndNoExtras) {
  ScratchDir dir;
  write_text(dir / "plain.json", R"({"nodes": [{"id": 10}, {"id": "x", "label": "Ex"}], "links": [{"source": "x", "target": 10}]})");
  const Hierarchy h = read_hierarchy_json(dir / "plain.json");
  ASSERT_EQ(h.nodes.size(), 2u);
  EXPECT_EQ(h.nodes[0].id, "10");
  EXPECT_EQ(h.nodes[0].label, "10") << "the label defaults to the id";
  EXPECT_EQ(h.nodes[1].label, "Ex");
  ASSERT_EQ(h.links.size(), 1u);
  EXPECT_EQ(h.links[0].parent, 1u);
  EXPECT_EQ(h.links[0].child, 0u);
  EXPECT_EQ(h.nodes[1].depth, 0);
  EXPECT_EQ(h.nodes[0].depth, 1);
}

TEST(HierarchyJson, BadFilesAreInputErrorsNamingTheFile) {
  ScratchDir dir;
  struct Case {
    std::string name;
    std::string contents;
    std::string problem;  // part of the message
  };
  const std::vector<Case> cases = {
      {"truncated.json", R"({"nodes": [{"id": "a"})", "not valid JSON"},
      {"array.json", R"([1, 2])", "'nodes' and 'links'"},
      {"no_nodes.json", R"({"links": []})", "'nodes' and 'links'"},
      {"no_links.json", R"({"nodes": [{"id": "a"}]})", "'nodes' and 'links'"},
      {"nodes_object.json", R"({"nodes": {"a": 1}, "links": []})", "'nodes' and 'links'"},
      {"no_id.json", R"({"nodes": [{"label": "a"}], "links": []})", "nodes[0] has no 'id'"},
      {"float_id.json", R"({"nodes": [{"id": 1.5}], "links": []})", "nodes[0].id"},
      {"duplicate.json", R"({"nodes": [{"id": "a"}, {"id": "b"}, {"id": "a"}], "links": []})", "duplicate id 'a'"},
      {"unknown_target.json", R"({"nodes": [{"id": "a"}], "links": [{"source": "a", "target": "ghost"}]})", "unknown node 'ghost'"},
      {"unknown_source.json", R"({"nodes": [{"id": "a"}], "links": [{"source": "ghost", "target": "a"}]})", "unknown node 'ghost'"},
      {"no_target.json", R"({"nodes": [{"id": "a"}], "links": [{"source": "a"}]})", "links[0] needs 'source' and 'target'"},
  };
  for (const auto& c : cases) {
    const fs::path path = dir / c.name;
    write_text(path, c.contents);
    const auto error = input_error_from([&] { read_hierarchy_json(path); });
    ASSERT_TRUE(error.has_value()) << c.name << " was accepted";
    EXPECT_EQ(error->item(), path.string()) << c.name;
    EXPECT_TRUE(contains(error->problem(), c.problem)) << c.name << ": " << error->problem();
  }
  const auto missing = input_error_from([&] { read_hierarchy_json(dir / "absent.json"); });
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->item(), (dir / "absent.json").string());
}

// ---------------------------------------------------------------------------------------------
// Newick

struct NewickTree {
  std::string name;
  std::vector<NewickTree> children;
};

// Recursive descent over  tree := subtree ';'   subtree := [ '(' subtree {',' subtree} ')' ] label [':' length]
// label := quoted ('' inside is a quote) | unquoted (underscores read as spaces).
class NewickReader {
 public:
  explicit NewickReader(std::string text) : text_(std::move(text)) {}

  NewickTree read() {
    NewickTree root = subtree();
    skip_space();
    expect(';');
    skip_space();
    if (at_ != text_.size()) fail("text after ';'");
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw std::runtime_error(fmt::format("newick at {}: {}", at_, what)); }
  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
  bool take(char c) {
    if (peek() != c) return false;
    ++at_;
    return true;
  }
  void expect(char c) {
    if (!take(c)) fail(fmt::format("expected '{}'", c));
  }
  void skip_space() {
    while (at_ < text_.size() && std::string_view(" \t\r\n").find(text_[at_]) != std::string_view::npos) ++at_;
  }

  NewickTree subtree() {
    NewickTree tree;
    skip_space();
    if (take('(')) {
      do {
        tree.children.push_back(subtree());
        skip_space();
      } while (take(','));
      expect(')');
    }
    tree.name = label();
    skip_space();
    if (take(':')) {
      while (at_ < text_.size() && std::string_view("0123456789.eE+-").find(text_[at_]) != std::string_view::npos) ++at_;
    }
    return tree;
  }

  std::string label() {
    skip_space();
    std::string name;
    if (take('\'')) {
      for (;;) {
        if (at_ >= text_.size()) fail("unterminated quoted name");
        const char c = text_[at_++];
        if (c == '\'') {
          if (!take('\'')) break;
        }
        name += c;
      }
      return name;
    }
    while (at_ < text_.size() && std::string_view("(),:;[]' \t\r\n").find(text_[at_]) == std::string_view::npos) {
      const char c = text_[at_++];
      name += c == '_' ? ' ' : c;
    }
    return name;
  }

  std::string text_;
  std::size_t at_ = 0;
};

// Parent of every named node, "" under an unnamed root (the wrapper that holds a forest).
void collect_parents(const NewickTree& tree, const std::string& parent, std::map<std::string, std::string>& parents, std::size_t& count) {
  if (!tree.name.empty()) {
    parents[tree.name] = parent;
    ++count;
  }
  for (const auto& child : tree.children) collect_parents(child, tree.name, parents, count);
}

// Checks that `h` in Newick reads back with every node under its own parent, each once.
void expect_newick_round_trip(const Hierarchy& h) {
  const std::string text = format_hierarchy(h, HierarchyFormat::Newick);
  NewickTree root;
  ASSERT_NO_THROW(root = NewickReader(text).read()) << text.substr(0, 2000);
  const bool forest = h.top_level().size() > 1;
  EXPECT_EQ(root.name.empty(), forest) << "a forest, and only a forest, gets an unnamed wrapping root";
  if (forest) {
    EXPECT_EQ(root.children.size(), h.top_level().size());
  }
  std::map<std::string, std::string> parents;
  std::size_t count = 0;
  collect_parents(root, "", parents, count);
  EXPECT_EQ(count, h.nodes.size()) << "every node exactly once";
  EXPECT_EQ(parents, parent_ids(h));
}

TEST(HierarchyNewick, AForestReadsBackUnderAWrappingRootWithEveryParentKept) {
  const Hierarchy forest = sample_forest();
  const std::string text = format_hierarchy(forest, HierarchyFormat::Newick);
  EXPECT_TRUE(text.starts_with("((")) << text;
  EXPECT_TRUE(text.ends_with(");\n")) << text;
  EXPECT_TRUE(contains(text, "'rock ''n'' roll'")) << "a quote inside a quoted name is doubled: " << text;
  EXPECT_TRUE(contains(text, "'hip_hop'")) << "unquoted, an underscore would read as a space: " << text;
  expect_newick_round_trip(forest);
}

TEST(HierarchyNewick, ASingleTreeIsNotWrapped) {
  Hierarchy tree = sample_forest();
  tree.links.push_back({0, 5, 0.4f});  // chill joins rock's tree
  assign_depths(tree);
  ASSERT_EQ(tree.top_level().size(), 1u);
  const std::string text = format_hierarchy(tree, HierarchyFormat::Newick);
  EXPECT_TRUE(text.ends_with(")rock;\n")) << text;
  expect_newick_round_trip(tree);
}

TEST(HierarchyNewick, RefusesDagsAndCycles) {
  Hierarchy dag = sample_forest();
  dag.links.push_back({5, 4, 0.5f});  // (a,b):c;[x] gets a second parent
  assign_depths(dag);
  EXPECT_THROW(format_hierarchy(dag, HierarchyFormat::Newick), FatalError);

  Hierarchy cycle = sample_forest();
  cycle.links.push_back({6, 5, 0.5f});  // chill <-> ambient
  assign_depths(cycle);
  ASSERT_EQ(cycle.max_parents(), 1u);
  EXPECT_THROW(format_hierarchy(cycle, HierarchyFormat::Newick), FatalError);
}

TEST(HierarchyNewick, RefusesACycleEvenWhenDepthsWereNotAssigned) {
  // A hierarchy put together by hand, links only: format_hierarchy promises a FatalError for
  // anything but a tree or forest, which must not hinge on the caller having run assign_depths.
  // Otherwise the cycle's nodes (never reached from the top level) silently vanish from the file.
  Hierarchy cycle;
  cycle.nodes = {node("top", "top", "", 0), node("b", "b", "", 0), node("c", "c", "", 0)};
  cycle.links = {{1, 2, 0.5f}, {2, 1, 0.5f}};
  std::string text;
  EXPECT_THROW(text = format_hierarchy(cycle, HierarchyFormat::Newick), FatalError) << "wrote: " << text;
}

TEST(HierarchyJson, ReadsThePublishedDeezerHierarchyAsOneTreeThatNewickKeeps) {
  CONCEPTREE_REQUIRE_SHARED(published, "deezer_table1/hierarchy_H.json");
  const Hierarchy h = read_hierarchy_json(published);
  EXPECT_EQ(h.nodes.size(), 3456u);
  EXPECT_EQ(h.links.size(), 3455u);
  EXPECT_EQ(h.max_parents(), 1u);
  EXPECT_EQ(h.top_level().size(), 1u);
  for (const auto& n : h.nodes) ASSERT_GE(n.depth, 0) << n.id;
  expect_newick_round_trip(h);
}

// ---------------------------------------------------------------------------------------------
// GraphML, as networkx reads it

// Dumps what networkx's GraphML reader sees, as JSON.
constexpr const char* kReadGraphml = R"(
import json
import sys
import networkx as nx

graph = nx.read_graphml(sys.argv[1])
summary = {
    "directed": graph.is_directed(),
    "graph": dict(graph.graph),
    "nodes": {node: data for node, data in graph.nodes(data=True)},
    "edges": [[source, target, data.get("weight")] for source, target, data in graph.edges(data=True)],
}
with open(sys.argv[2], "w") as out:
    json.dump(summary, out)
)";

TEST(HierarchyGraphml, NetworkxReadsNodesEdgesAndAttributesBackExactly) {
  const std::string python = python_with_networkx();
  if (python.empty()) GTEST_SKIP() << "no /usr/bin/python3 with networkx";
  ScratchDir dir;
  const Hierarchy h = sample_forest();
  write_hierarchy(dir / "h.graphml", h, HierarchyFormat::Graphml);
  const auto result = run_python_script(python, dir / "read.py", kReadGraphml, {(dir / "h.graphml").string(), (dir / "seen.json").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto seen = nlohmann::json::parse(read_text(dir / "seen.json"));

  EXPECT_TRUE(seen["directed"].get<bool>());
  ASSERT_EQ(seen["nodes"].size(), h.nodes.size());
  for (const auto& n : h.nodes) {
    ASSERT_TRUE(seen["nodes"].contains(n.id)) << n.id;
    const auto& data = seen["nodes"][n.id];
    EXPECT_EQ(data["label"].get<std::string>(), n.label) << n.id;
    // networkx leaves out an empty <data> element, so an empty type comes back absent.
    EXPECT_EQ(data.value("type", std::string()), n.type) << n.id;
    EXPECT_EQ(data["centrality"].get<double>(), n.centrality) << n.id;
    EXPECT_EQ(data["depth"].get<std::int64_t>(), n.depth) << n.id;
  }
  ASSERT_EQ(seen["edges"].size(), h.links.size());
  std::map<std::pair<std::string, std::string>, float> expected_weights;
  for (const auto& link : h.links) expected_weights[{h.nodes[link.parent].id, h.nodes[link.child].id}] = link.weight;
  for (const auto& edge : seen["edges"]) {
    const std::pair<std::string, std::string> ends{edge[0].get<std::string>(), edge[1].get<std::string>()};
    ASSERT_TRUE(expected_weights.contains(ends)) << ends.first << " -> " << ends.second;
    EXPECT_EQ(static_cast<float>(edge[2].get<double>()), expected_weights[ends]) << ends.first << " -> " << ends.second;
  }
  EXPECT_EQ(seen["graph"]["method"].get<std::string>(), "heymann");
  EXPECT_EQ(seen["graph"]["threshold"].get<double>(), 0.5);
}

// ---------------------------------------------------------------------------------------------
// TSV and DOT

TEST(HierarchyTsv, OneLinePerLinkThenTheTopLevelWithAnEmptyParent) {
  const std::string expected =
      "child\tparent\n"
      "hip_hop\trock\n"
      "rock 'n' roll\trock\n"
      "say \"hi\"\\now\thip_hop\n"
      "(a,b):c;[x]\tsay \"hi\"\\now\n"
      "ambient\tchill\n"
      "rock\t\n"
      "chill\t\n";
  EXPECT_EQ(format_hierarchy(sample_forest(), HierarchyFormat::Tsv), expected);
}

// Graphviz's complaint about a DOT text, "" when it reads it cleanly. Graphviz is optional: also
// "" when /usr/bin/dot is not installed.
std::string graphviz_complaint(const ScratchDir& dir, const std::string& dot) {
  if (!fs::exists("/usr/bin/dot")) return "";
  write_text(dir / "h.dot", dot);
  const auto result = run_command("/usr/bin/dot -Tcanon " + shell_quote((dir / "h.dot").string()));
  if (result.exit_code == 0 && result.err.empty()) return "";
  return fmt::format("exit {}: {}", result.exit_code, result.err);
}

TEST(HierarchyDot, ADigraphWithEscapedNamesAndOneEdgeLinePerLink) {
  const Hierarchy h = sample_forest();
  const std::string dot = format_hierarchy(h, HierarchyFormat::Dot);
  EXPECT_TRUE(dot.starts_with("digraph")) << dot;
  std::istringstream lines(dot);
  std::string line;
  std::size_t edge_lines = 0;
  while (std::getline(lines, line)) edge_lines += contains(line, " -> ");
  EXPECT_EQ(edge_lines, h.links.size()) << dot;
  EXPECT_TRUE(contains(dot, R"("say \"hi\"\\now")")) << dot;
  EXPECT_TRUE(contains(dot, R"(label="back\\slash")")) << dot;
  EXPECT_TRUE(contains(dot, R"(label="ambient\nmusic")")) << "a newline in a label becomes \\n: " << dot;
  EXPECT_TRUE(contains(dot, R"("say \"hi\"\\now" -> "(a,b):c;[x]")")) << dot;
  ScratchDir dir;
  EXPECT_EQ(graphviz_complaint(dir, dot), "");
}

TEST(HierarchyDot, SmallCentralitiesAndSimilaritiesAreQuotedSoGraphvizReadsThem) {
  // Betweenness in a graph of thousands of concepts, and activations of unrelated concepts, are
  // routinely below 1e-4, printed with an exponent; DOT numerals have none, so unquoted
  // "1e-05" would be a syntax error to Graphviz.
  Hierarchy h;
  h.nodes = {node("hub", "hub", "genre", 0.00001), node("leaf", "leaf", "genre", 0.0)};
  h.links = {{0, 1, 2.5e-5f}};
  assign_depths(h);
  const std::string dot = format_hierarchy(h, HierarchyFormat::Dot);
  EXPECT_TRUE(contains(dot, R"(centrality="1e-05")")) << dot;
  EXPECT_TRUE(contains(dot, R"(similarity="2.5e-05")")) << dot;
  EXPECT_FALSE(contains(dot, "weight=")) << "Graphviz's weight is an integer layout cost, not a similarity:\n" << dot;
  ScratchDir dir;
  EXPECT_EQ(graphviz_complaint(dir, dot), "") << dot;
}

// ---------------------------------------------------------------------------------------------
// Choosing and writing formats

TEST(HierarchyFormats, FormatFollowsTheOutputExtension) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"tree.json", "json"},   {"tree.graphml", "graphml"}, {"tree.dot", "dot"},      {"tree.gv", "dot"},
      {"tree.nwk", "newick"},  {"tree.newick", "newick"},   {"tree.tsv", "tsv"},      {"tree.txt", "json"},
      {"tree", "json"},        {"out.d/tree.gv", "dot"},    {"graphml", "json"},
  };
  for (const auto& [path, format] : cases) EXPECT_EQ(choice_name(hierarchy_format_for(path)), format) << path;
}

TEST(HierarchyFormats, WriteHierarchyReplacesTheFileWithExactlyTheFormattedText) {
  ScratchDir dir;
  write_text(dir / "h.tsv", "old contents that are longer than the new ones will be, surely, by quite a lot of text");
  const Hierarchy h = sample_forest();
  write_hierarchy(dir / "h.tsv", h, HierarchyFormat::Tsv);
  EXPECT_EQ(read_text(dir / "h.tsv"), format_hierarchy(h, HierarchyFormat::Tsv));
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u) << "no temporary file is left behind";
  EXPECT_FALSE(parse_choice<HierarchyFormat>("yaml")) << "formats are a closed set";
}

}  // namespace
}  // namespace conceptree
