#include "conceptree/corpus.hpp"

#include <dlfcn.h>
#include <fluidsynth.h>
#include <omp.h>
#include <sndfile.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <exception>
#include <fstream>
#include <fmt/format.h>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <tuple>
#include <type_traits>
#include <unordered_set>

#include "conceptree/atomic_file.hpp"
#include "conceptree/concepts.hpp"
#include "conceptree/error.hpp"
#include "conceptree/context.hpp"
#include "conceptree/progress.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

// fluidsynth is opened when a corpus is rendered, not linked: its audio drivers would otherwise put
// PulseAudio, JACK, SDL2, X11 and Wayland (about 50 libraries) into the start-up of every command.
struct FluidSynthLibrary {
  decltype(&::new_fluid_settings) new_fluid_settings = nullptr;
  decltype(&::delete_fluid_settings) delete_fluid_settings = nullptr;
  decltype(&::new_fluid_synth) new_fluid_synth = nullptr;
  decltype(&::delete_fluid_synth) delete_fluid_synth = nullptr;
  decltype(&::fluid_set_log_function) fluid_set_log_function = nullptr;
  decltype(&::fluid_settings_setint) fluid_settings_setint = nullptr;
  decltype(&::fluid_settings_setnum) fluid_settings_setnum = nullptr;
  decltype(&::fluid_sfont_get_preset) fluid_sfont_get_preset = nullptr;
  decltype(&::fluid_synth_add_sfont) fluid_synth_add_sfont = nullptr;
  decltype(&::fluid_synth_get_sfont_by_id) fluid_synth_get_sfont_by_id = nullptr;
  decltype(&::fluid_synth_noteoff) fluid_synth_noteoff = nullptr;
  decltype(&::fluid_synth_noteon) fluid_synth_noteon = nullptr;
  decltype(&::fluid_synth_program_change) fluid_synth_program_change = nullptr;
  decltype(&::fluid_synth_remove_sfont) fluid_synth_remove_sfont = nullptr;
  decltype(&::fluid_synth_sfload) fluid_synth_sfload = nullptr;
  decltype(&::fluid_synth_write_float) fluid_synth_write_float = nullptr;
};

const FluidSynthLibrary& fluidsynth() {
  static const FluidSynthLibrary opened = [] {
    constexpr const char* kLibrary = "libfluidsynth.so.3";
    void* handle = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      throw FatalError(fmt::format("cannot load {} ({}); install Debian's libfluidsynth3", kLibrary, dlerror()));
    }
    FluidSynthLibrary library;
    auto load = [&](auto& function, const char* name) {
      function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(dlsym(handle, name));
      if (function == nullptr) throw FatalError(fmt::format("{} has no {}", kLibrary, name));
    };
    load(library.new_fluid_settings, "new_fluid_settings");
    load(library.delete_fluid_settings, "delete_fluid_settings");
    load(library.new_fluid_synth, "new_fluid_synth");
    load(library.delete_fluid_synth, "delete_fluid_synth");
    load(library.fluid_set_log_function, "fluid_set_log_function");
    load(library.fluid_settings_setint, "fluid_settings_setint");
    load(library.fluid_settings_setnum, "fluid_settings_setnum");
    load(library.fluid_sfont_get_preset, "fluid_sfont_get_preset");
    load(library.fluid_synth_add_sfont, "fluid_synth_add_sfont");
    load(library.fluid_synth_get_sfont_by_id, "fluid_synth_get_sfont_by_id");
    load(library.fluid_synth_noteoff, "fluid_synth_noteoff");
    load(library.fluid_synth_noteon, "fluid_synth_noteon");
    load(library.fluid_synth_program_change, "fluid_synth_program_change");
    load(library.fluid_synth_remove_sfont, "fluid_synth_remove_sfont");
    load(library.fluid_synth_sfload, "fluid_synth_sfload");
    load(library.fluid_synth_write_float, "fluid_synth_write_float");
    return library;
  }();
  return opened;
}

constexpr std::string_view kBassFamily = "family:basses";

// General MIDI melodic programs whose timbres the FluidR3 SoundFont renders distinctly (channel 10's
// drum kits and the sound effects have no pitch to carry a part); ranges are where each sounds natural.
constexpr DemoInstrument kInstruments[] = {
    {"piano", "family:pianos", 0, 36, 96, false},
    {"electric_piano", "family:pianos", 4, 40, 88, false},
    {"harpsichord", "family:pianos", 6, 41, 89, false},
    {"glockenspiel", "family:chromatic_percussion", 9, 72, 108, false},
    {"vibraphone", "family:chromatic_percussion", 11, 53, 89, false},
    {"marimba", "family:chromatic_percussion", 12, 45, 96, false},
    {"drawbar_organ", "family:organs", 16, 36, 96, true},
    {"church_organ", "family:organs", 19, 36, 96, true},
    {"accordion", "family:organs", 21, 53, 89, true},
    {"nylon_guitar", "family:guitars", 24, 40, 83, false},
    {"clean_guitar", "family:guitars", 27, 40, 86, false},
    {"distortion_guitar", "family:guitars", 30, 40, 86, true},
    {"acoustic_bass", "family:basses", 32, 28, 60, false},
    {"slap_bass", "family:basses", 36, 28, 64, false},
    {"synth_bass", "family:basses", 38, 28, 64, true},
    {"violin", "family:strings", 40, 55, 96, true},
    {"cello", "family:strings", 42, 36, 76, true},
    {"harp", "family:strings", 46, 36, 96, false},
    {"trumpet", "family:brass", 56, 55, 84, true},
    {"trombone", "family:brass", 57, 40, 72, true},
    {"french_horn", "family:brass", 60, 41, 77, true},
    {"alto_sax", "family:woodwinds", 65, 49, 81, true},
    {"clarinet", "family:woodwinds", 71, 50, 91, true},
    {"flute", "family:woodwinds", 73, 60, 96, true},
};
constexpr std::size_t kInstrumentCount = std::size(kInstruments);

// The last notes stop this long before a track ends, so their release is heard rather than cut.
constexpr double kTailSeconds = 0.5;
// Peak level of every track (-1 dBFS): loudness says nothing about a concept, and nothing clips.
constexpr double kPeakLevel = 0.891;

// Which random stream of a corpus a generator draws from.
enum class Stream : std::uint64_t { TrackAttributes = 1, Score, InstrumentDeck, Playlists };

// SplitMix64's finaliser: seeds built from consecutive integers give unrelated streams.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::uint64_t stream_seed(std::uint64_t seed, Stream stream, std::uint64_t index = 0) {
  return mix(mix(mix(seed) ^ static_cast<std::uint64_t>(stream)) ^ index);
}

// Deals instruments like cards from shuffled decks of the whole palette, so every instrument plays
// in nearly the same number of tracks (independent draws could leave one below the trainer's
// minimum). A hand holds at most one instrument per family, so every ensemble mixes timbres.
class InstrumentDeck {
 public:
  explicit InstrumentDeck(std::uint64_t seed) : rng_(seed) {}

  std::vector<std::uint32_t> deal(std::size_t count) {
    std::vector<std::uint32_t> hand;
    while (hand.size() < count) {
      // Holding a whole shuffled palette guarantees a card of a family not yet in the hand.
      if (cards_.size() < kInstrumentCount) shuffle_in_a_palette();
      const auto card = std::find_if(cards_.begin(), cards_.end(), [&](std::uint32_t candidate) {
        return std::none_of(hand.begin(), hand.end(), [&](std::uint32_t held) {
          return kInstruments[held].family == kInstruments[candidate].family;
        });
      });
      hand.push_back(*card);
      cards_.erase(card);
    }
    return hand;
  }

 private:
  void shuffle_in_a_palette() {
    std::array<std::uint32_t, kInstrumentCount> palette;
    for (std::uint32_t i = 0; i < kInstrumentCount; ++i) palette[i] = i;
    std::shuffle(palette.begin(), palette.end(), rng_);
    cards_.insert(cards_.end(), palette.begin(), palette.end());
  }

  std::mt19937_64 rng_;
  std::deque<std::uint32_t> cards_;
};

// A seeded share of `matching` (ascending), as a playlist would hold: not every matching track.
std::vector<std::uint32_t> draw_playlist(const std::vector<std::uint32_t>& matching, const DemoCorpusConfig& config,
                                         std::mt19937_64& rng) {
  const auto wanted = static_cast<std::uint64_t>(std::llround(config.playlist_fraction * static_cast<double>(matching.size())));
  const std::uint64_t size = std::min({wanted, config.max_playlist_tracks, static_cast<std::uint64_t>(matching.size())});
  std::vector<std::uint32_t> playlist;
  std::sample(matching.begin(), matching.end(), std::back_inserter(playlist), size, rng);
  return playlist;
}

// ---------------------------------------------------------------------------------------------
// Scores: each track's notes, from its own random stream

constexpr std::array<int, 7> kMajorScale = {0, 2, 4, 5, 7, 9, 11};
constexpr std::array<int, 7> kMinorScale = {0, 2, 3, 5, 7, 8, 10};
constexpr int kBeatsPerBar = 4;

int floor_div(int a, int b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// Scale degrees (0 = the tonic in MIDI octave -1, 7 = an octave up) to MIDI notes.
class Harmony {
 public:
  Harmony(int key, Mode mode) : key_(key), scale_(mode == Mode::Major ? kMajorScale : kMinorScale) {}

  int note(int degree) const {
    const int octave = floor_div(degree, 7);
    return key_ + 12 * octave + scale_[static_cast<std::size_t>(degree - 7 * octave)];
  }

  int degree_near(int target_note) const {
    const int first = 7 * floor_div(target_note - key_, 12) - 1;
    int best = first;
    for (int degree = first; degree <= first + 9; ++degree)
      if (std::abs(note(degree) - target_note) < std::abs(note(best) - target_note)) best = degree;
    return best;
  }

  // `tone` moved by octaves to within three degrees of `degree`.
  static int octave_of_near(int tone, int degree) { return tone + 7 * floor_div(degree - tone + 3, 7); }

  // The degree of `chord_root`'s triad (root, third, fifth in any octave) nearest to `degree`.
  static int chord_tone_near(int degree, int chord_root) {
    int best = octave_of_near(chord_root, degree);
    for (int tone : {chord_root + 2, chord_root + 4}) {
      const int candidate = octave_of_near(tone, degree);
      if (std::abs(candidate - degree) < std::abs(best - degree)) best = candidate;
    }
    return best;
  }

 private:
  int key_;
  const std::array<int, 7>& scale_;
};

// The notes a part may use: a band of the instrument's range, low or high within it.
struct PartRange {
  int low;
  int centre;
  int high;
};

PartRange part_range(const DemoInstrument& instrument, Register register_range) {
  const double position = register_range == Register::Low ? 0.25 : 0.75;
  const int centre = static_cast<int>(std::lround(instrument.lowest_note + position * (instrument.highest_note - instrument.lowest_note)));
  return {std::max(instrument.lowest_note, centre - 7), centre, std::min(instrument.highest_note, centre + 7)};
}

struct NoteEvent {
  std::uint64_t sample;
  int channel;
  int key;
  int velocity;  // 0: note off
};

class Score {
 public:
  explicit Score(const DemoTrackPlan& track)
      : beat_samples_(kDemoSampleRate * 60.0 / track.bpm),
        last_release_(track.samples - std::min<std::uint64_t>(track.samples, std::llround(kTailSeconds * kDemoSampleRate))) {}

  double beats() const { return static_cast<double>(last_release_) / beat_samples_; }

  void note(int channel, double start_beat, double length_beats, int key, int velocity) {
    const auto start = static_cast<std::uint64_t>(std::llround(start_beat * beat_samples_));
    if (start >= last_release_) return;
    const auto end = std::min(last_release_, static_cast<std::uint64_t>(std::llround((start_beat + length_beats) * beat_samples_)));
    key = std::clamp(key, 0, 127);
    events_.push_back({start, channel, key, std::clamp(velocity, 1, 127)});
    events_.push_back({end, channel, key, 0});
  }

  // In time order; at one instant note-offs come first, so a repeated note is struck again.
  std::vector<NoteEvent> events() && {
    std::sort(events_.begin(), events_.end(), [](const NoteEvent& a, const NoteEvent& b) {
      return std::tuple(a.sample, a.velocity != 0, a.channel, a.key) < std::tuple(b.sample, b.velocity != 0, b.channel, b.key);
    });
    return std::move(events_);
  }

 private:
  double beat_samples_;
  std::uint64_t last_release_;
  std::vector<NoteEvent> events_;
};

int uniform_int(std::mt19937_64& rng, int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng); }

template <class T, std::size_t N>
const T& pick_weighted(std::mt19937_64& rng, const std::array<T, N>& choices, const std::array<double, N>& weights) {
  std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
  return choices[pick(rng)];
}

// The part's chord tones of `chord_root` nearest its centre, low to high: a close voicing.
std::vector<int> voice_chord(const Harmony& harmony, int chord_root, const PartRange& range) {
  std::vector<int> notes;
  const int centre_degree = harmony.degree_near(range.centre);
  for (int tone : {chord_root, chord_root + 2, chord_root + 4}) notes.push_back(harmony.note(Harmony::octave_of_near(tone, centre_degree)));
  std::sort(notes.begin(), notes.end());
  return notes;
}

struct PartContext {
  Score& score;
  const Harmony& harmony;
  const std::array<int, 4>& progression;  // chord root degree of each bar, repeating
  Tempo tempo;
  std::mt19937_64& rng;
  int chord_root_at(double beat) const { return progression[static_cast<std::size_t>(beat / kBeatsPerBar) % progression.size()]; }
};

// A stepwise tune that lands on a chord tone at each bar line.
void write_melody(PartContext& part, int channel, const DemoInstrument& instrument, const PartRange& range) {
  using Cell = std::vector<double>;
  static const std::array<Cell, 6> cells = {Cell{1}, Cell{0.5, 0.5}, Cell{2}, Cell{1.5, 0.5}, Cell{0.5, 0.5, 1}, Cell{1, 1}};
  // Slow tunes move in shorter notes, fast ones in longer, so both sound like melodies.
  const std::array<double, 6> weights = part.tempo == Tempo::Slow ? std::array<double, 6>{3, 4, 1, 2, 3, 2}
                                                                  : std::array<double, 6>{3, 1, 3, 2, 1, 3};
  static const std::array<int, 7> steps = {-3, -2, -1, 0, 1, 2, 3};
  static const std::array<double, 7> step_weights = {1, 3, 6, 2, 6, 3, 1};
  const double legato = instrument.sustained ? 0.92 : 0.8;
  const int low_degree = part.harmony.degree_near(range.low);
  const int high_degree = part.harmony.degree_near(range.high);
  int degree = part.harmony.degree_near(range.centre);
  double beat = 0;
  while (beat < part.score.beats()) {
    for (double length : pick_weighted(part.rng, cells, weights)) {
      const bool bar_line = std::fmod(beat, kBeatsPerBar) == 0;
      degree = bar_line ? Harmony::chord_tone_near(degree, part.chord_root_at(beat)) : degree + pick_weighted(part.rng, steps, step_weights);
      if (degree > high_degree) degree -= 2 * (degree - high_degree);
      if (degree < low_degree) degree += 2 * (low_degree - degree);
      // Only short rests: a lone instrument resting for beats leaves frames that show no instrument.
      const bool rest = !bar_line && length <= 0.5 && uniform_int(part.rng, 0, 5) == 0;
      if (!rest) part.score.note(channel, beat, length * legato, part.harmony.note(degree), 84 + (bar_line ? 14 : 0) + uniform_int(part.rng, -8, 8));
      beat += length;
    }
  }
}

// Block chords, one per bar: held by sustained instruments, struck twice a bar by the others.
void write_chords(PartContext& part, int channel, const DemoInstrument& instrument, const PartRange& range) {
  const double strike_beats = instrument.sustained ? kBeatsPerBar : kBeatsPerBar / 2.0;
  for (double beat = 0; beat < part.score.beats(); beat += strike_beats) {
    const int velocity = 64 + uniform_int(part.rng, -4, 6);
    for (int note : voice_chord(part.harmony, part.chord_root_at(beat), range)) part.score.note(channel, beat, strike_beats - 0.1, note, velocity);
  }
}

// The bar's chord broken into a repeating figure over four notes (the triad and the root an octave up,
// or down when up is past the instrument's range): eighths when slow, quarters when fast.
void write_arpeggio(PartContext& part, int channel, const DemoInstrument& instrument, const PartRange& range) {
  using Figure = std::vector<std::size_t>;
  static const std::array<Figure, 3> figures = {Figure{0, 1, 2, 3}, Figure{0, 1, 2, 3, 2, 1}, Figure{0, 2, 1, 3}};
  const Figure& figure = figures[static_cast<std::size_t>(uniform_int(part.rng, 0, 2))];
  const double step = part.tempo == Tempo::Slow ? 0.5 : 1.0;
  const double legato = instrument.sustained ? 0.95 : 0.9;
  std::size_t position = 0;
  for (double beat = 0; beat < part.score.beats(); beat += step, ++position) {
    std::vector<int> tones = voice_chord(part.harmony, part.chord_root_at(beat), range);
    tones.push_back(tones.front() + 12 <= instrument.highest_note ? tones.front() + 12 : tones.back() - 12);
    part.score.note(channel, beat, step * legato, tones[figure[position % figure.size()]], 62 + uniform_int(part.rng, -4, 8));
  }
}

// Roots and fifths under the chords.
void write_bass(PartContext& part, int channel, const DemoInstrument& instrument, const PartRange& range) {
  struct Hit {
    double beat;
    double length;
    int degree_above_root;  // 4 = the fifth, 7 = the octave
  };
  using Pattern = std::vector<Hit>;
  static const std::array<Pattern, 2> slow_patterns = {Pattern{{0, 4, 0}}, Pattern{{0, 2, 0}, {2, 2, 4}}};
  static const std::array<Pattern, 2> fast_patterns = {Pattern{{0, 1, 0}, {1, 1, 0}, {2, 1, 4}, {3, 1, 7}},
                                                       Pattern{{0, 1.5, 0}, {1.5, 0.5, 0}, {2, 2, 4}}};
  const auto& patterns = part.tempo == Tempo::Slow ? slow_patterns : fast_patterns;
  const Pattern& pattern = patterns[static_cast<std::size_t>(uniform_int(part.rng, 0, 1))];
  const double legato = instrument.sustained ? 0.9 : 0.95;
  const int centre_degree = part.harmony.degree_near(range.centre);
  for (double bar = 0; bar < part.score.beats(); bar += kBeatsPerBar) {
    const int root_degree = Harmony::octave_of_near(part.chord_root_at(bar), centre_degree);
    for (const Hit& hit : pattern) {
      part.score.note(channel, bar + hit.beat, hit.length * legato, part.harmony.note(root_degree + hit.degree_above_root),
                      92 + uniform_int(part.rng, -6, 6));
    }
  }
}

// Channel i plays the track's i-th instrument (never channel 10, General MIDI's drums).
std::vector<NoteEvent> compose(const DemoTrackPlan& track) {
  std::mt19937_64 rng(track.score_seed);
  static const std::array<std::array<int, 4>, 4> major_progressions = {{{0, 4, 5, 3}, {0, 3, 4, 0}, {0, 5, 3, 4}, {0, 3, 0, 4}}};
  static const std::array<std::array<int, 4>, 4> minor_progressions = {{{0, 5, 2, 6}, {0, 3, 4, 0}, {0, 6, 5, 6}, {0, 3, 6, 2}}};
  const auto& progressions = track.mode == Mode::Major ? major_progressions : minor_progressions;
  const auto& progression = progressions[static_cast<std::size_t>(uniform_int(rng, 0, 3))];
  const Harmony harmony(track.key, track.mode);
  Score score(track);
  PartContext part{score, harmony, progression, track.tempo, rng};
  int upper_parts = 0;  // melody first, then chords, then an arpeggio
  for (std::size_t channel = 0; channel < track.instruments.size(); ++channel) {
    const DemoInstrument& instrument = kInstruments[track.instruments[channel]];
    const PartRange range = part_range(instrument, track.register_range);
    const int midi_channel = static_cast<int>(channel);
    if (instrument.family == kBassFamily) {
      write_bass(part, midi_channel, instrument, range);
      continue;
    }
    switch (upper_parts++) {
      case 0: write_melody(part, midi_channel, instrument, range); break;
      case 1: write_chords(part, midi_channel, instrument, range); break;
      default: write_arpeggio(part, midi_channel, instrument, range); break;
    }
  }
  return std::move(score).events();
}

// ---------------------------------------------------------------------------------------------
// Rendering with fluidsynth

// The last error fluidsynth reported on this thread, to explain the failure that follows it.
thread_local std::string last_fluidsynth_error;
// Set while fluidsynth warns about something expected (see remove_soundfont).
thread_local bool expected_fluidsynth_warnings = false;

// fluidsynth prints to stderr by default; its errors explain our exceptions instead, each distinct
// unexpected warning is kept to be shown once through the job's context, and its chatter is
// dropped. (fluidsynth's log functions are process-wide and take no job, hence the shared list.)
std::mutex fluidsynth_warnings_mutex;
std::set<std::string> fluidsynth_warnings_seen;
std::vector<std::string> fluidsynth_warnings_unshown;

void route_fluidsynth_message(int level, const char* message, void*) {
  if (level == FLUID_PANIC || level == FLUID_ERR) {
    last_fluidsynth_error = message;
  } else if (level == FLUID_WARN && !expected_fluidsynth_warnings) {
    const std::lock_guard lock(fluidsynth_warnings_mutex);
    if (fluidsynth_warnings_seen.insert(message).second) fluidsynth_warnings_unshown.emplace_back(message);
  }
}

void show_fluidsynth_warnings(const Context& context) {
  const std::lock_guard lock(fluidsynth_warnings_mutex);
  for (const auto& warning : fluidsynth_warnings_unshown) context.warning("fluidsynth: " + warning);
  fluidsynth_warnings_unshown.clear();
}

void route_fluidsynth_log() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int level : {FLUID_PANIC, FLUID_ERR, FLUID_WARN, FLUID_INFO, FLUID_DBG}) fluidsynth().fluid_set_log_function(level, route_fluidsynth_message, nullptr);
  });
}

std::string fluidsynth_problem(const std::string& what) {
  return last_fluidsynth_error.empty() ? what : what + ": " + last_fluidsynth_error;
}

struct SettingsDeleter {
  void operator()(fluid_settings_t* settings) const { fluidsynth().delete_fluid_settings(settings); }
};
struct SynthDeleter {
  void operator()(fluid_synth_t* synth) const { fluidsynth().delete_fluid_synth(synth); }
};
using SynthPointer = std::unique_ptr<fluid_synth_t, SynthDeleter>;

// SoundFont 2 is a RIFF file of form "sfbk". Checked before fluidsynth sees the file: on anything
// else it tries its DLS loader, which prints assertion failures to stderr.
void check_soundfont_header(const fs::path& soundfont) {
  std::ifstream stream(soundfont, std::ios::binary);
  std::array<char, 12> header{};
  stream.read(header.data(), header.size());
  if (!stream) throw InputError(soundfont.string(), "cannot read it, or too short to be a SoundFont");
  if (std::string_view(header.data(), 4) != "RIFF" || std::string_view(header.data() + 8, 4) != "sfbk") {
    throw InputError(soundfont.string(), "not a SoundFont 2 (.sf2) file");
  }
}

// Takes a SoundFont out of a synthesiser without deleting it. fluidsynth warns that the channels lost
// their presets, which is the point.
void remove_soundfont(fluid_synth_t* synth, fluid_sfont_t* sfont) {
  expected_fluidsynth_warnings = true;
  fluidsynth().fluid_synth_remove_sfont(synth, sfont);
  expected_fluidsynth_warnings = false;
}

// Lends a SoundFont to a synthesiser for one track: deleting a synthesiser deletes the SoundFonts it
// holds, so the loan ends first.
class SoundFontLoan {
 public:
  SoundFontLoan(fluid_synth_t* synth, fluid_sfont_t* sfont) : synth_(synth), sfont_(sfont) {
    if (fluidsynth().fluid_synth_add_sfont(synth_, sfont_) == FLUID_FAILED) throw FatalError(fluidsynth_problem("fluidsynth cannot use the SoundFont"));
  }
  SoundFontLoan(const SoundFontLoan&) = delete;
  SoundFontLoan& operator=(const SoundFontLoan&) = delete;
  ~SoundFontLoan() { remove_soundfont(synth_, sfont_); }

 private:
  fluid_synth_t* synth_;
  fluid_sfont_t* sfont_;
};

// Renders tracks on one thread: the SoundFont is loaded once, and each track gets a fresh
// synthesiser. A reused one carries state from earlier notes (a recycled voice ramps its gain from
// the last value it had), so a track's bytes would depend on which tracks the thread rendered before.
class TrackRenderer {
 public:
  explicit TrackRenderer(const fs::path& soundfont) {
    route_fluidsynth_log();
    settings_.reset(fluidsynth().new_fluid_settings());
    if (!settings_) throw FatalError("fluidsynth: cannot create its settings");
    set_number("synth.sample-rate", kDemoSampleRate);
    set_integer("synth.cpu-cores", 1);           // conceptree runs one synthesiser per thread instead
    set_integer("synth.threadsafe-api", 0);      // each synthesiser stays on its thread
    set_integer("synth.reverb.active", 0);       // dry: the instruments, not a room
    set_integer("synth.chorus.active", 0);
    set_integer("synth.lock-memory", 0);         // locking the SoundFont's samples in RAM needs privileges
    // The densest tracks sound under 100 voices at once (stereo samples, release tails); a smaller
    // pool than the default 256 is cheaper to allocate for every track, and no voice is stolen.
    set_integer("synth.polyphony", 128);
    // Keeps the SoundFont's loader alive; fluidsynth's sample cache shares the samples between threads.
    loader_ = new_synth();
    last_fluidsynth_error.clear();
    const int id = fluidsynth().fluid_synth_sfload(loader_.get(), soundfont.c_str(), 0);
    if (id == FLUID_FAILED) throw InputError(soundfont.string(), fluidsynth_problem("fluidsynth cannot load it as a SoundFont"));
    sfont_ = fluidsynth().fluid_synth_get_sfont_by_id(loader_.get(), id);
    for (const DemoInstrument& instrument : kInstruments) {
      if (fluidsynth().fluid_sfont_get_preset(sfont_, 0, instrument.program) == nullptr) {
        throw InputError(soundfont.string(), fmt::format("has no General MIDI program {} ({}) in bank 0; use a General MIDI "
                                                         "SoundFont such as FluidR3_GM.sf2 (Debian: fluid-soundfont-gm)",
                                                         instrument.program + 1, instrument.id));
      }
    }
    remove_soundfont(loader_.get(), sfont_);
  }
  TrackRenderer(const TrackRenderer&) = delete;
  TrackRenderer& operator=(const TrackRenderer&) = delete;
  // Given back to its loader, which deletes it with itself.
  ~TrackRenderer() { fluidsynth().fluid_synth_add_sfont(loader_.get(), sfont_); }

  // The track as mono samples at kDemoSampleRate, valid until the next call.
  std::span<const float> render(const DemoTrackPlan& track, const std::vector<NoteEvent>& events) {
    const SynthPointer synth = new_synth();
    const SoundFontLoan loan(synth.get(), sfont_);
    for (std::size_t channel = 0; channel < track.instruments.size(); ++channel) {
      const int program = kInstruments[track.instruments[channel]].program;
      if (fluidsynth().fluid_synth_program_change(synth.get(), static_cast<int>(channel), program) != FLUID_OK) {
        throw FatalError(fluidsynth_problem(fmt::format("{}: fluidsynth cannot select program {}", track.id, program + 1)));
      }
    }
    // Kept between tracks: buffers this size are fresh pages from the kernel each time otherwise.
    left_.resize(track.samples);
    right_.resize(track.samples);
    // Renders samples [from, to) between events.
    auto write = [&](std::uint64_t from, std::uint64_t to) {
      if (to <= from) return;
      const int offset = static_cast<int>(from);
      if (fluidsynth().fluid_synth_write_float(synth.get(), static_cast<int>(to - from), left_.data(), offset, 1, right_.data(), offset, 1) != FLUID_OK) {
        throw FatalError(fluidsynth_problem(track.id + ": fluidsynth cannot render"));
      }
    };
    std::uint64_t rendered = 0;
    for (const NoteEvent& event : events) {
      write(rendered, event.sample);
      rendered = std::max(rendered, event.sample);
      if (event.velocity > 0) {
        if (fluidsynth().fluid_synth_noteon(synth.get(), event.channel, event.key, event.velocity) != FLUID_OK) {
          throw FatalError(fluidsynth_problem(fmt::format("{}: fluidsynth cannot start note {}", track.id, event.key)));
        }
      } else {
        // Fails only for a note already gone (stolen by a newer one): nothing to stop.
        fluidsynth().fluid_synth_noteoff(synth.get(), event.channel, event.key);
      }
    }
    write(rendered, track.samples);
    for (std::size_t i = 0; i < left_.size(); ++i) left_[i] = 0.5f * (left_[i] + right_[i]);
    return left_;
  }

 private:
  SynthPointer new_synth() const {
    SynthPointer synth(fluidsynth().new_fluid_synth(settings_.get()));
    if (!synth) throw FatalError(fluidsynth_problem("fluidsynth: cannot create a synthesiser"));
    return synth;
  }
  void set_number(const char* name, double value) {
    if (fluidsynth().fluid_settings_setnum(settings_.get(), name, value) != FLUID_OK) throw FatalError(fmt::format("fluidsynth: cannot set {}", name));
  }
  void set_integer(const char* name, int value) {
    if (fluidsynth().fluid_settings_setint(settings_.get(), name, value) != FLUID_OK) throw FatalError(fmt::format("fluidsynth: cannot set {}", name));
  }

  std::unique_ptr<fluid_settings_t, SettingsDeleter> settings_;
  SynthPointer loader_;
  fluid_sfont_t* sfont_ = nullptr;  // held by loader_ until loaded, then lent to one synthesiser per track
  std::vector<float> left_;
  std::vector<float> right_;
};

// 16-bit PCM, peak-normalised: the quantisation is done here so the bytes do not depend on
// libsndfile's float conversion settings.
void write_wav(const fs::path& path, const std::string& track_id, std::span<const float> samples) {
  float peak = 0;
  for (float sample : samples) peak = std::max(peak, std::abs(sample));
  if (!(peak > 1e-6f)) throw FatalError(track_id + ": fluidsynth rendered silence; is the SoundFont a General MIDI one?");
  const double scale = kPeakLevel * 32767.0 / peak;

  AtomicOutput output(path);
  SF_INFO info{};
  info.samplerate = kDemoSampleRate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* file = sf_open(output.temp_path().c_str(), SFM_WRITE, &info);
  if (file == nullptr) throw FatalError(fmt::format("{}: cannot write: {}", path.string(), sf_strerror(nullptr)));
  std::array<short, 4096> pcm;
  bool written = true;
  for (std::size_t start = 0; start < samples.size() && written; start += pcm.size()) {
    const std::size_t count = std::min(pcm.size(), samples.size() - start);
    for (std::size_t i = 0; i < count; ++i) pcm[i] = static_cast<short>(std::lrint(samples[start + i] * scale));
    written = sf_write_short(file, pcm.data(), static_cast<sf_count_t>(count)) == static_cast<sf_count_t>(count);
  }
  const std::string write_problem = sf_strerror(file);
  if (sf_close(file) != 0 || !written) throw FatalError(fmt::format("{}: cannot write: {}", path.string(), write_problem));
  output.commit();
}

constexpr std::array<std::string_view, 12> kKeyNames = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};

// A concept without tracks (possible in a tiny corpus) is still declared, by a line with no track.
std::string memberships_table(const DemoCorpusPlan& plan) {
  std::string table = "concept\ttrack\ttype\n";
  for (const DemoConcept& concept_entry : plan.concepts) {
    if (concept_entry.tracks.empty()) table += fmt::format("{}\t\t{}\n", concept_entry.name, concept_entry.type);
    for (std::uint32_t track : concept_entry.tracks) table += fmt::format("{}\t{}\t{}\n", concept_entry.name, plan.tracks[track].id, concept_entry.type);
  }
  return table;
}

std::string truth_table(const DemoCorpusPlan& plan) {
  std::string table = "child\tparent\n";
  for (const auto& [child, parent] : plan.truth) table += fmt::format("{}\t{}\n", child, parent);
  return table;
}

std::string tracks_table(const DemoCorpusPlan& plan) {
  std::string table = "track\tseconds\tinstruments\ttempo\tbpm\tregister\tmode\tkey\n";
  for (const DemoTrackPlan& track : plan.tracks) {
    std::vector<std::string_view> instruments;
    for (std::uint32_t instrument : track.instruments) instruments.push_back(kInstruments[instrument].id);
    table += fmt::format("{}\t{:.3f}\t{}\t{}\t{}\t{}\t{}\t{}\n", track.id, static_cast<double>(track.samples) / kDemoSampleRate,
                         fmt::join(instruments, ","), name_of(track.tempo), track.bpm, name_of(track.register_range),
                         name_of(track.mode), kKeyNames[static_cast<std::size_t>(track.key)]);
  }
  return table;
}

// The output folder must be new or empty unless the user agreed to replace what it holds.
void prepare_output_folder(const fs::path& folder, bool overwrite) {
  if (!fs::exists(folder)) return;
  if (!fs::is_directory(folder)) throw FatalError(folder.string() + ": exists and is not a folder");
  if (!fs::is_empty(folder)) refuse_to_overwrite(folder, overwrite);
}

// Warns when a corpus is too small (or its playlists too large) for conceptree train's defaults.
void warn_about_concept_sizes(const DemoCorpusPlan& plan, const Context& context) {
  const TrainConfig trainer_defaults;
  std::vector<std::string> outside;
  for (const DemoConcept& concept_entry : plan.concepts) {
    if (concept_entry.tracks.size() < trainer_defaults.min_tracks || concept_entry.tracks.size() > trainer_defaults.max_tracks) {
      outside.push_back(fmt::format("{} ({})", concept_entry.name, concept_entry.tracks.size()));
    }
  }
  if (outside.empty()) return;
  const std::size_t named = std::min<std::size_t>(outside.size(), 6);
  context.warning(fmt::format("{} of {} concepts hold fewer than {} or more than {} tracks, so conceptree train would skip them at "
                          "its defaults: {}{}",
                          outside.size(), plan.concepts.size(), trainer_defaults.min_tracks, trainer_defaults.max_tracks,
                          fmt::join(outside.begin(), outside.begin() + static_cast<std::ptrdiff_t>(named), ", "),
                          named < outside.size() ? ", ..." : ""));
}

// A plan needs every parameter but the output folder.
class PlanParamValidator {
 public:
  template <class T>
  void operator()(const T& value, const ParamSpec& spec) const {
    if (std::string_view(spec.name) != "output") ParamValidator{}(value, spec);
  }
};

}  // namespace

std::span<const DemoInstrument> demo_instruments() { return kInstruments; }

std::string_view name_of(Tempo tempo) { return tempo == Tempo::Slow ? "slow" : "fast"; }
std::string_view name_of(Register register_range) { return register_range == Register::Low ? "low" : "high"; }
std::string_view name_of(Mode mode) { return mode == Mode::Major ? "major" : "minor"; }

DemoCorpusPlan plan_demo_corpus(const DemoCorpusConfig& config) {
  DemoCorpusConfig checked = config;
  checked.visit(PlanParamValidator{});
  if (config.min_seconds > config.max_seconds) {
    throw FatalError(fmt::format("--min-seconds {} exceeds --max-seconds {}", config.min_seconds, config.max_seconds));
  }
  DemoCorpusPlan plan;
  InstrumentDeck deck(stream_seed(config.seed, Stream::InstrumentDeck));
  for (std::uint64_t index = 0; index < config.tracks; ++index) {
    // A track's own stream: its character does not depend on how many tracks come after it.
    std::mt19937_64 rng(stream_seed(config.seed, Stream::TrackAttributes, index));
    DemoTrackPlan track;
    track.id = fmt::format("t{:04}", index);
    const double seconds = std::uniform_real_distribution<double>(config.min_seconds, config.max_seconds)(rng);
    track.samples = static_cast<std::uint64_t>(std::llround(seconds * kDemoSampleRate));
    track.tempo = std::bernoulli_distribution(0.5)(rng) ? Tempo::Fast : Tempo::Slow;
    track.bpm = track.tempo == Tempo::Slow ? uniform_int(rng, 60, 85) : uniform_int(rng, 130, 170);
    track.register_range = std::bernoulli_distribution(0.5)(rng) ? Register::High : Register::Low;
    track.mode = std::bernoulli_distribution(0.5)(rng) ? Mode::Minor : Mode::Major;
    track.key = uniform_int(rng, 0, 11);
    const std::size_t ensemble_size = 1 + std::discrete_distribution<std::size_t>({3, 4, 3})(rng);
    track.instruments = deck.deal(ensemble_size);
    track.score_seed = stream_seed(config.seed, Stream::Score, index);
    plan.tracks.push_back(std::move(track));
  }

  std::vector<std::vector<std::uint32_t>> tracks_of_instrument(kInstrumentCount);
  for (std::uint32_t t = 0; t < plan.tracks.size(); ++t)
    for (std::uint32_t instrument : plan.tracks[t].instruments) tracks_of_instrument[instrument].push_back(t);
  for (std::size_t i = 0; i < kInstrumentCount; ++i) {
    plan.concepts.push_back({std::string(kInstruments[i].id), "instrument", tracks_of_instrument[i]});
    plan.truth.emplace_back(kInstruments[i].id, kInstruments[i].family);
  }

  std::mt19937_64 playlist_rng(stream_seed(config.seed, Stream::Playlists));
  std::vector<std::string_view> families;
  for (const DemoInstrument& instrument : kInstruments)
    if (std::find(families.begin(), families.end(), instrument.family) == families.end()) families.push_back(instrument.family);
  for (std::string_view family : families) {
    std::vector<std::uint32_t> featuring;
    for (std::uint32_t t = 0; t < plan.tracks.size(); ++t) {
      const auto& instruments = plan.tracks[t].instruments;
      if (std::any_of(instruments.begin(), instruments.end(), [&](std::uint32_t i) { return kInstruments[i].family == family; })) featuring.push_back(t);
    }
    plan.concepts.push_back({std::string(family), "family", draw_playlist(featuring, config, playlist_rng)});
  }

  auto add_attribute_concept = [&](const std::string& type, std::string_view value, auto&& matches) {
    std::vector<std::uint32_t> matching;
    for (std::uint32_t t = 0; t < plan.tracks.size(); ++t)
      if (matches(plan.tracks[t])) matching.push_back(t);
    plan.concepts.push_back({fmt::format("{}:{}", type, value), type, draw_playlist(matching, config, playlist_rng)});
  };
  for (Tempo tempo : {Tempo::Slow, Tempo::Fast})
    add_attribute_concept("tempo", name_of(tempo), [&](const DemoTrackPlan& track) { return track.tempo == tempo; });
  for (Register register_range : {Register::Low, Register::High})
    add_attribute_concept("register", name_of(register_range), [&](const DemoTrackPlan& track) { return track.register_range == register_range; });
  for (Mode mode : {Mode::Major, Mode::Minor})
    add_attribute_concept("mode", name_of(mode), [&](const DemoTrackPlan& track) { return track.mode == mode; });
  return plan;
}

DemoCorpus::DemoCorpus(DemoCorpusConfig config, const Context& context) : config_(std::move(config)), context_(context) {}

void DemoCorpus::run() {
  const auto started = std::chrono::steady_clock::now();
  validate(config_);
  summary_ = {};
  const fs::path folder(config_.output);
  prepare_output_folder(folder, config_.overwrite);
  const fs::path soundfont(config_.soundfont);
  if (!fs::is_regular_file(soundfont)) {
    throw InputError(soundfont.string(), "SoundFont not found; install fluid-soundfont-gm (apt-get install fluid-soundfont-gm) or pass --soundfont FILE.sf2");
  }
  check_soundfont_header(soundfont);
  const DemoCorpusPlan plan = plan_demo_corpus(config_);
  warn_about_concept_sizes(plan, context_);

  const int threads = static_cast<int>(std::min<std::uint64_t>(config_.jobs > 0 ? config_.jobs : omp_get_max_threads(), plan.tracks.size()));
  std::vector<std::unique_ptr<TrackRenderer>> renderers(static_cast<std::size_t>(threads));
  // Loaded once before the others: a bad SoundFont is reported once, and fluidsynth's sample
  // cache then lets the other threads share the samples instead of reading them again.
  renderers[0] = std::make_unique<TrackRenderer>(soundfont);

  summary_.audio = folder / "audio";
  summary_.memberships = folder / "memberships.tsv";
  summary_.truth = folder / "truth.tsv";
  summary_.tracks_table = folder / "tracks.tsv";
  fs::create_directories(summary_.audio);
  // memberships.tsv is written last and marks a finished corpus: an interrupted overwrite must not
  // leave the old one beside new audio.
  fs::remove(summary_.memberships);
  std::unordered_set<std::string> planned_files;
  for (const DemoTrackPlan& track : plan.tracks) planned_files.insert(track.id + ".wav");
  for (const auto& entry : fs::directory_iterator(summary_.audio)) {
    if (entry.path().extension() == ".wav" && !planned_files.contains(entry.path().filename().string())) fs::remove(entry.path());
  }

  Progress progress(context_, "corpus", plan.tracks.size());
  std::vector<std::exception_ptr> failures(plan.tracks.size() + static_cast<std::size_t>(threads));
  std::atomic<bool> failed{false};
#pragma omp parallel num_threads(threads)
  {
    const auto thread = static_cast<std::size_t>(omp_get_thread_num());
    try {
      if (!renderers[thread]) renderers[thread] = std::make_unique<TrackRenderer>(soundfont);
    } catch (...) {
      // An exception must not leave an OpenMP region; rethrown below.
      failures[plan.tracks.size() + thread] = std::current_exception();
      failed = true;
    }
#pragma omp for schedule(dynamic)
    for (std::size_t t = 0; t < plan.tracks.size(); ++t) {
      if (failed) continue;
      try {
        const DemoTrackPlan& track = plan.tracks[t];
        write_wav(summary_.audio / (track.id + ".wav"), track.id, renderers[thread]->render(track, compose(track)));
      } catch (...) {
        failures[t] = std::current_exception();
        failed = true;
      }
      progress.advance();
    }
  }
  show_fluidsynth_warnings(context_);
  for (const auto& failure : failures)
    if (failure) std::rethrow_exception(failure);
  progress.finish();

  write_file_atomically(summary_.truth, truth_table(plan));
  write_file_atomically(summary_.tracks_table, tracks_table(plan));
  write_file_atomically(summary_.memberships, memberships_table(plan));

  summary_.tracks = plan.tracks.size();
  summary_.concepts = plan.concepts.size();
  for (const DemoConcept& concept_entry : plan.concepts) summary_.memberships_count += concept_entry.tracks.size();
  for (const DemoTrackPlan& track : plan.tracks) summary_.audio_seconds += static_cast<double>(track.samples) / kDemoSampleRate;
  summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace conceptree
