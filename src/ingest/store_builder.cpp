#include "ingest/store_builder.hpp"

#include <omp.h>

#include <exception>
#include <new>
#include <optional>
#include <stdexcept>
#include <unordered_set>

#include <fmt/format.h>

#include "conceptree/atomic_file.hpp"
#include "conceptree/batch_errors.hpp"
#include "conceptree/names.hpp"
#include "conceptree/context.hpp"
#include "conceptree/error.hpp"
#include "conceptree/journal.hpp"
#include "conceptree/progress.hpp"

namespace conceptree {

namespace {

// What a journal must have been started with to be resumed: the layers asked for (a dim of 0 is
// fixed by the first track stored), the provenance and the compression.
std::string journal_fingerprint(const StoreBuildOptions& options) {
  // The record layout: a journal written by another layout is started over, not misread.
  constexpr int kRecordSchema = 1;
  std::string print = fmt::format("store journal {}\n", kRecordSchema);
  for (const auto& layer : options.layers) {
    print += fmt::format("layer {} dim {} hop {} gradients", layer.name, layer.dim, layer.frame_hop_seconds);
    for (const auto& output : layer.gradients) print += " " + output;
    print += "\n";
  }
  const StoreProvenance& p = options.provenance;
  print += fmt::format("backbone {}\nsource {}\nsample rate {}\nhop {}\ncompression {}\n", p.backbone, p.source, p.sample_rate,
                       p.frame_hop_seconds, options.compression);
  return print;
}

struct JournalledTrack {
  std::string id;
  LoadedTrack track;
};

std::string encode_track(const std::string& id, const LoadedTrack& track) {
  RecordWriter writer;
  writer.put_string(id);
  for (const auto* matrices : {&track.layers, &track.gradients}) {
    writer.put<std::uint64_t>(matrices->size());
    for (const FrameMatrix& matrix : *matrices) {
      writer.put(matrix.rows);
      writer.put(matrix.cols);
      writer.put_vector(matrix.values);
    }
  }
  return writer.bytes();
}

JournalledTrack decode_track(std::string_view bytes) {
  RecordReader reader(bytes);
  JournalledTrack decoded;
  decoded.id = reader.get_string();
  for (auto* matrices : {&decoded.track.layers, &decoded.track.gradients}) {
    const auto count = reader.get<std::uint64_t>();
    for (std::uint64_t m = 0; m < count; ++m) {
      FrameMatrix matrix;
      matrix.rows = reader.get<std::uint64_t>();
      matrix.cols = reader.get<std::uint64_t>();
      matrix.values = reader.get_vector<float>();
      matrices->push_back(std::move(matrix));
    }
  }
  if (!reader.at_end()) throw std::runtime_error("journal record too long");
  return decoded;
}

// The store's layers as its tracks fix them: a dimension not asked for is the first good track's.
class StoreShape {
 public:
  explicit StoreShape(const StoreBuildOptions& options)
      : layers_(options.layers),
        store_hop_(options.provenance.frame_hop_seconds != 0 ? options.provenance.frame_hop_seconds : options.layers.front().frame_hop_seconds) {}

  const std::vector<StoreLayer>& layers() const { return layers_; }

  // Throws InputError when the track cannot join the store; the first that can fixes its dimensions.
  void admit(const std::string& id, const LoadedTrack& track) {
    if (track.layers.size() != layers_.size()) {
      throw InputError(id, std::to_string(track.layers.size()) + " layers, expected " + std::to_string(layers_.size()));
    }
    std::vector<StoreLayer> resolved = layers_;
    // Checked before the track can fix the store's dimensions: only a good track may.
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const FrameMatrix& frames = track.layers[l];
      check_finite_frames(id, frames.values, frames.cols);
      if (layers_[l].dim != 0 && frames.cols != layers_[l].dim) {
        throw InputError(id, (layers_.size() > 1 ? "layer " + layers_[l].name + ": " : "") + "dimension " + std::to_string(frames.cols) +
                                 ", expected " + std::to_string(layers_[l].dim));
      }
      if (resolved[l].dim == 0) resolved[l].dim = frames.cols;
    }
    check_track_fits(id, resolved, store_hop_, track.layers, track.gradients);
    layers_ = std::move(resolved);
  }

 private:
  std::vector<StoreLayer> layers_;
  double store_hop_;
};

// Writes the journalled tracks as one store at `output`, in one pass: the file depends only on
// the tracks, not on how many runs it took to gather them.
void write_store(const Journal& journal, const std::vector<StoreLayer>& layers, const StoreBuildOptions& options, const Context& context) {
  AtomicOutput output(options.output);
  std::optional<EmbeddingStoreWriter> writer;
  Progress progress(context, "write store", journal.size());
  journal.for_each([&](std::string_view record) {
    const JournalledTrack stored = decode_track(record);
    if (!writer) {
      // Judged on the first track alone, so the choice cannot depend on the thread count.
      const int deflate_level = options.compression >= 0 ? options.compression : deflate_level_that_pays(stored.track.layers.front().values);
      writer.emplace(EmbeddingStoreWriter::create(output.temp_path(), layers, options.provenance, {.deflate_level = deflate_level}));
    }
    writer->append(stored.id, stored.track.layers, stored.track.gradients);
    progress.advance();
  });
  progress.finish();
  writer->close();
  writer.reset();
  output.commit();
}

}  // namespace

StoreBuild build_store(const TrackSource& source, const StoreBuildOptions& options, const Context& context) {
  if (options.layers.empty()) throw FatalError(options.output.string() + ": a store needs at least one layer");
  StoreBuild build;
  Journal journal(partial_path(options.output), journal_fingerprint(options), context);
  StoreShape shape(options);
  std::unordered_set<std::string> stored;
  if (journal.size() > 0) {
    try {
      journal.for_each([&](std::string_view record) {
        const JournalledTrack track = decode_track(record);
        shape.admit(track.id, track.track);
        if (!stored.insert(track.id).second) throw std::runtime_error("track '" + track.id + "' recorded twice");
      });
      context.info("resuming from " + journal.path().string() + ": " + std::to_string(stored.size()) + " tracks already stored");
    } catch (const std::exception& error) {
      // Whole records that do not make a store: a journal that only looks like this job's.
      context.warning(journal.path().string() + ": damaged (" + error.what() + "); starting over");
      journal.clear();
      stored.clear();
      shape = StoreShape(options);
    }
  }

  BatchErrors errors(options.strict, context);
  const int threads = options.jobs > 0 ? options.jobs : omp_get_max_threads();
  const std::size_t batch_size = options.tracks_per_batch;
  Progress progress(context, options.progress_label, source.size());
  try {
    for (std::size_t batch_start = 0; batch_start < source.size(); batch_start += batch_size) {
      const std::size_t batch_end = std::min(source.size(), batch_start + batch_size);
      std::vector<std::optional<LoadedTrack>> loaded(batch_end - batch_start);
      std::vector<std::optional<InputError>> failures(loaded.size());
      std::vector<std::exception_ptr> crashes(loaded.size());
      const int batch_threads = source.parallel_safe() ? threads : 1;
#pragma omp parallel for num_threads(batch_threads) schedule(dynamic)
      for (std::size_t i = batch_start; i < batch_end; ++i) {
        // A refused id is reported below without loading its track.
        if (!name_problem(source.id(i)).empty() || stored.contains(source.id(i))) continue;
        try {
          loaded[i - batch_start] = source.load(i);
        } catch (const InputError& error) {
          failures[i - batch_start] = error;
        } catch (const std::bad_alloc&) {
          failures[i - batch_start] = InputError(source.id(i), "needs more memory than this machine can give it");
        } catch (const FatalError&) {
          crashes[i - batch_start] = std::current_exception();
        } catch (const std::exception& error) {
          // A library's own exception about one item's contents (a conversion, a length) is that item's problem.
          failures[i - batch_start] = InputError(source.id(i), std::string("cannot be read: ") + error.what());
        } catch (...) {
          // An exception must not leave an OpenMP region; rethrown below, in order.
          crashes[i - batch_start] = std::current_exception();
        }
        progress.advance();
      }
      for (const auto& crash : crashes)
        if (crash) std::rethrow_exception(crash);
      // Journalled in source order so the store does not depend on the thread count.
      for (std::size_t k = 0; k < loaded.size(); ++k) {
        const std::string& id = source.id(batch_start + k);
        // Messages and the errors file name the track in its printable form, on one line.
        const std::string shown_id = printable_name(id);
        try {
          check_name(id, shown_id, "track id");
          if (failures[k]) throw *failures[k];
          if (!loaded[k]) {
            ++build.already_present;
            continue;
          }
          const LoadedTrack& track = *loaded[k];
          if (id.empty()) throw InputError("(empty id)", "track id is empty");
          if (stored.contains(id)) throw InputError(id, "duplicate track id: already in the store");
          shape.admit(id, track);
          journal.append(encode_track(id, track));
          stored.insert(id);
          ++build.written;
          build.frames += track.layers.front().rows;
        } catch (const InputError& error) {
          // Name the track by its id when the error names only a file or a position.
          errors.report(error.item().find(shown_id) != std::string::npos ? error
                                                                          : InputError(shown_id + " (" + error.item() + ")", error.problem()));
          ++build.skipped;
        }
      }
    }
  } catch (const FatalError&) {
    if (options.strict) journal.remove();
    throw;
  }
  progress.finish();
  if (journal.size() == 0) {
    journal.remove();
    errors.write_report(options.output);
    throw FatalError(options.input_name + ": no track could be " + options.done_verb + " (" + std::to_string(build.skipped) + " bad, see " +
                     BatchErrors::report_path(options.output).string() + ")");
  }
  write_store(journal, shape.layers(), options, context);
  journal.remove();
  build.store_tracks = stored.size();
  build.dim = shape.layers().front().dim;
  build.errors_file = errors.write_report(options.output);
  return build;
}

}  // namespace conceptree
