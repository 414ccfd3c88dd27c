#pragma once
// Fills an embedding store from any source of tracks (imported arrays, audio through a backbone):
// tracks load in parallel and are kept in source order, bad ones are skipped and listed (or stop
// the job under --strict). Each good track is appended to the progress journal OUTPUT.partial as
// it is done, and a rerun resumes from the journal, skipping the ids it holds. Once every track is
// in, the store is written from the journal in one pass and renamed into place: the same file
// however many runs it took.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "conceptree/context.hpp"
#include "conceptree/store.hpp"

namespace conceptree {

// One track's frames, one matrix per layer of the store in StoreBuildOptions::layers order.
struct LoadedTrack {
  std::vector<FrameMatrix> layers;
  std::vector<FrameMatrix> gradients{};  // layer by layer, one per StoreLayer::gradients name
};

// Tracks in a fixed order. load() throws InputError for a bad track; it may run on several
// threads at once when parallel_safe().
class TrackSource {
 public:
  virtual ~TrackSource() = default;
  virtual std::size_t size() const = 0;
  virtual const std::string& id(std::size_t index) const = 0;
  virtual LoadedTrack load(std::size_t index) const = 0;
  virtual bool parallel_safe() const { return true; }
};

struct StoreBuildOptions {
  std::filesystem::path output;
  std::string input_name;                 // names the input in messages
  std::vector<StoreLayer> layers;         // a dim of 0 is taken from the first good track
  StoreProvenance provenance;
  int compression = -1;                   // shuffle+deflate level; -1 = where it pays
  int jobs = 0;
  // Tracks loaded in parallel and held in memory at once.
  std::size_t tracks_per_batch = 256;
  bool strict = false;
  std::string progress_label;
  std::string done_verb = "stored";       // for messages: "no track could be <done_verb>"
};

struct StoreBuild {
  std::uint64_t written = 0;              // tracks added by this run
  std::uint64_t already_present = 0;      // found in the journal of an interrupted run
  std::uint64_t skipped = 0;              // bad tracks, listed in errors_file
  std::uint64_t frames = 0;               // frames of the first layer added by this run
  std::uint64_t dim = 0;                  // of the first layer
  std::uint64_t store_tracks = 0;
  std::filesystem::path errors_file;      // empty when nothing was skipped
};

// Throws FatalError when no track could be stored, or for a bad track under strict.
StoreBuild build_store(const TrackSource& source, const StoreBuildOptions& options, const Context& context);

}  // namespace conceptree
