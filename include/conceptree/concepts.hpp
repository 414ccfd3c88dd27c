#pragma once
// Concept learning: one class-balanced, L2-regularised logistic-regression classifier (a concept
// activation vector) per concept, separating frames of the concept's tracks from frames of other
// tracks.
//   ConceptTrainer trainer(config);
//   trainer.run();
//   trainer.summary();

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "conceptree/concept_set.hpp"
#include "conceptree/context.hpp"
#include "conceptree/memberships.hpp"
#include "conceptree/params.hpp"
#include "conceptree/store.hpp"

namespace conceptree {

enum class LargeConcepts { Sample, Skip };
template <>
inline constexpr ChoiceNames<LargeConcepts, 2> kChoiceNames<LargeConcepts>{{{{LargeConcepts::Sample, "sample"}, {LargeConcepts::Skip, "skip"}}}};

struct TrainConfig {
  std::string embeddings{};            // embedding store
  std::string memberships{};           // TSV or JSON
  std::string output{};                // concept set to write
  std::string layer{};                 // store layer; empty = the store's only/first layer
  std::uint64_t min_tracks = 39;       // concepts with fewer tracks in the store are skipped
  std::uint64_t max_tracks = 250;      // concepts with more are trained on a sample of this many (or skipped)
  LargeConcepts large = LargeConcepts::Sample;  // what happens to a concept with more than max_tracks tracks
  double min_accuracy = 0.7;           // test balanced accuracy a concept must exceed to be kept
  double negative_ratio = 1.0;         // negative tracks sampled per positive track
  std::uint64_t min_negatives = 500;   // but at least this many (or every other track); 0 = the paper's 1:1
  double val_fraction = 0.1;           // share of each class's tracks held out to pick the regularisation
  double test_fraction = 0.2;          // share held out to measure the classifier
  std::vector<double> regularization{1e-1, 1e-2, 1e-3, 1e-4};  // L2 strengths tried, on standardised features
  int max_iterations = 300;            // L-BFGS iterations per candidate strength
  double tolerance = 1e-4;             // L-BFGS gradient tolerance, as scikit-learn's default
  std::uint64_t seed = 0;
  int jobs = 0;
  bool strict = false;
  bool overwrite = false;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(embeddings, {.name = "embeddings", .help = "embedding store (HDF5) holding the tracks' frames", .required = true, .short_name = "e"});
    v(memberships, {.name = "memberships", .help = "concept memberships, TSV concept<TAB>track_id[<TAB>type] or JSON", .required = true, .short_name = "m"});
    v(output, {.name = "output", .help = "concept set to write (HDF5)", .required = true, .short_name = "o"});
    v(layer, {.name = "layer", .help = "store layer to learn on (default: the store's only or first layer)"});
    v(min_tracks, {.name = "min-tracks", .help = "skip concepts with fewer tracks in the store", .min = 3, .max = 1e9});
    v(max_tracks, {.name = "max-tracks", .help = "a concept with more tracks in the store is trained on a seeded sample of this many (see --large)", .min = 3, .max = 1e9});
    v(large, {.name = "large", .help = "concepts above --max-tracks: sample (train on a seeded sample of --max-tracks of their tracks; all of them stay out of the negatives) or skip (the paper's behaviour)"});
    v(min_accuracy, {.name = "min-accuracy", .help = "keep concepts whose test balanced accuracy exceeds this", .min = 0, .max = 1});
    v(negative_ratio, {.name = "negative-ratio", .help = "negative tracks sampled per positive track", .min = 0.1, .max = 1000});
    v(min_negatives, {.name = "min-negatives", .help = "sample at least this many negative tracks (every other track when fewer exist): a concept of 70 tracks seeing 70 negatives never learns to reject most other concepts; 0 = the paper's --negative-ratio alone", .max = 1e9});
    v(val_fraction, {.name = "val-fraction", .help = "share of tracks in the validation split (picks the L2 strength)", .min = 0.01, .max = 0.5});
    v(test_fraction, {.name = "test-fraction", .help = "share of tracks in the test split (metrics, similarity)", .min = 0.01, .max = 0.5});
    v(regularization, {.name = "regularization", .help = "L2 strengths tried on standardised features; the best on validation wins", .min = 0, .max = 1e6});
    v(max_iterations, {.name = "max-iterations", .help = "L-BFGS iterations per strength", .min = 1, .max = 100000});
    v(tolerance, {.name = "tolerance", .help = "L-BFGS stops when |gradient| <= tolerance * max(1, |w|)", .min = 1e-12, .max = 1});
    v(seed, {.name = "seed", .help = "seed of the splits and negative samples (per concept, so thread count does not matter)"});
    v(jobs, {.name = "jobs", .help = "threads, 0 = all cores", .min = 0, .max = 1024, .short_name = "j"});
    v(strict, {.name = "strict", .help = "stop on the first membership naming a track missing from the store"});
    v(overwrite, {.name = "overwrite", .help = "replace the output if it exists"});
  }
};

struct TrainSummary {
  std::uint64_t concepts_in_file = 0;     // concepts in the memberships
  std::uint64_t trained = 0;              // concepts with a classifier in the output
  std::uint64_t trained_this_run = 0;     // the rest were recovered from an interrupted run
  std::uint64_t kept = 0;                 // trained and above min_accuracy
  std::uint64_t skipped_small = 0;
  std::uint64_t skipped_large = 0;        // --large skip
  std::uint64_t sampled_large = 0;        // --large sample: trained on a sample of their tracks
  std::uint64_t unknown_memberships = 0;  // memberships naming tracks not in the store
  double mean_test_balanced_accuracy = 0;
  double seconds = 0;
  double load_seconds = 0;                // reading the frames
  double train_seconds = 0;               // fitting the classifiers
};

// Every frame of a store's layer in memory, in pages the kernel may back with 2 MiB huge pages
// (filling gigabytes of fresh 4 KiB pages costs more in page faults than reading the data itself).
// Loaded once, it can be trained on many times (conceptree bootstrap).
class StoreFrames {
 public:
  explicit StoreFrames(const EmbeddingStore& store, const Context& context = default_context());
  StoreFrames(const StoreFrames&) = delete;
  StoreFrames& operator=(const StoreFrames&) = delete;
  ~StoreFrames();
  const float* data() const { return data_; }                       // total frames x dim, row-major
  const std::vector<std::uint64_t>& offsets() const { return offsets_; }  // track k owns rows [offsets[k], offsets[k+1])
  const std::vector<std::string>& track_ids() const { return track_ids_; }
  const std::string& layer() const { return layer_; }
  std::size_t dim() const { return dim_; }
  std::size_t track_count() const { return track_ids_.size(); }
  double load_seconds() const { return load_seconds_; }
  FrameView view() const {
    return {.data = data_, .dim = dim_, .offsets = offsets_, .track_ids = track_ids_, .layer = layer_, .source = source_};
  }

 private:
  float* data_ = nullptr;
  std::size_t count_ = 0;
  std::vector<std::uint64_t> offsets_;
  std::vector<std::string> track_ids_;
  std::string layer_;
  std::string source_;  // the store's path
  std::size_t dim_ = 0;
  double load_seconds_ = 0;
};

// The memberships at `path` resolved against the store's tracks; memberships naming tracks not in
// the store are ignored with one warning, or stop the job with `strict`.
ResolvedMemberships read_training_memberships(const std::string& path, const EmbeddingStore& store, bool strict,
                                              const Context& context = default_context());

// The in-memory core of `conceptree train`: one classifier per concept of `memberships` (resolved
// against the frames' tracks), with `config`'s settings (its file names are not read). Same
// inputs and seed, same concept set, whatever the thread count. Throws FatalError for bad options
// or when no concept has enough tracks, InputError for inconsistent frames, Cancelled when
// `context` is asked to stop.
// The settings a concept set records (as attributes) and a resumed run must share: every train
// setting but the inputs, output and the ones that do not change results.
nlohmann::ordered_json recorded_train_settings(const TrainConfig& config);

ConceptSet learn_concepts(const FrameView& frames, const ResolvedMemberships& memberships, const TrainConfig& config,
                          TrainSummary* summary = nullptr, const Context& context = default_context());

class ConceptTrainer {
 public:
  // `context` must outlive the trainer.
  explicit ConceptTrainer(TrainConfig config, const Context& context = default_context());
  // Throws FatalError for bad inputs or options.
  void run();
  const TrainSummary& summary() const { return summary_; }

 private:
  TrainConfig config_;
  const Context& context_;
  TrainSummary summary_;
};

}  // namespace conceptree
