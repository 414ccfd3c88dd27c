// conceptree report: the page is self-contained, holds every concept, survives hostile labels,
// odd hierarchies and empty inputs, and renders in a real (headless) browser without errors.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "conceptree/concept_set.hpp"
#include "conceptree/similarity.hpp"
#include "report/assets.hpp"
#include "report/cav_map.hpp"
#include "support/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using conceptree::testing::BrowserRun;
using conceptree::testing::chromium;
using conceptree::testing::CommandResult;
using conceptree::testing::kNoChromium;
using conceptree::testing::open_selftest;
using conceptree::testing::quoted_args;
using conceptree::testing::read_text;
using conceptree::testing::remote_references;
using conceptree::testing::run_cli;
using conceptree::testing::ScratchDir;
using conceptree::testing::shell_quote;
using conceptree::testing::write_text;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

Json embedded_data(const std::string& html) { return conceptree::testing::page_data(html, "REPORT_DATA"); }

// A small trained corpus (4 planted families of 5 concepts), made once for the whole suite with
// the CLI, as a user would: synth, import, train, similarity, hierarchy.
class Report : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    corpus_ = std::make_unique<ScratchDir>();
    const auto step = [](std::initializer_list<std::string> arguments) {
      const CommandResult result = run_cli(fmt::format("-q {}", quoted_args(arguments)));
      ASSERT_EQ(result.exit_code, 0) << result.err;
    };
    const std::string dir = corpus_->path().string();
    step({"synth", "-o", dir + "/corpus", "--tracks", "400", "--families", "4", "--concepts-per-family", "5"});
    step({"import", "--format", "npy-dir", dir + "/corpus/embeddings", "-o", dir + "/store.h5"});
    step({"train", "-e", dir + "/store.h5", "-m", dir + "/corpus/memberships.tsv", "-o", dir + "/concepts.h5"});
    step({"similarity", "-c", dir + "/concepts.h5", "-e", dir + "/store.h5", "-o", dir + "/sim.h5"});
    step({"hierarchy", "-s", dir + "/sim.h5", "-o", dir + "/tree.json"});
    write_text(corpus_->path() / "eval.json", R"({"hierarchy": "tree.json",
      "truth": {"file": "truth.tsv", "truth_concepts": 24, "matched": 20, "unmatched": ["a", "b", "c", "d"],
        "family_purity": 0.93, "ancestor_f1": 0.71, "adjusted_rand_index": 0.8, "a_metric_added_later": 0.5,
        "baselines": {"top1": {"family_purity": 0.9, "ancestor_f1": 0.41, "adjusted_rand_index": 0.6},
                      "random_top": {"family_purity": 0.3, "ancestor_f1": 0.1, "adjusted_rand_index": null}}},
      "proxy": {"file": "usage.npy", "metric": "l2", "lower_is_better": true, "concepts_with_vector": 20,
        "hierarchy": {"mean": 0.83, "ci95": 0.01, "n": 3400}, "random_top": {"mean": 1.1, "ci95": 0.012, "n": 3456}}})");
  }
  static void TearDownTestSuite() { corpus_.reset(); }

  static fs::path corpus(const std::string& name) { return corpus_->path() / name; }

  // Runs `conceptree report` on the corpus's files plus `extra` arguments.
  static CommandResult report(const fs::path& output, std::initializer_list<std::string> extra = {},
                              const fs::path& hierarchy = corpus("tree.json"), const fs::path& concepts = corpus("concepts.h5"),
                              const fs::path& similarity = corpus("sim.h5")) {
    std::string arguments = quoted_args({"report", "--concepts", concepts.string(), "--similarity", similarity.string(), "--hierarchy",
                                         hierarchy.string(), "-o", output.string()});
    for (const auto& argument : extra) arguments += fmt::format(" {}", shell_quote(argument));
    return run_cli(arguments);
  }

  static inline std::unique_ptr<ScratchDir> corpus_;
};

TEST_F(Report, WritesOneSelfContainedPageHoldingEveryConcept) {
  ScratchDir dir;
  write_text(dir / "labels.tsv", "family00_c01\tFirst of family zero\n");
  const fs::path page = dir / "report.html";
  const CommandResult result = report(page, {"--evaluation", corpus("eval.json").string(), "--truth", corpus("corpus/truth.tsv").string(),
                                             "--labels", (dir / "labels.tsv").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string html = read_text(page);

  // The error hook, data, d3 and the report.
  conceptree::testing::expect_self_contained_page(html, 4);
  EXPECT_EQ(remote_references(R"(<img SRC = "https://x/y.png"><a href='//cdn/z'><a href="#local">)").size(), 2u) << "the check itself";

  const Json data = embedded_data(html);
  ASSERT_TRUE(data.is_object()) << "REPORT_DATA not found or not an object";
  const conceptree::ConceptSet set = conceptree::read_concept_set(corpus("concepts.h5"));
  const Json tree = Json::parse(read_text(corpus("tree.json")));
  std::map<std::string, Json> by_id;
  for (const auto& entry : data["concepts"]) by_id[entry["id"].get<std::string>()] = entry;
  for (const auto& name : set.names) EXPECT_TRUE(by_id.contains(name)) << name;
  for (const auto& node : tree["nodes"]) {
    ASSERT_TRUE(by_id.contains(node["id"].get<std::string>())) << node;
    EXPECT_TRUE(by_id[node["id"].get<std::string>()]["in_hierarchy"].get<bool>());
  }
  EXPECT_EQ(data["concepts"].size(), set.size());
  EXPECT_EQ(data["counts"]["trained"], set.size());
  EXPECT_EQ(data["counts"]["kept"], std::count(set.kept.begin(), set.kept.end(), 1));
  EXPECT_EQ(data["counts"]["links"], tree["links"].size());
  EXPECT_EQ(data["min_accuracy"], 0.7);
  EXPECT_TRUE(data["tool_version"].get<std::string>().starts_with("conceptree "));
  // evaluate's layout, gathered per method for the tables.
  const Json& truth_methods = data["evaluation"]["truth"]["methods"];
  EXPECT_EQ(truth_methods["hierarchy"], Json::parse(R"({"family_purity": 0.93, "ancestor_f1": 0.71, "adjusted_rand_index": 0.8, "a_metric_added_later": 0.5})"));
  EXPECT_EQ(truth_methods["random_top"]["adjusted_rand_index"], nullptr);
  EXPECT_EQ(truth_methods.size(), 3u);
  const Json& proxy_methods = data["evaluation"]["proxy"]["methods"];
  EXPECT_EQ(proxy_methods.size(), 2u);
  EXPECT_EQ(proxy_methods["random_top"]["n"], 3456);
  EXPECT_EQ(data["warnings"], Json::array()) << "matching inputs give no warning";

  const auto& first = by_id["family00_c01"];
  EXPECT_EQ(first["label"], "First of family zero");
  EXPECT_EQ(first["family"], "family00");
  EXPECT_EQ(by_id["family02_c03"]["family"], "family02");
  for (const auto& [id, entry] : by_id) {
    ASSERT_TRUE(entry["map"].is_array()) << id;
    EXPECT_TRUE(std::isfinite(entry["map"][0].get<double>()) && std::isfinite(entry["map"][1].get<double>())) << id;
    EXPECT_TRUE(entry["n_tracks"].is_number()) << id;
    // Reliability: the accuracy inside its interval, weak exactly when the interval reaches chance.
    const Json& interval = entry["test_balanced_accuracy_ci95"];
    ASSERT_TRUE(interval.is_array()) << id;
    const double accuracy = entry["test_balanced_accuracy"].get<double>(), low = interval[0].get<double>(), high = interval[1].get<double>();
    EXPECT_LE(low, accuracy + 1e-4) << id;
    EXPECT_GE(high, accuracy - 1e-4) << id;
    EXPECT_LT(high - low, 0.5) << id << ": tens of test tracks per concept";
    EXPECT_EQ(entry["weak"].get<bool>(), low <= 0.5) << id;
    if (!entry["kept"].get<bool>()) continue;
    // Kept concepts are the similarity's: each lists its 10 most similar others, both ways, largest first.
    for (const char* direction : {"similar_to", "similar_from"}) {
      const Json& similar = entry[direction];
      ASSERT_EQ(similar.size(), 10u) << id << " " << direction;
      for (std::size_t k = 0; k < similar.size(); ++k) {
        EXPECT_NE(data["concepts"][similar[k][0].get<std::size_t>()]["id"], id) << "a concept is not its own neighbour";
        if (k > 0) {
          EXPECT_GE(similar[k - 1][1].get<double>(), similar[k][1].get<double>()) << id << " " << direction;
        }
      }
    }
  }
  // The lists are S's rows and columns: check one entry against the similarity file.
  const conceptree::SimilarityMatrix similarity = conceptree::read_similarity(corpus("sim.h5"));
  const std::size_t row = 0;
  const Json& strongest = by_id[similarity.names[row]]["similar_to"][0];
  float best = -1;
  for (std::size_t j = 1; j < similarity.size(); ++j) best = std::max(best, similarity.at(row, j));
  EXPECT_NEAR(strongest[1].get<double>(), best, 5e-4);
}

TEST_F(Report, LabelsCannotCloseTheDataScript) {
  ScratchDir dir;
  const std::string hostile = "</script><script>alert(1)</script><!-- & \"quoted\"";
  write_text(dir / "labels.tsv", "family01_c02\t" + hostile + "\n");
  const fs::path page = dir / "report.html";
  const CommandResult result = report(page, {"--labels", (dir / "labels.tsv").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string html = read_text(page);
  EXPECT_FALSE(contains(html, "alert(1)</script>"));
  EXPECT_FALSE(contains(html, "<!-- &"));
  const Json data = embedded_data(html);
  ASSERT_TRUE(data.is_object());
  bool found = false;
  for (const auto& entry : data["concepts"]) found = found || entry["label"] == hostile;
  EXPECT_TRUE(found) << "the label reads back unchanged";
}

TEST_F(Report, EmbeddedAssetsCanBeInlined) {
  for (const auto& [name, text] : {std::pair{"d3", conceptree::report_assets::d3_js()}, std::pair{"report.js", conceptree::report_assets::report_js()}}) {
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_FALSE(contains(lower, "</script")) << name;
    EXPECT_GT(text.size(), 1000u) << name;
  }
  for (const char* marker : {"<!-- conceptree:style -->", "<!-- conceptree:data -->", "<!-- conceptree:d3 -->", "<!-- conceptree:script -->"}) {
    EXPECT_TRUE(contains(std::string(conceptree::report_assets::report_html()), marker)) << marker;
  }
}

TEST_F(Report, LinksToAnExplanationPageRelativeToItsOwnFolder) {
  ScratchDir dir;
  fs::create_directories(dir / "pages" / "explained");
  write_text(dir / "pages" / "explained" / "page.html", "<!doctype html>");
  const fs::path page = dir / "report.html";
  const CommandResult result = report(page, {"--explanations", (dir / "pages" / "explained" / "page.html").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const Json data = embedded_data(read_text(page));
  EXPECT_EQ(data["explanations"], "pages/explained/page.html");
  EXPECT_EQ(data["warnings"], Json::array());

  // Not there (yet): still linked, with a warning.
  const CommandResult missing = report(dir / "other.html", {"--explanations", (dir / "later.html").string()});
  ASSERT_EQ(missing.exit_code, 0) << missing.err;
  EXPECT_TRUE(contains(missing.err, "later.html does not exist")) << missing.err;
  EXPECT_EQ(embedded_data(read_text(dir / "other.html"))["explanations"], "later.html");
}

TEST_F(Report, MissingOrMalformedInputsAreErrorsNamingTheFile) {
  ScratchDir dir;
  write_text(dir / "broken.json", "{\"truth\": ");
  write_text(dir / "unrelated.json", "{\"nodes\": []}");
  write_text(dir / "truth.tsv", "child\tparent\na\tb\nno tab on this line\n");
  struct Case {
    std::string what;
    std::vector<std::string> extra;
    fs::path hierarchy;
    std::string named;
  };
  const std::vector<Case> cases = {
      {"missing hierarchy", {}, dir / "nope.json", "nope.json"},
      {"evaluation not JSON", {"--evaluation", (dir / "broken.json").string()}, corpus("tree.json"), "broken.json"},
      {"evaluation without results", {"--evaluation", (dir / "unrelated.json").string()}, corpus("tree.json"), "unrelated.json"},
      {"bad truth line", {"--truth", (dir / "truth.tsv").string()}, corpus("tree.json"), "truth.tsv:3"},
      {"missing labels", {"--labels", (dir / "none.tsv").string()}, corpus("tree.json"), "none.tsv"},
      {"hierarchy not JSON", {}, dir / "broken.json", "broken.json"},
  };
  for (const auto& test : cases) {
    std::string arguments = quoted_args({"report", "-c", corpus("concepts.h5").string(), "-s", corpus("sim.h5").string(), "--hierarchy",
                                         test.hierarchy.string(), "-o", (dir / "report.html").string()});
    for (const auto& argument : test.extra) arguments += fmt::format(" {}", shell_quote(argument));
    const CommandResult result = run_cli(arguments);
    EXPECT_EQ(result.exit_code, 1) << test.what;
    EXPECT_TRUE(contains(result.err, test.named)) << test.what << ": " << result.err;
    EXPECT_FALSE(fs::exists(dir / "report.html")) << test.what;
  }
  const CommandResult missing_concepts = report(dir / "report.html", {}, corpus("tree.json"), dir / "absent.h5");
  EXPECT_EQ(missing_concepts.exit_code, 1);
  EXPECT_TRUE(contains(missing_concepts.err, "absent.h5")) << missing_concepts.err;
}

TEST_F(Report, RefusesToOverwriteWithoutTheFlag) {
  ScratchDir dir;
  write_text(dir / "report.html", "mine");
  EXPECT_EQ(report(dir / "report.html").exit_code, 1);
  EXPECT_EQ(read_text(dir / "report.html"), "mine");
  EXPECT_EQ(report(dir / "report.html", {"--overwrite"}).exit_code, 0);
  EXPECT_NE(read_text(dir / "report.html"), "mine");
}

TEST_F(Report, HierarchyConceptsMissingFromTheInputsAreReportedAndStillShown) {
  ScratchDir dir;
  write_text(dir / "tree.json", R"({"nodes": [{"id": "family00_c00"}, {"id": "ghost", "label": "Ghost"}],
                                    "links": [{"source": "family00_c00", "target": "ghost"}]})");
  const fs::path page = dir / "report.html";
  const CommandResult result = report(page, {}, dir / "tree.json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.err, "1 of 2 concepts are not in")) << result.err;
  EXPECT_TRUE(contains(result.err, "'ghost'")) << result.err;
  const Json data = embedded_data(read_text(page));
  const Json& ghost = data["concepts"].back();
  EXPECT_EQ(ghost["id"], "ghost");
  EXPECT_EQ(ghost["label"], "Ghost");
  EXPECT_TRUE(ghost["n_tracks"].is_null());
  EXPECT_TRUE(ghost["map"].is_null());
  EXPECT_EQ(ghost["parents"].size(), 1u);
  EXPECT_EQ(data["warnings"].size(), 1u);
}

TEST_F(Report, AnEvaluationOfAnotherHierarchyIsFlagged) {
  ScratchDir dir;
  write_text(dir / "eval.json", R"({"hierarchy": "/elsewhere/top1.json", "proxy": {"metric": "l2", "top1": {"mean": 0.7}}})");
  const CommandResult result = report(dir / "report.html", {"--evaluation", (dir / "eval.json").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.err, "evaluates /elsewhere/top1.json, not")) << result.err;
  EXPECT_EQ(embedded_data(read_text(dir / "report.html"))["warnings"].size(), 1u);
}

TEST(ReportMap, PcaAxesAreCentredUncorrelatedAndOrderedByVariance) {
  // 60 CAVs in 8 dimensions: a strong planted direction, a weaker one, noise.
  const std::size_t rows = 60, dim = 8;
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  std::vector<float> weights(rows * dim);
  for (std::size_t r = 0; r < rows; ++r) {
    const float a = static_cast<float>(r % 10) - 4.5f, b = static_cast<float>(r % 3) - 1.0f;
    for (std::size_t d = 0; d < dim; ++d) weights[r * dim + d] = 10.0f + noise(rng);
    weights[r * dim + 0] += a;
    weights[r * dim + 1] += a * 0.5f;
    weights[r * dim + 2] += b;
  }
  const auto map = conceptree::pca_map(weights, rows, dim, std::vector<bool>(rows, true));
  ASSERT_EQ(map.points.size(), rows);
  EXPECT_EQ(map.fitted_rows, rows);
  double mean_x = 0, mean_y = 0, var_x = 0, var_y = 0, cov = 0;
  for (const auto& [x, y] : map.points) mean_x += x / rows, mean_y += y / rows;
  for (const auto& [x, y] : map.points) {
    var_x += (x - mean_x) * (x - mean_x);
    var_y += (y - mean_y) * (y - mean_y);
    cov += (x - mean_x) * (y - mean_y);
  }
  EXPECT_NEAR(mean_x, 0, 1e-9);
  EXPECT_NEAR(mean_y, 0, 1e-9);
  EXPECT_NEAR(cov / std::sqrt(var_x * var_y), 0, 1e-6);
  EXPECT_GT(var_x, var_y);
  EXPECT_GT(map.explained_variance[0], map.explained_variance[1]);
  EXPECT_LE(map.explained_variance[0] + map.explained_variance[1], 1.0 + 1e-9);
  // The planted direction (rows' r % 10) orders the points along the first axis, one way or the other.
  const double first = map.points[0][0], last = map.points[9][0];
  EXPECT_GT(std::fabs(last - first), 2 * std::sqrt(var_x / rows));
}

TEST(ReportMap, FitsOnMarkedRowsAndSurvivesDegenerateInputs) {
  EXPECT_EQ(conceptree::pca_map({}, 0, 4, {}).points.size(), 0u);
  const auto single = conceptree::pca_map({1, 2, 3}, 1, 3, {true});
  EXPECT_EQ(single.points[0][0], 0.0);
  // Two identical CAVs and one off to the side, fitted on the identical pair only: no variance to show.
  const auto map = conceptree::pca_map({1, 0, 1, 0, 0, 1}, 3, 2, {true, true, false});
  EXPECT_EQ(map.fitted_rows, 2u);
  for (const auto& point : map.points) EXPECT_TRUE(std::isfinite(point[0]) && std::isfinite(point[1]));
}

// ---------------------------------------------------------------------------------------------
// In a browser: headless Chromium (Debian's `chromium`) opens the page with #selftest=QUERY,
// report.js expands the whole tree, searches, selects the first hit and writes what it rendered
// into <pre id="selftest">.

TEST_F(Report, BrowserRendersEveryConceptFindsAndSelectsWithoutErrors) {
  if (chromium().empty()) GTEST_SKIP() << kNoChromium;
  ScratchDir dir;
  const fs::path page = dir / "report.html";
  fs::create_directories(dir / "explained");
  write_text(dir / "explained" / "songs & more.html", "<!doctype html>");
  ASSERT_EQ(report(page, {"--evaluation", corpus("eval.json").string(), "--truth", corpus("corpus/truth.tsv").string(), "--explanations",
                          (dir / "explained" / "songs & more.html").string()})
                .exit_code,
            0);
  const BrowserRun run = open_selftest(page, "c03");
  ASSERT_TRUE(run.selftest.is_object()) << "no self-test result in the page; Chromium said:\n" << run.log;
  const Json& result = run.selftest;
  EXPECT_EQ(result["errors"], Json::array()) << result;
  EXPECT_TRUE(run.console.empty()) << run.console.front();

  const Json tree = Json::parse(read_text(corpus("tree.json")));
  const auto set = conceptree::read_concept_set(corpus("concepts.h5"));
  EXPECT_EQ(result["hierarchy_concepts"], tree["nodes"].size());
  EXPECT_EQ(result["rendered_nodes"], tree["nodes"].size()) << "expanded, the tree shows every concept";
  EXPECT_EQ(result["map_points"], set.size()) << "the map places every trained concept";
  EXPECT_GT(result["histogram_bars"].get<int>(), 0);
  EXPECT_EQ(result["evaluation_tables"], 2);
  EXPECT_EQ(result["explanations_link"], "explained/songs%20%26%20more.html") << "linked from the header, relative to the report";
  std::set<std::string> hits(result["search_hits"].begin(), result["search_hits"].end());
  for (const char* id : {"family00_c03", "family01_c03", "family02_c03", "family03_c03"}) {
    EXPECT_TRUE(hits.contains(id)) << id << " not found by the search: " << result;
  }
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(result["selected"], result["search_hits"][0]);
  EXPECT_EQ(result["detail_title"], result["selected"]);
  EXPECT_NE(result["detail_accuracy"].get<std::string>().find("(95 % interval "), std::string::npos) << result["detail_accuracy"];
  EXPECT_EQ(result["weak_marks"], result["weak_concepts"]) << "every weak concept in the tree is marked, and only those";
  // The planted families (250 tracks each, a mix of five concepts) are weak classifiers: flagged.
  const BrowserRun family = open_selftest(page, "family00");
  ASSERT_TRUE(family.selftest.is_object()) << family.log;
  EXPECT_EQ(family.selftest["selected"], "family00");
  const Json& badges = family.selftest["detail_badges"];
  EXPECT_NE(std::find(badges.begin(), badges.end(), "weak: its accuracy interval reaches chance"), badges.end()) << badges;

  // A screenshot for people to look at, kept beside the test programs.
  const fs::path screenshot = conceptree::testing::test_artefact("report_screenshot.png");
  fs::remove(screenshot);
  const CommandResult shot = conceptree::testing::take_screenshot(page, "#search=c03", screenshot, "1400,1000");
  ASSERT_TRUE(fs::exists(screenshot)) << shot.err;
  const std::string png = read_text(screenshot);
  EXPECT_GT(png.size(), 20000u) << "a blank page compresses to almost nothing";
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST_F(Report, BrowserShowsSharedChildrenUnderEachParentAndCutsCycles) {
  if (chromium().empty()) GTEST_SKIP() << kNoChromium;
  ScratchDir dir;
  // family00_c00 and family01_c00 share a child; c01 -> c02 -> c03 -> c01 is a cycle no top-level concept reaches.
  write_text(dir / "tree.json", R"({"nodes": [{"id": "family00_c00"}, {"id": "family01_c00"}, {"id": "family02_c00"},
                                               {"id": "family02_c01"}, {"id": "family02_c02"}, {"id": "family02_c03"}],
    "links": [{"source": "family00_c00", "target": "family02_c00"}, {"source": "family01_c00", "target": "family02_c00"},
              {"source": "family02_c01", "target": "family02_c02"}, {"source": "family02_c02", "target": "family02_c03"},
              {"source": "family02_c03", "target": "family02_c01"}]})");
  const fs::path page = dir / "report.html";
  const CommandResult written = report(page, {}, dir / "tree.json");
  ASSERT_EQ(written.exit_code, 0) << written.err;
  const BrowserRun run = open_selftest(page, "family02_c02");
  ASSERT_TRUE(run.selftest.is_object()) << run.log;
  EXPECT_EQ(run.selftest["errors"], Json::array()) << run.selftest;
  EXPECT_TRUE(run.console.empty()) << run.console.front();
  EXPECT_EQ(run.selftest["rendered_nodes"], 6);
  // Roots c00 of families 0 and 1 with the shared child under each (4 rows), and the cycle entered
  // once at family02_c01 and shown back to itself once, marked (4 rows).
  EXPECT_EQ(run.selftest["tree_rows"], 8);
  EXPECT_EQ(run.selftest["selected"], "family02_c02");
}

TEST_F(Report, BootstrapSupportOnEveryLinkAndAFilterThatHidesWeakLinks) {
  if (chromium().empty()) GTEST_SKIP() << kNoChromium;
  ScratchDir dir;
  // A consensus as `conceptree bootstrap` writes it: two links every run had, one a third of them had.
  write_text(dir / "tree.json", R"({"nodes": [{"id": "family00"}, {"id": "family00_c00"}, {"id": "family00_c01"}, {"id": "family01"}],
    "links": [{"source": "family00", "target": "family00_c00", "weight": 0.7, "support": 1.0},
              {"source": "family00", "target": "family00_c01", "weight": 0.6, "support": 1.0},
              {"source": "family00_c01", "target": "family01", "weight": 0.3, "support": 0.333}],
    "alternative_links": [{"source": "family01", "target": "family00_c00", "weight": 0.2, "support": 0.1}]})");
  const fs::path page = dir / "report.html";
  const CommandResult written = report(page, {}, dir / "tree.json");
  ASSERT_EQ(written.exit_code, 0) << written.err;
  const Json data = embedded_data(read_text(page));
  EXPECT_EQ(data["has_support"], true);
  const BrowserRun run = open_selftest(page, "family01");
  ASSERT_TRUE(run.selftest.is_object()) << run.log;
  EXPECT_EQ(run.selftest["errors"], Json::array()) << run.selftest;
  EXPECT_TRUE(run.console.empty()) << run.console.front();
  EXPECT_EQ(run.selftest["support_marks"], 3) << "each link shows its support next to the child";
  EXPECT_EQ(run.selftest["roots_unfiltered"], 1);
  EXPECT_EQ(run.selftest["roots_with_every_link_filtered"], 4) << "above every support, each concept is top level";
  // Without support (any other hierarchy) there is no mark and no filter.
  ASSERT_EQ(report(dir / "plain.html").exit_code, 0);
  const BrowserRun unsupported = open_selftest(dir / "plain.html", "c03");
  ASSERT_TRUE(unsupported.selftest.is_object()) << unsupported.log;
  EXPECT_EQ(unsupported.selftest["support_marks"], 0);
  EXPECT_FALSE(unsupported.selftest.contains("roots_unfiltered"));
}

TEST_F(Report, NoKeptConceptIsStillAValidReportSayingSo) {
  ScratchDir dir;
  const std::string store = corpus("store.h5").string(), memberships = corpus("corpus/memberships.tsv").string();
  const auto train = quoted_args({"train", "-e", store, "-m", memberships, "-o", (dir / "none.h5").string(), "--min-accuracy", "0.999"});
  ASSERT_EQ(run_cli(fmt::format("-q {}", train)).exit_code, 0);
  conceptree::SimilarityMatrix empty;
  empty.measure = "activation";
  conceptree::write_similarity(dir / "sim.h5", empty);
  write_text(dir / "tree.json", R"({"nodes": [], "links": []})");
  const fs::path page = dir / "report.html";
  const CommandResult result = report(page, {}, dir / "tree.json", dir / "none.h5", dir / "sim.h5");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.err, "no concept passed the accuracy cut")) << result.err;
  const Json data = embedded_data(read_text(page));
  ASSERT_TRUE(data.is_object());
  EXPECT_EQ(data["counts"]["kept"], 0);
  EXPECT_EQ(data["counts"]["hierarchy_nodes"], 0);
  EXPECT_GT(data["concepts"].size(), 0u) << "the trained concepts are still on the map and in the histogram";

  if (chromium().empty()) return;
  const BrowserRun run = open_selftest(page, "family");
  ASSERT_TRUE(run.selftest.is_object()) << run.log;
  EXPECT_EQ(run.selftest["errors"], Json::array()) << run.selftest;
  EXPECT_TRUE(run.console.empty()) << run.console.front();
  EXPECT_EQ(run.selftest["rendered_nodes"], 0);
  EXPECT_EQ(run.selftest["map_points"], data["concepts"].size());
}

}  // namespace
