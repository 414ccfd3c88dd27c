#pragma once
// A tiny but complete run of the pipeline, in memory: the valid files the seed corpora start from
// and the fixed companions a harness needs beside the one file it fuzzes (`report` reads a concept
// set, a similarity and a hierarchy beside the evaluation under test).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "conceptree/batch_errors.hpp"
#include "conceptree/concepts.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/similarity.hpp"
#include "conceptree/store.hpp"
#include "fuzz_support.hpp"

namespace conceptree::fuzz {

struct TinyPipeline {
  static constexpr std::uint64_t kDim = 3;
  static constexpr std::uint32_t kTracks = 24;
  static constexpr std::uint64_t kFramesPerTrack = 2;

  std::vector<float> frames;
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::string> track_ids;
  ResolvedMemberships memberships;
  ConceptSet concepts;
  SimilarityMatrix similarity;
  Hierarchy hierarchy;

  // Concepts "a" to "e" with nested memberships, the ids the seed taxonomies use: "a" and "d" are
  // two halves of the tracks, "b" and "c" split "a", "e" is most of "d".
  TinyPipeline() {
    memberships.concepts = {{"a", "family", {}}, {"b", "", {}}, {"c", "", {}}, {"d", "family", {}}, {"e", "", {}}};
    for (std::uint32_t t = 0; t < kTracks; ++t) {
      track_ids.push_back("t" + std::to_string(t));
      const bool first_half = t < kTracks / 2;
      for (std::uint64_t f = 0; f < kFramesPerTrack; ++f) {
        frames.push_back(first_half ? 1.0f : -1.0f);
        frames.push_back(first_half && t % 2 == 0 ? 1.0f : 0.1f * static_cast<float>(f));
        frames.push_back(static_cast<float>((t * 7 + f * 3) % 5) / 5.0f);
      }
      offsets.push_back(offsets.back() + kFramesPerTrack);
      auto& lists = memberships.concepts;
      (first_half ? lists[0] : lists[3]).tracks.push_back(t);
      if (first_half) (t % 2 == 0 ? lists[1] : lists[2]).tracks.push_back(t);
      if (!first_half && t % 4 != 3) lists[4].tracks.push_back(t);
    }
    const FrameView view{.data = frames.data(), .dim = kDim, .offsets = offsets, .track_ids = track_ids, .layer = "tiny"};
    TrainConfig train;
    train.min_tracks = 4;
    train.min_negatives = 0;
    train.min_accuracy = 0;
    train.jobs = 1;
    concepts = learn_concepts(view, memberships, train, nullptr, quiet_context());
    BatchErrors errors(false, quiet_context());
    similarity = activation_similarity(concepts, view, 1, errors, nullptr, quiet_context());
    hierarchy = extract_hierarchy(similarity, HierarchyOptions{}, 1, nullptr, quiet_context());
  }

  void write_store(const std::filesystem::path& path, const StoreLayout& layout = {}) const {
    auto writer = EmbeddingStoreWriter::create(path, {{.name = "tiny", .dim = kDim}},
                                               {.source = "fuzz seed", .sample_rate = 16000, .frame_hop_seconds = 0.5}, layout);
    for (std::uint32_t t = 0; t < kTracks; ++t) {
      writer.append(track_ids[t], std::span<const float>(frames).subspan(offsets[t] * kDim, kFramesPerTrack * kDim), kFramesPerTrack);
    }
    writer.close();
  }
};

}  // namespace conceptree::fuzz
