#include "conceptree/store.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <unordered_set>

#include <zlib.h>

#include "conceptree/error.hpp"
#include "conceptree/version.hpp"
#include "hdf5/hdf5.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

constexpr const char* kIdsPath = "/tracks/ids";
constexpr const char* kOffsetsPath = "/tracks/offsets";
constexpr const char* kFramesGroup = "/frames";
constexpr const char* kLayerOffsetsGroup = "/offsets";
constexpr const char* kGradientsGroup = "/gradients";
constexpr const char* kHopAttribute = "frame_hop_seconds";
constexpr const char* kDefaultLayerAttribute = "default_layer";
// Tracks whose rows are durable; rows beyond it were written by a run that was killed.
constexpr const char* kCommittedAttribute = "committed_tracks";
constexpr std::size_t kPendingTracksBeforeWrite = 1024;

std::string frames_path(const std::string& layer) { return std::string(kFramesGroup) + "/" + layer; }
std::string layer_offsets_path(const std::string& layer) { return std::string(kLayerOffsetsGroup) + "/" + layer; }
std::string gradients_group(const std::string& layer) { return std::string(kGradientsGroup) + "/" + layer; }
std::string gradient_path(const std::string& layer, const std::string& output) { return gradients_group(layer) + "/" + output; }

void check_layer_name(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    throw FatalError("invalid layer name '" + name + "' (must be non-empty and contain no '/')");
  }
}

// A layer at the store's own frame rate shares /tracks/offsets; another rate needs offsets of its own.
bool has_own_offsets(const StoreLayer& layer, double store_hop) { return layer.frame_hop_seconds != 0 && layer.frame_hop_seconds != store_hop; }

struct StoreContents {
  std::vector<StoreLayer> layers;  // each with its frame hop resolved
  std::vector<bool> own_offsets;   // per layer
  StoreProvenance provenance;
  std::uint64_t committed = 0;
};

// Reads and checks the store's structure; every problem names the file.
StoreContents read_contents(const h5::File& file) {
  const std::string& name = file.name();
  auto format = h5::string_attribute(file.id(), "format");
  if (!format || *format != kStoreFormat) {
    throw InputError(name, "not a conceptree embedding store (no 'format' = " + std::string(kStoreFormat) + " attribute)");
  }
  StoreContents contents;
  contents.provenance.backbone = h5::string_attribute(file.id(), "backbone").value_or("");
  contents.provenance.source = h5::string_attribute(file.id(), "source").value_or("");
  contents.provenance.sample_rate = h5::double_attribute(file.id(), "sample_rate").value_or(0);
  contents.provenance.frame_hop_seconds = h5::double_attribute(file.id(), kHopAttribute).value_or(0);
  contents.committed = h5::uint64_attribute(file.id(), kCommittedAttribute).value_or(0);

  h5::Handle frames = h5::open_group(file.id(), kFramesGroup, name);
  std::vector<std::string> names = h5::member_names(frames.id());
  // The layer the writer listed first leads, so it is the one read when none is named.
  if (const auto first = h5::string_attribute(file.id(), kDefaultLayerAttribute)) {
    const auto found = std::find(names.begin(), names.end(), *first);
    if (found != names.end()) std::rotate(names.begin(), found, found + 1);
  }
  for (const auto& layer : names) {
    h5::Handle dataset = h5::open_dataset(frames.id(), layer, name);
    const auto extent = h5::dims(dataset.id());
    if (extent.size() != 2) throw InputError(name, frames_path(layer) + " is not a 2-D frame matrix");
    const double hop = h5::double_attribute(dataset.id(), kHopAttribute).value_or(contents.provenance.frame_hop_seconds);
    std::vector<std::string> gradients;
    if (h5::exists(file.id(), gradients_group(layer))) {
      const h5::Handle group = h5::open_group(file.id(), gradients_group(layer), name);
      gradients = h5::member_names(group.id());
      for (const auto& output : gradients) {
        const h5::Handle gradient = h5::open_dataset(group.id(), output, name);
        if (h5::dims(gradient.id()).size() != 2 || h5::dims(gradient.id())[1] != extent[1])
          throw InputError(name, gradient_path(layer, output) + " is not shaped like " + frames_path(layer));
      }
    }
    contents.layers.push_back({layer, extent[1], hop, std::move(gradients)});
    contents.own_offsets.push_back(h5::exists(file.id(), layer_offsets_path(layer)));
  }
  if (contents.layers.empty()) throw InputError(name, "the store has no frame layer under /frames");
  return contents;
}

}  // namespace

int deflate_level_that_pays(std::span<const float> sample) {
  constexpr int kLevel = 4;
  constexpr std::size_t kMaxSampleValues = 1 << 18;
  const std::size_t count = std::min(sample.size(), kMaxSampleValues);
  if (count == 0) return 0;
  // The same byte shuffle HDF5 applies before deflate: byte k of every value, then byte k+1, ...
  const auto* bytes = reinterpret_cast<const unsigned char*>(sample.data());
  std::vector<unsigned char> shuffled(count * sizeof(float));
  for (std::size_t i = 0; i < count; ++i)
    for (std::size_t b = 0; b < sizeof(float); ++b) shuffled[b * count + i] = bytes[i * sizeof(float) + b];
  uLongf compressed_size = compressBound(shuffled.size());
  std::vector<unsigned char> compressed(compressed_size);
  if (compress2(compressed.data(), &compressed_size, shuffled.data(), shuffled.size(), kLevel) != Z_OK) return 0;
  return compressed_size * 5 <= shuffled.size() * 4 ? kLevel : 0;
}

void check_finite_frames(const std::string& item, std::span<const float> frames, std::uint64_t dim) {
  const auto bad = std::find_if(frames.begin(), frames.end(), [](float v) { return !std::isfinite(v); });
  if (bad == frames.end()) return;
  const auto position = static_cast<std::uint64_t>(bad - frames.begin());
  throw InputError(item, std::string(std::isnan(*bad) ? "NaN" : "Inf") + " at frame " + std::to_string(position / dim) +
                             ", column " + std::to_string(position % dim));
}

void check_frame_view(const FrameView& frames) {
  const std::string& name = frames.source;
  const std::size_t tracks = frames.track_count();
  if (frames.dim == 0) throw InputError(name, "the frames have no column");
  if (frames.offsets.size() != tracks + 1) {
    throw InputError(name, std::to_string(frames.offsets.size()) + " offsets for " + std::to_string(tracks) + " tracks; expected one per track plus one");
  }
  if (frames.offsets.front() != 0) throw InputError(name, "offsets start at " + std::to_string(frames.offsets.front()) + ", not 0");
  for (std::size_t k = 0; k < tracks; ++k) {
    if (frames.offsets[k + 1] < frames.offsets[k]) {
      throw InputError(name, "offsets decrease at track " + std::to_string(k) + " ('" + frames.track_ids[k] + "')");
    }
  }
  if (frames.rows() > 0 && frames.data == nullptr) throw InputError(name, "no frame data for " + std::to_string(frames.rows()) + " rows");
  std::unordered_set<std::string_view> seen;
  for (const auto& id : frames.track_ids) {
    if (id.empty()) throw InputError(name, "an empty track id");
    if (!seen.insert(id).second) throw InputError(name, "track id '" + id + "' appears twice");
  }
  // Every value is looked at, so the scan runs on all cores; the first bad track is reported.
  std::int64_t first_bad = static_cast<std::int64_t>(tracks);
#pragma omp parallel for schedule(static) reduction(min : first_bad)
  for (std::int64_t k = 0; k < static_cast<std::int64_t>(tracks); ++k) {
    const float* begin = frames.data + frames.offsets[k] * frames.dim;
    const float* end = frames.data + frames.offsets[k + 1] * frames.dim;
    if (std::any_of(begin, end, [](float v) { return !std::isfinite(v); })) first_bad = std::min(first_bad, k);
  }
  if (first_bad < static_cast<std::int64_t>(tracks)) {
    const auto k = static_cast<std::size_t>(first_bad);
    check_finite_frames(name + ", track '" + frames.track_ids[k] + "'",
                        std::span<const float>(frames.data + frames.offsets[k] * frames.dim, (frames.offsets[k + 1] - frames.offsets[k]) * frames.dim),
                        frames.dim);
  }
}

void check_track_fits(const std::string& id, std::span<const StoreLayer> layers, double store_hop, std::span<const FrameMatrix> frames,
                      std::span<const FrameMatrix> gradients) {
  if (frames.size() != layers.size()) {
    throw InputError(id, "got " + std::to_string(frames.size()) + " layers, the store has " + std::to_string(layers.size()));
  }
  const std::uint64_t shared_count = frames.front().rows;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const StoreLayer& layer = layers[l];
    const FrameMatrix& matrix = frames[l];
    if (matrix.rows == 0) throw InputError(id, "layer " + layer.name + ": track has no frames");
    if (matrix.cols != layer.dim || matrix.values.size() != matrix.rows * layer.dim) {
      throw InputError(id, "layer " + layer.name + ": " + std::to_string(matrix.values.size()) + " values for " +
                               std::to_string(matrix.rows) + " frames of dimension " + std::to_string(layer.dim));
    }
    if (!has_own_offsets(layer, store_hop) && matrix.rows != shared_count) {
      throw InputError(id, "layer " + layer.name + ": " + std::to_string(matrix.rows) + " frames, but it shares the offsets of layer " +
                               layers.front().name + ", which has " + std::to_string(shared_count));
    }
    check_finite_frames(id, matrix.values, layer.dim);
  }
  std::size_t expected_gradients = 0;
  for (const auto& layer : layers) expected_gradients += layer.gradients.size();
  if (gradients.size() != expected_gradients)
    throw InputError(id, "got " + std::to_string(gradients.size()) + " gradients, the store has " + std::to_string(expected_gradients));
  for (std::size_t l = 0, g = 0; l < layers.size(); ++l) {
    for (const auto& output : layers[l].gradients) {
      const FrameMatrix& gradient = gradients[g++];
      if (gradient.rows != frames[l].rows || gradient.cols != layers[l].dim || gradient.values.size() != gradient.rows * gradient.cols)
        throw InputError(id, "gradient of " + output + " at layer " + layers[l].name + ": " + std::to_string(gradient.rows) + " x " +
                                 std::to_string(gradient.cols) + ", the frames are " + std::to_string(frames[l].rows) + " x " +
                                 std::to_string(layers[l].dim));
      check_finite_frames(id + " (gradient of " + output + ")", gradient.values, gradient.cols);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writer

struct EmbeddingStoreWriter::State {
  // One layer's datasets and the rows queued for them.
  struct Layer {
    h5::Handle frames;
    h5::Handle own_offsets;                      // valid for a layer at its own frame rate
    std::vector<h5::Handle> gradients;           // one per StoreLayer::gradients name
    std::uint64_t written_rows = 0;
    std::vector<float> pending_frames;
    std::vector<std::vector<float>> pending_gradients;
    std::vector<std::uint64_t> pending_offsets;  // end row of each pending track (own offsets only)
  };

  std::unique_ptr<h5::File> file;
  std::vector<StoreLayer> layers;
  std::vector<Layer> layer_data;
  h5::Handle ids_dataset;
  h5::Handle offsets_dataset;
  std::unordered_set<std::string> known_ids;
  double store_hop = 0;                          // the frame rate of /tracks/offsets
  std::uint64_t committed_tracks = 0;
  std::uint64_t written_frames = 0;              // rows behind /tracks/offsets

  std::vector<std::string> pending_ids;
  std::vector<std::uint64_t> pending_offsets;  // end offset of each pending track

  void write_pending() {
    if (pending_ids.empty()) return;
    for (std::size_t l = 0; l < layers.size(); ++l) {
      Layer& layer = layer_data[l];
      const std::uint64_t rows = layer.pending_frames.size() / layers[l].dim;
      h5::append_rows(layer.frames.id(), H5T_NATIVE_FLOAT, layer.pending_frames.data(), rows);
      for (std::size_t g = 0; g < layer.gradients.size(); ++g) {
        h5::append_rows(layer.gradients[g].id(), H5T_NATIVE_FLOAT, layer.pending_gradients[g].data(), rows);
        layer.pending_gradients[g].clear();
      }
      layer.written_rows += rows;
      layer.pending_frames.clear();
      if (layer.own_offsets.valid()) {
        h5::append_rows(layer.own_offsets.id(), H5T_NATIVE_UINT64, layer.pending_offsets.data(), layer.pending_offsets.size());
        layer.pending_offsets.clear();
      }
    }
    h5::append_rows(offsets_dataset.id(), H5T_NATIVE_UINT64, pending_offsets.data(), pending_offsets.size());
    h5::append_strings(ids_dataset.id(), pending_ids);
    committed_tracks += pending_ids.size();
    written_frames = pending_offsets.back();
    pending_ids.clear();
    pending_offsets.clear();
  }

  void commit() {
    write_pending();
    // Data first, then the count that vouches for it, each flushed, so a kill between the two
    // leaves the old count and the extra rows are dropped on reopening.
    file->flush();
    h5::set_attribute(file->id(), kCommittedAttribute, committed_tracks);
    file->flush();
  }
};

namespace {

h5::Handle create_offsets(hid_t root, const std::string& path) {
  h5::Handle offsets = h5::create_extendable(root, path, H5T_STD_U64LE, 0, {.chunk_rows = 4096, .deflate_level = 4, .shuffle = true});
  const std::uint64_t zero = 0;
  h5::append_rows(offsets.id(), H5T_NATIVE_UINT64, &zero, 1);
  return offsets;
}

// The end row that offsets dataset `offsets` gives the first `tracks` tracks; checks it can.
std::uint64_t committed_end_row(const h5::Handle& offsets, std::uint64_t tracks, const std::string& file_name, const std::string& path) {
  const auto extent = h5::dims(offsets.id());
  if (extent.size() != 1 || extent[0] < tracks + 1) {
    throw InputError(file_name, "store is inconsistent: " + std::to_string(tracks) + " tracks committed but " + path + " is shorter");
  }
  std::uint64_t end = 0;
  h5::read_rows(offsets.id(), H5T_NATIVE_UINT64, tracks, 1, &end);
  return end;
}

}  // namespace

EmbeddingStoreWriter::EmbeddingStoreWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
EmbeddingStoreWriter::EmbeddingStoreWriter(EmbeddingStoreWriter&&) noexcept = default;
EmbeddingStoreWriter& EmbeddingStoreWriter::operator=(EmbeddingStoreWriter&&) noexcept = default;
EmbeddingStoreWriter::~EmbeddingStoreWriter() = default;

EmbeddingStoreWriter EmbeddingStoreWriter::create(const fs::path& path, std::vector<StoreLayer> layers,
                                                  const StoreProvenance& provenance, const StoreLayout& layout) {
  if (layers.empty()) throw FatalError(path.string() + ": a store needs at least one layer");
  for (const auto& layer : layers) {
    check_layer_name(layer.name);
    for (const auto& output : layer.gradients) check_layer_name(output);
    // The order a reopened store lists them in.
    if (!std::is_sorted(layer.gradients.begin(), layer.gradients.end()) ||
        std::adjacent_find(layer.gradients.begin(), layer.gradients.end()) != layer.gradients.end())
      throw FatalError(path.string() + ": the gradients of layer '" + layer.name + "' must be named in ascending order, each once");
    if (layer.dim == 0) throw FatalError(path.string() + ": layer '" + layer.name + "' has dimension 0");
  }
  // The store's frame rate is the first layer's unless the provenance names one.
  const double store_hop = provenance.frame_hop_seconds != 0 ? provenance.frame_hop_seconds : layers.front().frame_hop_seconds;
  if (has_own_offsets(layers.front(), store_hop)) {
    throw FatalError(path.string() + ": the first layer '" + layers.front().name + "' must come at the store's frame rate");
  }
  auto state = std::make_unique<State>();
  state->file = std::make_unique<h5::File>(path, h5::Mode::Create);
  const hid_t root = state->file->id();
  h5::set_attribute(root, "format", std::string(kStoreFormat));
  h5::set_attribute(root, "format_version", kStoreFormatVersion);
  h5::set_attribute(root, "tool_version", std::string("conceptree ") + kVersion);
  h5::set_attribute(root, "backbone", provenance.backbone);
  h5::set_attribute(root, "source", provenance.source);
  h5::set_attribute(root, "sample_rate", provenance.sample_rate);
  h5::set_attribute(root, kHopAttribute, store_hop);
  h5::set_attribute(root, kDefaultLayerAttribute, layers.front().name);
  h5::set_attribute(root, kCommittedAttribute, std::uint64_t{0});

  state->ids_dataset = h5::create_extendable_strings(root, kIdsPath, 4096);
  state->offsets_dataset = create_offsets(root, kOffsetsPath);
  h5::create_group(root, kFramesGroup);
  for (auto& layer : layers) {
    const std::uint64_t chunk_rows = std::max<std::uint64_t>(16, layout.chunk_bytes / (layer.dim * sizeof(float)));
    h5::ChunkedLayout chunked{.chunk_rows = chunk_rows, .deflate_level = layout.deflate_level,
                              .shuffle = layout.deflate_level > 0};
    State::Layer data;
    data.frames = h5::create_extendable(root, frames_path(layer.name), H5T_IEEE_F32LE, layer.dim, chunked);
    h5::set_attribute(data.frames.id(), "layer", layer.name);
    if (layer.frame_hop_seconds == 0) layer.frame_hop_seconds = store_hop;
    h5::set_attribute(data.frames.id(), kHopAttribute, layer.frame_hop_seconds);
    if (has_own_offsets(layer, store_hop)) data.own_offsets = create_offsets(root, layer_offsets_path(layer.name));
    if (!layer.gradients.empty()) h5::create_group(root, gradients_group(layer.name));
    for (const auto& output : layer.gradients)
      data.gradients.push_back(h5::create_extendable(root, gradient_path(layer.name, output), H5T_IEEE_F32LE, layer.dim, chunked));
    data.pending_gradients.resize(layer.gradients.size());
    state->layer_data.push_back(std::move(data));
  }
  state->layers = std::move(layers);
  state->store_hop = store_hop;
  state->file->flush();
  return EmbeddingStoreWriter(std::move(state));
}

EmbeddingStoreWriter EmbeddingStoreWriter::open_for_append(const fs::path& path) {
  auto state = std::make_unique<State>();
  state->file = std::make_unique<h5::File>(path, h5::Mode::ReadWrite);
  const std::string& name = state->file->name();
  const hid_t root = state->file->id();
  StoreContents contents = read_contents(*state->file);
  state->layers = contents.layers;
  state->store_hop = contents.provenance.frame_hop_seconds;
  state->ids_dataset = h5::open_dataset(root, kIdsPath, name);
  state->offsets_dataset = h5::open_dataset(root, kOffsetsPath, name);

  const std::uint64_t committed = contents.committed;
  auto ids = h5::read_strings(state->ids_dataset.id());
  if (ids.size() < committed) {
    throw InputError(name, "store is inconsistent: " + std::to_string(committed) + " tracks committed but fewer stored");
  }
  const std::uint64_t frame_end = committed_end_row(state->offsets_dataset, committed, name, kOffsetsPath);
  for (std::size_t l = 0; l < state->layers.size(); ++l) {
    const std::string& layer = state->layers[l].name;
    State::Layer data;
    data.frames = h5::open_dataset(root, frames_path(layer), name);
    data.written_rows = frame_end;
    if (contents.own_offsets[l]) {
      data.own_offsets = h5::open_dataset(root, layer_offsets_path(layer), name);
      data.written_rows = committed_end_row(data.own_offsets, committed, name, layer_offsets_path(layer));
      h5::resize_rows(data.own_offsets.id(), committed + 1);
    }
    if (h5::dims(data.frames.id())[0] < data.written_rows) {
      throw InputError(name, "store is inconsistent: layer " + layer + " has fewer frames than its offsets");
    }
    h5::resize_rows(data.frames.id(), data.written_rows);
    for (const auto& output : state->layers[l].gradients) {
      data.gradients.push_back(h5::open_dataset(root, gradient_path(layer, output), name));
      if (h5::dims(data.gradients.back().id())[0] < data.written_rows)
        throw InputError(name, "store is inconsistent: " + gradient_path(layer, output) + " has fewer rows than its frames");
      h5::resize_rows(data.gradients.back().id(), data.written_rows);
    }
    data.pending_gradients.resize(data.gradients.size());
    state->layer_data.push_back(std::move(data));
  }
  h5::resize_rows(state->ids_dataset.id(), committed);
  h5::resize_rows(state->offsets_dataset.id(), committed + 1);
  ids.resize(committed);
  state->known_ids.insert(ids.begin(), ids.end());
  state->committed_tracks = committed;
  state->written_frames = frame_end;
  state->file->flush();
  return EmbeddingStoreWriter(std::move(state));
}

const std::vector<StoreLayer>& EmbeddingStoreWriter::layers() const { return state_->layers; }

std::size_t EmbeddingStoreWriter::track_count() const { return state_->known_ids.size(); }

bool EmbeddingStoreWriter::contains(const std::string& id) const { return state_->known_ids.contains(id); }

void EmbeddingStoreWriter::append(const std::string& id, std::span<const FrameMatrix> frames, std::span<const FrameMatrix> gradients) {
  State& s = *state_;
  if (id.empty()) throw InputError("(empty id)", "track id is empty");
  if (s.known_ids.contains(id)) throw InputError(id, "duplicate track id: already in the store");
  check_track_fits(id, s.layers, s.store_hop, frames, gradients);
  const std::uint64_t shared_count = frames.front().rows;
  for (std::size_t l = 0, g = 0; l < s.layers.size(); ++l) {
    State::Layer& layer = s.layer_data[l];
    layer.pending_frames.insert(layer.pending_frames.end(), frames[l].values.begin(), frames[l].values.end());
    for (auto& pending : layer.pending_gradients) {
      pending.insert(pending.end(), gradients[g].values.begin(), gradients[g].values.end());
      ++g;
    }
    if (layer.own_offsets.valid()) {
      const std::uint64_t start = layer.pending_offsets.empty() ? layer.written_rows : layer.pending_offsets.back();
      layer.pending_offsets.push_back(start + frames[l].rows);
    }
  }
  const std::uint64_t start = s.pending_offsets.empty() ? s.written_frames : s.pending_offsets.back();
  s.pending_offsets.push_back(start + shared_count);
  s.pending_ids.push_back(id);
  s.known_ids.insert(id);
  if (s.pending_ids.size() >= kPendingTracksBeforeWrite) s.write_pending();
}

void EmbeddingStoreWriter::append(const std::string& id, std::span<const float> frames, std::uint64_t frame_count) {
  if (state_->layers.size() != 1) throw InputError(id, "got 1 layer, the store has " + std::to_string(state_->layers.size()));
  const std::uint64_t dim = state_->layers.front().dim;
  if (frame_count == 0) throw InputError(id, "track has no frames");
  if (frames.size() != frame_count * dim) {
    throw InputError(id, "layer " + state_->layers.front().name + ": " + std::to_string(frames.size()) + " values for " +
                             std::to_string(frame_count) + " frames of dimension " + std::to_string(dim));
  }
  const FrameMatrix single[] = {{frame_count, dim, {frames.begin(), frames.end()}}};
  append(id, single);
}

void EmbeddingStoreWriter::commit() { state_->commit(); }

void EmbeddingStoreWriter::close() {
  if (!state_ || !state_->file) return;
  state_->commit();
  state_->ids_dataset.reset();
  state_->offsets_dataset.reset();
  state_->layer_data.clear();
  state_->file->close();
  state_->file.reset();
}

// ---------------------------------------------------------------------------------------------
// Reader

struct EmbeddingStore::State {
  fs::path path;
  std::unique_ptr<h5::File> file;
  StoreContents contents;
  std::size_t layer_index = 0;
  h5::Handle frames_dataset;
  std::vector<std::string> ids;
  std::vector<std::uint64_t> offsets;
  std::unordered_map<std::string, std::size_t> index_by_id;
};

EmbeddingStore::EmbeddingStore(const fs::path& path, const std::string& layer) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.path = path;
  s.file = std::make_unique<h5::File>(path, h5::Mode::ReadOnly);
  const std::string& name = s.file->name();
  s.contents = read_contents(*s.file);
  if (!layer.empty()) {
    const auto found = std::find_if(s.contents.layers.begin(), s.contents.layers.end(),
                                    [&](const StoreLayer& l) { return l.name == layer; });
    if (found == s.contents.layers.end()) {
      std::string available;
      for (const auto& l : s.contents.layers) available += (available.empty() ? "" : ", ") + l.name;
      throw InputError(name, "no layer '" + layer + "' (available: " + available + ")");
    }
    s.layer_index = static_cast<std::size_t>(found - s.contents.layers.begin());
  }

  const StoreLayer& selected = s.contents.layers[s.layer_index];
  s.contents.provenance.frame_hop_seconds = selected.frame_hop_seconds;
  const std::string offsets_path = s.contents.own_offsets[s.layer_index] ? layer_offsets_path(selected.name) : kOffsetsPath;
  h5::Handle ids_dataset = h5::open_dataset(s.file->id(), kIdsPath, name);
  h5::Handle offsets_dataset = h5::open_dataset(s.file->id(), offsets_path, name);
  s.ids = h5::read_strings(ids_dataset.id());
  const std::uint64_t committed = s.contents.committed;
  const auto offset_extent = h5::dims(offsets_dataset.id());
  if (offset_extent.size() != 1 || s.ids.size() < committed || offset_extent[0] < committed + 1) {
    throw InputError(name, "store is inconsistent: /tracks/ids and " + offsets_path + " do not match " +
                               std::to_string(committed) + " committed tracks");
  }
  s.ids.resize(committed);
  s.offsets.resize(committed + 1);
  h5::read_rows(offsets_dataset.id(), H5T_NATIVE_UINT64, 0, committed + 1, s.offsets.data());
  if (s.offsets[0] != 0 || !std::is_sorted(s.offsets.begin(), s.offsets.end())) {
    throw InputError(name, "store is inconsistent: " + offsets_path + " is not non-decreasing from 0");
  }

  // A chunk cache large enough that reading tracks one by one does not re-read chunks.
  h5::Handle access(H5Pcreate(H5P_DATASET_ACCESS));
  H5Pset_chunk_cache(access.id(), 12421, 32u << 20, 1.0);
  const std::string dataset_path = frames_path(s.contents.layers[s.layer_index].name);
  s.frames_dataset = h5::Handle(H5Dopen2(s.file->id(), dataset_path.c_str(), access.id()));
  if (!s.frames_dataset.valid()) throw InputError(name, "cannot open " + dataset_path);
  if (h5::dims(s.frames_dataset.id())[0] < s.offsets.back()) {
    throw InputError(name, "store is inconsistent: " + dataset_path + " has fewer rows than " + offsets_path + " ends at");
  }
  s.index_by_id.reserve(s.ids.size());
  for (std::size_t i = 0; i < s.ids.size(); ++i) s.index_by_id.emplace(s.ids[i], i);
}

EmbeddingStore::EmbeddingStore(EmbeddingStore&&) noexcept = default;
EmbeddingStore& EmbeddingStore::operator=(EmbeddingStore&&) noexcept = default;
EmbeddingStore::~EmbeddingStore() = default;

const fs::path& EmbeddingStore::path() const { return state_->path; }
const std::vector<StoreLayer>& EmbeddingStore::layers() const { return state_->contents.layers; }
const StoreLayer& EmbeddingStore::layer() const { return state_->contents.layers[state_->layer_index]; }
const StoreProvenance& EmbeddingStore::provenance() const { return state_->contents.provenance; }
const std::vector<std::string>& EmbeddingStore::ids() const { return state_->ids; }
const std::vector<std::uint64_t>& EmbeddingStore::offsets() const { return state_->offsets; }
std::size_t EmbeddingStore::track_count() const { return state_->ids.size(); }
std::uint64_t EmbeddingStore::dim() const { return layer().dim; }
std::uint64_t EmbeddingStore::total_frames() const { return state_->offsets.back(); }

std::optional<std::size_t> EmbeddingStore::index_of(const std::string& id) const {
  const auto found = state_->index_by_id.find(id);
  if (found == state_->index_by_id.end()) return std::nullopt;
  return found->second;
}

void EmbeddingStore::read_rows(std::uint64_t first_row, std::uint64_t count, float* out) const {
  if (first_row + count > total_frames()) {
    throw InputError(state_->path.string(), "frame rows beyond the store's end requested");
  }
  h5::read_rows(state_->frames_dataset.id(), H5T_NATIVE_FLOAT, first_row, count, out);
}

void EmbeddingStore::read_gradient_rows(const std::string& output, std::uint64_t first_row, std::uint64_t count, float* out) const {
  const auto& available = layer().gradients;
  if (std::find(available.begin(), available.end(), output) == available.end())
    throw InputError(state_->path.string(), "no gradient of '" + output + "' at layer " + layer().name +
                                                (available.empty() ? " (the store holds none; embed --gradients writes them)" : ""));
  if (first_row + count > total_frames()) throw InputError(state_->path.string(), "gradient rows beyond the store's end requested");
  const h5::Handle dataset = h5::open_dataset(state_->file->id(), gradient_path(layer().name, output), state_->path.string());
  h5::read_rows(dataset.id(), H5T_NATIVE_FLOAT, first_row, count, out);
}

FrameMatrix EmbeddingStore::read_track(std::size_t index) const {
  if (index >= track_count()) throw InputError(state_->path.string(), "track index " + std::to_string(index) + " out of range");
  FrameMatrix matrix;
  matrix.cols = dim();
  matrix.rows = state_->offsets[index + 1] - state_->offsets[index];
  matrix.values.resize(matrix.rows * matrix.cols);
  read_rows(state_->offsets[index], matrix.rows, matrix.values.data());
  return matrix;
}

FrameBatch EmbeddingStore::read_tracks(std::span<const std::size_t> indices) const {
  FrameBatch batch;
  read_tracks(indices, batch);
  return batch;
}

void EmbeddingStore::read_tracks(std::span<const std::size_t> indices, FrameBatch& batch) const {
  // Ascending tracks separated by a few rows are read as one span and the gaps dropped: one HDF5
  // request costs as much as reading tens of kilobytes, so many small reads are slower.
  const std::uint64_t max_gap_rows = std::max<std::uint64_t>(1, (1 << 16) / std::max<std::uint64_t>(1, dim()));
  // Spans stay small enough for malloc to reuse heap memory rather than map fresh pages each time.
  const std::uint64_t max_span_rows = std::max<std::uint64_t>(1, (std::uint64_t{1} << 21) / std::max<std::uint64_t>(1, dim()));
  const auto& offsets = state_->offsets;
  batch.cols = dim();
  batch.offsets.assign(1, 0);
  batch.offsets.reserve(indices.size() + 1);
  for (std::size_t index : indices) {
    if (index >= track_count()) throw InputError(state_->path.string(), "track index " + std::to_string(index) + " out of range");
    batch.offsets.push_back(batch.offsets.back() + offsets[index + 1] - offsets[index]);
  }
  batch.values.resize(batch.rows() * batch.cols);
  std::unique_ptr<float[]> span;
  std::uint64_t span_capacity = 0;
  for (std::size_t k = 0; k < indices.size();) {
    std::size_t run_end = k + 1;
    while (run_end < indices.size() && indices[run_end] > indices[run_end - 1] &&
           offsets[indices[run_end]] - offsets[indices[run_end - 1] + 1] <= max_gap_rows &&
           offsets[indices[run_end] + 1] - offsets[indices[k]] <= max_span_rows) {
      ++run_end;
    }
    const std::uint64_t first_row = offsets[indices[k]];
    const std::uint64_t row_count = offsets[indices[run_end - 1] + 1] - first_row;
    if (row_count == batch.offsets[run_end] - batch.offsets[k]) {
      read_rows(first_row, row_count, batch.values.data() + batch.offsets[k] * batch.cols);
    } else {
      if (row_count * batch.cols > span_capacity) {
        span_capacity = row_count * batch.cols;
        span = std::make_unique_for_overwrite<float[]>(span_capacity);
      }
      read_rows(first_row, row_count, span.get());
      for (std::size_t t = k; t < run_end; ++t) {
        std::copy_n(span.get() + (offsets[indices[t]] - first_row) * batch.cols, (batch.offsets[t + 1] - batch.offsets[t]) * batch.cols,
                    batch.values.data() + batch.offsets[t] * batch.cols);
      }
    }
    k = run_end;
  }
}

}  // namespace conceptree
