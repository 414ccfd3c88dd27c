#pragma once
// What `conceptree info` knows about each kind of file conceptree reads or writes.

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "conceptree/store.hpp"

namespace conceptree {

enum class FileKind { EmbeddingStore, ConceptSet, Memberships, OtherHdf5, Unknown };

// Decided from the file's content (HDF5 'format' attribute), then its extension.
FileKind detect_file_kind(const std::filesystem::path& path);

struct StoreLayerSummary {
  StoreLayer layer;
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

}  // namespace conceptree
