// conceptree as a library on arrays a program already holds: frames of 400 tracks with three
// planted concepts (two of them inside the third), one classifier per concept, their similarity,
// and the hierarchy, printed as child<TAB>parent lines. No file is read or written.

#include <conceptree/concepts.hpp>
#include <conceptree/hierarchy.hpp>
#include <conceptree/similarity.hpp>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

int main() {
  constexpr std::size_t kTracks = 400, kFramesPerTrack = 8, kDim = 16;
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::vector<float> data(kTracks * kFramesPerTrack * kDim);
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::string> ids;
  conceptree::Memberships memberships;
  memberships.concepts = {{.name = "strings", .type = "family", .tracks = {}},
                          {.name = "violin", .type = "instrument", .tracks = {}},
                          {.name = "cello", .type = "instrument", .tracks = {}}};
  for (std::size_t t = 0; t < kTracks; ++t) {
    ids.push_back("track" + std::to_string(t));
    const bool violin = t % 4 == 0, cello = t % 4 == 1;  // half of the strings each
    for (std::size_t f = 0; f < kFramesPerTrack; ++f) {
      float* row = data.data() + (t * kFramesPerTrack + f) * kDim;
      for (std::size_t d = 0; d < kDim; ++d) row[d] = noise(rng);
      if (violin || cello) row[0] += 2.5f;  // what strings share
      if (violin) row[1] += 2.5f;
      if (cello) row[2] += 2.5f;
    }
    offsets.push_back(offsets.back() + kFramesPerTrack);
    if (violin || cello) memberships.concepts[0].tracks.push_back(ids.back());
    if (violin) memberships.concepts[1].tracks.push_back(ids.back());
    if (cello) memberships.concepts[2].tracks.push_back(ids.back());
  }

  const conceptree::FrameView frames{.data = data.data(), .dim = kDim, .offsets = offsets, .track_ids = ids, .layer = "planted"};
  conceptree::TrainConfig train;
  train.min_tracks = 20;
  const conceptree::ConceptSet concepts = conceptree::learn_concepts(frames, conceptree::resolve_memberships(memberships, ids), train);
  conceptree::BatchErrors missing(false, conceptree::default_context());
  const conceptree::SimilarityMatrix similarity = conceptree::activation_similarity(concepts, frames, 0, missing);
  const conceptree::Hierarchy hierarchy = conceptree::extract_hierarchy(similarity, {}, 0);
  std::fputs(conceptree::format_hierarchy(hierarchy, conceptree::HierarchyFormat::Tsv).c_str(), stdout);
  return 0;
}
