// conceptree explain --html: the page is self-contained, holds every track, survives hostile labels
// and ids, and renders in a real (headless) browser: the track selector, heat-map rows grouped by
// the hierarchy that collapse on a click, the summary sentences, spectrogram and audio.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <span>

#include "conceptree/concept_set.hpp"
#include "conceptree/error.hpp"
#include "conceptree/explain.hpp"
#include "conceptree/explain_page.hpp"
#include "conceptree/logmel.hpp"
#include "support/test_support.hpp"
#include "tone_concepts.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using testing::page_data;
using testing::quoted_args;
using testing::read_text;
using testing::run_cli;
using testing::ScratchDir;

const std::string kScriptLabel = "</script><script>alert(1)</script>";
const std::string kQuotedLabel = "\"quotes\" & <tags>";
const std::string kHostileId = "second </script> \"take\" & <b>";
constexpr double kHop = 0.5;        // seconds between the toy frames
constexpr std::uint64_t kFrames = 24;  // 12 s

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Four concepts on 4-d frames, each firing on its own dimension; held-out non-members of each
// scored 0.1, 0.2, ..., 0.9.
ConceptSet instruments() {
  ConceptSet set;
  set.layer = "toy";
  set.dim = 4;
  set.names = {"brass", "trumpet", "horn", "strings"};
  set.types = {"family", "instrument", "instrument", "family"};
  set.kept = {1, 1, 1, 1};
  set.weights = {20, 0, 0, 0, 0, 20, 0, 0, 0, 0, 20, 0, 0, 0, 0, 20};
  set.bias = {-10, -10, -10, -10};
  std::vector<float> negatives;
  for (int i = 1; i <= 9; ++i) negatives.push_back(0.1f * static_cast<float>(i));
  for (std::size_t k = 0; k < set.names.size(); ++k) {
    set.calibration.test_negative.add(negatives);
    set.calibration.test_positive.add({0.97f, 0.99f});
  }
  return set;
}

// brass over trumpet and horn; horn and strings wear hostile labels.
Hierarchy brass_family() {
  Hierarchy hierarchy;
  hierarchy.nodes = {{.id = "brass", .label = "family: brass", .type = "family"},
                     {.id = "trumpet", .label = "trumpet", .type = "instrument"},
                     {.id = "horn", .label = kScriptLabel, .type = "instrument"},
                     {.id = "strings", .label = kQuotedLabel, .type = "family"}};
  hierarchy.links = {{.parent = 0, .child = 1, .weight = 0.8f}, {.parent = 0, .child = 2, .weight = 0.7f}};
  return hierarchy;
}

// kFrames frames with dimension d on where `on(d, t)`.
template <class On>
FrameMatrix frames(On on) {
  FrameMatrix m{kFrames, 4, {}};
  for (std::uint64_t t = 0; t < kFrames; ++t)
    for (int d = 0; d < 4; ++d) m.values.push_back(on(d, t) ? 1.0f : 0.0f);
  return m;
}

// A log-mel of the track's length with a rising line, enough to see it drawn.
FrameMatrix sweep_logmel() {
  const double hop = kLogMelHop / kLogMelSampleRate;
  FrameMatrix m{static_cast<std::uint64_t>(static_cast<double>(kFrames) * kHop / hop), kLogMelBands, {}};
  for (std::uint64_t t = 0; t < m.rows; ++t)
    for (std::uint64_t b = 0; b < m.cols; ++b) m.values.push_back(b == t * m.cols / m.rows ? 3.0f : 0.2f * static_cast<float>(b % 7));
  return m;
}

// Three tracks: brass throughout with trumpet from 2 s ("first", with audio); horn throughout
// (hostile id and label, with audio); and one explained from a store (no log-mel, no audio).
std::vector<ExplainPageTrack> page_tracks(const ConceptExplainer& explainer) {
  const double logmel_hop = kLogMelHop / kLogMelSampleRate;
  std::vector<ExplainPageTrack> tracks;
  tracks.push_back({explainer.explain("first", frames([](int d, std::uint64_t t) { return d == 0 || (d == 1 && t >= 4); }), kHop), sweep_logmel(),
                    logmel_hop, "audio/first.wav"});
  tracks.push_back({explainer.explain(kHostileId, frames([](int d, std::uint64_t) { return d == 2; }), kHop), sweep_logmel(), logmel_hop,
                    "audio/second take.wav"});
  tracks.push_back({explainer.explain("from-store", frames([](int d, std::uint64_t t) { return d == 3 && t < 20; }), kHop), {}, 0, ""});
  return tracks;
}

const ExplainOptions kOptions{.presence = 0.8, .min_segment_seconds = 1.0};

TEST(ExplainPage, IsSelfContainedHoldsEveryTrackAndEscapesLabels) {
  const ConceptSet set = instruments();
  const Hierarchy hierarchy = brass_family();
  const ConceptExplainer explainer(set, &hierarchy, kOptions);
  const auto tracks = page_tracks(explainer);
  const std::string html = explain_page_html(explainer, &hierarchy, tracks);

  // The error hook, data, d3 and the page's script: no label closes one early.
  testing::expect_self_contained_page(html, 4);
  EXPECT_FALSE(contains(html, "alert(1)</script>"));
  EXPECT_FALSE(contains(html, "<tags>"));
  EXPECT_FALSE(contains(html, "<b>"));

  const Json data = page_data(html, "EXPLAIN_DATA");
  ASSERT_TRUE(data.is_object()) << "EXPLAIN_DATA not found or not an object";
  ASSERT_EQ(data["tracks"].size(), 3u);
  EXPECT_EQ(data["tracks"][0]["id"], "first");
  EXPECT_EQ(data["tracks"][1]["id"], kHostileId) << "ids read back unchanged";
  EXPECT_EQ(data["tracks"][2]["id"], "from-store");
  ASSERT_EQ(data["concepts"].size(), 4u);
  EXPECT_EQ(data["concepts"][2]["label"], kScriptLabel) << "labels read back unchanged";
  EXPECT_EQ(data["concepts"][3]["label"], kQuotedLabel);
  EXPECT_EQ(data["links"], Json::parse("[[0, 1], [0, 2]]"));
  EXPECT_TRUE(data["hierarchy"].get<bool>());

  const Json& first = data["tracks"][0];
  EXPECT_EQ(first["frames"], kFrames);
  EXPECT_DOUBLE_EQ(first["frame_hop"].get<double>(), kHop);
  EXPECT_EQ(first["present"], Json::parse("[0, 1]"));
  EXPECT_EQ(first["audio"], "audio/first.wav");
  // One byte per frame and concept, base64.
  EXPECT_EQ(first["activations"].get<std::string>().size(), (kFrames * 4 + 2) / 3 * 4);
  ASSERT_EQ(first["summary"].size(), 1u);
  EXPECT_EQ(first["summary"][0]["path"], Json::parse("[0, 1]"));
  // The spectrogram is thinned to at most 20 columns a second and one byte a value.
  const Json& spectrogram = first["spectrogram"];
  ASSERT_TRUE(spectrogram.is_object());
  EXPECT_EQ(spectrogram["bands"], kLogMelBands);
  const double columns_per_second = 1.0 / spectrogram["seconds_per_column"].get<double>();
  EXPECT_LE(columns_per_second, 20.0);
  EXPECT_GT(columns_per_second, 10.0);
  EXPECT_EQ(spectrogram["data"].get<std::string>().size(), (spectrogram["columns"].get<std::size_t>() * kLogMelBands + 2) / 3 * 4);
  EXPECT_NEAR(first["seconds"].get<double>(), 12.0, 0.02);

  const Json& from_store = data["tracks"][2];
  EXPECT_TRUE(from_store["spectrogram"].is_null());
  EXPECT_TRUE(from_store["audio"].is_null());
  EXPECT_DOUBLE_EQ(from_store["seconds"].get<double>(), 12.0);
}

TEST(ExplainPage, RefusesAnExplanationOfAnotherConceptSet) {
  const ConceptSet set = instruments();
  const ConceptExplainer explainer(set, nullptr, kOptions);
  ExplainPageTrack track{explainer.explain("t", frames([](int, std::uint64_t) { return true; }), kHop), {}, 0, ""};
  track.explanation.scores.pop_back();
  EXPECT_THROW(explain_page_html(explainer, nullptr, std::span(&track, 1)), FatalError);
}

// ---------------------------------------------------------------------------------------------
// In a browser: headless Chromium opens the page at #selftest=TRACK_ID; explain.js selects that
// track, collapses and reopens a row, shows every concept and back, clicks the timeline and writes
// what it rendered into <pre id="selftest">.

// Writes the page and, beside it, the audio it refers to.
fs::path write_page(const ScratchDir& dir, const std::string& html) {
  fs::create_directories(dir / "audio");
  testing::write_wav(dir / "audio" / "first.wav", testing::tone(12, 440));
  testing::write_wav(dir / "audio" / "second take.wav", testing::tone(12, 880));
  const fs::path page = dir / "explained.html";
  testing::write_text(page, html);
  return page;
}

TEST(ExplainPage, BrowserShowsTracksHeatMapSummaryAndPlaybackWithoutErrors) {
  if (testing::chromium().empty()) GTEST_SKIP() << testing::kNoChromium;
  const ScratchDir dir;
  const ConceptSet set = instruments();
  const Hierarchy hierarchy = brass_family();
  const ConceptExplainer explainer(set, &hierarchy, kOptions);
  const fs::path page = write_page(dir, explain_page_html(explainer, &hierarchy, page_tracks(explainer)));

  const testing::BrowserRun run = testing::open_selftest(page, "first");
  ASSERT_TRUE(run.selftest.is_object()) << "no self-test result in the page; Chromium said:\n" << run.log;
  const Json& result = run.selftest;
  EXPECT_EQ(result["errors"], Json::array()) << result;
  EXPECT_TRUE(run.console.empty()) << run.console.front();
  EXPECT_EQ(result["selector_tracks"], Json::array({"first", kHostileId, "from-store"}));
  EXPECT_EQ(result["track"], "first");
  // Present by default: brass, and trumpet indented under it.
  EXPECT_EQ(result["row_labels"], Json::array({"family: brass", "trumpet"}));
  EXPECT_EQ(result["heat_rows"], 2);
  EXPECT_EQ(result["present_rows"], 2);
  EXPECT_EQ(result["rows_after_collapse"], 1) << "collapsing brass hides trumpet";
  EXPECT_EQ(result["rows_after_expand"], 2);
  EXPECT_EQ(result["rows_all"], 4) << "every concept, brass's children under it";
  EXPECT_TRUE(result["heat_painted"].get<bool>()) << result;
  EXPECT_NEAR(result["cursor_seconds"].get<double>(), 6.0, 0.2) << "a click mid-timeline seeks to mid-track";
  EXPECT_EQ(result["summary"], Json::array({"family: brass → trumpet, 0:02–0:12 (score 0.89)"}));
  EXPECT_TRUE(result["spectrogram"].get<bool>());
  EXPECT_EQ(result["audio"], "audio/first.wav");

  const testing::BrowserRun second = testing::open_selftest(page, "second%20%3C%2Fscript%3E%20%22take%22%20%26%20%3Cb%3E");
  ASSERT_TRUE(second.selftest.is_object()) << second.log;
  EXPECT_EQ(second.selftest["errors"], Json::array()) << second.selftest;
  EXPECT_EQ(second.selftest["track"], kHostileId);
  EXPECT_EQ(second.selftest["summary"], Json::array({kScriptLabel + ", 0:00–0:12 (score 1.00)"})) << "shown as text, not markup";
  EXPECT_EQ(second.selftest["audio"], "audio/second%20take.wav");

  const testing::BrowserRun from_store = testing::open_selftest(page, "from-store");
  ASSERT_TRUE(from_store.selftest.is_object()) << from_store.log;
  EXPECT_EQ(from_store.selftest["errors"], Json::array()) << from_store.selftest;
  EXPECT_TRUE(from_store.console.empty()) << from_store.console.front();
  EXPECT_FALSE(from_store.selftest["spectrogram"].get<bool>()) << "no log-mel: a note instead";
  EXPECT_TRUE(from_store.selftest["audio"].is_null());
  EXPECT_EQ(from_store.selftest["row_labels"], Json::array({kQuotedLabel}));

  // A screenshot for people to look at, kept beside the test programs.
  const fs::path screenshot = testing::test_artefact("explain_page_screenshot.png");
  fs::remove(screenshot);
  const testing::CommandResult shot = testing::take_screenshot(page, "#track=first", screenshot, "1400,900");
  ASSERT_TRUE(fs::exists(screenshot)) << shot.err;
  const std::string png = read_text(screenshot);
  EXPECT_GT(png.size(), 20000u) << "a blank page compresses to almost nothing";
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST(ExplainPage, BrowserListsConceptsBestFirstWithoutAHierarchy) {
  if (testing::chromium().empty()) GTEST_SKIP() << testing::kNoChromium;
  const ScratchDir dir;
  const ConceptSet set = instruments();
  const ConceptExplainer explainer(set, nullptr, kOptions);
  const fs::path page = write_page(dir, explain_page_html(explainer, nullptr, page_tracks(explainer)));
  const testing::BrowserRun run = testing::open_selftest(page, "first");
  ASSERT_TRUE(run.selftest.is_object()) << run.log;
  EXPECT_EQ(run.selftest["errors"], Json::array()) << run.selftest;
  EXPECT_EQ(run.selftest["row_labels"], Json::array({"brass", "trumpet"}));
  EXPECT_FALSE(run.selftest.contains("rows_after_collapse")) << "a flat list has nothing to collapse";
  EXPECT_EQ(run.selftest["rows_all"], 4);
  EXPECT_EQ(run.selftest["summary"], Json::array({"brass, 0:00–0:12 (score 1.00)", "trumpet, 0:02–0:12 (score 0.89)"}));
}

// The real command on audio: concepts learned on the dsp frames of low and high tones (see
// ExplainCli.EmbedsAudioWithTheConceptSetsOwnBackbone), the page in a folder of its own.
TEST(ExplainCli, WritesAPageThatFindsTheAudioFromItsOwnFolder) {
  const ScratchDir dir;
  testing::write_tone_concepts(dir.path());
  if (::testing::Test::HasFatalFailure()) return;
  const fs::path page = dir / "pages" / "explained.html";
  fs::create_directories(page.parent_path());
  const auto result = run_cli(quoted_args({"-q", "explain", "-c", (dir / "concepts.h5").string(), (dir / "new").string(), "-o",
                                           (dir / "ex.h5").string(), "--html", page.string()}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_TRUE(fs::exists(page));
  const Json data = page_data(read_text(page), "EXPLAIN_DATA");
  ASSERT_TRUE(data.is_object());
  ASSERT_EQ(data["tracks"].size(), 2u);
  std::set<std::string> ids;
  for (const auto& track : data["tracks"]) {
    ids.insert(track["id"].get<std::string>());
    const std::string audio = track["audio"].get<std::string>();
    EXPECT_EQ(audio, "../new/" + track["id"].get<std::string>() + ".wav");
    EXPECT_TRUE(fs::exists(page.parent_path() / audio)) << audio;
    EXPECT_TRUE(track["spectrogram"].is_object()) << "audio has a log-mel";
    EXPECT_NEAR(track["seconds"].get<double>(), 4.0, 0.1);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"a_low", "b_high"}));
}

}  // namespace
}  // namespace conceptree
