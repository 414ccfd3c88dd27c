#pragma once
// A concept set: one linear concept classifier (CAV: weights v, bias b) per concept over one
// embedding layer, with training metrics and the track splits. On disk (HDF5):
//   /concepts/names, /concepts/types        K strings
//   /concepts/kept                          K uint8 (1 = passed the accuracy cut)
//   /concepts/metrics/<metric>              K values each (absent for imported CAVs)
//   /cav/<layer>/weights, /cav/<layer>/bias K x D and K float32; sigmoid(v.x + b) on raw frames
//   /splits/track_ids                       the store's track ids the split indices refer to
//   /splits/<train|val|test>/<positive|negative>/{offsets,indices}
//                                           concept k's tracks: indices[offsets[k]:offsets[k+1]]
//   /calibration/<layer>/test_<positive|negative>/{offsets,scores}
//                                           concept k's held-out test tracks' scores (mean frame
//                                           activation), ascending: scores[offsets[k]:offsets[k+1]]
//   /skipped/names, /skipped/n_tracks, /skipped/reasons   concepts not trained, and why

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace conceptree {

inline constexpr const char* kConceptSetFormat = "conceptree.concepts";

struct ConceptMetrics {
  std::uint64_t n_tracks = 0;               // positive tracks in the store
  std::uint64_t n_train_frames = 0;
  double train_balanced_accuracy = 0;
  double val_balanced_accuracy = 0;
  double test_balanced_accuracy = 0;
  double test_roc_auc = 0;
  double regularization = 0;                // the L2 strength picked on the validation split
  std::uint64_t solver_evaluations = 0;     // loss-and-gradient passes, all candidate strengths included
};

// Track indices of one split part for every concept, as ragged lists.
struct TrackLists {
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::uint32_t> indices;
  void add(const std::vector<std::uint32_t>& tracks) {
    indices.insert(indices.end(), tracks.begin(), tracks.end());
    offsets.push_back(indices.size());
  }
  std::size_t size() const { return offsets.size() - 1; }
};

// Per concept, a ragged list of scores.
struct ScoreLists {
  std::vector<std::uint64_t> offsets{0};
  std::vector<float> scores;
  void add(const std::vector<float>& concept_scores) {
    scores.insert(scores.end(), concept_scores.begin(), concept_scores.end());
    offsets.push_back(scores.size());
  }
  std::size_t size() const { return offsets.size() - 1; }
  std::span<const float> of(std::size_t concept_index) const {
    return std::span<const float>(scores).subspan(offsets[concept_index], offsets[concept_index + 1] - offsets[concept_index]);
  }
};

// How each concept scores the held-out test tracks it never trained on, members and not: what
// makes one track's score readable ("above 97 % of the concept's test non-members"). A track's
// score is its mean frame activation sigmoid(v·x + b). Empty for CAVs learned elsewhere.
struct ConceptCalibration {
  ScoreLists test_positive, test_negative;  // each concept's list sorted ascending
  bool empty() const { return test_positive.size() == 0; }
};

struct ConceptSplits {
  std::vector<std::string> track_ids;       // the store's ids
  TrackLists train_positive, train_negative, val_positive, val_negative, test_positive, test_negative;
  bool empty() const { return train_positive.size() == 0; }
};

struct SkippedConcept {
  std::string name;
  std::uint64_t n_tracks = 0;
  std::string reason;
};

struct ConceptSet {
  std::string layer;
  std::uint64_t dim = 0;
  std::vector<std::string> names;
  std::vector<std::string> types;
  std::vector<std::uint8_t> kept;
  std::vector<float> weights;               // K x dim, row-major
  std::vector<float> bias;                  // K
  std::vector<ConceptMetrics> metrics;      // K, or empty for CAVs learned elsewhere
  ConceptSplits splits;                     // empty for CAVs learned elsewhere
  ConceptCalibration calibration;           // of this layer's CAVs; empty for CAVs learned elsewhere
  std::vector<SkippedConcept> skipped;
  std::vector<std::pair<std::string, std::string>> text_attributes;    // provenance
  std::vector<std::pair<std::string, double>> number_attributes;       // settings (seed, cut-offs)

  std::size_t size() const { return names.size(); }
};

// Writes through a temporary file and a rename.
// A 95 % interval for a balanced accuracy measured on `positives` and `negatives` test tracks:
// Wilson's score interval at the effective sample size 4 / (1/positives + 1/negatives), the n at
// which a plain proportion has the balanced accuracy's variance (the mean of two proportions).
// Tracks, not frames, are the sample: a track's frames are not independent. {0, 1} without tracks.
std::pair<double, double> balanced_accuracy_interval(double balanced_accuracy, std::uint64_t positives, std::uint64_t negatives);

void write_concept_set(const std::filesystem::path& path, const ConceptSet& set);
// `layer` empty selects the only (or first) layer. Throws InputError naming the file.
ConceptSet read_concept_set(const std::filesystem::path& path, const std::string& layer = "");
std::vector<std::string> concept_set_layers(const std::filesystem::path& path);

}  // namespace conceptree
