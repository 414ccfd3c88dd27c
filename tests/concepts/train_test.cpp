#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "conceptree/cav_import.hpp"
#include "conceptree/concept_set.hpp"
#include "conceptree/concepts.hpp"
#include "conceptree/error.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/store.hpp"
#include "conceptree/synth.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using conceptree::testing::run_cli;
using conceptree::testing::ScratchDir;
using conceptree::testing::shell_quote;

// A small corpus with planted concepts whose frames carry a strong signal.
fs::path make_corpus(const ScratchDir& dir, std::uint64_t families = 3, std::uint64_t per_family = 3) {
  SynthConfig config;
  config.output = (dir / "corpus").string();
  config.layout = SynthLayout::Store;
  config.tracks = 600;
  config.frames = 6;
  config.dim = 16;
  config.families = families;
  config.concepts_per_family = per_family;
  config.min_concept_tracks = 40;
  config.max_concept_tracks = 120;
  SyntheticCorpus corpus(config);
  corpus.run();
  return dir / "corpus";
}

TrainConfig train_config(const fs::path& corpus, const fs::path& output) {
  TrainConfig config;
  config.embeddings = (corpus / "store.h5").string();
  config.memberships = (corpus / "memberships.tsv").string();
  config.output = output.string();
  config.min_tracks = 39;
  config.max_tracks = 200;
  return config;
}

TEST(Train, LearnsPlantedConceptsAndWritesAReadableSet) {
  ScratchDir dir;
  const fs::path corpus = make_corpus(dir);
  ConceptTrainer trainer(train_config(corpus, dir / "concepts.h5"));
  trainer.run();
  EXPECT_EQ(trainer.summary().concepts_in_file, 12u);
  const ConceptSet set = read_concept_set(dir / "concepts.h5");
  ASSERT_EQ(set.dim, 16u);
  ASSERT_EQ(set.size() + set.skipped.size(), 12u);
  ASSERT_GE(set.size(), 9u);  // the member concepts of 40-120 tracks
  for (std::size_t k = 0; k < set.size(); ++k) {
    if (set.types[k] != "concept") continue;
    EXPECT_GT(set.metrics[k].test_balanced_accuracy, 0.7) << set.names[k];
    EXPECT_GT(set.metrics[k].test_roc_auc, 0.75) << set.names[k];
    EXPECT_EQ(set.kept[k], 1) << set.names[k];
    EXPECT_EQ(set.splits.test_positive.offsets[k + 1] - set.splits.test_positive.offsets[k],
              static_cast<std::uint64_t>(std::lround(0.2 * double(set.metrics[k].n_tracks))));
  }
  EXPECT_EQ(set.splits.track_ids.size(), 600u);
}

TEST(Train, AConceptHoldingEveryTrackIsSkippedNamedNotACrash) {
  // 60 tracks of 4 frames; "everything" holds them all, "half" every other one.
  std::vector<float> data(60 * 4 * 3);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>((i * 37) % 17) / 17.0f + ((i / 12) % 2 ? 1.0f : 0.0f);
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::string> ids;
  ResolvedMemberships memberships;
  memberships.concepts = {{"everything", "", {}}, {"half", "", {}}, {"all but two", "", {}}};
  for (std::uint32_t t = 0; t < 60; ++t) {
    offsets.push_back(offsets.back() + 4);
    ids.push_back("t" + std::to_string(t));
    memberships.concepts[0].tracks.push_back(t);
    if (t % 2 == 1) memberships.concepts[1].tracks.push_back(t);
    if (t >= 2) memberships.concepts[2].tracks.push_back(t);
  }
  TrainConfig config;
  config.min_tracks = 5;
  config.max_tracks = 100;
  config.min_accuracy = 0;
  TrainSummary summary;
  const ConceptSet set = learn_concepts({.data = data.data(), .dim = 3, .offsets = offsets, .track_ids = ids, .layer = "x"}, memberships, config,
                                        &summary);
  EXPECT_EQ(set.names, std::vector<std::string>{"half"});
  ASSERT_EQ(set.skipped.size(), 2u);
  EXPECT_EQ(set.skipped[0].name, "everything");
  EXPECT_NE(set.skipped[0].reason.find("nothing to learn against"), std::string::npos) << set.skipped[0].reason;
  EXPECT_EQ(set.skipped[1].name, "all but two");
}

TEST(Train, SameResultsWhateverTheThreadCount) {
  ScratchDir dir;
  const fs::path corpus = make_corpus(dir);
  TrainConfig one = train_config(corpus, dir / "one.h5");
  one.jobs = 1;
  TrainConfig two = train_config(corpus, dir / "two.h5");
  two.jobs = 2;
  ConceptTrainer(one).run();
  ConceptTrainer(two).run();
  const ConceptSet a = read_concept_set(dir / "one.h5");
  const ConceptSet b = read_concept_set(dir / "two.h5");
  EXPECT_EQ(a.names, b.names);
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_EQ(a.bias, b.bias);
  EXPECT_EQ(a.splits.test_positive.indices, b.splits.test_positive.indices);
  for (std::size_t k = 0; k < a.size(); ++k) EXPECT_EQ(a.metrics[k].test_balanced_accuracy, b.metrics[k].test_balanced_accuracy);
}

TEST(Train, InMemoryCoreLearnsWhatTheFileDriverWritesAndLoadsTheFramesOnce) {
  ScratchDir dir;
  const fs::path corpus = make_corpus(dir);
  const TrainConfig config = train_config(corpus, dir / "file.h5");
  ConceptTrainer(config).run();
  const ConceptSet written = read_concept_set(dir / "file.h5");

  const EmbeddingStore store((corpus / "store.h5").string());
  const StoreFrames frames(store);
  ASSERT_EQ(frames.track_count(), 600u);
  EXPECT_EQ(frames.offsets(), store.offsets());
  const ResolvedMemberships memberships = read_training_memberships(config.memberships, store, false);
  TrainConfig in_memory = config;
  in_memory.embeddings.clear();
  in_memory.output.clear();
  TrainSummary summary;
  const ConceptSet learned = learn_concepts(frames.view(), memberships, in_memory, &summary);
  EXPECT_EQ(learned.names, written.names);
  EXPECT_EQ(learned.weights, written.weights);
  EXPECT_EQ(learned.bias, written.bias);
  EXPECT_EQ(learned.kept, written.kept);
  EXPECT_EQ(learned.splits.test_positive.indices, written.splits.test_positive.indices);
  EXPECT_EQ(learned.calibration.test_negative.scores, written.calibration.test_negative.scores);
  EXPECT_EQ(summary.trained, written.size());

  // Another seed from the same frames: other splits, the same concepts.
  in_memory.seed = 1;
  const ConceptSet reseeded = learn_concepts(frames.view(), memberships, in_memory);
  EXPECT_EQ(reseeded.names, written.names);
  EXPECT_NE(reseeded.splits.test_positive.indices, written.splits.test_positive.indices);
  in_memory.negative_ratio = -1;
  EXPECT_THROW(learn_concepts(frames.view(), memberships, in_memory), FatalError) << "settings are validated";
}

TEST(Train, ResumesAfterBeingKilledAndFinishesIdentically) {
  ScratchDir dir;
  const fs::path corpus = make_corpus(dir, 20, 4);
  ConceptTrainer(train_config(corpus, dir / "reference.h5")).run();

  const fs::path output = dir / "concepts.h5";
  fs::path journal = output;
  journal += ".partial";
  const std::vector<std::string> arguments = {CONCEPTREE_CLI, "-q", "train", "-e", (corpus / "store.h5").string(), "-m",
                                              (corpus / "memberships.tsv").string(), "-o", output.string(),
                                              "--max-tracks", "200", "--jobs", "1"};
  // Kill a run as soon as its journal holds a record, then tear the journal's tail as a kill
  // in mid-write would.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::vector<char*> argv;
    for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    execv(CONCEPTREE_CLI, argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && !(fs::exists(journal) && fs::file_size(journal) > 400)) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  if (fs::exists(output)) GTEST_SKIP() << "the run finished before it could be killed";
  ASSERT_TRUE(fs::exists(journal));
  {
    std::ofstream torn(journal, std::ios::app | std::ios::binary);
    torn << "\x10\x00\x00\x00\x00\x00\x00\x00garbage";
  }

  std::string command_line;
  for (std::size_t i = 1; i < arguments.size(); ++i) command_line += shell_quote(arguments[i]) + " ";
  const auto resumed = run_cli(command_line);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(resumed.err.empty()) << "-q keeps the resumed run quiet: " << resumed.err;
  EXPECT_FALSE(fs::exists(journal));
  const ConceptSet reference = read_concept_set(dir / "reference.h5");
  const ConceptSet finished = read_concept_set(output);
  EXPECT_EQ(reference.names, finished.names);
  EXPECT_EQ(reference.weights, finished.weights);
  EXPECT_EQ(reference.bias, finished.bias);
}

TEST(Train, ReportsUnknownTracksAndSkipsEmptyAndOversizedConcepts) {
  ScratchDir dir;
  const fs::path corpus = make_corpus(dir);
  std::string memberships = conceptree::testing::read_text(corpus / "memberships.tsv");
  memberships += "ghost\tno_such_track\n";
  memberships += "family00_c00\tanother_missing_track\n";
  conceptree::testing::write_text(dir / "memberships.tsv", memberships);
  TrainConfig config = train_config(corpus, dir / "concepts.h5");
  config.memberships = (dir / "memberships.tsv").string();
  config.max_tracks = 100;
  config.large = LargeConcepts::Skip;
  ConceptTrainer trainer(config);
  trainer.run();
  EXPECT_EQ(trainer.summary().unknown_memberships, 2u);
  EXPECT_GT(trainer.summary().skipped_large, 0u);
  const ConceptSet set = read_concept_set(dir / "concepts.h5");
  bool ghost_skipped = false;
  for (const auto& skipped : set.skipped) {
    if (skipped.name == "ghost") {
      ghost_skipped = true;
      EXPECT_EQ(skipped.reason, "no tracks in the store");
    } else {
      EXPECT_GT(skipped.n_tracks, 100u) << skipped.name;
    }
  }
  EXPECT_TRUE(ghost_skipped);

  config.strict = true;
  config.output = (dir / "strict.h5").string();
  EXPECT_THROW(ConceptTrainer(config).run(), FatalError);
  EXPECT_FALSE(fs::exists(dir / "strict.h5"));
}

// The calibration scores are each test track's mean frame activation under the stored CAV,
// recomputed here from the store's raw frames.
TEST(Train, CalibrationHoldsEveryConceptsHeldOutTrackScores) {
  ScratchDir dir;
  const fs::path corpus = make_corpus(dir);
  ConceptTrainer(train_config(corpus, dir / "concepts.h5")).run();
  const ConceptSet set = read_concept_set(dir / "concepts.h5");
  ASSERT_FALSE(set.calibration.empty());
  const EmbeddingStore store(corpus / "store.h5");
  for (std::size_t k = 0; k < set.size(); ++k) {
    for (auto [lists, split] : {std::pair{&set.calibration.test_positive, &set.splits.test_positive},
                                std::pair{&set.calibration.test_negative, &set.splits.test_negative}}) {
      const auto scores = lists->of(k);
      std::vector<float> expected;
      for (std::uint64_t i = split->offsets[k]; i < split->offsets[k + 1]; ++i) {
        const FrameMatrix frames = store.read_track(split->indices[i]);
        double sum = 0;
        for (std::uint64_t r = 0; r < frames.rows; ++r) {
          double logit = set.bias[k];
          for (std::uint64_t d = 0; d < frames.cols; ++d) logit += double(set.weights[k * set.dim + d]) * frames.values[r * frames.cols + d];
          sum += 1 / (1 + std::exp(-logit));
        }
        expected.push_back(static_cast<float>(sum / double(frames.rows)));
      }
      std::sort(expected.begin(), expected.end());
      ASSERT_EQ(scores.size(), expected.size()) << set.names[k];
      for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(scores[i], expected[i], 1e-4) << set.names[k];
    }
    if (set.kept[k]) {
      const auto positive = set.calibration.test_positive.of(k);
      const auto negative = set.calibration.test_negative.of(k);
      EXPECT_GT(positive[positive.size() / 2], negative[negative.size() / 2]) << set.names[k] << ": medians";
    }
  }
}

TEST(Train, RefusesAnExistingOutputAndMemberlessInput) {
  ScratchDir dir;
  const fs::path corpus = make_corpus(dir);
  conceptree::testing::write_text(dir / "exists.h5", "x");
  EXPECT_THROW(ConceptTrainer(train_config(corpus, dir / "exists.h5")).run(), FatalError);
  conceptree::testing::write_text(dir / "empty.tsv", "concept\ttrack_id\n");
  TrainConfig config = train_config(corpus, dir / "out.h5");
  config.memberships = (dir / "empty.tsv").string();
  EXPECT_THROW(ConceptTrainer(config).run(), FatalError);
}

TEST(TrainCli, TrainsFromTheCommandLineAndInfoShowsTheAccuracyHistogram) {
  ScratchDir dir;
  const fs::path corpus = make_corpus(dir);
  const auto trained = run_cli("train -e " + shell_quote((corpus / "store.h5").string()) + " -m " +
                               shell_quote((corpus / "memberships.tsv").string()) + " -o " + shell_quote((dir / "c.h5").string()));
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.err.find("trained 12 concepts"), std::string::npos) << trained.err;
  const auto info = run_cli("info " + shell_quote((dir / "c.h5").string()));
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("concept set"), std::string::npos);
  EXPECT_NE(info.out.find("concepts          12 ("), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("test balanced accuracy (# kept"), std::string::npos) << info.out;

  const auto again = run_cli("train -e " + shell_quote((corpus / "store.h5").string()) + " -m " +
                             shell_quote((corpus / "memberships.tsv").string()) + " -o " + shell_quote((dir / "c.h5").string()));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
}

TEST(CavsImport, ThePapersApmGenreCavsRoundTrip) {
  CONCEPTREE_REQUIRE_SHARED(genre_weights, "apm_cavs/genres/pool5_weights.npy");
  CONCEPTREE_REQUIRE_SHARED(genre_bias, "apm_cavs/genres/pool5_bias.npy");
  CONCEPTREE_REQUIRE_SHARED(genre_names, "apm_cavs/genres/names.txt");
  CONCEPTREE_REQUIRE_SHARED(mood_bias, "apm_cavs/moods/pool5_bias.npy");
  ScratchDir dir;
  CavImportConfig config;
  config.weights = genre_weights.string();
  config.bias = genre_bias.string();
  config.names = genre_names.string();
  config.type = "genre";
  config.layer = "pool5";
  config.output = (dir / "apm.h5").string();
  const auto summary = import_cavs(config);
  EXPECT_EQ(summary.concepts, 219u);
  EXPECT_EQ(summary.dim, 128u);
  const ConceptSet set = read_concept_set(dir / "apm.h5");
  EXPECT_EQ(set.weights, NpyReader(genre_weights).read_all_as_float());
  EXPECT_EQ(set.bias, NpyReader(genre_bias).read_all_as_float());
  EXPECT_EQ(set.types.front(), "genre");
  EXPECT_TRUE(set.metrics.empty());

  config.output = (dir / "mismatch.h5").string();
  config.bias = mood_bias.string();
  EXPECT_THROW(import_cavs(config), FatalError);
  EXPECT_FALSE(fs::exists(dir / "mismatch.h5"));
}

}  // namespace
}  // namespace conceptree
