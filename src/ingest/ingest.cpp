#include "conceptree/ingest.hpp"


#include <algorithm>
#include <chrono>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>

#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"
#include "conceptree/log.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/store.hpp"
#include "conceptree/tensor_proto.hpp"
#include "conceptree/text_list.hpp"
#include "hdf5/hdf5.hpp"
#include "ingest/store_builder.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

// A per-track array shaped (D), (T, D) or (1, T, D) becomes T frames of dimension D.
LoadedTrack as_frames(const std::string& item, const std::vector<std::uint64_t>& shape, std::vector<float> values) {
  std::vector<std::uint64_t> squeezed = shape;
  if (squeezed.size() == 3 && squeezed[0] == 1) squeezed.erase(squeezed.begin());
  FrameMatrix frames;
  if (squeezed.size() == 1) {
    frames.rows = 1;
    frames.cols = squeezed[0];
  } else if (squeezed.size() == 2) {
    frames.rows = squeezed[0];
    frames.cols = squeezed[1];
  } else {
    std::string text;
    for (auto d : shape) text += (text.empty() ? "" : ", ") + std::to_string(d);
    throw InputError(item, "array of shape (" + text + "); expected (frames, dim) or (dim)");
  }
  if (frames.cols == 0) throw InputError(item, "embedding dimension is 0");
  frames.values = std::move(values);
  return {{std::move(frames)}};
}

// A folder tree of one file per track; id = path relative to the root without the extension.
class FileTreeSource : public TrackSource {
 public:
  using Parser = LoadedTrack (*)(const fs::path&, const std::string& item);

  FileTreeSource(const fs::path& root, const std::string& extension, Parser parser) : parser_(parser) {
    if (!fs::is_directory(root)) throw FatalError(root.string() + ": not a folder");
    std::size_t ignored = 0;
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      std::error_code status_error;
      if (it->is_directory(status_error)) continue;
      if (it->path().extension() != extension) {
        ++ignored;
        continue;
      }
      fs::path relative = it->path().lexically_relative(root);
      relative.replace_extension();
      entries_.push_back({relative.generic_string(), it->path()});
    }
    if (error) throw FatalError(root.string() + ": cannot walk folder: " + error.message());
    // Sorted so the store's order does not depend on the file system.
    std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.id < b.id; });
    if (ignored > 0) log_info(std::to_string(ignored) + " files without the " + extension + " extension ignored");
  }

  std::size_t size() const override { return entries_.size(); }
  const std::string& id(std::size_t index) const override { return entries_[index].id; }
  LoadedTrack load(std::size_t index) const override { return parser_(entries_[index].path, entries_[index].path.string()); }

 private:
  struct Entry {
    std::string id;
    fs::path path;
  };
  std::vector<Entry> entries_;
  Parser parser_;
};

LoadedTrack parse_npy_file(const fs::path& path, const std::string& item) {
  NpyReader reader(path);
  return as_frames(item, reader.header().shape, reader.read_all_as_float());
}

LoadedTrack parse_tensor_file(const fs::path& path, const std::string& item) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw InputError(item, "cannot open");
  const std::string bytes((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
  if (bytes.empty()) throw InputError(item, "empty file");
  FloatTensor tensor = parse_tensor_proto(
      item, {reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()});
  return as_frames(item, tensor.shape, std::move(tensor.values));
}

std::vector<std::uint64_t> read_offsets_file(const fs::path& path) {
  if (path.extension() == ".npy") {
    NpyReader reader(path);
    if (reader.header().shape.size() != 1) throw InputError(path.string(), "offsets must be a 1-D array");
    return reader.read_all_as_uint64();
  }
  std::vector<std::uint64_t> offsets;
  for (const auto& line : read_text_list(path)) {
    try {
      std::size_t used = 0;
      offsets.push_back(std::stoull(line, &used));
      if (used != line.size()) throw std::invalid_argument(line);
    } catch (const std::exception&) {
      throw InputError(path.string() + ":" + std::to_string(offsets.size() + 1), "'" + line + "' is not a non-negative integer");
    }
  }
  return offsets;
}

// Maps tracks to rows of one big array: (N, D) one frame each, (N, T, D) T frames each, or
// (total, D) with N+1 offsets.
class ArrayLayout {
 public:
  ArrayLayout(const std::string& item, const std::vector<std::uint64_t>& shape, std::size_t track_count,
              std::vector<std::uint64_t> offsets)
      : offsets_(std::move(offsets)) {
    if (shape.size() == 3) {
      if (!offsets_.empty()) throw FatalError(item + ": offsets apply to a (total_frames, dim) array, not a 3-D one");
      if (shape[0] != track_count) throw FatalError(item + ": " + std::to_string(shape[0]) + " tracks in the array but " + std::to_string(track_count) + " ids");
      frames_per_row_ = shape[1];
      dim_ = shape[2];
    } else if (shape.size() == 2) {
      dim_ = shape[1];
      if (offsets_.empty()) {
        if (shape[0] != track_count) throw FatalError(item + ": " + std::to_string(shape[0]) + " rows in the array but " + std::to_string(track_count) + " ids (give --offsets for several frames per track)");
      } else {
        if (offsets_.size() != track_count + 1) throw FatalError(item + ": " + std::to_string(offsets_.size()) + " offsets for " + std::to_string(track_count) + " ids (expected N+1)");
        if (offsets_.front() != 0 || offsets_.back() != shape[0] || !std::is_sorted(offsets_.begin(), offsets_.end())) {
          throw FatalError(item + ": offsets must rise from 0 to the array's row count " + std::to_string(shape[0]));
        }
      }
    } else {
      throw FatalError(item + ": expected a 2-D (tracks or frames, dim) or 3-D (tracks, frames, dim) array, got " + std::to_string(shape.size()) + "-D");
    }
    if (dim_ == 0) throw FatalError(item + ": embedding dimension is 0");
  }

  std::uint64_t dim() const { return dim_; }
  // Leading-dimension rows of the array that hold track i, and how many frames that is.
  std::uint64_t first_row(std::size_t i) const { return offsets_.empty() ? i : offsets_[i]; }
  std::uint64_t row_count(std::size_t i) const { return offsets_.empty() ? 1 : offsets_[i + 1] - offsets_[i]; }
  std::uint64_t frames_in_rows(std::uint64_t rows) const { return rows * frames_per_row_; }

 private:
  std::vector<std::uint64_t> offsets_;
  std::uint64_t dim_ = 0;
  std::uint64_t frames_per_row_ = 1;
};

class NpyArraySource : public TrackSource {
 public:
  NpyArraySource(const ImportConfig& config)
      : reader_(config.input),
        ids_(read_ids(config)),
        layout_(config.input, reader_.header().shape, ids_.size(),
                config.offsets.empty() ? std::vector<std::uint64_t>{} : read_offsets_file(config.offsets)) {
    if (reader_.header().kind != 'f') throw FatalError(config.input + ": dtype '" + reader_.header().descr + "' is not a float type");
  }

  std::size_t size() const override { return ids_.size(); }
  const std::string& id(std::size_t index) const override { return ids_[index]; }
  LoadedTrack load(std::size_t index) const override {
    FrameMatrix frames;
    const std::uint64_t rows = layout_.row_count(index);
    frames.cols = layout_.dim();
    frames.rows = layout_.frames_in_rows(rows);
    frames.values.resize(frames.rows * frames.cols);
    reader_.read_rows_as_float(layout_.first_row(index), rows, frames.values.data());
    return {{std::move(frames)}};
  }

 private:
  static std::vector<std::string> read_ids(const ImportConfig& config) {
    if (config.ids.empty()) throw FatalError("--format npy needs --ids (one track id per line)");
    return read_text_list(config.ids);
  }

  NpyReader reader_;
  std::vector<std::string> ids_;
  ArrayLayout layout_;
};

class Hdf5ArraySource : public TrackSource {
 public:
  Hdf5ArraySource(const ImportConfig& config) : file_(config.input, h5::Mode::ReadOnly) {
    if (config.dataset.empty()) throw FatalError("--format h5 needs --dataset (path of the embeddings in " + config.input + ")");
    dataset_ = h5::open_dataset(file_.id(), config.dataset, file_.name());
    h5::Handle type(H5Dget_type(dataset_.id()));
    if (H5Tget_class(type.id()) != H5T_FLOAT) throw FatalError(config.input + ": " + config.dataset + " does not hold floats");
    if (!config.ids.empty() == !config.ids_dataset.empty()) throw FatalError("--format h5 needs exactly one of --ids and --ids-dataset");
    ids_ = config.ids.empty() ? h5::read_strings(h5::open_dataset(file_.id(), config.ids_dataset, file_.name()).id())
                              : read_text_list(config.ids);
    std::vector<std::uint64_t> offsets;
    if (!config.offsets.empty() && !config.offsets_dataset.empty()) throw FatalError("give --offsets or --offsets-dataset, not both");
    if (!config.offsets.empty()) offsets = read_offsets_file(config.offsets);
    if (!config.offsets_dataset.empty()) {
      h5::Handle dataset = h5::open_dataset(file_.id(), config.offsets_dataset, file_.name());
      const auto extent = h5::dims(dataset.id());
      if (extent.size() != 1) throw FatalError(config.input + ": " + config.offsets_dataset + " must be 1-D");
      offsets.resize(extent[0]);
      h5::read_rows(dataset.id(), H5T_NATIVE_UINT64, 0, extent[0], offsets.data());
    }
    layout_.emplace(config.input + ":" + config.dataset, h5::dims(dataset_.id()), ids_.size(), std::move(offsets));
  }

  std::size_t size() const override { return ids_.size(); }
  const std::string& id(std::size_t index) const override { return ids_[index]; }
  bool parallel_safe() const override { return false; }  // the HDF5 library is not built thread-safe
  LoadedTrack load(std::size_t index) const override {
    FrameMatrix frames;
    const std::uint64_t rows = layout_->row_count(index);
    frames.cols = layout_->dim();
    frames.rows = layout_->frames_in_rows(rows);
    frames.values.resize(frames.rows * frames.cols);
    h5::read_rows(dataset_.id(), H5T_NATIVE_FLOAT, layout_->first_row(index), rows, frames.values.data());
    return {{std::move(frames)}};
  }

 private:
  h5::File file_;
  h5::Handle dataset_;
  std::vector<std::string> ids_;
  std::optional<ArrayLayout> layout_;
};

std::unique_ptr<TrackSource> open_source(const ImportConfig& config) {
  try {
    if (config.format == "npy-dir") return std::make_unique<FileTreeSource>(config.input, ".npy", parse_npy_file);
    if (config.format == "tf-tensors") return std::make_unique<FileTreeSource>(config.input, ".tensor", parse_tensor_file);
    if (config.format == "npy") return std::make_unique<NpyArraySource>(config);
    return std::make_unique<Hdf5ArraySource>(config);
  } catch (const InputError& error) {
    // The whole input is unusable, not one track of it.
    throw FatalError(error.what());
  }
}

}  // namespace

EmbeddingImporter::EmbeddingImporter(ImportConfig config) : config_(std::move(config)) {}

void EmbeddingImporter::run() {
  validate(config_);
  const auto started = std::chrono::steady_clock::now();
  summary_ = {};
  const fs::path output_path(config_.output);
  refuse_to_overwrite(output_path, config_.overwrite);
  auto source = open_source(config_);
  if (source->size() == 0) throw FatalError(config_.input + ": no tracks found");

  const StoreBuild build = build_store(*source, {.output = output_path,
                                                 .input_name = config_.input,
                                                 .layers = {{.name = config_.layer, .dim = config_.dim}},
                                                 .provenance = {.backbone = config_.backbone,
                                                                .source = "import " + config_.format + " " + fs::absolute(config_.input).string(),
                                                                .sample_rate = 0,
                                                                .frame_hop_seconds = config_.frame_hop_seconds},
                                                 .compression = config_.compression,
                                                 .jobs = config_.jobs,
                                                 .tracks_per_batch = 256,
                                                 .strict = config_.strict,
                                                 .progress_label = "import",
                                                 .done_verb = "imported"});
  summary_.imported = build.written;
  summary_.already_present = build.already_present;
  summary_.skipped = build.skipped;
  summary_.frames = build.frames;
  summary_.dim = build.dim;
  summary_.store_tracks = build.store_tracks;
  summary_.errors_file = build.errors_file;
  summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace conceptree
