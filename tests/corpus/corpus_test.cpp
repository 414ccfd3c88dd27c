// The demo corpus: its plan (concept sizes, truth, track attributes) without rendering, and small
// rendered corpora (bytes independent of the thread count, decodable audio, clear errors).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "conceptree/audio.hpp"
#include "conceptree/batch_errors.hpp"
#include "conceptree/corpus.hpp"
#include "conceptree/error.hpp"
#include "conceptree/memberships.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using conceptree::testing::input_error_from;
using conceptree::testing::quoted_args;
using conceptree::testing::read_text;
using conceptree::testing::run_cli;
using conceptree::testing::ScratchDir;
using conceptree::testing::write_text;

const DemoConcept& find_concept(const DemoCorpusPlan& plan, const std::string& name) {
  const auto found = std::find_if(plan.concepts.begin(), plan.concepts.end(), [&](const DemoConcept& c) { return c.name == name; });
  if (found == plan.concepts.end()) throw std::runtime_error("no concept " + name);
  return *found;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Every file under `folder`, by relative path, with its bytes.
std::map<std::string, std::string> files_under(const fs::path& folder) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file()) files[fs::relative(entry.path(), folder).string()] = read_text(entry.path());
  return files;
}

DemoCorpusConfig small_corpus(const fs::path& output, std::uint64_t tracks, int jobs) {
  DemoCorpusConfig config;
  config.output = output.string();
  config.tracks = tracks;
  config.seed = 7;
  config.jobs = jobs;
  return config;
}

// ---------------------------------------------------------------------------------------------
// The plan

TEST(DemoCorpusPlan, DefaultCorpusHoldsEveryConceptWithinTheTrainersBounds) {
  const DemoCorpusPlan plan = plan_demo_corpus(DemoCorpusConfig{});
  ASSERT_EQ(plan.tracks.size(), 640u);
  const auto instruments = demo_instruments();
  ASSERT_EQ(instruments.size(), 24u);
  ASSERT_EQ(plan.concepts.size(), 24u + 8u + 6u);

  std::map<std::string, std::size_t> per_type;
  for (const DemoConcept& c : plan.concepts) {
    ++per_type[c.type];
    EXPECT_GE(c.tracks.size(), 39u) << c.name;
    EXPECT_LE(c.tracks.size(), 250u) << c.name;
    EXPECT_TRUE(std::is_sorted(c.tracks.begin(), c.tracks.end())) << c.name;
    EXPECT_EQ(std::adjacent_find(c.tracks.begin(), c.tracks.end()), c.tracks.end()) << c.name << " repeats a track";
    if (c.type == "instrument") {
      EXPECT_GE(c.tracks.size(), 40u) << c.name;
      EXPECT_LE(c.tracks.size(), 120u) << c.name;
    }
  }
  EXPECT_EQ(per_type, (std::map<std::string, std::size_t>{{"instrument", 24}, {"family", 8}, {"tempo", 2}, {"register", 2}, {"mode", 2}}));
  for (const std::string name : {"tempo:slow", "tempo:fast", "register:low", "register:high", "mode:major", "mode:minor"})
    EXPECT_NO_THROW(find_concept(plan, name));
}

TEST(DemoCorpusPlan, TruthPutsEveryInstrumentUnderItsFamilyPlaylist) {
  const DemoCorpusPlan plan = plan_demo_corpus(DemoCorpusConfig{});
  const auto instruments = demo_instruments();
  ASSERT_EQ(plan.truth.size(), instruments.size());
  std::map<std::string, std::set<std::uint32_t>> featuring_family;
  for (const auto& [child, parent] : plan.truth) {
    const DemoConcept& instrument = find_concept(plan, child);
    EXPECT_EQ(instrument.type, "instrument");
    EXPECT_EQ(find_concept(plan, parent).type, "family");
    featuring_family[parent].insert(instrument.tracks.begin(), instrument.tracks.end());
  }
  ASSERT_EQ(featuring_family.size(), 8u);
  for (const auto& [family, featuring] : featuring_family) {
    // A playlist drawn from its instruments' tracks: mostly them, never anything else.
    const DemoConcept& playlist = find_concept(plan, family);
    for (std::uint32_t track : playlist.tracks) EXPECT_TRUE(featuring.contains(track)) << family;
    EXPECT_LT(playlist.tracks.size(), featuring.size()) << family;
    EXPECT_GT(playlist.tracks.size(), featuring.size() * 3 / 4) << family;
  }
}

TEST(DemoCorpusPlan, TracksAreSmallEnsemblesWithConsistentAttributes) {
  const DemoCorpusPlan plan = plan_demo_corpus(DemoCorpusConfig{});
  const auto instruments = demo_instruments();
  std::set<std::string> ids;
  for (const DemoTrackPlan& track : plan.tracks) {
    ids.insert(track.id);
    EXPECT_GE(track.instruments.size(), 1u);
    EXPECT_LE(track.instruments.size(), 3u);
    std::set<std::string_view> families;
    for (std::uint32_t i : track.instruments) families.insert(instruments[i].family);
    EXPECT_EQ(families.size(), track.instruments.size()) << track.id << ": two instruments of one family";
    const double seconds = static_cast<double>(track.samples) / kDemoSampleRate;
    EXPECT_GE(seconds, 8.0 - 0.01) << track.id;
    EXPECT_LE(seconds, 10.0 + 0.01) << track.id;
    if (track.tempo == Tempo::Slow) {
      EXPECT_GE(track.bpm, 60);
      EXPECT_LE(track.bpm, 85);
    } else {
      EXPECT_GE(track.bpm, 130);
      EXPECT_LE(track.bpm, 170);
    }
    EXPECT_GE(track.key, 0);
    EXPECT_LT(track.key, 12);
  }
  EXPECT_EQ(ids.size(), plan.tracks.size());
  EXPECT_EQ(plan.tracks.front().id, "t0000");
  for (std::uint32_t track : find_concept(plan, "tempo:fast").tracks) EXPECT_EQ(plan.tracks[track].tempo, Tempo::Fast);
  for (std::uint32_t track : find_concept(plan, "register:low").tracks) EXPECT_EQ(plan.tracks[track].register_range, Register::Low);
  for (std::uint32_t track : find_concept(plan, "mode:minor").tracks) EXPECT_EQ(plan.tracks[track].mode, Mode::Minor);
}

TEST(DemoCorpusPlan, DependsOnTheSeedAlone) {
  DemoCorpusConfig config;
  config.tracks = 100;
  const DemoCorpusPlan first = plan_demo_corpus(config);
  const DemoCorpusPlan again = plan_demo_corpus(config);
  config.seed = 1;
  const DemoCorpusPlan other = plan_demo_corpus(config);
  auto signature = [](const DemoCorpusPlan& plan) {
    std::vector<std::vector<std::uint32_t>> tracks;
    for (const DemoConcept& c : plan.concepts) tracks.push_back(c.tracks);
    for (const DemoTrackPlan& t : plan.tracks) tracks.push_back({static_cast<std::uint32_t>(t.samples), static_cast<std::uint32_t>(t.score_seed)});
    return tracks;
  };
  EXPECT_EQ(signature(first), signature(again));
  EXPECT_NE(signature(first), signature(other));
}

TEST(DemoCorpusPlan, RejectsDurationsTheWrongWayRound) {
  DemoCorpusConfig config;
  config.min_seconds = 9;
  config.max_seconds = 8;
  EXPECT_THROW(plan_demo_corpus(config), FatalError);
}

// ---------------------------------------------------------------------------------------------
// Rendering

TEST(DemoCorpus, SameSeedGivesIdenticalFilesWhateverTheThreadCount) {
  ScratchDir dir;
  DemoCorpus one_thread(small_corpus(dir / "one", 24, 1));
  one_thread.run();
  DemoCorpus two_threads(small_corpus(dir / "two", 24, 2));
  two_threads.run();
  const auto one = files_under(dir / "one");
  const auto two = files_under(dir / "two");
  ASSERT_EQ(one.size(), 24u + 3u);
  ASSERT_EQ(one.size(), two.size());
  for (const auto& [name, bytes] : one) {
    ASSERT_TRUE(two.contains(name)) << name;
    EXPECT_TRUE(bytes == two.at(name)) << name << " differs between --jobs 1 and --jobs 2";
  }
}

TEST(DemoCorpus, WritesDecodableAudioAndTablesMatchingThePlan) {
  ScratchDir dir;
  const DemoCorpusConfig config = small_corpus(dir / "corpus", 12, 2);
  DemoCorpus corpus(config);
  corpus.run();
  const DemoCorpusPlan plan = plan_demo_corpus(config);
  const DemoCorpusSummary& summary = corpus.summary();
  EXPECT_EQ(summary.tracks, 12u);
  EXPECT_EQ(summary.concepts, plan.concepts.size());
  EXPECT_EQ(summary.memberships, dir / "corpus" / "memberships.tsv");

  double planned_seconds = 0;
  for (const DemoTrackPlan& track : plan.tracks) {
    const std::vector<float> samples = read_audio(summary.audio / (track.id + ".wav"), kDemoSampleRate);
    ASSERT_EQ(samples.size(), track.samples) << track.id;
    float peak = 0;
    double energy = 0;
    for (float sample : samples) {
      peak = std::max(peak, std::abs(sample));
      energy += double(sample) * sample;
    }
    EXPECT_NEAR(peak, 0.891, 0.01) << track.id << ": not peak-normalised";
    EXPECT_GT(std::sqrt(energy / static_cast<double>(samples.size())), 0.02) << track.id << ": (nearly) silent";
    planned_seconds += static_cast<double>(track.samples) / kDemoSampleRate;
  }
  EXPECT_NEAR(summary.audio_seconds, planned_seconds, 1e-6);

  BatchErrors errors(true, default_context());
  const Memberships memberships = read_memberships(summary.memberships, errors);
  ASSERT_EQ(memberships.concepts.size(), plan.concepts.size());
  for (std::size_t c = 0; c < plan.concepts.size(); ++c) {
    EXPECT_EQ(memberships.concepts[c].name, plan.concepts[c].name);
    EXPECT_EQ(memberships.concepts[c].type, plan.concepts[c].type);
    std::vector<std::string> expected;
    for (std::uint32_t track : plan.concepts[c].tracks) expected.push_back(plan.tracks[track].id);
    EXPECT_EQ(memberships.concepts[c].tracks, expected) << plan.concepts[c].name;
  }
  std::string truth = "child\tparent\n";
  for (const auto& [child, parent] : plan.truth) truth += child + "\t" + parent + "\n";
  EXPECT_EQ(read_text(summary.truth), truth);
  const std::string tracks = read_text(summary.tracks_table);
  EXPECT_TRUE(tracks.starts_with("track\tseconds\tinstruments\ttempo\tbpm\tregister\tmode\tkey\n")) << tracks;
  EXPECT_EQ(std::count(tracks.begin(), tracks.end(), '\n'), 13);
}

TEST(DemoCorpus, AFileThatIsNoSoundFontIsAnInputErrorNamingIt) {
  ScratchDir dir;
  write_text(dir / "broken.sf2", "not a SoundFont");
  DemoCorpusConfig config = small_corpus(dir / "corpus", 2, 1);
  config.soundfont = (dir / "broken.sf2").string();
  const auto error = input_error_from([&] { DemoCorpus(config).run(); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), config.soundfont);
  EXPECT_FALSE(fs::exists(dir / "corpus"));
}

// ---------------------------------------------------------------------------------------------
// Command line

TEST(DemoCorpusCli, MissingSoundFontIsOneClearErrorSayingWhatToDo) {
  ScratchDir dir;
  const std::string missing = (dir / "nowhere" / "FluidR3_GM.sf2").string();
  const auto result = run_cli(quoted_args({"corpus", "-o", (dir / "corpus").string(), "--soundfont", missing}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.err, missing)) << result.err;
  EXPECT_TRUE(contains(result.err, "fluid-soundfont-gm")) << result.err;
  EXPECT_TRUE(contains(result.err, "--soundfont")) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_FALSE(fs::exists(dir / "corpus"));
}

TEST(DemoCorpusCli, RefusesAFolderWithFilesUnlessToldToOverwrite) {
  ScratchDir dir;
  const fs::path output = dir / "corpus";
  fs::create_directories(output);
  write_text(output / "notes.txt", "mine");
  const auto refused = run_cli(quoted_args({"corpus", "-o", output.string(), "--tracks", "3"}));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(contains(refused.err, "--overwrite")) << refused.err;
  EXPECT_FALSE(fs::exists(output / "audio"));

  const auto written = run_cli(quoted_args({"corpus", "-o", output.string(), "--tracks", "3", "--overwrite"}));
  ASSERT_EQ(written.exit_code, 0) << written.err;
  EXPECT_TRUE(fs::exists(output / "audio" / "t0002.wav"));
  // A smaller corpus in its place leaves no track of the old one behind.
  const auto smaller = run_cli(quoted_args({"corpus", "-o", output.string(), "--tracks", "2", "--overwrite", "-q"}));
  ASSERT_EQ(smaller.exit_code, 0) << smaller.err;
  EXPECT_TRUE(fs::exists(output / "audio" / "t0001.wav"));
  EXPECT_FALSE(fs::exists(output / "audio" / "t0002.wav"));
  EXPECT_TRUE(fs::exists(output / "notes.txt"));
}

}  // namespace
}  // namespace conceptree
