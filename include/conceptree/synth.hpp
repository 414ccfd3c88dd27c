#pragma once
// A synthetic corpus with a planted concept hierarchy: frame embeddings, memberships and the
// true taxonomy. For trying the pipeline without data, for tests whose answer is known, and for
// benchmarks at any scale.
//
// Families g have random unit directions u_g; each member concept c of family g has the direction
// w_c = normalise(u_g + spread * noise). A track in concept c has frames
//   x = noise + signal * sum_{c containing the track} w_c
// Family concepts are playlists drawn from the tracks of their members.

#include <cstdint>
#include <filesystem>
#include <string>

#include "conceptree/context.hpp"
#include "conceptree/params.hpp"

namespace conceptree {

enum class SynthLayout { NpyDir, Npy, Store };
template <>
inline constexpr ChoiceNames<SynthLayout, 3> kChoiceNames<SynthLayout>{
    {{{SynthLayout::NpyDir, "npy-dir"}, {SynthLayout::Npy, "npy"}, {SynthLayout::Store, "store"}}}};

struct SynthConfig {
  std::string output{};                    // folder to write
  SynthLayout layout = SynthLayout::NpyDir;  // how to write the embeddings
  std::uint64_t tracks = 2000;
  std::uint64_t frames = 29;             // frames per track
  std::uint64_t dim = 128;
  std::uint64_t families = 6;
  std::uint64_t concepts_per_family = 8;
  std::uint64_t min_concept_tracks = 39;
  std::uint64_t max_concept_tracks = 250;
  double signal = 2.0;                   // length of a concept's direction added to member frames
  double spread = 0.8;                   // how far member concepts stray from their family direction
  std::uint64_t seed = 1;
  int jobs = 0;
  bool overwrite = false;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(output, {.name = "output", .help = "folder to write the corpus into", .required = true, .short_name = "o"});
    v(layout, {.name = "layout", .help = "embeddings as a folder of .npy files, one (total, dim) .npy with ids and offsets, or a store"});
    v(tracks, {.name = "tracks", .help = "number of tracks", .min = 1, .max = 1e8});
    v(frames, {.name = "frames", .help = "frames per track", .min = 1, .max = 1e5});
    v(dim, {.name = "dim", .help = "embedding dimension", .min = 1, .max = 1 << 16});
    v(families, {.name = "families", .help = "number of top-level concept families", .min = 1, .max = 1e6});
    v(concepts_per_family, {.name = "concepts-per-family", .help = "member concepts under each family", .min = 1, .max = 1e6});
    v(min_concept_tracks, {.name = "min-concept-tracks", .help = "smallest member concept, in tracks", .min = 1, .max = 1e8});
    v(max_concept_tracks, {.name = "max-concept-tracks", .help = "largest concept, in tracks (family playlists too)", .min = 1, .max = 1e8});
    v(signal, {.name = "signal", .help = "strength of a concept's direction in its tracks' frames", .min = 0, .max = 100});
    v(spread, {.name = "spread", .help = "deviation of member concepts from their family's direction", .min = 0, .max = 100});
    v(seed, {.name = "seed", .help = "random seed; same seed, same corpus"});
    v(jobs, {.name = "jobs", .help = "threads, 0 = all cores", .min = 0, .max = 1024, .short_name = "j"});
    v(overwrite, {.name = "overwrite", .help = "write into a folder that already holds a corpus"});
  }
};

struct SynthSummary {
  std::filesystem::path embeddings;   // folder, .npy or store written
  std::filesystem::path ids;          // ids.txt (npy layout), else empty
  std::filesystem::path offsets;      // offsets.npy (npy layout), else empty
  std::filesystem::path memberships;  // memberships.tsv
  std::filesystem::path truth;        // truth.tsv: concept<TAB>family
  std::uint64_t concepts = 0;
  std::uint64_t memberships_count = 0;
  std::uint64_t frames = 0;
};

class SyntheticCorpus {
 public:
  // `context` must outlive the object.
  explicit SyntheticCorpus(SynthConfig config, const Context& context = default_context());
  void run();
  const SynthSummary& summary() const { return summary_; }

 private:
  SynthConfig config_;
  const Context& context_;
  SynthSummary summary_;
};

}  // namespace conceptree
