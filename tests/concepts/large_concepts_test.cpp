// Concepts with more tracks than --max-tracks: trained on a seeded sample (default), or skipped.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "conceptree/concept_set.hpp"
#include "conceptree/concepts.hpp"
#include "conceptree/store.hpp"
#include "conceptree/synth.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

// A 600-track store and memberships: "big" holds the first 300 tracks, "medium" 60 others, "tiny" 10.
struct LargeConceptCorpus {
  fs::path store, memberships;
  std::vector<std::string> ids;

  explicit LargeConceptCorpus(const ScratchDir& dir) {
    SynthConfig config;
    config.output = (dir / "corpus").string();
    config.layout = SynthLayout::Store;
    config.tracks = 600;
    config.frames = 4;
    config.dim = 8;
    SyntheticCorpus(config).run();
    store = dir / "corpus" / "store.h5";
    ids = EmbeddingStore(store).ids();
    std::string text;
    for (std::size_t t = 0; t < 300; ++t) text += "big\t" + ids[t] + "\n";
    for (std::size_t t = 300; t < 360; ++t) text += "medium\t" + ids[t] + "\n";
    for (std::size_t t = 360; t < 370; ++t) text += "tiny\t" + ids[t] + "\n";
    memberships = dir / "memberships.tsv";
    testing::write_text(memberships, text);
  }

  TrainConfig config(const fs::path& output) const {
    TrainConfig train;
    train.embeddings = store.string();
    train.memberships = memberships.string();
    train.output = output.string();
    train.min_tracks = 39;
    train.max_tracks = 100;
    train.min_negatives = 0;  // the sample's own 1:1 ratio is what is tested here
    return train;
  }
};

std::vector<std::uint32_t> tracks_of(const TrackLists& lists, std::size_t k) {
  return {lists.indices.begin() + static_cast<std::ptrdiff_t>(lists.offsets[k]), lists.indices.begin() + static_cast<std::ptrdiff_t>(lists.offsets[k + 1])};
}

std::size_t index_of(const ConceptSet& set, const std::string& name) {
  return static_cast<std::size_t>(std::find(set.names.begin(), set.names.end(), name) - set.names.begin());
}

TEST(TrainLargeConcepts, ALargeConceptIsTrainedOnASeededSampleAndKeepsAllItsTracksOutOfTheNegatives) {
  const ScratchDir dir;
  const LargeConceptCorpus corpus(dir);
  ConceptTrainer trainer(corpus.config(dir / "concepts.h5"));
  trainer.run();
  EXPECT_EQ(trainer.summary().sampled_large, 1u);
  EXPECT_EQ(trainer.summary().skipped_large, 0u);
  EXPECT_EQ(trainer.summary().skipped_small, 1u);
  const ConceptSet set = read_concept_set(dir / "concepts.h5");
  ASSERT_EQ(set.names, (std::vector<std::string>{"big", "medium"}));
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_EQ(set.skipped[0].name, "tiny");

  const std::size_t big = index_of(set, "big");
  EXPECT_EQ(set.metrics[big].n_tracks, 300u);
  std::set<std::uint32_t> positives;
  for (const TrackLists* part : {&set.splits.train_positive, &set.splits.val_positive, &set.splits.test_positive}) {
    for (auto t : tracks_of(*part, big)) EXPECT_TRUE(positives.insert(t).second) << "track " << t << " in two parts";
  }
  EXPECT_EQ(positives.size(), 100u);
  for (auto t : positives) EXPECT_LT(t, 300u) << "a sampled positive that is not a member";
  // The test split, which the similarity row uses, is a fifth of the sample.
  EXPECT_EQ(tracks_of(set.splits.test_positive, big).size(), 20u);
  std::size_t negatives = 0;
  for (const TrackLists* part : {&set.splits.train_negative, &set.splits.val_negative, &set.splits.test_negative}) {
    for (auto t : tracks_of(*part, big)) {
      EXPECT_GE(t, 300u) << "a member of the concept sampled as a negative";
      ++negatives;
    }
  }
  EXPECT_EQ(negatives, 100u);  // 1:1 with the sample, not with all 300 members

  // A concept within the limit is untouched by sampling.
  const std::size_t medium = index_of(set, "medium");
  std::size_t medium_positives = 0;
  for (const TrackLists* part : {&set.splits.train_positive, &set.splits.val_positive, &set.splits.test_positive})
    medium_positives += tracks_of(*part, medium).size();
  EXPECT_EQ(medium_positives, 60u);
  std::size_t medium_negatives = 0;
  for (const TrackLists* part : {&set.splits.train_negative, &set.splits.val_negative, &set.splits.test_negative})
    medium_negatives += tracks_of(*part, medium).size();
  EXPECT_EQ(medium_negatives, 60u);

  // --min-negatives raises the count for every concept, up to every track outside it.
  TrainConfig floor = corpus.config(dir / "floor.h5");
  floor.min_negatives = 200;
  ConceptTrainer(floor).run();
  const ConceptSet floored = read_concept_set(dir / "floor.h5");
  for (const auto& [name, expected] : {std::pair{"big", 200u}, std::pair{"medium", 200u}}) {
    std::size_t count = 0;
    for (const TrackLists* part : {&floored.splits.train_negative, &floored.splits.val_negative, &floored.splits.test_negative})
      count += tracks_of(*part, index_of(floored, name)).size();
    EXPECT_EQ(count, expected) << name;
  }
  floor.min_negatives = 1000;
  floor.output = (dir / "all.h5").string();
  ConceptTrainer(floor).run();
  const ConceptSet all = read_concept_set(dir / "all.h5");
  std::size_t count = 0;
  for (const TrackLists* part : {&all.splits.train_negative, &all.splits.val_negative, &all.splits.test_negative})
    count += tracks_of(*part, index_of(all, "medium")).size();
  EXPECT_EQ(count, 540u) << "every track outside the 60 members";
}

TEST(TrainLargeConcepts, TheSampleDependsOnTheSeedAloneNotOnTheThreadCount) {
  const ScratchDir dir;
  const LargeConceptCorpus corpus(dir);
  const auto sample = [&](const std::string& name, std::uint64_t seed, int jobs) {
    TrainConfig config = corpus.config(dir / name);
    config.seed = seed;
    config.jobs = jobs;
    ConceptTrainer(config).run();
    const ConceptSet set = read_concept_set(dir / name);
    std::vector<std::uint32_t> tracks = tracks_of(set.splits.train_positive, index_of(set, "big"));
    for (const TrackLists* part : {&set.splits.val_positive, &set.splits.test_positive}) {
      const auto more = tracks_of(*part, index_of(set, "big"));
      tracks.insert(tracks.end(), more.begin(), more.end());
    }
    return std::make_pair(tracks, set.weights);
  };
  const auto one = sample("one.h5", 3, 1);
  const auto two = sample("two.h5", 3, 2);
  EXPECT_EQ(one.first, two.first);
  EXPECT_EQ(one.second, two.second);
  EXPECT_NE(sample("other.h5", 4, 2).first, one.first);
}

TEST(TrainLargeConcepts, LargeSkipKeepsThePapersBehaviour) {
  const ScratchDir dir;
  const LargeConceptCorpus corpus(dir);
  TrainConfig config = corpus.config(dir / "concepts.h5");
  config.large = LargeConcepts::Skip;
  ConceptTrainer trainer(config);
  trainer.run();
  EXPECT_EQ(trainer.summary().skipped_large, 1u);
  EXPECT_EQ(trainer.summary().sampled_large, 0u);
  const ConceptSet set = read_concept_set(dir / "concepts.h5");
  EXPECT_EQ(set.names, std::vector<std::string>{"medium"});
  ASSERT_EQ(set.skipped.size(), 2u);
  EXPECT_EQ(set.skipped[0].name, "big");
  EXPECT_NE(set.skipped[0].reason.find("300 tracks"), std::string::npos) << set.skipped[0].reason;
  EXPECT_EQ(set.skipped[1].name, "tiny");

  // From the command line, the choice is validated.
  const auto bad = testing::run_cli(testing::quoted_args({"train", "-e", corpus.store.string(), "-m", corpus.memberships.string(), "-o",
                                                          (dir / "bad.h5").string(), "--large", "drop"}));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--large"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace conceptree
