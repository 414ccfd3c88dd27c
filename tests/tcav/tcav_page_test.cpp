// The TCAV page: self-contained, refuses what is not TCAV results, survives hostile labels and ids,
// and renders in a real (headless) browser: a row per concept (per parent in the tree), the
// significance marks, the filter, collapsing a parent, the significant-only, magnitude and sort
// toggles, and a selected concept beside its parents.

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "conceptree/error.hpp"
#include "conceptree/tcav_page.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;
using testing::page_data;
using testing::read_text;
using testing::ScratchDir;

const std::string kScriptLabel = "</script><script>alert(1)</script>";
const std::string kQuotedLabel = "\"quotes\" & <tags>";
const std::string kHostileId = "flute </script> \"id\" & <b>";

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A mean and spread over six runs, each run a value the page can draw.
OrderedJson runs_of(double mean, double spread) {
  return {{"mean", mean}, {"std", spread}, {"runs", {mean - spread, mean + spread, mean - spread, mean + spread, mean, mean}}};
}

struct ConceptSpec {
  std::string id, label;
  double score;
  double q_t, q_rank;  // < 0: not tested (null)
  bool significant;
  int direction;
  std::vector<std::string> parents, children;
  OrderedJson subtree_agrees;
};

OrderedJson concept_json(const ConceptSpec& spec, bool hierarchy) {
  const auto tested = [](double q) { return q < 0 ? OrderedJson(nullptr) : OrderedJson(q); };
  return {{"id", spec.id},
          {"label", spec.label},
          {"type", "instrument"},
          {"n_tracks", 40},
          {"score", runs_of(spec.score, 0.04)},
          {"magnitude", runs_of(spec.score - 0.1, 0.03)},
          {"sensitivity", runs_of(spec.score - 0.5, 0.02)},
          {"random", runs_of(0.5, 0.08)},
          {"random_sensitivity", runs_of(0.0, 0.05)},
          {"tests",
           {{"score",
             {{"t", spec.q_t < 0 ? OrderedJson(nullptr) : OrderedJson(4.2)},
              {"df", spec.q_t < 0 ? OrderedJson(nullptr) : OrderedJson(5)},
              {"p_t", tested(spec.q_t / 4)},
              {"p_rank", tested(spec.q_rank / 4)},
              {"q_t", tested(spec.q_t)},
              {"q_rank", tested(spec.q_rank)}}},
            {"sensitivity", {{"t", 1.0}, {"df", 5}, {"p_t", 0.4}, {"p_rank", 0.5}, {"q_t", 0.9}, {"q_rank", 0.9}}}}},
          {"significant", spec.significant},
          {"direction", spec.direction},
          {"parents", hierarchy ? spec.parents : std::vector<std::string>{}},
          {"children", hierarchy ? spec.children : std::vector<std::string>{}},
          {"subtree_agrees", hierarchy ? spec.subtree_agrees : OrderedJson(nullptr)}};
}

// brass over trumpet and horn; wind (a hostile label) over horn too and flute (a hostile id);
// strings, significantly below the null, and silence, untested, on their own. t-test q-values
// per concept, smallest first: strings, trumpet, brass, horn, flute, wind, silence.
OrderedJson results(bool hierarchy) {
  const std::vector<ConceptSpec> specs = {
      {"brass", "family: brass", 0.85, 1e-3, 1e-3, true, 1, {}, {"trumpet", "horn"}, true},
      {"trumpet", "trumpet", 0.9, 1e-4, 2e-3, true, 1, {"brass"}, {}, nullptr},
      {"horn", kScriptLabel, 0.8, 0.01, 0.02, true, 1, {"brass", "wind"}, {}, nullptr},
      {"wind", kQuotedLabel, 0.55, 0.4, 0.5, false, 0, {}, {"horn", kHostileId}, false},
      {kHostileId, "flute", 0.2, 0.3, 0.03, false, 0, {"wind"}, {}, nullptr},
      {"strings", "strings", 0.15, 1e-5, 5e-4, true, -1, {}, {}, nullptr},
      {"silence", "silence", 0.5, -1, -1, false, 0, {}, {}, nullptr},
  };
  OrderedJson concepts = OrderedJson::array();
  for (const auto& spec : specs) concepts.push_back(concept_json(spec, hierarchy));
  return {{"format", "conceptree.tcav"}, {"format_version", 1}, {"tool_version", "conceptree 0.1.0"},
          {"target", "happy"}, {"layer", "pool4_patch"}, {"inputs", 1234}, {"tracks", 200},
          {"cav", "pattern"}, {"test", "score"}, {"runs", 6}, {"random_runs", 6}, {"permutations", 10000}, {"alpha", 0.05}, {"seed", 0},
          {"hierarchy", hierarchy}, {"concepts", std::move(concepts)}};
}

TEST(TcavPage, IsSelfContainedAndEscapesLabelsAndIds) {
  const std::string html = tcav_page_html(results(true));
  // The error hook, data, d3 and the page's script: no label or id closes one early.
  testing::expect_self_contained_page(html, 4);
  EXPECT_FALSE(contains(html, "alert(1)</script>"));
  EXPECT_FALSE(contains(html, "<tags>"));
  EXPECT_FALSE(contains(html, "<b>"));

  const Json data = page_data(html, "TCAV_DATA");
  ASSERT_TRUE(data.is_object()) << "TCAV_DATA not found or not an object";
  ASSERT_EQ(data["concepts"].size(), 7u);
  EXPECT_EQ(data["concepts"][2]["label"], kScriptLabel) << "labels read back unchanged";
  EXPECT_EQ(data["concepts"][3]["label"], kQuotedLabel);
  EXPECT_EQ(data["concepts"][4]["id"], kHostileId) << "ids read back unchanged";
  EXPECT_EQ(data["concepts"][3]["children"][1], kHostileId);
  EXPECT_TRUE(data["concepts"][6]["tests"]["score"]["q_t"].is_null());
  EXPECT_EQ(data["target"], "happy");
}

TEST(TcavPage, RefusesWhatIsNotTcavResults) {
  OrderedJson other = results(false);
  other["format"] = "conceptree.explanations";
  EXPECT_THROW(tcav_page_html(other), FatalError);
  other["format"] = 1;
  EXPECT_THROW(tcav_page_html(other), FatalError);
  OrderedJson newer = results(false);
  newer["format_version"] = 2;
  EXPECT_THROW(tcav_page_html(newer), FatalError);
  OrderedJson no_concepts = results(false);
  no_concepts.erase("concepts");
  EXPECT_THROW(tcav_page_html(no_concepts), FatalError);
  EXPECT_THROW(tcav_page_html(OrderedJson::array()), FatalError);
}

// ---------------------------------------------------------------------------------------------
// In a browser: headless Chromium opens the page at #selftest=FILTER; tcav.js records the rows,
// collapses and reopens a parent, filters, toggles significant-only, magnitude, the list view and
// the q sort, selects the filter's first match and writes what it rendered into <pre id="selftest">.

fs::path write_page(const ScratchDir& dir, const OrderedJson& data) {
  const fs::path page = dir / "tcav.html";
  testing::write_text(page, tcav_page_html(data));
  return page;
}

TEST(TcavPage, BrowserShowsTheTreeMarksFilterAndDetailWithoutErrors) {
  if (testing::chromium().empty()) GTEST_SKIP() << testing::kNoChromium;
  const ScratchDir dir;
  const fs::path page = write_page(dir, results(true));

  const testing::BrowserRun run = testing::open_selftest(page, "horn");
  ASSERT_TRUE(run.selftest.is_object()) << "no self-test result in the page; Chromium said:\n" << run.log;
  const Json& result = run.selftest;
  EXPECT_EQ(result["errors"], Json::array()) << result;
  EXPECT_TRUE(run.console.empty()) << run.console.front();
  EXPECT_EQ(result["title"], "TCAV of happy at pool4_patch");
  EXPECT_EQ(result["settings"], "6 runs · 6 random concepts · 10,000 permutations · α 0.05 · 1,234 inputs scored · 200 tracks · seed 0");
  EXPECT_EQ(result["view"], "tree");
  // Roots by score, children by score under them; horn under both its parents.
  EXPECT_EQ(result["row_labels"], Json::array({"family: brass", "trumpet", kScriptLabel, kQuotedLabel, kScriptLabel, "flute", "silence", "strings"}));
  EXPECT_EQ(result["rows"], 8);
  EXPECT_EQ(result["star_marks"], 5) << "brass, trumpet, horn twice, strings: significant and confirmed by the rank test";
  EXPECT_EQ(result["starred_concepts"], 4);
  EXPECT_EQ(result["agreeing_rows"], 1) << "brass's subtree agrees";
  EXPECT_EQ(result["bands"], 8) << "every row draws its random null";
  EXPECT_EQ(result["collapsed"], "family: brass");
  EXPECT_EQ(result["rows_after_collapse"], 6) << "collapsing brass hides trumpet and horn under it";
  EXPECT_EQ(result["rows_below_collapsed"], 0);
  EXPECT_EQ(result["rows_after_expand"], 8);
  // The filter keeps horn under each parent, the parents as context.
  EXPECT_EQ(result["filtered_labels"], Json::array({"family: brass", kScriptLabel, kQuotedLabel, kScriptLabel}));
  EXPECT_EQ(result["filtered_matches"], Json::array({"horn", "horn"}));
  // Wind is not significant but stays as the way to horn.
  EXPECT_EQ(result["significant_labels"], Json::array({"family: brass", "trumpet", kScriptLabel, kQuotedLabel, kScriptLabel, "strings"}));
  EXPECT_EQ(result["magnitude_values"][0], "0.75 ± 0.03") << "brass's magnitude";
  EXPECT_EQ(result["magnitude_bands"], 0) << "the magnitude has no null";
  EXPECT_EQ(result["sensitivity_values"][0], "0.35 ± 0.02") << "brass's sensitivity";
  EXPECT_EQ(result["sensitivity_bands"], 8) << "the sensitivity's null drawn on every row";
  EXPECT_EQ(result["sensitivity_ticks"], Json::array({"-0.45", "-0.225", "0", "0.225", "0.45"}))
      << "symmetric about 0, to the largest |mean| + sd (trumpet's 0.4 + 0.02 and up to 0.05)";
  EXPECT_EQ(result["list_rows"], 7) << "the list: one row per concept";
  EXPECT_EQ(result["list_labels"], Json::array({"trumpet", "family: brass", kScriptLabel, kQuotedLabel, "silence", "flute", "strings"}));
  EXPECT_EQ(result["q_labels"], Json::array({"strings", "trumpet", "family: brass", kScriptLabel, "flute", kQuotedLabel, "silence"}));
  EXPECT_EQ(result["selected"], "horn");
  EXPECT_EQ(result["detail_title"], kScriptLabel) << "shown as text, not markup";
  EXPECT_EQ(result["detail_related"], Json::array({"parent: family: brass", "parent: " + kQuotedLabel, "this: " + kScriptLabel}));
  EXPECT_EQ(result["detail_runs"], 12) << "six runs of the score, six of the null";

  // A filter on a hostile id, passed through the URL as the page would receive it.
  const testing::BrowserRun hostile = testing::open_selftest(page, "flute%20%3C%2Fscript%3E");
  ASSERT_TRUE(hostile.selftest.is_object()) << hostile.log;
  EXPECT_EQ(hostile.selftest["errors"], Json::array()) << hostile.selftest;
  EXPECT_EQ(hostile.selftest["filtered_matches"], Json::array({kHostileId}));
  EXPECT_EQ(hostile.selftest["detail_related"], Json::array({"parent: " + kQuotedLabel, "this: flute"}));

  // A screenshot for people to look at, kept beside the test programs.
  const fs::path screenshot = testing::test_artefact("tcav_page_screenshot.png");
  fs::remove(screenshot);
  const testing::CommandResult shot = testing::take_screenshot(page, "#concept=brass", screenshot, "1400,900");
  ASSERT_TRUE(fs::exists(screenshot)) << shot.err;
  const std::string png = read_text(screenshot);
  EXPECT_GT(png.size(), 20000u) << "a blank page compresses to almost nothing";
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST(TcavPage, BrowserListsConceptsByScoreWithoutAHierarchy) {
  if (testing::chromium().empty()) GTEST_SKIP() << testing::kNoChromium;
  const ScratchDir dir;
  const fs::path page = write_page(dir, results(false));
  const testing::BrowserRun run = testing::open_selftest(page, "quotes");
  ASSERT_TRUE(run.selftest.is_object()) << run.log;
  const Json& result = run.selftest;
  EXPECT_EQ(result["errors"], Json::array()) << result;
  EXPECT_TRUE(run.console.empty()) << run.console.front();
  EXPECT_EQ(result["view"], "list");
  EXPECT_EQ(result["rows"], 7);
  EXPECT_EQ(result["row_labels"], Json::array({"trumpet", "family: brass", kScriptLabel, kQuotedLabel, "silence", "flute", "strings"}));
  EXPECT_EQ(result["star_marks"], 4);
  EXPECT_EQ(result["agreeing_rows"], 0);
  EXPECT_FALSE(result.contains("rows_after_collapse")) << "a flat list has nothing to collapse";
  EXPECT_EQ(result["filtered_labels"], Json::array({kQuotedLabel}));
  EXPECT_EQ(result["significant_labels"], Json::array({"trumpet", "family: brass", kScriptLabel, "strings"}));
  EXPECT_EQ(result["detail_related"], Json::array()) << "no hierarchy: no parents and children to show";
}

}  // namespace
}  // namespace conceptree
