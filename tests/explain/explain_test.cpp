// conceptree explain: the in-memory core on hand-made concepts, and the command on a synthetic
// store and on audio.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "conceptree/concept_set.hpp"
#include "conceptree/concepts.hpp"
#include "conceptree/error.hpp"
#include "conceptree/explain.hpp"
#include "conceptree/store.hpp"
#include "conceptree/synth.hpp"
#include "hdf5/hdf5.hpp"
#include "support/test_support.hpp"
#include "tone_concepts.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using testing::quoted_args;
using testing::run_cli;
using testing::ScratchDir;

// Two concepts on 2-d frames: "wind" fires on x0, "flute" on x1; held-out non-members of each
// scored 0.1, 0.2, ..., 0.9 (so a track at 0.95 beats all nine of them).
ConceptSet two_concepts() {
  ConceptSet set;
  set.layer = "toy";
  set.dim = 2;
  set.names = {"wind", "flute", "weak"};
  set.types = {"family", "instrument", "instrument"};
  set.kept = {1, 1, 0};
  set.weights = {20, 0, 0, 20, 1, 1};
  set.bias = {-10, -10, 0};
  std::vector<float> negatives;
  for (int i = 1; i <= 9; ++i) negatives.push_back(0.1f * static_cast<float>(i));
  for (int k = 0; k < 3; ++k) {
    set.calibration.test_negative.add(negatives);
    set.calibration.test_positive.add({0.97f, 0.99f});
  }
  return set;
}

Hierarchy wind_over_flute() {
  Hierarchy hierarchy;
  hierarchy.nodes = {{.id = "wind", .label = "family: wind", .type = "family"},
                     {.id = "flute", .label = "flute", .type = "instrument"}};
  hierarchy.links = {{.parent = 0, .child = 1, .weight = 0.8f}};
  return hierarchy;
}

// 10 frames of wind alone, then 10 of wind and flute.
FrameMatrix wind_then_flute() {
  FrameMatrix frames{20, 2, {}};
  for (int t = 0; t < 20; ++t) {
    frames.values.push_back(1.0f);
    frames.values.push_back(t < 10 ? 0.0f : 1.0f);
  }
  return frames;
}

TEST(ConceptExplainer, ScoresSegmentsAndASummaryDownTheHierarchy) {
  const ConceptSet set = two_concepts();
  const Hierarchy hierarchy = wind_over_flute();
  const ConceptExplainer explainer(set, &hierarchy, {.presence = 0.9, .min_segment_seconds = 2.0});
  ASSERT_EQ(explainer.names(), (std::vector<std::string>{"wind", "flute"}));  // only kept concepts
  EXPECT_EQ(explainer.labels()[0], "family: wind");
  EXPECT_TRUE(explainer.calibrated());
  const TrackExplanation e = explainer.explain("track", wind_then_flute(), 0.5);
  ASSERT_EQ(e.frames, 20u);
  EXPECT_DOUBLE_EQ(e.frame_seconds[3], 1.5);
  ASSERT_EQ(e.activations.size(), 40u);
  EXPECT_NEAR(e.activations[0], 1.0 / (1.0 + std::exp(-10.0)), 1e-6);  // wind on frame 0
  EXPECT_NEAR(e.activations[1], 1.0 / (1.0 + std::exp(10.0)), 1e-6);   // flute off on frame 0
  EXPECT_NEAR(e.mean_activation[1], 0.5, 1e-3);                         // flute on half the frames
  // Calibrated: wind's mean beats all nine non-members; flute's 0.5 beats four of them and ties
  // the fifth (a tie counts half).
  EXPECT_FLOAT_EQ(e.scores[0], 1.0f);
  EXPECT_GE(e.scores[1], 4.0 / 9.0);
  EXPECT_LE(e.scores[1], 5.0 / 9.0);
  EXPECT_EQ(e.present, (std::vector<std::uint8_t>{1, 0}));
  ASSERT_EQ(e.segments.size(), 1u);
  EXPECT_EQ(e.segments[0].concept_column, 0u);
  EXPECT_DOUBLE_EQ(e.segments[0].start, 0.0);
  EXPECT_DOUBLE_EQ(e.segments[0].end, 10.0);
  ASSERT_EQ(e.summary.size(), 1u);
  EXPECT_EQ(e.summary[0].path, std::vector<std::uint32_t>{0});

  // With a lower bar flute is present too: the summary stops at it, after its present parent.
  const ConceptExplainer lenient(set, &hierarchy, {.presence = 0.4, .min_segment_seconds = 2.0});
  const TrackExplanation both = lenient.explain("track", wind_then_flute(), 0.5);
  EXPECT_EQ(both.present, (std::vector<std::uint8_t>{1, 1}));
  ASSERT_EQ(both.summary.size(), 1u);
  EXPECT_EQ(both.summary[0].path, (std::vector<std::uint32_t>{0, 1}));
  EXPECT_DOUBLE_EQ(both.summary[0].start, 5.0);  // flute's segment: frames 10..19
  EXPECT_DOUBLE_EQ(both.summary[0].end, 10.0);
  // Without a hierarchy: a flat list of the present concepts, best first.
  const ConceptExplainer flat(set, nullptr, {.presence = 0.4, .min_segment_seconds = 2.0});
  const TrackExplanation listed = flat.explain("track", wind_then_flute(), 0.5);
  ASSERT_EQ(listed.summary.size(), 2u);
  EXPECT_EQ(listed.summary[0].path, std::vector<std::uint32_t>{0});
  EXPECT_EQ(listed.summary[1].path, std::vector<std::uint32_t>{1});
}

TEST(ConceptExplainer, ShortRunsAreFlickerAndShortGapsAreBridged) {
  const ConceptSet set = two_concepts();
  const ConceptExplainer explainer(set, nullptr, {.presence = 0.4, .min_segment_seconds = 2.0});
  // flute on frames 0-5, off 6, on 7-12, off 13-16, on 17 (one frame): hop 0.5 s, min 4 frames.
  FrameMatrix frames{18, 2, {}};
  for (int t = 0; t < 18; ++t) {
    const bool on = t <= 5 || (t >= 7 && t <= 12) || t == 17;
    frames.values.push_back(1.0f);
    frames.values.push_back(on ? 1.0f : 0.0f);
  }
  const TrackExplanation e = explainer.explain("flicker", frames, 0.5);
  std::vector<std::pair<double, double>> flute;
  for (const auto& s : e.segments)
    if (s.concept_column == 1) flute.emplace_back(s.start, s.end);
  EXPECT_EQ(flute, (std::vector<std::pair<double, double>>{{0.0, 6.5}}));
}

TEST(ConceptExplainer, RefusesBadFramesAndSetsWithoutKeptConcepts) {
  const ConceptSet set = two_concepts();
  const ConceptExplainer explainer(set, nullptr, {});
  EXPECT_THROW(explainer.explain("wide", FrameMatrix{1, 3, {1, 2, 3}}, 1.0), InputError);
  EXPECT_THROW(explainer.explain("empty", FrameMatrix{0, 2, {}}, 1.0), InputError);
  const auto nan = testing::input_error_from([&] { explainer.explain("nan", FrameMatrix{1, 2, {1, std::nanf("")}}, 1.0); });
  ASSERT_TRUE(nan);
  EXPECT_EQ(nan->item(), "nan");
  ConceptSet none = set;
  none.kept = {0, 0, 0};
  EXPECT_THROW(ConceptExplainer(none, nullptr, {}), InputError);
  // Without calibration the score is the mean activation.
  ConceptSet raw = set;
  raw.calibration = {};
  const ConceptExplainer uncalibrated(raw, nullptr, {});
  EXPECT_FALSE(uncalibrated.calibrated());
  EXPECT_NEAR(uncalibrated.explain("t", wind_then_flute(), 1.0).scores[1], 0.5, 1e-3);
}

// A synthetic store with planted concepts, a concept set trained on it.
struct TrainedCorpus {
  fs::path store, memberships, concepts;
  explicit TrainedCorpus(const ScratchDir& dir) {
    SynthConfig synth;
    synth.output = (dir / "corpus").string();
    synth.layout = SynthLayout::Store;
    synth.tracks = 400;
    synth.frames = 8;
    synth.dim = 16;
    synth.families = 2;
    synth.concepts_per_family = 3;
    synth.min_concept_tracks = 40;
    synth.max_concept_tracks = 100;
    SyntheticCorpus(synth).run();
    store = dir / "corpus" / "store.h5";
    memberships = dir / "corpus" / "memberships.tsv";
    concepts = dir / "concepts.h5";
    TrainConfig train;
    train.embeddings = store.string();
    train.memberships = memberships.string();
    train.output = concepts.string();
    ConceptTrainer(train).run();
  }
};

TEST(ExplainCli, ExplainsStoreTracksIntoHdf5AndJsonWhereTheirOwnConceptsRankHigh) {
  const ScratchDir dir;
  const TrainedCorpus corpus(dir);
  // Twenty tracks of the store, and one id it does not have.
  const EmbeddingStore store(corpus.store);
  std::string ids;
  for (std::size_t t = 0; t < 20; ++t) ids += store.ids()[t] + "\n";
  ids += "no-such-track\n";
  testing::write_text(dir / "ids.txt", ids);
  const auto result = run_cli(quoted_args({"explain", "-c", corpus.concepts.string(), "-e", corpus.store.string(), "--tracks",
                                           (dir / "ids.txt").string(), "-o", (dir / "ex.h5").string(), "--json", (dir / "ex.json").string()}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("no-such-track"), std::string::npos) << result.err;

  std::ifstream in(dir / "ex.json");
  const nlohmann::json json = nlohmann::json::parse(in);
  ASSERT_EQ(json["tracks"].size(), 20u);
  // Each track's member concepts (memberships.tsv) against the others: members score higher.
  std::map<std::string, std::set<std::string>> members;
  std::ifstream tsv(corpus.memberships);
  for (std::string line; std::getline(tsv, line);) {
    const auto tab = line.find('\t');
    const auto second = line.find('\t', tab + 1);
    members[line.substr(tab + 1, second == std::string::npos ? std::string::npos : second - tab - 1)].insert(line.substr(0, tab));
  }
  double member_sum = 0, other_sum = 0;
  std::size_t member_count = 0, other_count = 0;
  for (const auto& track : json["tracks"]) {
    EXPECT_EQ(track["frame_seconds"].size(), 8u);
    ASSERT_FALSE(track["concepts"].empty());
    for (const auto& c : track["concepts"]) {
      ASSERT_TRUE(c.contains("label") && c.contains("present") && c.contains("segments"));
      const bool member = members[track["id"].get<std::string>()].contains(c["id"].get<std::string>());
      (member ? member_sum : other_sum) += c["score"].get<double>();
      ++(member ? member_count : other_count);
    }
    for (const auto& entry : track["summary"]) {
      ASSERT_TRUE(entry["path"].is_array() && entry.contains("start") && entry.contains("end") && entry.contains("score"));
    }
  }
  ASSERT_GT(member_count, 0u);
  EXPECT_GT(member_sum / double(member_count), 0.85);
  EXPECT_LT(other_sum / double(other_count), 0.7);

  // The HDF5 file: what docs/formats.md promises.
  const h5::File file(dir / "ex.h5", h5::Mode::ReadOnly);
  EXPECT_EQ(h5::string_attribute(file.id(), "format").value_or(""), kExplanationsFormat);
  const auto names = h5::read_strings(h5::open_dataset(file.id(), "/concepts/names", file.name()).id());
  EXPECT_EQ(h5::dims(h5::open_dataset(file.id(), "/frames/activations", file.name()).id()),
            (std::vector<std::uint64_t>{160, names.size()}));
  EXPECT_EQ(h5::dims(h5::open_dataset(file.id(), "/tracks/scores", file.name()).id()), (std::vector<std::uint64_t>{20, names.size()}));
  EXPECT_EQ(h5::read_vector<std::uint64_t>(file.id(), "/tracks/offsets", file.name()).back(), 160u);

  // --strict stops at the unknown id and leaves nothing under the output's name.
  const auto strict = run_cli(quoted_args({"explain", "-c", corpus.concepts.string(), "-e", corpus.store.string(), "--tracks",
                                           (dir / "ids.txt").string(), "-o", (dir / "strict.h5").string(), "--strict"}));
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_FALSE(fs::exists(dir / "strict.h5"));
}

// A run killed after its first tracks left their records in OUTPUT.partial: here, a run over the
// first half of the tracks whose last step, moving the file into place, fails (the output is a
// folder), with a record cut short after them as a kill in mid-write leaves it. The resumed run
// keeps the whole records, explains the rest, and ends identical to one uninterrupted run.
TEST(ExplainCli, AKilledRunResumesAndEndsAsOneUninterruptedRun) {
  const ScratchDir dir;
  const TrainedCorpus corpus(dir);
  const EmbeddingStore store(corpus.store);
  std::string half, all;
  for (std::size_t t = 0; t < 80; ++t) (t < 40 ? half : all) += store.ids()[t] + "\n";
  all = half + all;
  testing::write_text(dir / "half.txt", half);
  testing::write_text(dir / "all.txt", all);
  const auto explain = [&](const std::string& tracks, const fs::path& output, const std::vector<std::string>& more = {}) {
    std::string arguments = quoted_args({"explain", "-c", corpus.concepts.string(), "-e", corpus.store.string(), "--tracks", (dir / tracks).string(),
                                         "-o", output.string(), "--json", output.string() + ".json"});
    for (const auto& argument : more) arguments.append(1, ' ').append(testing::shell_quote(argument));
    return run_cli(arguments);
  };
  // Leaves OUTPUT.partial as a killed run over `tracks` would.
  const auto leave_killed_partial = [&](const std::string& tracks, const fs::path& output) {
    fs::create_directories(output / "in the way");
    ASSERT_EQ(explain(tracks, output, {"--overwrite"}).exit_code, 1);
    fs::remove_all(output);
    fs::remove(output.string() + ".json");
    std::ofstream torn(output.string() + ".partial", std::ios::app | std::ios::binary);
    torn << std::string("\x40\0\0\0\0\0\0\0torn", 12);
  };
  ASSERT_EQ(explain("all.txt", dir / "reference.h5").exit_code, 0);
  leave_killed_partial("half.txt", dir / "resumed.h5");
  const auto resumed = explain("all.txt", dir / "resumed.h5");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("40 tracks already explained"), std::string::npos) << resumed.err;
  EXPECT_FALSE(fs::exists(dir / "resumed.h5.partial"));
  EXPECT_EQ(testing::read_text(dir / "resumed.h5.json"), testing::read_text(dir / "reference.h5.json"));
  const ExplanationReader reference(dir / "reference.h5"), finished(dir / "resumed.h5");
  ASSERT_EQ(finished.ids(), reference.ids());
  for (std::size_t t = 0; t < reference.ids().size(); ++t) {
    EXPECT_EQ(finished.read(t).activations, reference.read(t).activations) << t;
  }

  EXPECT_EQ(testing::read_text(dir / "resumed.h5"), testing::read_text(dir / "reference.h5")) << "the same bytes";

  // Other settings: the partial file is not reused.
  leave_killed_partial("half.txt", dir / "other.h5");
  const auto restarted = explain("all.txt", dir / "other.h5", {"--presence", "0.8"});
  ASSERT_EQ(restarted.exit_code, 0) << restarted.err;
  EXPECT_NE(restarted.err.find("other.h5.partial: left by a run with other inputs or settings; starting over"), std::string::npos) << restarted.err;
  EXPECT_EQ(ExplanationReader(dir / "other.h5").ids(), reference.ids());
}

TEST(ExplainCli, RefusesAStoreOfAnotherLayerOrDimension) {
  const ScratchDir dir;
  const TrainedCorpus corpus(dir);
  {
    auto writer = EmbeddingStoreWriter::create(dir / "other.h5", {{"embedding", 8}}, {});
    writer.append("t", std::vector<float>(8, 0.5f), 1);
    writer.close();
  }
  const auto result = run_cli(quoted_args({"explain", "-c", corpus.concepts.string(), "-e", (dir / "other.h5").string(), "-o", (dir / "ex.h5").string()}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("does not match"), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(dir / "ex.h5"));
  const auto both = run_cli(quoted_args({"explain", "-c", corpus.concepts.string(), "-e", corpus.store.string(), "a.wav", "-o", (dir / "ex.h5").string()}));
  EXPECT_EQ(both.exit_code, 1);
}

// Audio end to end: concepts learned on the dsp frames of low and high tones explain new tones.
TEST(ExplainCli, EmbedsAudioWithTheConceptSetsOwnBackbone) {
  const ScratchDir dir;
  testing::write_tone_concepts(dir.path());
  if (::testing::Test::HasFatalFailure()) return;
  testing::write_text(dir / "new" / "c_broken.wav", "not audio");
  const auto result = run_cli(quoted_args({"explain", "-c", (dir / "concepts.h5").string(), (dir / "new").string(), "-o",
                                           (dir / "ex.h5").string(), "--json", (dir / "ex.json").string()}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("c_broken"), std::string::npos) << result.err;
  std::ifstream in(dir / "ex.json");
  const nlohmann::json json = nlohmann::json::parse(in);
  ASSERT_EQ(json["tracks"].size(), 2u);
  for (const auto& track : json["tracks"]) {
    const std::string expected = track["id"] == "a_low" ? "low" : "high";
    EXPECT_EQ(track["concepts"][0]["id"], expected) << track.dump();
    EXPECT_TRUE(track["concepts"][0]["present"].get<bool>()) << track.dump();
    EXPECT_EQ(track["frame_seconds"].size(), 4u);  // dsp: one frame per second
  }
}

}  // namespace
}  // namespace conceptree
