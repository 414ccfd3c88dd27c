#pragma once
// Explanations: a recording described by the concepts it activates, at the right level of the
// hierarchy. For each kept concept of a concept set, per frame its activation sigmoid(v·x + b);
// per track its score (mean activation) calibrated against the concept's own held-out test tracks;
// the segments where it is present; and a summary walked down the hierarchy that stops at the most
// specific concepts still present.
//   ConceptExplainer explainer(concepts, &hierarchy, options);
//   TrackExplanation e = explainer.explain("id", frames, frame_hop_seconds);
// ExplainJob is the file driver: audio files (embedded with the concept set's own backbone and
// layer) or a store's tracks in, one HDF5 file (and optionally JSON) out.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conceptree/context.hpp"
#include "conceptree/concept_set.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/params.hpp"
#include "conceptree/store.hpp"

namespace conceptree {

inline constexpr const char* kExplanationsFormat = "conceptree.explanations";

struct ExplainOptions {
  double presence = 0.9;               // calibrated score at which a concept counts as present
  double min_segment_seconds = 2.0;    // shorter runs of presence (and gaps) are flicker
  std::uint64_t max_summary = 10;      // summary entries per track, best first

  template <class Visitor>
  void visit(Visitor&& v) {
    v(presence, {.name = "presence", .help = "a concept is present when its calibrated score reaches this: the share of the concept's held-out non-member tracks that score lower", .min = 0, .max = 1});
    v(min_segment_seconds, {.name = "min-segment", .help = "seconds: a run of presence shorter than this is not a segment, and a gap shorter than this between two runs is bridged", .min = 0, .max = 3600});
    v(max_summary, {.name = "max-summary", .help = "summary entries per track, best first", .min = 1, .max = 1e6});
  }
};

// A time range where one concept is present: [start, end) in seconds, its mean calibrated score.
struct ConceptSegment {
  std::uint32_t concept_column = 0;    // column of the explanation (ConceptExplainer::concepts())
  double start = 0, end = 0;
  float score = 0;
};

// One line of the summary: a concept present in the track none of whose descendants in the
// hierarchy is, after its present ancestors from the top (columns), where it is, how sure.
struct SummaryEntry {
  std::vector<std::uint32_t> path;     // the topmost present ancestor first, the concept last
  double start = 0, end = 0;           // its first segment's start and last segment's end
  float score = 0;                     // calibrated
};

struct TrackExplanation {
  std::string id;
  std::uint64_t frames = 0;
  std::vector<double> frame_seconds;   // start of each frame
  std::vector<float> activations;      // frames x K, row-major: sigmoid(v·x + b)
  std::vector<float> mean_activation;  // K: per concept, the mean over frames
  std::vector<float> scores;           // K: calibrated (see ConceptExplainer::calibrated)
  std::vector<std::uint8_t> present;   // K
  std::vector<ConceptSegment> segments;
  std::vector<SummaryEntry> summary;
};

class ConceptExplainer {
 public:
  // Explains with the kept concepts of `set`. `hierarchy` (may be null) orders the summary; its
  // nodes are matched to concepts by id. Throws InputError when the set keeps no concept.
  ConceptExplainer(const ConceptSet& set, const Hierarchy* hierarchy, ExplainOptions options);

  // `frames` is T x D (the set's dimension), frame t starting at t * frame_hop_seconds.
  // Throws InputError naming `id` for a wrong dimension, no frames or non-finite values.
  TrackExplanation explain(const std::string& id, const FrameMatrix& frames, double frame_hop_seconds) const;

  // Row of the concept set behind each column of an explanation.
  const std::vector<std::size_t>& concepts() const { return rows_; }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<std::string>& labels() const { return labels_; }  // the hierarchy's, else the name
  // Whether scores are calibrated (the set holds held-out scores) or raw mean activations.
  bool calibrated() const { return calibrated_; }
  // A track activation read against concept column k's held-out non-members: the share of them
  // that score lower (ties count half); the raw activation when the set has no calibration.
  float calibrated_score(std::size_t column, float activation) const;

 private:
  std::vector<std::size_t> rows_;
  std::vector<std::string> names_, labels_;
  std::vector<float> weights_, bias_;              // kept rows only
  std::vector<std::vector<float>> negatives_;      // held-out non-member scores per column, ascending
  std::vector<std::optional<std::uint32_t>> parent_;  // column of each column's hierarchy parent
  bool calibrated_ = false;
  std::size_t dim_ = 0;
  ExplainOptions options_;
};

// Reads an explanations file (conceptree explain's HDF5) back, track by track. Throws InputError
// naming the file when it is not one or is inconsistent.
class ExplanationReader {
 public:
  explicit ExplanationReader(const std::filesystem::path& path);
  ExplanationReader(ExplanationReader&&) noexcept;
  ~ExplanationReader();
  const std::vector<std::string>& names() const;
  const std::vector<std::string>& labels() const;
  const std::vector<std::string>& ids() const;
  bool calibrated() const;
  TrackExplanation read(std::size_t track) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct ExplainConfig {
  std::vector<std::string> inputs{};   // audio files and folders
  std::string concepts{};
  std::string hierarchy{};
  std::string embeddings{};            // instead of audio: a store's tracks
  std::string tracks{};                // with --embeddings: ids to explain (default all)
  std::string layer{};                 // concept-set layer; empty = its only or first
  std::string output{};
  std::string json{};
  std::string html{};
  std::uint64_t html_tracks = 50;      // tracks on the page: it holds each one's activations and log-mel
  std::string weights{};               // musicnn weights, when the concept set's backbone needs them
  ExplainOptions options;
  int jobs = 0;
  bool strict = false;
  bool overwrite = false;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(inputs, {.name = "inputs", .help = "audio files or folders to explain; each is embedded with the concept set's own backbone and layer", .positional = true});
    v(concepts, {.name = "concepts", .help = "concept set (HDF5) from 'conceptree train'", .required = true, .short_name = "c"});
    v(hierarchy, {.name = "hierarchy", .help = "hierarchy JSON: the summary walks it from the top down (default: a flat ranked list)"});
    v(embeddings, {.name = "embeddings", .help = "explain tracks of this embedding store instead of audio; its backbone, layer and dimension must be the concept set's", .short_name = "e"});
    v(tracks, {.name = "tracks", .help = "with --embeddings: file of track ids to explain, one per line (default: all)"});
    v(layer, {.name = "layer", .help = "CAV layer of the concept set (default: its only or first layer)"});
    v(output, {.name = "output", .help = "explanations to write (HDF5)", .required = true, .short_name = "o"});
    v(json, {.name = "json", .help = "also write the explanations as JSON to this file"});
    v(html, {.name = "html", .help = "also write one self-contained offline page to explore the explanations (spectrogram, activation timeline grouped by the hierarchy, summary, playback)"});
    v(html_tracks, {.name = "html-tracks", .help = "tracks shown on the --html page, the first ones explained (the page holds each one's activations and log-mel)", .min = 1, .max = 100000});
    v(weights, {.name = "weights", .help = "musicnn-vgg weights when the concept set was learned on them (default: the shipped ones)"});
    options.visit(v);
    v(jobs, {.name = "jobs", .help = "threads, 0 = all cores", .min = 0, .max = 1024, .short_name = "j"});
    v(strict, {.name = "strict", .help = "stop at the first bad audio file or unknown track id instead of skipping it"});
    v(overwrite, {.name = "overwrite", .help = "replace the outputs if they exist"});
  }
};

struct ExplainSummary {
  std::uint64_t tracks = 0;            // asked for
  std::uint64_t explained = 0;
  std::uint64_t skipped = 0;           // bad files or unknown ids, listed in errors_file
  std::uint64_t concepts = 0;          // columns
  double audio_seconds = 0;
  double seconds = 0;
  bool calibrated = false;
  std::filesystem::path errors_file;
};

class ExplainJob {
 public:
  // `context` must outlive the object.
  explicit ExplainJob(ExplainConfig config, const Context& context = default_context());
  // Throws FatalError for bad options, unusable inputs, a store that does not match the concept
  // set, or a bad item under --strict.
  void run();
  const ExplainSummary& summary() const { return summary_; }

 private:
  ExplainConfig config_;
  const Context& context_;
  ExplainSummary summary_;
};

}  // namespace conceptree
