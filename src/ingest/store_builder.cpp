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
#include "conceptree/ranks.hpp"

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

// One batch of the source: what this process loaded of it, or why an item could not be loaded.
struct SourceBatch {
  std::size_t start = 0;
  std::vector<std::optional<LoadedTrack>> loaded;
  std::vector<std::optional<InputError>> failures;
};

// What one rank made of its items of a batch, for rank 0 to journal in source order: each item is
// nothing (a refused id, a track already stored), a track, or the input error that skips it.
enum class ItemOutcome : std::uint8_t { Nothing, Track, Skipped };

std::string encode_outcomes(const TrackSource& source, const SourceBatch& batch, const Ranks& ranks) {
  RecordWriter writer;
  for (std::size_t k = 0; k < batch.loaded.size(); ++k) {
    if (!ranks.owns(batch.start + k)) continue;
    if (batch.loaded[k]) {
      writer.put(ItemOutcome::Track);
      writer.put_string(encode_track(source.id(batch.start + k), *batch.loaded[k]));
    } else if (batch.failures[k]) {
      writer.put(ItemOutcome::Skipped);
      writer.put_string(batch.failures[k]->item());
      writer.put_string(batch.failures[k]->problem());
    } else {
      writer.put(ItemOutcome::Nothing);
    }
  }
  return writer.bytes();
}

// Rank 0 fills in the other ranks' items of the batch from what they sent.
void decode_outcomes(const std::vector<std::string>& parts, SourceBatch& batch, const Ranks& ranks) {
  const auto rank_count = static_cast<std::size_t>(ranks.size());
  for (std::size_t from = 1; from < rank_count; ++from) {
    RecordReader reader(parts[from]);
    for (std::size_t k = 0; k < batch.loaded.size(); ++k) {
      if ((batch.start + k) % rank_count != from) continue;
      switch (reader.get<ItemOutcome>()) {
        case ItemOutcome::Track:
          batch.loaded[k] = decode_track(reader.get_string()).track;
          break;
        case ItemOutcome::Skipped: {
          std::string item = reader.get_string();
          batch.failures[k] = InputError(std::move(item), reader.get_string());
          break;
        }
        case ItemOutcome::Nothing:
          break;
      }
    }
  }
}

std::string encode_ids(const std::unordered_set<std::string>& ids) {
  RecordWriter writer;
  writer.put<std::uint64_t>(ids.size());
  for (const auto& id : ids) writer.put_string(id);
  return writer.bytes();
}

std::unordered_set<std::string> decode_ids(const std::string& bytes) {
  RecordReader reader(bytes);
  std::unordered_set<std::string> ids;
  for (auto count = reader.get<std::uint64_t>(); count > 0; --count) ids.insert(reader.get_string());
  return ids;
}

}  // namespace

StoreBuild build_store(const TrackSource& source, const StoreBuildOptions& options, const Context& context) {
  if (options.layers.empty()) throw FatalError(options.output.string() + ": a store needs at least one layer");
  // Under MPI every rank loads its share of each batch; rank 0 alone journals and writes.
  const Ranks& ranks = context.job_ranks();
  StoreBuild build;
  std::optional<Journal> journal;
  StoreShape shape(options);
  std::unordered_set<std::string> stored;
  if (ranks.is_root()) {
    journal.emplace(partial_path(options.output), journal_fingerprint(options), context);
    if (journal->size() > 0) {
      try {
        journal->for_each([&](std::string_view record) {
          const JournalledTrack track = decode_track(record);
          shape.admit(track.id, track.track);
          if (!stored.insert(track.id).second) throw std::runtime_error("track '" + track.id + "' recorded twice");
        });
        context.info("resuming from " + journal->path().string() + ": " + std::to_string(stored.size()) + " tracks already stored");
      } catch (const std::exception& error) {
        // Whole records that do not make a store: a journal that only looks like this job's.
        context.warning(journal->path().string() + ": damaged (" + error.what() + "); starting over");
        journal->clear();
        stored.clear();
        shape = StoreShape(options);
      }
    }
  }
  if (ranks.distributed()) stored = decode_ids(ranks.broadcast(encode_ids(stored)));

  BatchErrors errors(options.strict, context);
  const int threads = options.jobs > 0 ? options.jobs : omp_get_max_threads();
  const std::size_t batch_size = options.tracks_per_batch * static_cast<std::size_t>(ranks.size());
  Progress progress(context, options.progress_label, source.size());
  try {
    for (std::size_t batch_start = 0; batch_start < source.size(); batch_start += batch_size) {
      const std::size_t batch_end = std::min(source.size(), batch_start + batch_size);
      SourceBatch batch{.start = batch_start, .loaded = {}, .failures = {}};
      batch.loaded.resize(batch_end - batch_start);
      batch.failures.resize(batch.loaded.size());
      std::vector<std::exception_ptr> crashes(batch.loaded.size());
      const int batch_threads = source.parallel_safe() ? threads : 1;
#pragma omp parallel for num_threads(batch_threads) schedule(dynamic)
      for (std::size_t i = batch_start; i < batch_end; ++i) {
        // A refused id is reported below without loading its track.
        if (!ranks.owns(i) || !name_problem(source.id(i)).empty() || stored.contains(source.id(i))) continue;
        try {
          batch.loaded[i - batch_start] = source.load(i);
        } catch (const InputError& error) {
          batch.failures[i - batch_start] = error;
        } catch (const std::bad_alloc&) {
          batch.failures[i - batch_start] = InputError(source.id(i), "needs more memory than this machine can give it");
        } catch (const FatalError&) {
          crashes[i - batch_start] = std::current_exception();
        } catch (const std::exception& error) {
          // A library's own exception about one item's contents (a conversion, a length) is that item's problem.
          batch.failures[i - batch_start] = InputError(source.id(i), std::string("cannot be read: ") + error.what());
        } catch (...) {
          // An exception must not leave an OpenMP region; rethrown below, in order.
          crashes[i - batch_start] = std::current_exception();
        }
        progress.advance();
      }
      for (const auto& crash : crashes)
        if (crash) std::rethrow_exception(crash);
      if (ranks.distributed()) {
        const std::vector<std::string> parts = ranks.gather(encode_outcomes(source, batch, ranks));
        if (!ranks.is_root()) continue;
        decode_outcomes(parts, batch, ranks);
        std::uint64_t loaded_elsewhere = 0;
        for (std::size_t k = 0; k < batch.loaded.size(); ++k)
          if (!ranks.owns(batch_start + k) && (batch.loaded[k] || batch.failures[k])) ++loaded_elsewhere;
        progress.advance(loaded_elsewhere);
      }
      // Journalled in source order so the store does not depend on the thread or rank count.
      for (std::size_t k = 0; k < batch.loaded.size(); ++k) {
        const std::string& id = source.id(batch_start + k);
        // Messages and the errors file name the track in its printable form, on one line.
        const std::string shown_id = printable_name(id);
        try {
          check_name(id, shown_id, "track id");
          if (batch.failures[k]) throw *batch.failures[k];
          if (!batch.loaded[k]) {
            ++build.already_present;
            continue;
          }
          const LoadedTrack& track = *batch.loaded[k];
          if (id.empty()) throw InputError("(empty id)", "track id is empty");
          if (stored.contains(id)) throw InputError(id, "duplicate track id: already in the store");
          shape.admit(id, track);
          journal->append(encode_track(id, track));
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
    if (options.strict && journal) journal->remove();
    throw;
  }
  progress.finish();
  if (!ranks.is_root()) return build;
  if (journal->size() == 0) {
    journal->remove();
    errors.write_report(options.output);
    throw FatalError(options.input_name + ": no track could be " + options.done_verb + " (" + std::to_string(build.skipped) + " bad, see " +
                     BatchErrors::report_path(options.output).string() + ")");
  }
  write_store(*journal, shape.layers(), options, context);
  journal->remove();
  build.store_tracks = stored.size();
  build.dim = shape.layers().front().dim;
  build.errors_file = errors.write_report(options.output);
  return build;
}

}  // namespace conceptree
