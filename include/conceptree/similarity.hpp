#pragma once
// Concept similarity S[i][j]: how much the members of concept i look like concept j.
//   activation  mean over concept i's test tracks of the track's mean frame activation
//               sigmoid(v_j.x + b_j) of concept j (asymmetric)
//   cosine      cosine of [v_i; b_i] and [v_j; b_j], for CAVs learned without audio at hand
// Only kept concepts take part. On disk (HDF5):
//   /similarity   K x K float32, row i, column j
//   /names, /types  K strings
//   /support      K uint64: test tracks averaged for row i (0 for cosine)
//   /base_rate    K float32 (activation only): concept j's mean activation over every distinct
//                 test track scored, the level S[i][j] is compared with when calibrated
//   attributes format=conceptree.similarity, measure, layer, concepts, embeddings
// Above 20,000 concepts (--layout auto) the file holds the sparse layout instead (attribute
// layout=sparse, sparse_similarity.hpp); read_similarity refuses it.
//
//   SimilarityComputer computer(config);
//   computer.run();
//   computer.summary();

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "conceptree/batch_errors.hpp"
#include "conceptree/concept_set.hpp"
#include "conceptree/context.hpp"
#include "conceptree/params.hpp"
#include "conceptree/store.hpp"

namespace conceptree {

inline constexpr const char* kSimilarityFormat = "conceptree.similarity";

struct SimilarityMatrix {
  std::string measure;                    // "activation" or "cosine"
  std::string layer;
  std::vector<std::string> names;
  std::vector<std::string> types;
  std::vector<float> values;              // K x K, row-major
  std::vector<std::uint64_t> support;     // K
  std::vector<float> base_rate;           // K, or empty when unknown (cosine, files before it was kept)
  std::vector<std::pair<std::string, std::string>> text_attributes;  // provenance

  std::size_t size() const { return names.size(); }
  float at(std::size_t row, std::size_t column) const { return values[row * names.size() + column]; }
};

// Writes through a temporary file and a rename.
void write_similarity(const std::filesystem::path& path, const SimilarityMatrix& similarity);
// Throws InputError naming the file for anything that is not a well-formed similarity file
// (wrong shapes, NaN/Inf values).
SimilarityMatrix read_similarity(const std::filesystem::path& path);

// The two measures on in-memory inputs; both use the kept concepts only, in concept-set order.
SimilarityMatrix cosine_similarity(const ConceptSet& set);
struct ActivationStats {
  std::uint64_t tracks = 0;               // distinct test tracks scored
  std::uint64_t frames = 0;               // frames scored against every concept
  std::uint64_t excluded_concepts = 0;    // kept concepts without a test track in the store
  double gemm_flops = 0;                  // 2 x frames x concepts x dim
  std::string gemm;                       // which GEMM ran, e.g. "OpenBLAS SkylakeX"
  double read_seconds = 0;
  double score_seconds = 0;
};
// Throws FatalError when the set has no test splits. Test tracks missing from the store are
// reported to `errors` (one report per concept; --strict makes that throw) and left out.
SimilarityMatrix activation_similarity(const ConceptSet& set, const EmbeddingStore& store, int jobs,
                                       BatchErrors& errors, ActivationStats* stats = nullptr,
                                       const Context& context = default_context());
// The same on frames in memory (InputError when they are inconsistent).
SimilarityMatrix activation_similarity(const ConceptSet& set, const FrameView& frames, int jobs,
                                       BatchErrors& errors, ActivationStats* stats = nullptr,
                                       const Context& context = default_context());

enum class SimilarityMeasure { Activation, Cosine };
template <>
inline constexpr ChoiceNames<SimilarityMeasure, 2> kChoiceNames<SimilarityMeasure>{
    {{{SimilarityMeasure::Activation, "activation"}, {SimilarityMeasure::Cosine, "cosine"}}}};

// dense: the K x K matrix; sparse: each concept's top-k plus every value above a threshold
// (sparse_similarity.hpp); auto: sparse above kSparseLayoutAbove concepts.
enum class SimilarityLayout { Dense, Sparse, Auto };
template <>
inline constexpr ChoiceNames<SimilarityLayout, 3> kChoiceNames<SimilarityLayout>{
    {{{SimilarityLayout::Dense, "dense"}, {SimilarityLayout::Sparse, "sparse"}, {SimilarityLayout::Auto, "auto"}}}};

struct SimilarityConfig {
  std::string concepts{};      // concept set (HDF5)
  std::string embeddings{};    // embedding store with the concept set's test tracks
  std::string output{};        // similarity file to write
  std::optional<SimilarityMeasure> measure;  // unset = activation when embeddings are given, else cosine
  std::string layer{};         // concept-set layer; empty = its only or first layer
  SimilarityLayout layout = SimilarityLayout::Auto;
  std::uint64_t top_k = 32;    // sparse layout: per row and per column
  double keep_above = 0.5;     // sparse layout: every value above it is kept (the graph threshold)
  int jobs = 0;
  bool strict = false;
  bool overwrite = false;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(concepts, {.name = "concepts", .help = "concept set (HDF5) from 'train' or 'cavs'", .required = true, .short_name = "c"});
    v(embeddings, {.name = "embeddings", .help = "embedding store holding the concepts' test tracks (needed by --measure activation)", .short_name = "e"});
    v(output, {.name = "output", .help = "similarity file to write (HDF5)", .required = true, .short_name = "o"});
    v(measure, {.name = "measure", .help = "activation (mean CAV activation over test tracks) or cosine (of [v; b]); default: activation when --embeddings is given, else cosine"});
    v(layer, {.name = "layer", .help = "CAV layer of the concept set (default: its only or first layer)"});
    v(layout, {.name = "layout", .help = "dense (K x K matrix), sparse (each concept's --top-k most similar concepts and best candidate parents, plus every value above --keep-above; for 100,000 concepts) or auto (sparse above 20,000 concepts)"});
    v(top_k, {.name = "top-k", .help = "sparse layout: the largest values kept in each row and in each column", .min = 1, .max = 1e6});
    v(keep_above, {.name = "keep-above", .help = "sparse layout: every value above this is kept too; 'hierarchy --threshold' must not go below it", .min = -1, .max = 1e9});
    v(jobs, {.name = "jobs", .help = "threads, 0 = all cores", .min = 0, .max = 1024, .short_name = "j"});
    v(strict, {.name = "strict", .help = "stop when a test track is missing from the store instead of leaving it out"});
    v(overwrite, {.name = "overwrite", .help = "replace the output if it exists"});
  }
};

struct SimilaritySummary {
  std::uint64_t concepts = 0;             // rows of S
  std::string measure;
  SimilarityLayout layout = SimilarityLayout::Dense;  // as written (never auto)
  std::uint64_t kept_entries = 0;         // sparse layout: entries written
  ActivationStats activation;
  std::uint64_t concepts_missing_tracks = 0;  // concepts with test tracks not in the store (left out)
  double seconds = 0;
};

class SimilarityComputer {
 public:
  // `context` must outlive the computer.
  explicit SimilarityComputer(SimilarityConfig config, const Context& context = default_context());
  // Throws FatalError for bad inputs or options.
  void run();
  const SimilaritySummary& summary() const { return summary_; }

 private:
  SimilarityConfig config_;
  const Context& context_;
  SimilaritySummary summary_;
};

}  // namespace conceptree
