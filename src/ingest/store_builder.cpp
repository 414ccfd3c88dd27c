#include "ingest/store_builder.hpp"

#include <omp.h>

#include <exception>
#include <optional>

#include "conceptree/atomic_file.hpp"
#include "conceptree/batch_errors.hpp"
#include "conceptree/error.hpp"
#include "conceptree/names.hpp"
#include "conceptree/context.hpp"
#include "conceptree/progress.hpp"

namespace conceptree {

namespace {

// Whether a partial store holds the layers asked for; a dim or hop of 0 asked for matches any.
bool same_layers(const std::vector<StoreLayer>& found, const std::vector<StoreLayer>& wanted) {
  if (found.size() != wanted.size()) return false;
  for (std::size_t l = 0; l < found.size(); ++l) {
    if (found[l].name != wanted[l].name || (wanted[l].dim != 0 && found[l].dim != wanted[l].dim) ||
        (wanted[l].frame_hop_seconds != 0 && found[l].frame_hop_seconds != wanted[l].frame_hop_seconds) ||
        found[l].gradients != wanted[l].gradients) {
      return false;
    }
  }
  return true;
}

}  // namespace

StoreBuild build_store(const TrackSource& source, const StoreBuildOptions& options, const Context& context) {
  StoreBuild build;
  AtomicOutput output(options.output, TempKind::Resumable);
  std::optional<EmbeddingStoreWriter> writer;
  std::vector<StoreLayer> layers = options.layers;
  if (std::filesystem::exists(output.temp_path())) {
    try {
      writer.emplace(EmbeddingStoreWriter::open_for_append(output.temp_path()));
      if (!same_layers(writer->layers(), layers)) {
        throw InputError(output.temp_path().string(), "was started with other layers, dimensions, frame rates or gradients");
      }
      layers = writer->layers();
      context.info("resuming from " + output.temp_path().string() + ": " + std::to_string(writer->track_count()) + " tracks already stored");
    } catch (const InputError& error) {
      context.warning(std::string(error.what()) + "; starting over");
      writer.reset();
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
        if (!name_problem(source.id(i)).empty() || (writer && writer->contains(source.id(i)))) continue;
        try {
          loaded[i - batch_start] = source.load(i);
        } catch (const InputError& error) {
          failures[i - batch_start] = error;
        } catch (...) {
          // An exception must not leave an OpenMP region; rethrown below, in order.
          crashes[i - batch_start] = std::current_exception();
        }
        progress.advance();
      }
      for (const auto& crash : crashes)
        if (crash) std::rethrow_exception(crash);
      // Appended in source order so the store does not depend on the thread count.
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
          if (track.layers.size() != layers.size()) {
            throw InputError(id, std::to_string(track.layers.size()) + " layers, expected " + std::to_string(layers.size()));
          }
          // Checked before the track can fix the store's dimensions: only a good track may.
          for (std::size_t l = 0; l < layers.size(); ++l) {
            const FrameMatrix& frames = track.layers[l];
            check_finite_frames(id, frames.values, frames.cols);
            if (layers[l].dim != 0 && frames.cols != layers[l].dim) {
              throw InputError(id, (layers.size() > 1 ? "layer " + layers[l].name + ": " : "") + "dimension " +
                                       std::to_string(frames.cols) + ", expected " + std::to_string(layers[l].dim));
            }
          }
          if (!writer) {
            for (std::size_t l = 0; l < layers.size(); ++l) layers[l].dim = track.layers[l].cols;
            // Judged on the first good track alone: a sample spanning a batch would depend on the
            // batch size, hence on the thread count.
            const int deflate_level = options.compression >= 0 ? options.compression : deflate_level_that_pays(track.layers.front().values);
            writer.emplace(EmbeddingStoreWriter::create(output.temp_path(), layers, options.provenance, {.deflate_level = deflate_level}));
          }
          writer->append(id, track.layers, track.gradients);
          ++build.written;
          build.frames += track.layers.front().rows;
        } catch (const InputError& error) {
          // Name the track by its id when the error names only a file or a position.
          errors.report(error.item().find(shown_id) != std::string::npos ? error
                                                                          : InputError(shown_id + " (" + error.item() + ")", error.problem()));
          ++build.skipped;
        }
      }
      if (writer) writer->commit();
    }
  } catch (const FatalError&) {
    if (options.strict) {
      writer.reset();
      output.discard();
    }
    throw;
  }
  progress.finish();
  if (!writer || writer->track_count() == 0) {
    writer.reset();
    output.discard();
    errors.write_report(options.output);
    throw FatalError(options.input_name + ": no track could be " + options.done_verb + " (" + std::to_string(build.skipped) + " bad, see " +
                     BatchErrors::report_path(options.output).string() + ")");
  }
  build.store_tracks = writer->track_count();
  writer->close();
  writer.reset();
  output.commit();
  build.dim = layers.front().dim;
  build.errors_file = errors.write_report(options.output);
  return build;
}

}  // namespace conceptree
