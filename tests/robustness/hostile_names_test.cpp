// Track ids and concept names with quotes, markup, '&', any script, emoji and path separators go
// through the whole pipeline -- import, train, similarity, hierarchy in every format, evaluate,
// report, explain --html -- and come out verbatim in outputs that still parse, with no markup
// injected and no file written outside the output folder. Ids and names holding control
// characters or bytes that are not UTF-8 are refused where they enter, each named in a clear message.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "conceptree/names.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/store.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using conceptree::testing::CommandResult;
using conceptree::testing::page_data;
using conceptree::testing::python_with_networkx;
using conceptree::testing::quoted_args;
using conceptree::testing::read_text;
using conceptree::testing::run_cli;
using conceptree::testing::run_command;
using conceptree::testing::run_python_script;
using conceptree::testing::ScratchDir;
using conceptree::testing::shell_quote;
using conceptree::testing::write_text;
using ::testing::HasSubstr;
using Names = std::set<std::string>;

// One concept per embedding dimension: the tracks whose value there is positive.
const std::vector<std::string> kConcepts = {
    "he said \"hi\"",
    "it's <b>bold</b> & more",
    "<script>alert(1)</script>",
    "</script><!--x",
    "\xe9\x9f\xb3\xe6\xa5\xbd Z\xc3\xbcrich \xf0\x9f\x8e\xb5 \xd9\x85\xd9\x88\xd8\xb3\xd9\x8a\xd9\x82\xd9\x89\xe2\x80\x8f",  // 音楽 Zürich 🎵 موسيقى + RLM
    "../escape/a/b",
    "/abs/concept",
    "(a),[b];c:d_e 'x'",
};
const std::vector<std::string> kTrackPatterns = {"t{}", "\"q{}\"", "it's{}", "<script>{}", "</script>{}", "a&b{}",
                                                 "\xc3\xbc{}\xf0\x9f\x8e\xb5", "../x{}", "/abs{}", "a/b{}"};
// Ids the import refuses (a tab, a control character, a byte that is not UTF-8), as messages show them.
const std::vector<std::pair<std::string, std::string>> kRefusedTracks = {{"bad\tone", "bad\\tone"}, {"bad\x01two", "bad\\x01two"}, {"bad\xffthree", "bad\\xFFthree"}};
constexpr std::size_t kTracks = 240;

// The labels of a Newick text, unquoted ('' inside quotes is one quote).
Names newick_labels(const std::string& text) {
  Names labels;
  std::size_t at = 0;
  while (at < text.size()) {
    const char c = text[at];
    if (c == '(' || c == ')' || c == ',' || c == ';' || c == '\n') {
      ++at;
    } else if (c == '[') {
      at = text.find(']', at) + 1;  // an NHX comment
    } else if (c == '\'') {
      std::string label;
      for (++at; at < text.size(); ++at) {
        if (text[at] == '\'') {
          if (at + 1 < text.size() && text[at + 1] == '\'') {
            label += '\'';
            ++at;
            continue;
          }
          ++at;
          break;
        }
        label += text[at];
      }
      labels.insert(label);
    } else {
      const std::size_t end = text.find_first_of("(),;[\n", at);
      labels.insert(text.substr(at, end - at));
      at = end;
    }
  }
  return labels;
}

class HostileNames : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<ScratchDir>();
    std::mt19937 random(11);
    std::normal_distribution<float> normal;
    const std::size_t dim = kConcepts.size();
    std::vector<float> rows;
    std::string ids, memberships = "concept\ttrack\n";
    for (std::size_t t = 0; t < kTracks; ++t) {
      const std::string id = fmt::format(fmt::runtime(kTrackPatterns[t % kTrackPatterns.size()]), t);
      good_tracks_.push_back(id);
      ids += id + "\n";
      for (std::size_t d = 0; d < dim; ++d) {
        rows.push_back(normal(random));
        if (rows.back() > 0) memberships += kConcepts[d] + "\t" + id + "\n";
      }
    }
    for (const auto& [id, shown] : kRefusedTracks) {
      ids += id + "\n";
      for (std::size_t d = 0; d < dim; ++d) rows.push_back(normal(random));
    }
    // Memberships the training refuses, each on its own line (the header is line 1).
    refused_membership_lines_ = {memberships_lines(memberships) + 1, memberships_lines(memberships) + 2, memberships_lines(memberships) + 3};
    memberships += std::string("bad\x02" "concept\t") + good_tracks_[0] + "\n";
    memberships += std::string("bad\xc3" "concept\t") + good_tracks_[0] + "\n";
    memberships += kConcepts[0] + "\tbad\x1b" "track\n";
    write_npy(path("all.npy"), rows, std::vector<std::uint64_t>{kTracks + kRefusedTracks.size(), dim});
    write_text(path("ids.txt"), ids);
    write_text(path("memberships.tsv"), memberships);

    import_ = cli({"import", "--format", "npy", path("all.npy"), "--ids", path("ids.txt"), "-o", path("store.h5")});
    train_ = cli({"train", "-e", path("store.h5"), "-m", path("memberships.tsv"), "-o", path("concepts.h5"), "--min-tracks", "20"});
    step({"similarity", "-c", path("concepts.h5"), "-e", path("store.h5"), "-o", path("sim.h5")});
    for (const char* extension : {"json", "graphml", "dot", "nwk", "tsv"}) {
      step({"hierarchy", "-s", path("sim.h5"), "-o", path(std::string("tree.") + extension)});
    }
    std::string truth = "child\tparent\n";
    for (std::size_t c = 1; c < kConcepts.size(); ++c) truth += kConcepts[c] + "\t" + kConcepts[0] + "\n";
    write_text(path("truth.tsv"), truth);
    step({"evaluate", "--hierarchy", path("tree.json"), "--truth", path("truth.tsv"), "-o", path("eval.json")});
    step({"report", "-c", path("concepts.h5"), "-s", path("sim.h5"), "--hierarchy", path("tree.json"), "--evaluation", path("eval.json"),
          "--truth", path("truth.tsv"), "-o", path("report.html")});
    step({"explain", "-c", path("concepts.h5"), "--embeddings", path("store.h5"), "--hierarchy", path("tree.json"), "-o", path("explain.h5"),
          "--json", path("explain.json"), "--html", path("explain.html"), "--html-tracks", "20"});
  }
  static void TearDownTestSuite() { dir_.reset(); }

  static std::size_t memberships_lines(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }
  static std::string path(const std::string& name) { return (dir_->path() / name).string(); }
  static CommandResult cli(std::initializer_list<std::string> arguments) { return run_cli(quoted_args(arguments)); }
  static void step(std::initializer_list<std::string> arguments) {
    const CommandResult result = cli(arguments);
    ASSERT_EQ(result.exit_code, 0) << *arguments.begin() << ": " << result.err;
  }
  static Names concept_names() { return Names(kConcepts.begin(), kConcepts.end()); }

  static inline std::unique_ptr<ScratchDir> dir_;
  static inline std::vector<std::string> good_tracks_;
  static inline std::vector<std::size_t> refused_membership_lines_;
  static inline CommandResult import_, train_;
};

TEST_F(HostileNames, ImportKeepsPrintableIdsVerbatimAndNamesEachRefusedOne) {
  ASSERT_EQ(import_.exit_code, 0) << import_.err;
  const EmbeddingStore store(path("store.h5"));
  EXPECT_EQ(store.ids(), good_tracks_);
  for (const auto& [id, shown] : kRefusedTracks) EXPECT_THAT(import_.err, HasSubstr("track id '" + shown + "'")) << import_.err;
  // The errors file keeps its two columns: one tab per line, the ids in printable form.
  std::istringstream errors(read_text(path("store.h5.errors.tsv")));
  std::vector<std::string> lines;
  for (std::string line; std::getline(errors, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 1 + kRefusedTracks.size());
  for (std::size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(std::count(lines[i].begin(), lines[i].end(), '\t'), 1) << lines[i];
    EXPECT_EQ(lines[i].substr(0, lines[i].find('\t')), kRefusedTracks[i - 1].second);
    EXPECT_EQ(name_problem(lines[i]), "holds a tab at byte " + std::to_string(lines[i].find('\t') + 1));
  }
  // --strict stops at the first one and leaves no store.
  const CommandResult strict = cli({"import", "--format", "npy", path("all.npy"), "--ids", path("ids.txt"), "-o", path("strict.h5"), "--strict"});
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_THAT(strict.err, HasSubstr("track id 'bad\\tone' holds a tab"));
  EXPECT_FALSE(fs::exists(path("strict.h5")));
}

TEST_F(HostileNames, TrainingNamesTheRefusedMembershipLines) {
  ASSERT_EQ(train_.exit_code, 0) << train_.err;
  EXPECT_THAT(train_.err, HasSubstr("memberships.tsv:" + std::to_string(refused_membership_lines_[0]) + ": concept name 'bad\\x02concept' holds"));
  EXPECT_THAT(train_.err, HasSubstr("memberships.tsv:" + std::to_string(refused_membership_lines_[1]) + ": concept name 'bad\\xC3concept' is not valid UTF-8"));
  EXPECT_THAT(train_.err, HasSubstr("memberships.tsv:" + std::to_string(refused_membership_lines_[2]) + ": track id 'bad\\x1Btrack' holds"));
}

TEST_F(HostileNames, HierarchyJsonAndTsvHoldTheNamesVerbatim) {
  const auto tree = nlohmann::json::parse(read_text(path("tree.json")));
  Names ids, labels;
  for (const auto& node : tree["nodes"]) {
    ids.insert(node["id"].get<std::string>());
    labels.insert(node["label"].get<std::string>());
  }
  EXPECT_EQ(ids, concept_names());
  EXPECT_EQ(labels, concept_names());
  std::istringstream tsv(read_text(path("tree.tsv")));
  std::string line;
  std::getline(tsv, line);
  EXPECT_EQ(line, "child\tparent");
  Names children;
  for (; std::getline(tsv, line);) {
    ASSERT_EQ(std::count(line.begin(), line.end(), '\t'), 1) << line;
    const std::string child = line.substr(0, line.find('\t')), parent = line.substr(line.find('\t') + 1);
    children.insert(child);
    EXPECT_TRUE(parent.empty() || concept_names().contains(parent)) << parent;
  }
  EXPECT_EQ(children, concept_names());
}

TEST_F(HostileNames, GraphmlReadsBackWithTheNamesAsIdsAndLabels) {
  const std::string python = python_with_networkx();
  if (python.empty()) GTEST_SKIP() << "no /usr/bin/python3 with networkx";
  const auto result = run_python_script(python, dir_->path() / "read_graphml.py",
                                        "import json, sys\nimport networkx as nx\n"
                                        "g = nx.read_graphml(sys.argv[1])\n"
                                        "print(json.dumps({'ids': list(g.nodes), 'labels': [d['label'] for _, d in g.nodes(data=True)], 'edges': g.number_of_edges()}))\n",
                                        {path("tree.graphml")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto graph = nlohmann::json::parse(result.out);
  EXPECT_EQ(graph["ids"].get<Names>(), concept_names());
  EXPECT_EQ(graph["labels"].get<Names>(), concept_names());
  EXPECT_EQ(graph["edges"], nlohmann::json::parse(read_text(path("tree.json")))["links"].size());
}

TEST_F(HostileNames, DotParsesWithGraphvizWithTheNamesAsNodes) {
  if (run_command("command -v dot").exit_code != 0) GTEST_SKIP() << "graphviz's dot is not installed";
  const CommandResult result = run_command("dot -Tjson " + shell_quote(path("tree.dot")));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto graph = nlohmann::json::parse(result.out);
  Names names;
  for (const auto& object : graph["objects"]) names.insert(object["name"].get<std::string>());
  EXPECT_EQ(names, concept_names());
}

TEST_F(HostileNames, NewickLabelsReadBackVerbatim) {
  EXPECT_EQ(newick_labels(read_text(path("tree.nwk"))), concept_names());
}

TEST_F(HostileNames, EvaluationMatchesTheNamesAndStaysJson) {
  const auto evaluation = nlohmann::json::parse(read_text(path("eval.json")));
  EXPECT_EQ(evaluation["truth"]["matched"], kConcepts.size());
}

// A name must reach the page as text: never as an element, never closing the data's <script>.
void expect_no_injected_markup(const std::string& html) {
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("</script><!--x"), std::string::npos);
  EXPECT_EQ(html.find("<b>bold"), std::string::npos);
  EXPECT_EQ(html.find("<script>0"), std::string::npos);  // a track id
}

TEST_F(HostileNames, ReportPageHoldsTheNamesAsDataOnly) {
  const std::string html = read_text(path("report.html"));
  conceptree::testing::expect_self_contained_page(html, 4);
  expect_no_injected_markup(html);
  const auto data = page_data(html, "REPORT_DATA");
  ASSERT_FALSE(data.is_null());
  Names ids;
  for (const auto& entry : data["concepts"]) ids.insert(entry["id"].get<std::string>());
  EXPECT_EQ(ids, concept_names());
}

TEST_F(HostileNames, ExplanationsKeepTrackIdsAndConceptNames) {
  const auto explanations = nlohmann::json::parse(read_text(path("explain.json")));
  EXPECT_EQ(explanations["concepts"].get<Names>(), concept_names());
  std::vector<std::string> tracks;
  for (const auto& track : explanations["tracks"]) tracks.push_back(track["id"].get<std::string>());
  EXPECT_EQ(tracks, good_tracks_);
  const std::string html = read_text(path("explain.html"));
  conceptree::testing::expect_self_contained_page(html, 4);
  expect_no_injected_markup(html);
  const auto data = page_data(html, "EXPLAIN_DATA");
  ASSERT_FALSE(data.is_null());
  EXPECT_EQ(data["tracks"][3]["id"], good_tracks_[3]);
}

TEST_F(HostileNames, NothingIsWrittenOutsideTheOutputFolder) {
  for (const auto& entry : fs::recursive_directory_iterator(dir_->path())) {
    EXPECT_EQ(entry.path().parent_path(), dir_->path()) << entry.path();
  }
  // "../escape/a/b", "../x7" and "/abs8" are names, never paths.
  for (const fs::path& escaped : {dir_->path().parent_path() / "escape", dir_->path().parent_path() / "x7", fs::path("/abs8"), fs::path("/abs/concept")}) {
    EXPECT_FALSE(fs::exists(escaped)) << escaped;
  }
}

TEST(HostileNamesEmbed, AudioListIdsAreKeptOrRefusedAsImportedOnes) {
  ScratchDir dir;
  conceptree::testing::write_wav(dir / "tone.wav", conceptree::testing::tone(1.0, 440));
  write_text(dir / "list.tsv", "../up/<b>\"x\" & 'y' \xf0\x9f\x8e\xb5\ttone.wav\nbad\x01id\ttone.wav\n");
  const CommandResult result = run_cli(quoted_args({"embed", "--list", (dir / "list.tsv").string(), "-o", (dir / "store.h5").string()}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("track id 'bad\\x01id' holds the control character \\x01"));
  EXPECT_EQ(EmbeddingStore((dir / "store.h5").string()).ids(), std::vector<std::string>{"../up/<b>\"x\" & 'y' \xf0\x9f\x8e\xb5"});
  EXPECT_FALSE(fs::exists(dir.path().parent_path() / "up"));
}

TEST_F(HostileNames, EveryOtherInputRefusesControlCharactersNamingFileAndItem) {
  const auto expect_refused = [](const CommandResult& result, const std::string& where) {
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_THAT(result.err, HasSubstr(where)) << result.err;
    EXPECT_THAT(result.err, HasSubstr("no control characters")) << result.err;
  };
  write_text(path("labels.tsv"), kConcepts[0] + "\tfine label\n" + kConcepts[1] + "\tbad\rlabel\n");
  expect_refused(cli({"hierarchy", "-s", path("sim.h5"), "-o", path("labelled.json"), "--labels", path("labels.tsv")}), "labels.tsv:2: label 'bad\\rlabel'");
  write_text(path("bad_truth.tsv"), "child\tparent\nfine\tbad\x7f" "parent\n");
  expect_refused(cli({"evaluate", "--hierarchy", path("tree.json"), "--truth", path("bad_truth.tsv")}), "bad_truth.tsv:2: concept name 'bad\\x7Fparent'");
  write_text(path("bad_tree.json"), R"({"nodes": [{"id": "fine"}, {"id": "bad\u0000id"}], "links": []})");
  expect_refused(cli({"evaluate", "--hierarchy", path("bad_tree.json"), "--truth", path("truth.tsv")}), "nodes[1].id: concept id 'bad\\x00id'");
  write_npy(path("weights.npy"), std::vector<float>(2 * 3, 0.5F), std::vector<std::uint64_t>{2, 3});
  write_npy(path("bias.npy"), std::vector<float>(2, 0.0F), std::vector<std::uint64_t>{2});
  write_text(path("cav_names.txt"), "fine\nbad\x01name\n");
  expect_refused(cli({"cavs", "import", "--weights", path("weights.npy"), "--bias", path("bias.npy"), "--names", path("cav_names.txt"), "--layer",
                      "pool5", "-o", path("cavs.h5")}),
                 "cav_names.txt:2: concept name 'bad\\x01name'");
  write_text(path("proxy_ids.txt"), "fine\nbad\x1f" "id\n");
  write_npy(path("proxy.npy"), std::vector<float>(4, 1.0F), std::vector<std::uint64_t>{2, 2});
  expect_refused(cli({"evaluate", "--hierarchy", path("tree.json"), "--proxy", path("proxy.npy"), "--proxy-ids", path("proxy_ids.txt")}),
                 "proxy_ids.txt:2: concept id 'bad\\x1Fid'");
  for (const char* name : {"labelled.json", "cavs.h5"}) EXPECT_FALSE(fs::exists(path(name))) << name;
}

}  // namespace
}  // namespace conceptree
