#pragma once
// TCAV (Kim et al., ICML 2018): how sensitive a model's output is to a concept, with significance.
// For each input (a 3 s patch) the directional derivative of the output along a concept's CAV,
// S = g · v, where g is the gradient of the output with respect to the layer's activations. A
// concept's TCAV score is the share of inputs with S > 0; its sensitivity, the mean of S along the
// unit CAV over the mean |g| (a cosine-like number in [-1, 1] that, unlike the share, does not
// saturate when the inputs' gradients point one way). Each concept is scored R times, each with
// its CAV made again from another sample of negative tracks; R random concepts (random track sets
// of the concept's size, each scored exactly like a concept: R CAVs) give the null. A concept's
// runs share one track set, so the concept, not the run, is the unit of replication: its mean
// statistic is tested against the random concepts' means (a prediction t-test, the verdict, with
// Benjamini-Hochberg q-values across all concepts tested; and a distribution-free rank test beside
// it, which cannot go below 1 / (random concepts + 1)). tf/tcav's test (the R runs against R
// random runs: Welch's t and a permutation test) is reported beside it, not used for the verdict:
// it treats runs as independent and declares random track sets significant far above alpha.
//   TcavAnalysis analysis(frames, gradients, concepts, options);
//   analysis.run();
//   analysis.results();
// TcavJob is the file driver: a store holding frames and gradients, a concept set, optionally a
// hierarchy, in; JSON (and an offline page) out.

#include <cstdint>
#include <string>
#include <vector>

#include "conceptree/context.hpp"
#include "conceptree/params.hpp"
#include "conceptree/store.hpp"

namespace conceptree {

inline constexpr const char* kTcavFormat = "conceptree.tcav";

enum class CavKind { Pattern, Classifier };
template <>
inline constexpr ChoiceNames<CavKind, 2> kChoiceNames<CavKind>{{{{CavKind::Pattern, "pattern"}, {CavKind::Classifier, "classifier"}}}};

enum class TcavStatistic { Sensitivity, Score };
template <>
inline constexpr ChoiceNames<TcavStatistic, 2> kChoiceNames<TcavStatistic>{
    {{{TcavStatistic::Sensitivity, "sensitivity"}, {TcavStatistic::Score, "score"}}}};

struct TcavOptions {
  CavKind cav = CavKind::Pattern;      // how a run makes the concept's direction
  TcavStatistic test = TcavStatistic::Sensitivity;  // the statistic the verdict tests
  std::uint64_t runs = 30;             // CAVs per concept, each on another negative sample
  std::uint64_t random_runs = 100;     // random concepts of the concept's size: the null
  double null_size_step = 0.1;         // random concepts are shared by sizes within this ratio
  std::uint64_t permutations = 10000;  // of tf/tcav's runs test (reported, not the verdict)
  double alpha = 0.05;                 // t-test q-value below which a concept is significant
  double negative_ratio = 1.0;         // negative tracks per positive track in each run
  double regularization = 1e-2;        // L2 strength on standardised features
  int max_iterations = 100;            // L-BFGS iterations per CAV
  double tolerance = 1e-3;             // L-BFGS gradient tolerance
  std::uint64_t seed = 0;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(cav, {.name = "cav", .help = "direction of a concept: pattern (mean of its frames minus the mean of the negatives' frames; Pahde et al. 2022) or classifier (the weights of an L2 logistic regression, as tf/tcav)"});
    v(test, {.name = "test", .help = "statistic the verdict tests: sensitivity (mean directional derivative along the unit CAV over the mean gradient norm) or score (the TCAV score, the share of positive derivatives); both are computed and written"});
    v(runs, {.name = "runs", .help = "CAVs per concept, each retrained on another seeded sample of negative tracks", .min = 2, .max = 100000});
    v(random_runs, {.name = "random", .help = "random concepts per concept (random track sets of its size, trained the same way): the null distribution", .min = 2, .max = 100000});
    v(null_size_step, {.name = "null-size-step", .help = "a concept's random concepts have the largest size of the grid ceil((1 + step)^i) not above its own, so concepts of nearby sizes share one null (a smaller set only widens it); 0 = exactly the concept's size", .min = 0, .max = 1});
    v(permutations, {.name = "permutations", .help = "label permutations of the tf/tcav-style permutation test of runs against random runs (reported beside the verdict)", .min = 1, .max = 1e9});
    v(alpha, {.name = "alpha", .help = "false discovery rate: a concept is significant when the Benjamini-Hochberg q-value of its t-test (its mean --test statistic against the random concepts' means) is below it", .min = 0, .max = 1});
    v(negative_ratio, {.name = "negative-ratio", .help = "negative tracks sampled per positive track for each CAV", .min = 0.1, .max = 1000});
    v(regularization, {.name = "regularization", .help = "--cav classifier: L2 strength of each CAV on standardised features", .min = 0, .max = 1e6});
    v(max_iterations, {.name = "max-iterations", .help = "--cav classifier: L-BFGS iterations per CAV", .min = 1, .max = 100000});
    v(tolerance, {.name = "tolerance", .help = "--cav classifier: L-BFGS stops when |gradient| <= tolerance * max(1, |w|)", .min = 1e-12, .max = 1});
    v(seed, {.name = "seed", .help = "seed of the negative samples and random concepts (per concept and run: the thread count does not matter)"});
  }
};

// A concept to test: its member tracks, as indices into the frames' tracks.
struct TcavConcept {
  std::string id;
  std::vector<std::uint32_t> tracks;
};

struct TcavRuns {
  std::vector<double> runs;
  double mean = 0, std = 0;            // std: sample standard deviation over the runs
};

// One statistic of a concept against the same statistic of its random concepts.
struct TcavTest {
  TcavRuns random;                     // the random concepts' means (one entry per random concept)
  double t = 0, df = 0;                // prediction t of the concept's mean against random.runs
  double p_t = 1, p_rank = 1;          // two-sided: Student's t, and the Monte Carlo rank test
  double q_t = 1, q_rank = 1;          // Benjamini-Hochberg over all concepts tested
};

// tf/tcav's test: the concept's score runs against single runs of the random concepts, as if
// every run were an independent sample.
struct TcavRunsTest {
  TcavRuns random;                     // the score of the first run of each random concept
  double t = 0, df = 0;                // Welch's t of score.runs against random.runs
  double p_welch = 1, p_permutation = 1;
  double q_welch = 1, q_permutation = 1;  // Benjamini-Hochberg over all concepts tested
};

struct TcavResult {
  TcavRuns score;                      // share of inputs whose directional derivative is positive
  TcavRuns magnitude;                  // sum of positive derivatives over sum of |derivatives|
  TcavRuns sensitivity;                // mean derivative along the unit CAV over the mean |gradient|
  std::uint64_t null_size = 0;         // size of the random concepts (see TcavOptions::null_size_step)
  TcavTest score_test, sensitivity_test;
  bool significant = false;            // the --test statistic's q_t below alpha
  int direction = 0;                   // significant: +1 above the null, -1 below; else 0
  TcavRunsTest runs_test;              // reported for comparison, not the verdict
};

class TcavAnalysis {
 public:
  // `frames`: every track's frames (the layer the gradients are of), to train CAVs on;
  // `gradients`: one row per input to score, d output / d activations, frames.cols wide. Throws
  // InputError for mismatched widths, non-finite gradients, no inputs, or a concept with fewer
  // than 2 tracks or no track outside it.
  // `frames`, `gradients` and `context` must outlive the object.
  TcavAnalysis(const FrameBatch& frames, const FrameMatrix& gradients, std::vector<TcavConcept> concepts, TcavOptions options,
               int jobs = 0, const Context& context = default_context());
  void run();
  // One per concept, in the order given.
  const std::vector<TcavResult>& results() const { return results_; }

 private:
  const FrameBatch& frames_;
  const FrameMatrix& gradients_;
  const Context& context_;
  std::vector<TcavConcept> concepts_;
  TcavOptions options_;
  int jobs_ = 0;
  std::vector<TcavResult> results_;
};

struct TcavConfig {
  std::string embeddings{};            // store with frames and gradients
  std::string concepts{};              // concept set trained on the store's layer
  std::string target{};                // the gradient (model output) to explain
  std::string hierarchy{};
  std::string tracks{};                // ids whose inputs are scored (default: all)
  std::string layer{};                 // concept-set layer (default: its only or first)
  std::string output{};                // JSON
  std::string html{};
  TcavOptions options;
  int jobs = 0;
  bool overwrite = false;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(embeddings, {.name = "embeddings", .help = "embedding store holding the layer's frames and the target's gradients (embed --gradients, or import --gradient)", .required = true, .short_name = "e"});
    v(concepts, {.name = "concepts", .help = "concept set (HDF5) from 'conceptree train' on that store's layer: its member tracks are reused to retrain the CAVs", .required = true, .short_name = "c"});
    v(target, {.name = "target", .help = "model output to explain: a gradient stored beside the layer (e.g. a musicnn tag, 'happy')", .required = true, .short_name = "t"});
    v(hierarchy, {.name = "hierarchy", .help = "hierarchy JSON: each concept is shown beside its parents and children, and subtrees whose concepts agree are marked"});
    v(tracks, {.name = "tracks", .help = "file of track ids whose inputs (patches) are scored, one per line (default: all tracks in the store)"});
    v(layer, {.name = "layer", .help = "CAV layer of the concept set (default: its only or first layer)"});
    v(output, {.name = "output", .help = "results to write (JSON; layout in docs/formats.md)", .required = true, .short_name = "o"});
    v(html, {.name = "html", .help = "also write one self-contained offline page: scores with error bars, the null, significance"});
    options.visit(v);
    v(jobs, {.name = "jobs", .help = "threads, 0 = all cores", .min = 0, .max = 1024, .short_name = "j"});
    v(overwrite, {.name = "overwrite", .help = "replace the outputs if they exist"});
  }
};

struct TcavSummary {
  std::uint64_t concepts = 0;          // tested
  std::uint64_t significant = 0;
  std::uint64_t inputs = 0;            // gradient rows scored
  std::uint64_t tracks = 0;
  std::uint64_t skipped_concepts = 0;  // too few member tracks in the store
  double seconds = 0;
};

class TcavJob {
 public:
  // `context` must outlive the object.
  explicit TcavJob(TcavConfig config, const Context& context = default_context());
  // Throws FatalError for bad options or inputs that do not fit together (layer, dimension, no
  // such gradient, a concept set without member tracks).
  void run();
  const TcavSummary& summary() const { return summary_; }

 private:
  TcavConfig config_;
  const Context& context_;
  TcavSummary summary_;
};

}  // namespace conceptree
