#pragma once
// The embedding store: one HDF5 file holding, for N tracks, their ids, the offsets of their frames
// and one float32 frame matrix per backbone layer:
//   /tracks/ids        N strings (UTF-8)
//   /tracks/offsets    N+1 uint64; track i owns frame rows [offsets[i], offsets[i+1])
//   /frames/<layer>    total_frames x D float32, chunked
//   /offsets/<layer>   N+1 uint64, only for a layer whose frames come at another rate than the
//                      root's frame_hop_seconds (musicnn-vgg pool3 beside pool5); such a layer
//                      carries its own frame_hop_seconds attribute and uses these offsets instead
//   /gradients/<layer>/<output>
//                      optional, float32 like /frames/<layer> row for row: the gradient of a model
//                      output (a tag's logit) with respect to that row's activations (for TCAV)
// Root attributes record provenance. The writer appends tracks in batches and can reopen a store
// left by a killed run, dropping whatever was not committed.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace conceptree {

inline constexpr const char* kStoreFormat = "conceptree.embeddings";
inline constexpr std::uint64_t kStoreFormatVersion = 2;  // 2: layers may have their own frame rate and offsets

struct StoreProvenance {
  std::string backbone = "imported";  // model that produced the frames, or "imported"
  std::string source;                 // how they were obtained, e.g. "import npy-dir /data/emb"
  double sample_rate = 0;             // Hz of the audio the backbone saw; 0 when unknown
  double frame_hop_seconds = 0;       // seconds between frames; 0 when unknown
};

struct StoreLayer {
  std::string name;
  std::uint64_t dim = 0;
  // Seconds between this layer's frames; 0 = the store's frame_hop_seconds. A layer with another
  // rate than the store's has its own offsets (/offsets/<layer>).
  double frame_hop_seconds = 0;
  // Model outputs with a gradient dataset beside this layer's frames, /gradients/<layer>/<output>;
  // in ascending order, each once (the order a reopened store lists them in).
  std::vector<std::string> gradients{};
};

struct StoreLayout {
  int deflate_level = 0;                // 0-9; shuffle+deflate on frames when > 0
  std::uint64_t chunk_bytes = 1 << 18;  // target size of one frames chunk
};

// The deflate level worth using for frames like `sample`: 4 when shuffle+deflate saves at least a
// fifth of the bytes (typical of post-ReLU layers), else 0, since decompression slows every read.
int deflate_level_that_pays(std::span<const float> sample);

// A row-major block of frames: rows x cols floats.
struct FrameMatrix {
  std::uint64_t rows = 0;
  std::uint64_t cols = 0;
  std::vector<float> values;
};

// Frames of several tracks back to back: track k owns rows [offsets[k], offsets[k+1]).
struct FrameBatch {
  std::uint64_t cols = 0;
  std::vector<std::uint64_t> offsets{0};
  std::vector<float> values;
  std::size_t track_count() const { return offsets.size() - 1; }
  std::uint64_t rows() const { return offsets.back(); }
};

// Frames held in memory by the caller, not owned: what the in-memory cores (train, similarity,
// explain) read. Track k owns rows [offsets[k], offsets[k+1]) of `data`, rows x dim, row-major.
struct FrameView {
  const float* data = nullptr;
  std::size_t dim = 0;
  std::span<const std::uint64_t> offsets;     // track_ids.size() + 1 entries, from 0, non-decreasing
  std::span<const std::string> track_ids;
  std::string layer;                          // recorded in what is learned from them
  std::string source = "frames";              // where they came from (a store's path), named in errors
  std::size_t track_count() const { return track_ids.size(); }
  std::uint64_t rows() const { return offsets.empty() ? 0 : offsets.back(); }
};
// Throws InputError naming frames.source when the view is not one frames x dim matrix of finite
// values with one offsets entry per track plus one, from 0 and non-decreasing, and distinct
// non-empty ids.
void check_frame_view(const FrameView& frames);

// Throws InputError(item, "NaN at frame r, column c") for the first non-finite value of a
// frames x dim block; the store accepts only finite frames.
void check_finite_frames(const std::string& item, std::span<const float> frames, std::uint64_t dim);

// Throws InputError naming `id` when a track could not be appended to a store of `layers` (each
// dimension known) whose own frame rate is `store_hop`: what EmbeddingStoreWriter::append checks
// besides the id, for a caller that keeps tracks elsewhere before they reach a store.
void check_track_fits(const std::string& id, std::span<const StoreLayer> layers, double store_hop, std::span<const FrameMatrix> frames,
                      std::span<const FrameMatrix> gradients);

class EmbeddingStoreWriter {
 public:
  // Creates a new store at `path`, replacing any file there.
  static EmbeddingStoreWriter create(const std::filesystem::path& path, std::vector<StoreLayer> layers,
                                     const StoreProvenance& provenance, const StoreLayout& layout = {});
  // Reopens a store to append to it, dropping rows a killed run wrote but never committed.
  // Throws InputError if the file is not a readable store.
  static EmbeddingStoreWriter open_for_append(const std::filesystem::path& path);

  EmbeddingStoreWriter(EmbeddingStoreWriter&&) noexcept;
  EmbeddingStoreWriter& operator=(EmbeddingStoreWriter&&) noexcept;
  ~EmbeddingStoreWriter();

  const std::vector<StoreLayer>& layers() const;
  std::size_t track_count() const;  // committed and pending
  bool contains(const std::string& id) const;

  // Queues one track: `frames[l]` is frame_counts[l] x layers()[l].dim, row-major; layers that
  // share the store's offsets must have equal counts. `gradients` holds, layer by layer, one
  // matrix per name in layers()[l].gradients, each shaped like that layer's frames. Throws
  // InputError for a duplicate id, a size mismatch, no frames, or a non-finite value.
  void append(const std::string& id, std::span<const FrameMatrix> frames, std::span<const FrameMatrix> gradients = {});
  void append(const std::string& id, std::span<const float> frames, std::uint64_t frame_count);  // single layer

  // Writes queued tracks and makes them durable: a later open_for_append keeps them.
  void commit();
  // Commits and closes the file.
  void close();

 private:
  struct State;
  explicit EmbeddingStoreWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class EmbeddingStore {
 public:
  // Opens a store read-only; `layer` empty selects the only layer (or the first when several).
  explicit EmbeddingStore(const std::filesystem::path& path, const std::string& layer = "");
  EmbeddingStore(EmbeddingStore&&) noexcept;
  EmbeddingStore& operator=(EmbeddingStore&&) noexcept;
  ~EmbeddingStore();

  const std::filesystem::path& path() const;
  const std::vector<StoreLayer>& layers() const;
  const StoreLayer& layer() const;  // the selected layer
  // The store's provenance; frame_hop_seconds is the selected layer's.
  const StoreProvenance& provenance() const;
  const std::vector<std::string>& ids() const;
  const std::vector<std::uint64_t>& offsets() const;  // of the selected layer
  std::size_t track_count() const;
  std::uint64_t dim() const;
  std::uint64_t total_frames() const;
  std::optional<std::size_t> index_of(const std::string& id) const;

  FrameMatrix read_track(std::size_t index) const;
  // Frames of the given tracks, in the given order; ascending tracks a few rows apart are read in
  // one request.
  FrameBatch read_tracks(std::span<const std::size_t> indices) const;
  // The same into `batch`, reusing its memory: fresh pages cost more than the read on a VM.
  void read_tracks(std::span<const std::size_t> indices, FrameBatch& batch) const;
  // Raw frame rows of the selected layer, for streaming over the whole store.
  void read_rows(std::uint64_t first_row, std::uint64_t count, float* out) const;
  // Rows of the selected layer's gradient of model output `output` (one of layer().gradients),
  // in the frames' row layout. Throws InputError naming the file when there is no such gradient.
  void read_gradient_rows(const std::string& output, std::uint64_t first_row, std::uint64_t count, float* out) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace conceptree
