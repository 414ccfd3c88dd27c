#include "conceptree/info.hpp"

#include <algorithm>

#include "conceptree/concept_set.hpp"
#include "conceptree/error.hpp"
#include "hdf5/hdf5.hpp"

namespace conceptree {
namespace fs = std::filesystem;

FileKind detect_file_kind(const fs::path& path) {
  if (!fs::exists(path)) throw InputError(path.string(), "no such file");
  if (h5::is_hdf5(path)) {
    h5::File file(path, h5::Mode::ReadOnly);
    const auto format = h5::string_attribute(file.id(), "format");
    if (format && *format == kStoreFormat) return FileKind::EmbeddingStore;
    if (format && *format == kConceptSetFormat) return FileKind::ConceptSet;
    return FileKind::OtherHdf5;
  }
  const auto extension = path.extension();
  if (extension == ".tsv" || extension == ".json" || extension == ".txt") return FileKind::Memberships;
  return FileKind::Unknown;
}

StoreSummary summarize_store(const fs::path& path) {
  const EmbeddingStore store(path);
  StoreSummary summary;
  summary.tracks = store.track_count();
  summary.total_frames = store.total_frames();
  const auto& offsets = store.offsets();
  std::vector<std::uint64_t> lengths(store.track_count());
  for (std::size_t i = 0; i < lengths.size(); ++i) lengths[i] = offsets[i + 1] - offsets[i];
  if (!lengths.empty()) {
    std::sort(lengths.begin(), lengths.end());
    summary.min_frames = lengths.front();
    summary.median_frames = lengths[lengths.size() / 2];
    summary.max_frames = lengths.back();
  }
  summary.file_bytes = fs::file_size(path);

  h5::File file(path, h5::Mode::ReadOnly);
  for (const auto& name : h5::attribute_names(file.id())) {
    summary.attributes.emplace_back(name, h5::attribute_as_text(file.id(), name));
  }
  for (const auto& layer : store.layers()) {
    h5::Handle dataset = h5::open_dataset(file.id(), "/frames/" + layer.name, file.name());
    const auto storage = h5::storage_info(dataset.id());
    summary.layers.push_back({layer, storage.type_name, storage.chunk_dims, storage.filters, storage.stored_bytes});
  }
  return summary;
}

}  // namespace conceptree
