#pragma once
// Import of precomputed frame embeddings into an embedding store.
//   EmbeddingImporter importer(config);
//   importer.run();
//   importer.summary();

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "conceptree/context.hpp"
#include "conceptree/params.hpp"

namespace conceptree {

enum class ImportFormat { NpyDir, Npy, H5, TfTensors };
template <>
inline constexpr ChoiceNames<ImportFormat, 4> kChoiceNames<ImportFormat>{
    {{{ImportFormat::NpyDir, "npy-dir"}, {ImportFormat::Npy, "npy"}, {ImportFormat::H5, "h5"}, {ImportFormat::TfTensors, "tf-tensors"}}}};

struct ImportConfig {
  std::optional<ImportFormat> format;   // required
  std::string input{};                  // folder (npy-dir, tf-tensors) or file (npy, h5)
  std::string output{};                 // embedding store to write
  std::string layer = "embedding";    // written as /frames/<layer>
  std::string ids{};                    // text file, one track id per line (npy, h5)
  std::string offsets{};                // .npy or text file of N+1 frame offsets (npy, h5)
  std::string dataset{};                // dataset path inside the input HDF5 file (h5)
  std::string ids_dataset{};            // dataset of track ids inside the input HDF5 file (h5)
  std::string offsets_dataset{};        // dataset of N+1 offsets inside the input HDF5 file (h5)
  std::string gradient{};               // OUTPUT=SOURCE, comma-separated: model-output gradients stored beside the frames
  std::uint64_t dim = 0;              // expected dimension; 0 takes it from the first good track
  std::string backbone = "imported";  // provenance: model that made the embeddings
  double frame_hop_seconds = 0;       // provenance: seconds between frames, 0 when unknown
  int compression = -1;               // shuffle+deflate level on frames, 0 = none, -1 = where it pays
  int jobs = 0;                       // reader threads, 0 = all cores
  bool strict = false;                // stop at the first bad track instead of skipping it
  bool overwrite = false;             // replace an existing output store

  template <class Visitor>
  void visit(Visitor&& v) {
    v(input, {.name = "input", .help = "folder (npy-dir, tf-tensors) or file (npy, h5) to import", .positional = true, .required = true});
    v(format, {.name = "format", .help = "input format", .required = true, .short_name = "f"});
    v(output, {.name = "output", .help = "embedding store to write (HDF5)", .required = true, .short_name = "o"});
    v(layer, {.name = "layer", .help = "layer name, stored as /frames/<layer>"});
    v(ids, {.name = "ids", .help = "npy, h5: text file with one track id per line, in array order"});
    v(offsets, {.name = "offsets", .help = "npy, h5: .npy or text file of N+1 frame offsets (track i = rows [o[i], o[i+1]))"});
    v(dataset, {.name = "dataset", .help = "h5: path of the embeddings dataset in the input file"});
    v(ids_dataset, {.name = "ids-dataset", .help = "h5: path of a dataset of track ids in the input file (instead of --ids)"});
    v(offsets_dataset, {.name = "offsets-dataset", .help = "h5: path of a dataset of N+1 offsets in the input file (instead of --offsets)"});
    v(gradient, {.name = "gradient", .help = "OUTPUT=SOURCE, comma-separated: also store the gradient of model output OUTPUT with respect to each frame, row for row, as /gradients/<layer>/OUTPUT (for tcav); SOURCE is a .npy shaped like the input (npy), a dataset of the input file shaped like --dataset (h5), or a folder of <id>.npy files shaped like the input's (npy-dir)"});
    v(dim, {.name = "dim", .help = "expected embedding dimension; 0 = taken from the first good track", .min = 0, .max = 1 << 24});
    v(backbone, {.name = "backbone", .help = "provenance: name of the model that produced the embeddings"});
    v(frame_hop_seconds, {.name = "frame-hop", .help = "provenance: seconds between frames, 0 = unknown", .min = 0, .max = 3600});
    v(compression, {.name = "compression", .help = "shuffle+deflate level for frames: 0 = none, -1 = level 4 if it saves >= 20% on the first tracks", .min = -1, .max = 9});
    v(jobs, {.name = "jobs", .help = "reader threads, 0 = all cores", .min = 0, .max = 1024, .short_name = "j"});
    v(strict, {.name = "strict", .help = "stop at the first bad track (exit status 1, no output) instead of skipping it"});
    v(overwrite, {.name = "overwrite", .help = "replace the output store if it exists"});
  }
};

struct ImportSummary {
  std::uint64_t imported = 0;         // tracks written by this run
  std::uint64_t already_present = 0;  // tracks a resumed run found done
  std::uint64_t skipped = 0;          // bad tracks, listed in errors_file
  std::uint64_t frames = 0;           // frames written by this run
  std::uint64_t dim = 0;
  std::uint64_t store_tracks = 0;     // tracks in the finished store
  std::filesystem::path errors_file;  // empty when nothing was skipped
  double seconds = 0;
};

class EmbeddingImporter {
 public:
  // `context` must outlive the object.
  explicit EmbeddingImporter(ImportConfig config, const Context& context = default_context());
  // Throws FatalError for bad options, an unreadable input, or a bad track under --strict.
  void run();
  const ImportSummary& summary() const { return summary_; }

 private:
  ImportConfig config_;
  const Context& context_;
  ImportSummary summary_;
};

}  // namespace conceptree
