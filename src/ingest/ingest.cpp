#include "conceptree/ingest.hpp"


#include <algorithm>
#include <chrono>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>

#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"
#include "conceptree/context.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/store.hpp"
#include "conceptree/strings.hpp"
#include "conceptree/tensor_proto.hpp"
#include "conceptree/text_list.hpp"
#include "hdf5/hdf5.hpp"
#include "ingest/store_builder.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string text;
  for (auto d : shape) text += (text.empty() ? "" : ", ") + std::to_string(d);
  return "(" + text + ")";
}

// A model output whose gradients --gradient imports from SOURCE.
struct GradientInput {
  std::string output;
  std::string source;
};

// --gradient's items in ascending order of output: the order the store lists them in, which a
// resumed import must match.
std::vector<GradientInput> parse_gradient_inputs(const ImportConfig& config) {
  std::vector<GradientInput> inputs;
  if (config.gradient.empty()) return inputs;
  if (config.format == ImportFormat::TfTensors) {
    throw FatalError("--gradient: tf-tensors inputs hold activations only; bring gradients with --format npy-dir, npy or h5");
  }
  for (const auto& item : split(config.gradient, ',')) {
    const auto equals = item.find('=');
    if (equals == std::string::npos) throw FatalError("--gradient '" + item + "': expected OUTPUT=SOURCE");
    GradientInput input{item.substr(0, equals), item.substr(equals + 1)};
    if (input.output.empty() || input.output.find('/') != std::string::npos || input.output == "." || input.output == "..") {
      throw FatalError("--gradient '" + item + "': the output '" + input.output + "' names a dataset, so it must be non-empty and hold no '/'");
    }
    if (input.source.empty()) throw FatalError("--gradient '" + item + "': no SOURCE after '='");
    inputs.push_back(std::move(input));
  }
  std::sort(inputs.begin(), inputs.end(), [](const GradientInput& a, const GradientInput& b) { return a.output < b.output; });
  const auto twice = std::adjacent_find(inputs.begin(), inputs.end(),
                                        [](const GradientInput& a, const GradientInput& b) { return a.output == b.output; });
  if (twice != inputs.end()) throw FatalError("--gradient names the output '" + twice->output + "' twice");
  return inputs;
}

// A track's gradient of `output` as `read` returns it, checked against the track's frames (same
// shape, finite values). Every problem, the reader's too, is reported under `item` as this
// gradient's: a shared array file names neither the track nor, maybe, the output.
template <class Read>
FrameMatrix checked_gradient(const std::string& item, const std::string& output, const FrameMatrix& frames, Read&& read) {
  try {
    FrameMatrix gradient = read();
    if (gradient.rows != frames.rows || gradient.cols != frames.cols) {
      throw InputError(item, "shape " + std::to_string(gradient.rows) + " x " + std::to_string(gradient.cols) + ", the frames' is " +
                                 std::to_string(frames.rows) + " x " + std::to_string(frames.cols));
    }
    check_finite_frames(item, gradient.values, gradient.cols);
    return gradient;
  } catch (const InputError& error) {
    throw InputError(item, "gradient of '" + output + "': " + error.problem());
  }
}

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
    throw InputError(item, "array of shape " + shape_text(shape) + "; expected (frames, dim) or (dim)");
  }
  if (frames.cols == 0) throw InputError(item, "embedding dimension is 0");
  frames.values = std::move(values);
  return {{std::move(frames)}};
}

// A folder tree of one file per track; id = path relative to the root without the extension.
// Each gradient's SOURCE is a folder holding the same relative paths.
class FileTreeSource : public TrackSource {
 public:
  using Parser = LoadedTrack (*)(const fs::path&, const std::string& item);

  FileTreeSource(const fs::path& root, const std::string& extension, Parser parser, const Context& context, std::vector<GradientInput> gradients = {})
      : extension_(extension), parser_(parser), gradients_(std::move(gradients)) {
    if (!fs::is_directory(root)) throw FatalError(root.string() + ": not a folder");
    for (const auto& gradient : gradients_) {
      if (!fs::is_directory(gradient.source)) {
        throw FatalError(gradient.source + ": not a folder (--gradient " + gradient.output + "=" + gradient.source + ")");
      }
    }
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
    if (ignored > 0) context.info(std::to_string(ignored) + " files without the " + extension + " extension ignored");
  }

  std::size_t size() const override { return entries_.size(); }
  const std::string& id(std::size_t index) const override { return entries_[index].id; }
  LoadedTrack load(std::size_t index) const override {
    const Entry& entry = entries_[index];
    LoadedTrack track = parser_(entry.path, entry.path.string());
    for (const auto& gradient : gradients_) {
      const fs::path path = fs::path(gradient.source) / (entry.id + extension_);
      track.gradients.push_back(checked_gradient(path.string(), gradient.output, track.layers.front(),
                                                 [&] { return std::move(parser_(path, path.string()).layers.front()); }));
    }
    return track;
  }

 private:
  struct Entry {
    std::string id;
    fs::path path;
  };
  std::vector<Entry> entries_;
  std::string extension_;
  Parser parser_;
  std::vector<GradientInput> gradients_;
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

  // Track i's frames, of this array or of one shaped like it, as `read_rows(first, count, out)`
  // reads leading-dimension rows.
  template <class ReadRows>
  FrameMatrix read_track(std::size_t i, ReadRows&& read_rows) const {
    FrameMatrix frames;
    frames.cols = dim_;
    frames.rows = frames_in_rows(row_count(i));
    frames.values.resize(frames.rows * frames.cols);
    read_rows(first_row(i), row_count(i), frames.values.data());
    return frames;
  }

 private:
  std::vector<std::uint64_t> offsets_;
  std::uint64_t dim_ = 0;
  std::uint64_t frames_per_row_ = 1;
};

class NpyArraySource : public TrackSource {
 public:
  NpyArraySource(const ImportConfig& config, const std::vector<GradientInput>& gradients)
      : reader_(config.input),
        ids_(read_ids(config)),
        layout_(config.input, reader_.header().shape, ids_.size(),
                config.offsets.empty() ? std::vector<std::uint64_t>{} : read_offsets_file(config.offsets)) {
    if (reader_.header().kind != 'f') throw FatalError(config.input + ": dtype '" + reader_.header().descr + "' is not a float type");
    for (const auto& gradient : gradients) {
      NpyReader reader(gradient.source);
      const std::string what = gradient.source + " (gradient of '" + gradient.output + "')";
      if (reader.header().kind != 'f') throw FatalError(what + ": dtype '" + reader.header().descr + "' is not a float type");
      if (reader.header().shape != reader_.header().shape) {
        throw FatalError(what + ": shape " + shape_text(reader.header().shape) + ", but " + config.input + " is " +
                         shape_text(reader_.header().shape));
      }
      gradients_.push_back({gradient.output, std::move(reader)});
    }
  }

  std::size_t size() const override { return ids_.size(); }
  const std::string& id(std::size_t index) const override { return ids_[index]; }
  LoadedTrack load(std::size_t index) const override {
    LoadedTrack track{{layout_.read_track(index, [&](auto first, auto count, float* out) { reader_.read_rows_as_float(first, count, out); })}};
    for (const auto& gradient : gradients_) {
      const std::string item = ids_[index] + " (" + gradient.reader.path().string() + ")";
      track.gradients.push_back(checked_gradient(item, gradient.output, track.layers.front(), [&] {
        return layout_.read_track(index, [&](auto first, auto count, float* out) { gradient.reader.read_rows_as_float(first, count, out); });
      }));
    }
    return track;
  }

 private:
  static std::vector<std::string> read_ids(const ImportConfig& config) {
    if (config.ids.empty()) throw FatalError("--format npy needs --ids (one track id per line)");
    return read_text_list(config.ids);
  }

  struct Gradient {
    std::string output;
    NpyReader reader;
  };

  NpyReader reader_;
  std::vector<std::string> ids_;
  ArrayLayout layout_;
  std::vector<Gradient> gradients_;
};

class Hdf5ArraySource : public TrackSource {
 public:
  Hdf5ArraySource(const ImportConfig& config, const std::vector<GradientInput>& gradients) : file_(config.input, h5::Mode::ReadOnly) {
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
    for (const auto& gradient : gradients) {
      const std::string item = config.input + ":" + gradient.source;
      const std::string what = item + " (gradient of '" + gradient.output + "')";
      h5::Handle dataset = h5::open_dataset(file_.id(), gradient.source, file_.name());
      h5::Handle gradient_type(H5Dget_type(dataset.id()));
      if (H5Tget_class(gradient_type.id()) != H5T_FLOAT) throw FatalError(what + ": does not hold floats");
      if (h5::dims(dataset.id()) != h5::dims(dataset_.id())) {
        throw FatalError(what + ": shape " + shape_text(h5::dims(dataset.id())) + ", but " + config.dataset + " is " +
                         shape_text(h5::dims(dataset_.id())));
      }
      gradients_.push_back({gradient.output, item, std::move(dataset)});
    }
  }

  std::size_t size() const override { return ids_.size(); }
  const std::string& id(std::size_t index) const override { return ids_[index]; }
  bool parallel_safe() const override { return false; }  // the HDF5 library is not built thread-safe
  LoadedTrack load(std::size_t index) const override {
    LoadedTrack track{{read_track(dataset_, index)}};
    for (const auto& gradient : gradients_) {
      const std::string item = ids_[index] + " (" + gradient.item + ")";
      track.gradients.push_back(
          checked_gradient(item, gradient.output, track.layers.front(), [&] { return read_track(gradient.dataset, index); }));
    }
    return track;
  }

 private:
  struct Gradient {
    std::string output;
    std::string item;  // file:dataset
    h5::Handle dataset;
  };

  FrameMatrix read_track(const h5::Handle& dataset, std::size_t index) const {
    return layout_->read_track(index, [&](auto first, auto count, float* out) { h5::read_rows(dataset.id(), H5T_NATIVE_FLOAT, first, count, out); });
  }

  h5::File file_;
  h5::Handle dataset_;
  std::vector<std::string> ids_;
  std::optional<ArrayLayout> layout_;
  std::vector<Gradient> gradients_;
};

std::unique_ptr<TrackSource> open_source(const ImportConfig& config, const std::vector<GradientInput>& gradients, const Context& context) {
  try {
    if (config.format == ImportFormat::NpyDir) return std::make_unique<FileTreeSource>(config.input, ".npy", parse_npy_file, context, gradients);
    if (config.format == ImportFormat::TfTensors) return std::make_unique<FileTreeSource>(config.input, ".tensor", parse_tensor_file, context);
    if (config.format == ImportFormat::Npy) return std::make_unique<NpyArraySource>(config, gradients);
    return std::make_unique<Hdf5ArraySource>(config, gradients);
  } catch (const InputError& error) {
    // The whole input is unusable, not one track of it.
    throw FatalError(error.what());
  }
}

}  // namespace

EmbeddingImporter::EmbeddingImporter(ImportConfig config, const Context& context) : config_(std::move(config)), context_(context) {}

void EmbeddingImporter::run() {
  validate(config_);
  const auto started = std::chrono::steady_clock::now();
  summary_ = {};
  const fs::path output_path(config_.output);
  const std::vector<GradientInput> gradients = parse_gradient_inputs(config_);
  refuse_to_overwrite(output_path, config_.overwrite);
  auto source = open_source(config_, gradients, context_);
  if (source->size() == 0) throw FatalError(config_.input + ": no tracks found");
  std::vector<std::string> outputs;
  for (const auto& gradient : gradients) outputs.push_back(gradient.output);
  const StoreProvenance provenance{.backbone = config_.backbone,
                                   .source = "import " + std::string(choice_name(*config_.format)) + " " + fs::absolute(config_.input).string(),
                                   .sample_rate = 0,
                                   .frame_hop_seconds = config_.frame_hop_seconds};

  const StoreBuild build = build_store(*source, {.output = output_path,
                                                 .input_name = config_.input,
                                                 .layers = {{.name = config_.layer, .dim = config_.dim, .gradients = outputs}},
                                                 .provenance = provenance,
                                                 .compression = config_.compression,
                                                 .jobs = config_.jobs,
                                                 .tracks_per_batch = 256,
                                                 .strict = config_.strict,
                                                 .progress_label = "import",
                                                 .done_verb = "imported"},
                                         context_);
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
