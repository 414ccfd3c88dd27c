#pragma once
// The demo's labelled audio corpus: short ensemble pieces of General MIDI instruments rendered with
// fluidsynth, and concepts over them whose hierarchy is known (each instrument under its family),
// beside flat concepts that cut across it (tempo, register, mode). Real audio with a known answer,
// for trying the whole pipeline from wav files to a hierarchy.
//   DemoCorpus corpus(config);
//   corpus.run();
//   corpus.summary().memberships;
// The corpus is planned first (plan_demo_corpus: a pure function of the config) and then rendered,
// so the plan can be inspected and tested without synthesising any audio.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conceptree/context.hpp"
#include "conceptree/params.hpp"

namespace conceptree {

inline constexpr int kDemoSampleRate = 16000;

struct DemoCorpusConfig {
  std::string output{};                // folder to write
  std::uint64_t tracks = 640;
  std::uint64_t seed = 0;
  std::string soundfont = "/usr/share/sounds/sf2/FluidR3_GM.sf2";
  double min_seconds = 8;              // track durations are drawn uniformly in [min, max]
  double max_seconds = 10;
  double playlist_fraction = 0.85;     // share of the matching tracks a family/tempo/register/mode concept holds
  std::uint64_t max_playlist_tracks = 200;
  int jobs = 0;
  bool overwrite = false;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(output, {.name = "output", .help = "folder to write the corpus into (audio/, memberships.tsv, truth.tsv, tracks.tsv)", .required = true, .short_name = "o"});
    v(tracks, {.name = "tracks", .help = "number of tracks", .min = 1, .max = 100000});
    v(seed, {.name = "seed", .help = "random seed; same seed, same files"});
    v(soundfont, {.name = "soundfont", .help = "General MIDI SoundFont (.sf2) to render with (Debian: fluid-soundfont-gm)"});
    v(min_seconds, {.name = "min-seconds", .help = "shortest track, in seconds", .min = 1, .max = 600});
    v(max_seconds, {.name = "max-seconds", .help = "longest track, in seconds", .min = 1, .max = 600});
    v(playlist_fraction, {.name = "playlist-fraction", .help = "share of the matching tracks drawn into each family, tempo, register and mode concept", .min = 0.01, .max = 1});
    v(max_playlist_tracks, {.name = "max-playlist-tracks", .help = "largest family, tempo, register or mode concept, in tracks", .min = 1, .max = 1e8});
    v(jobs, {.name = "jobs", .help = "threads, 0 = all cores", .min = 0, .max = 1024, .short_name = "j"});
    v(overwrite, {.name = "overwrite", .help = "write into a folder that already holds files"});
  }
};

// One instrument of the palette: a General MIDI melodic program and the notes it plays well.
struct DemoInstrument {
  std::string_view id;      // concept name, e.g. "violin"
  std::string_view family;  // family concept, e.g. "family:strings"
  int program;              // General MIDI program, 0-based
  int lowest_note;          // MIDI note range its parts stay within
  int highest_note;
  bool sustained;           // holds a note (organ, violin) rather than letting it decay (piano, marimba)
};

// 8 families of 3 instruments, in the order their concepts are written.
std::span<const DemoInstrument> demo_instruments();

enum class Tempo { Slow, Fast };
enum class Register { Low, High };
enum class Mode { Major, Minor };

std::string_view name_of(Tempo tempo);
std::string_view name_of(Register register_range);
std::string_view name_of(Mode mode);

struct DemoTrackPlan {
  std::string id;                           // "t0000"
  std::uint64_t samples = 0;                // duration at kDemoSampleRate
  std::vector<std::uint32_t> instruments;   // indices into demo_instruments(), at most one per family
  Tempo tempo = Tempo::Slow;
  double bpm = 0;
  Register register_range = Register::Low;
  Mode mode = Mode::Major;
  int key = 0;                              // pitch class of the tonic, 0 = C
  std::uint64_t score_seed = 0;             // the track's own random stream for its notes
};

struct DemoConcept {
  std::string name;
  std::string type;                    // instrument, family, tempo, register, mode
  std::vector<std::uint32_t> tracks;   // indices into DemoCorpusPlan::tracks, ascending
};

struct DemoCorpusPlan {
  std::vector<DemoTrackPlan> tracks;
  std::vector<DemoConcept> concepts;
  std::vector<std::pair<std::string, std::string>> truth;  // (instrument, family)
};

// What the corpus holds, from the config alone (validated; throws FatalError for bad values).
DemoCorpusPlan plan_demo_corpus(const DemoCorpusConfig& config);

struct DemoCorpusSummary {
  std::filesystem::path audio;          // folder of <track>.wav
  std::filesystem::path memberships;    // concept<TAB>track<TAB>type
  std::filesystem::path truth;          // child<TAB>parent: instrument -> family
  std::filesystem::path tracks_table;   // tracks.tsv: what each track holds
  std::uint64_t tracks = 0;
  std::uint64_t concepts = 0;
  std::uint64_t memberships_count = 0;
  double audio_seconds = 0;
  double seconds = 0;                   // wall time of run()
};

class DemoCorpus {
 public:
  // `context` must outlive the object.
  explicit DemoCorpus(DemoCorpusConfig config, const Context& context = default_context());
  // Throws InputError for a missing or unusable SoundFont, FatalError for bad options or an
  // output folder that already holds files (unless overwrite).
  void run();
  const DemoCorpusSummary& summary() const { return summary_; }

 private:
  DemoCorpusConfig config_;
  const Context& context_;
  DemoCorpusSummary summary_;
};

}  // namespace conceptree
