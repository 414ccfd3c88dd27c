#pragma once
// Audio to embedding store: decode, resample to 16 kHz mono, log-mel, backbone.
//   AudioEmbedder embedder(config);
//   embedder.run();
//   embedder.summary();

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "conceptree/context.hpp"
#include "conceptree/backbone.hpp"
#include "conceptree/params.hpp"
#include "conceptree/store.hpp"

namespace conceptree {

enum class Backbone { Dsp, MusicnnVgg };
template <>
inline constexpr ChoiceNames<Backbone, 2> kChoiceNames<Backbone>{{{{Backbone::Dsp, "dsp"}, {Backbone::MusicnnVgg, "musicnn-vgg"}}}};

enum class EmbedMode { Fullconv, Patch };
template <>
inline constexpr ChoiceNames<EmbedMode, 2> kChoiceNames<EmbedMode>{{{{EmbedMode::Fullconv, "fullconv"}, {EmbedMode::Patch, "patch"}}}};

struct EmbedConfig {
  std::vector<std::string> inputs{};   // audio files and folders (walked recursively)
  std::string list{};                  // TSV id<TAB>path, instead of or besides inputs
  std::string output{};                // embedding store to write
  Backbone backbone = Backbone::Dsp;
  std::string weights{};               // musicnn-vgg: Keras HDF5; empty = the weights shipped with conceptree
  std::string layer{};                 // musicnn-vgg: pool3 | pool4 | pool5 | output, or several comma-separated; empty = pool5
  EmbedMode mode = EmbedMode::Fullconv;  // musicnn-vgg
  int patch_hop_frames = 187;          // musicnn-vgg patch mode: log-mel frames between patches
  ShortClipPadding pad_short = ShortClipPadding::Repeat;  // musicnn-vgg: how a clip shorter than a 3 s patch is extended
  std::string gradients{};             // musicnn-vgg patch mode: tags whose logit gradients are written, comma-separated
  int jobs = 0;
  bool strict = false;
  bool overwrite = false;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(inputs, {.name = "inputs", .help = "audio files (wav, flac, ogg, opus, mp3, aiff) or folders walked for them; id = path relative to the folder (or file name) without extension", .positional = true});
    v(list, {.name = "list", .help = "TSV of id<TAB>path lines: the tracks to embed, with their ids"});
    v(output, {.name = "output", .help = "embedding store to write (HDF5)", .required = true, .short_name = "o"});
    v(backbone, {.name = "backbone", .help = "dsp (descriptors per second, no weights) or musicnn-vgg (the paper's CNN, weights shipped)", .short_name = "b"});
    v(weights, {.name = "weights", .help = "musicnn-vgg: MSD_vgg.h5 Keras weights (default: $CONCEPTREE_MSD_VGG, else the weights installed with conceptree)"});
    v(layer, {.name = "layer", .help = "musicnn-vgg: pool3, pool4, pool5 (default) or output (patch mode only); several, comma-separated, are written from one pass, the first being the store's default", .choices = {"pool3", "pool4", "pool5", "output"}, .choice_list = true});
    v(mode, {.name = "mode", .help = "musicnn-vgg: fullconv (whole track at once; pool5 = one frame per 64 mel frames) or patch (3 s patches, layer averaged over time)"});
    v(patch_hop_frames, {.name = "patch-hop-frames", .help = "musicnn-vgg patch mode: log-mel frames (16 ms) between patch starts", .min = 1, .max = 100000});
    v(pad_short, {.name = "pad-short", .help = "musicnn-vgg: extend a clip shorter than one 3 s patch by repeating it or with silence; it keeps the frames of its own length (at least one)"});
    v(gradients, {.name = "gradients", .help = "musicnn-vgg --mode patch: MSD tags (names from msd_tags.txt beside the weights, comma-separated) whose logit's gradient with respect to each --layer is written beside its frames as /gradients/<layer>_patch/<tag>, for conceptree tcav"});
    v(jobs, {.name = "jobs", .help = "threads, 0 = all cores", .min = 0, .max = 1024, .short_name = "j"});
    v(strict, {.name = "strict", .help = "stop at the first bad audio file (exit status 1, no output) instead of skipping it"});
    v(overwrite, {.name = "overwrite", .help = "replace the output store if it exists"});
  }
};

struct EmbedSummary {
  std::uint64_t tracks = 0;            // audio files found
  std::uint64_t embedded = 0;          // this run
  std::uint64_t already_present = 0;   // done by an interrupted run
  std::uint64_t skipped = 0;           // bad files, listed in errors_file
  std::uint64_t frames = 0;
  std::uint64_t dim = 0;
  double audio_seconds = 0;            // audio embedded by this run
  std::filesystem::path errors_file;
  double seconds = 0;
};

struct AudioFile {
  std::string id;                      // path relative to its folder without extension, or the list's id
  std::filesystem::path path;
};
// The audio files of `inputs` (files, and folders walked recursively for audio extensions) and of
// `list` (TSV id<TAB>path; relative paths relative to the list), sorted by id. Throws FatalError
// for a missing input, a bad list line, or one id naming two files; InputError for a list that
// cannot be read.
std::vector<AudioFile> find_audio_files(const std::vector<std::string>& inputs, const std::string& list);

// One audio file to frame embeddings with `config`'s backbone (backbone, weights, layer, mode,
// patch hop, pad-short): decode, resample to 16 kHz mono, log-mel, network. Thread-safe; weights
// are loaded once, at construction (FatalError when they cannot be).
class AudioFrameEmbedder {
 public:
  explicit AudioFrameEmbedder(const EmbedConfig& config);
  AudioFrameEmbedder(AudioFrameEmbedder&&) noexcept;
  ~AudioFrameEmbedder();
  // The store layers the frames are for: names and frame hops, in --layer order.
  const std::vector<StoreLayer>& layers() const;
  std::string description() const;  // provenance, e.g. "musicnn-vgg fullconv pool5"
  std::string weights() const;      // the musicnn weights file, empty for dsp
  // One matrix per layer. Throws InputError naming the file when it cannot be read, is silent,
  // or is too short for one frame.
  std::vector<FrameMatrix> embed(const std::filesystem::path& audio) const;
  // The frames, and with --gradients the gradients layer by layer in layers()[l].gradients order.
  struct Embedded {
    std::vector<FrameMatrix> frames;
    std::vector<FrameMatrix> gradients;
  };
  Embedded embed_with_gradients(const std::filesystem::path& audio) const;
  // A waveform held in memory (frames x channels interleaved, at `sample_rate` Hz), downmixed and
  // resampled as a file is; at 16 kHz mono it gives exactly the frames of a file holding the same
  // samples. Throws InputError naming `item` as embed() does.
  Embedded embed_waveform(std::span<const float> samples, std::size_t channels, double sample_rate, const std::string& item) const;
  // Seconds of audio embedded so far, by all threads.
  double audio_seconds() const;

 private:
  Embedded embed_samples(const std::vector<float>& mono_16k, const std::string& item) const;
  struct State;
  std::unique_ptr<State> state_;
};

// The embed settings that produced store layer `layer` ("dsp", "pool5", "pool4_patch"...), so
// audio can be embedded the way a concept set's frames were. Throws InputError for other names.
EmbedConfig embed_config_for_layer(const std::string& layer);

class AudioEmbedder {
 public:
  // `context` must outlive the object.
  explicit AudioEmbedder(EmbedConfig config, const Context& context = default_context());
  // Throws FatalError for bad options, no usable input, or a bad file under --strict.
  void run();
  const EmbedSummary& summary() const { return summary_; }

 private:
  EmbedConfig config_;
  const Context& context_;
  EmbedSummary summary_;
};

}  // namespace conceptree
