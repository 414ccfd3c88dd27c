#pragma once
// What `conceptree info` knows about each kind of file conceptree reads or writes.

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "conceptree/store.hpp"

namespace conceptree {

enum class FileKind { EmbeddingStore, ConceptSet, Similarity, Hierarchy, Memberships, OtherHdf5, Unknown };

// Decided from the file's content (HDF5 'format' attribute; a JSON object whose first member
// is "nodes" or "links" holding objects is a hierarchy), then its extension.
FileKind detect_file_kind(const std::filesystem::path& path);

struct StoreLayerSummary {
  StoreLayer layer;                       // with its frame hop
  std::uint64_t frames = 0;               // rows of /frames/<layer>
  std::string type_name;                  // "float32"
  std::vector<std::uint64_t> chunk_dims;
  std::string filters;                    // "" when uncompressed
  std::uint64_t stored_bytes = 0;
};

struct StoreSummary {
  std::uint64_t tracks = 0;
  std::uint64_t total_frames = 0;
  std::uint64_t min_frames = 0, median_frames = 0, max_frames = 0;  // per track
  std::vector<StoreLayerSummary> layers;
  std::vector<std::pair<std::string, std::string>> attributes;    // root attributes as text
  std::uint64_t file_bytes = 0;
};

StoreSummary summarize_store(const std::filesystem::path& path);

struct SimilarityFileSummary {
  std::uint64_t concepts = 0;
  std::string measure, layer;
  std::vector<std::pair<std::string, std::string>> attributes;
  double off_diagonal_min = 0, off_diagonal_mean = 0, off_diagonal_max = 0;
  double diagonal_mean = 0;
  double share_above_half = 0;            // off-diagonal entries with S > 0.5
  std::uint64_t graph_edges = 0;          // undirected concept-graph edges at threshold 0.5
  std::uint64_t min_support = 0, median_support = 0, max_support = 0;
};
SimilarityFileSummary summarize_similarity(const std::filesystem::path& path);

struct HierarchyFileSummary {
  std::uint64_t nodes = 0, links = 0;
  std::string method;                     // from params, "" when absent
  std::string shape;                      // "tree", "forest", "DAG" or "graph with cycles"
  std::uint64_t top_level = 0;
  std::int64_t max_depth = 0;
  std::vector<std::uint64_t> nodes_per_depth;
  std::uint64_t unreachable = 0;          // nodes no top-level concept leads to (cycles)
  std::uint64_t parents_with_children = 0;
  double mean_children = 0;               // over concepts with children
  std::uint64_t max_children = 0;
  // Bootstrapped (links carry support): runs, and how many links reach 50 % / 95 % support.
  std::uint64_t bootstrap_runs = 0;
  double mean_support = 0;
  std::uint64_t links_majority = 0, links_95 = 0, alternatives = 0;
  // Top-level concepts with the most descendants (forests) or children (otherwise), at most 10.
  std::vector<std::pair<std::string, std::uint64_t>> largest_top_level;
};
HierarchyFileSummary summarize_hierarchy(const std::filesystem::path& path);

}  // namespace conceptree
