#include "conceptree/embed.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "conceptree/audio.hpp"
#include "conceptree/backbone.hpp"
#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"
#include "conceptree/context.hpp"
#include "conceptree/logmel.hpp"
#include "conceptree/strings.hpp"
#include "conceptree/text_list.hpp"
#include "ingest/store_builder.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

// Below this peak (-120 dBFS) a file holds nothing a backbone could describe.
constexpr float kSilencePeak = 1e-6f;
const std::set<std::string> kAudioExtensions = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff"};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

std::vector<AudioFile> find_audio_files(const std::vector<std::string>& inputs, const std::string& list) {
  std::vector<AudioFile> items;
  for (const auto& input : inputs) {
    const fs::path root(input);
    if (fs::is_directory(root)) {
      for (const auto& entry : fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink)) {
        if (!entry.is_regular_file() || !kAudioExtensions.contains(lower(entry.path().extension().string()))) continue;
        items.push_back({fs::relative(entry.path(), root).replace_extension().generic_string(), entry.path()});
      }
    } else if (fs::exists(root)) {
      items.push_back({root.stem().string(), root});
    } else {
      throw FatalError(fmt::format("{}: no such file or folder", input));
    }
  }
  if (!list.empty()) {
    for_each_tsv_line(list, [&](const TsvLine& line) {
      const std::string& id = line.fields[0];
      fs::path path = line.text_from(1);
      if (id.empty() || path.empty()) throw FatalError(fmt::format("{}: expected id<TAB>path", line.where()));
      // Relative paths in a list are relative to the list, so the list can travel with its audio.
      if (path.is_relative()) path = fs::path(list).parent_path() / path;
      items.push_back({id, path});
    });
  }
  // Sorted by id, so the store's order does not depend on the file system's.
  std::sort(items.begin(), items.end(), [](const AudioFile& a, const AudioFile& b) { return a.id < b.id; });
  for (std::size_t i = 1; i < items.size(); ++i) {
    if (items[i].id == items[i - 1].id) {
      throw FatalError(fmt::format("track id '{}' names two files: {} and {}", items[i].id, items[i - 1].path.string(), items[i].path.string()));
    }
  }
  if (items.empty()) throw FatalError(fmt::format("no audio files found (looked for {})", fmt::join(kAudioExtensions, " ")));
  return items;
}

namespace {

// How a backbone is set up for one run, and what its frames mean.
struct BackboneSetup {
  std::vector<std::string> network_layers;  // musicnn-vgg layers, in the order asked for
  std::vector<std::string> gradient_tags;   // --gradients, ascending (the store's order)
  std::vector<StoreLayer> store_layers;     // the store's layer names and frame hops, same order
  std::string description;                  // provenance
};

double seconds_of_mel_frames(double frames) { return frames * kLogMelHop / kLogMelSampleRate; }

BackboneSetup describe_backbone(const EmbedConfig& config) {
  if (config.backbone == Backbone::Dsp) {
    return {{}, {}, {{.name = "dsp", .frame_hop_seconds = seconds_of_mel_frames(DspDescriptor::kFramesPerDescriptor)}}, "dsp descriptors"};
  }
  BackboneSetup setup;
  setup.network_layers = config.layer.empty() ? std::vector<std::string>{"pool5"} : split(config.layer, ',');
  for (std::size_t i = 0; i < setup.network_layers.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (setup.network_layers[i] == setup.network_layers[j]) throw FatalError(fmt::format("--layer names {} twice", setup.network_layers[i]));
  const std::string layers = fmt::format("{}", fmt::join(setup.network_layers, ","));
  if (!config.gradients.empty()) {
    if (config.mode != EmbedMode::Patch) throw FatalError("--gradients needs --mode patch: a gradient belongs to one 3 s patch's logits");
    setup.gradient_tags = split(config.gradients, ',');
    std::sort(setup.gradient_tags.begin(), setup.gradient_tags.end());
    if (std::adjacent_find(setup.gradient_tags.begin(), setup.gradient_tags.end()) != setup.gradient_tags.end())
      throw FatalError("--gradients names a tag twice");
    if (std::find(setup.network_layers.begin(), setup.network_layers.end(), "output") != setup.network_layers.end())
      throw FatalError("--gradients are taken with respect to pool3..pool5; drop 'output' from --layer");
  }
  if (config.mode == EmbedMode::Patch) {
    for (const auto& layer : setup.network_layers)
      setup.store_layers.push_back({.name = layer + "_patch", .frame_hop_seconds = seconds_of_mel_frames(config.patch_hop_frames),
                                    .gradients = setup.gradient_tags});
    setup.description = fmt::format("musicnn-vgg patch {} every {} frames", layers, config.patch_hop_frames);
    if (!setup.gradient_tags.empty()) setup.description += fmt::format(", gradients of {}", fmt::join(setup.gradient_tags, ","));
    return setup;
  }
  for (const auto& layer : setup.network_layers) {
    if (layer == "output") throw FatalError("--layer output needs --mode patch (the dense layer sees one 3 s patch)");
    const int stride = layer == "pool3" ? 8 : layer == "pool4" ? 16 : MusicnnVgg::kFramesPerPool5Frame;
    setup.store_layers.push_back({.name = layer, .frame_hop_seconds = seconds_of_mel_frames(stride)});
  }
  setup.description = fmt::format("musicnn-vgg fullconv {}", layers);
  return setup;
}

class AudioSource : public TrackSource {
 public:
  AudioSource(std::vector<AudioFile> items, const AudioFrameEmbedder& embedder) : items_(std::move(items)), embedder_(embedder) {}

  std::size_t size() const override { return items_.size(); }
  const std::string& id(std::size_t index) const override { return items_[index].id; }
  LoadedTrack load(std::size_t index) const override {
    auto embedded = embedder_.embed_with_gradients(items_[index].path);
    return {std::move(embedded.frames), std::move(embedded.gradients)};
  }

 private:
  std::vector<AudioFile> items_;
  const AudioFrameEmbedder& embedder_;
};

}  // namespace

struct AudioFrameEmbedder::State {
  EmbedConfig config;
  BackboneSetup setup;
  std::optional<MusicnnVgg> vgg;
  fs::path weights;
  std::vector<int> gradient_logits;  // index of each setup.gradient_tags in the network's output
  ShortClipPadding padding = ShortClipPadding::Repeat;
  LogMel logmel;
  DspDescriptor dsp;
  std::atomic<std::uint64_t> samples{0};
};

AudioFrameEmbedder::AudioFrameEmbedder(const EmbedConfig& config) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.config = config;
  s.setup = describe_backbone(config);
  s.padding = config.pad_short;
  if (config.backbone == Backbone::MusicnnVgg) {
    try {
      s.weights = config.weights.empty() ? shipped_musicnn_weights() : fs::path(config.weights);
      s.vgg = MusicnnVgg::load(s.weights);
    } catch (const InputError& error) {
      throw FatalError(error.what());
    }
    if (!s.setup.gradient_tags.empty()) {
      const std::vector<std::string> tags = musicnn_tag_names(s.weights);
      for (const auto& tag : s.setup.gradient_tags) {
        const auto found = std::find(tags.begin(), tags.end(), tag);
        if (found == tags.end()) throw FatalError(fmt::format("--gradients: '{}' is not one of musicnn-vgg's tags ({})", tag, fmt::join(tags, ", ")));
        s.gradient_logits.push_back(static_cast<int>(found - tags.begin()));
      }
    }
  }
}

AudioFrameEmbedder::AudioFrameEmbedder(AudioFrameEmbedder&&) noexcept = default;
AudioFrameEmbedder::~AudioFrameEmbedder() = default;
const std::vector<StoreLayer>& AudioFrameEmbedder::layers() const { return state_->setup.store_layers; }
std::string AudioFrameEmbedder::description() const { return state_->setup.description; }
std::string AudioFrameEmbedder::weights() const { return state_->weights.string(); }
double AudioFrameEmbedder::audio_seconds() const { return static_cast<double>(state_->samples.load()) / kLogMelSampleRate; }

std::vector<FrameMatrix> AudioFrameEmbedder::embed(const fs::path& audio) const { return embed_with_gradients(audio).frames; }

AudioFrameEmbedder::Embedded AudioFrameEmbedder::embed_with_gradients(const fs::path& audio) const {
  return embed_samples(read_audio(audio, kLogMelSampleRate), audio.string());
}

AudioFrameEmbedder::Embedded AudioFrameEmbedder::embed_waveform(std::span<const float> samples, std::size_t channels, double sample_rate,
                                                                const std::string& item) const {
  return embed_samples(waveform_to_mono(samples, channels, sample_rate, kLogMelSampleRate, item), item);
}

AudioFrameEmbedder::Embedded AudioFrameEmbedder::embed_samples(const std::vector<float>& samples, const std::string& item) const {
  const State& s = *state_;
  float peak = 0;
  for (float sample : samples) peak = std::max(peak, std::fabs(sample));
  if (peak < kSilencePeak) throw InputError(item, "silent (peak below -120 dBFS)");
  state_->samples += samples.size();
  const FrameMatrix logmel = s.logmel.compute(samples);
  std::vector<FrameMatrix> layers;
  std::vector<FrameMatrix> gradients;
  if (!s.vgg) {
    layers.push_back(s.dsp.compute(logmel));
  } else if (!s.gradient_logits.empty()) {
    auto computed = s.vgg->patch_gradients(logmel, s.setup.network_layers, s.gradient_logits, s.config.patch_hop_frames, s.padding);
    layers = std::move(computed.frames);
    gradients = std::move(computed.gradients);
  } else if (s.config.mode == EmbedMode::Patch) {
    layers = s.vgg->patches(logmel, s.setup.network_layers, s.config.patch_hop_frames, s.padding);
  } else {
    layers = s.vgg->fullconv(logmel, s.setup.network_layers, MusicnnVgg::kMaxChunkFrames, s.padding);
  }
  for (const auto& frames : layers)
    if (frames.rows == 0) throw InputError(item, "too short for one embedding frame");
  return {std::move(layers), std::move(gradients)};
}

EmbedConfig embed_config_for_layer(const std::string& layer) {
  EmbedConfig config;
  std::string network_layer = layer;
  if (layer.ends_with("_patch")) {
    config.mode = EmbedMode::Patch;
    network_layer = layer.substr(0, layer.size() - std::string_view("_patch").size());
  }
  if (layer == "dsp") return config;
  for (const char* known : {"pool3", "pool4", "pool5", "output"}) {
    if (network_layer == known && (network_layer != "output" || config.mode == EmbedMode::Patch)) {
      config.backbone = Backbone::MusicnnVgg;
      config.layer = network_layer;
      return config;
    }
  }
  throw InputError(layer, "not a layer conceptree embed writes (dsp, pool3..pool5, or <layer>_patch); embed the audio yourself and pass --embeddings");
}

AudioEmbedder::AudioEmbedder(EmbedConfig config, const Context& context) : config_(std::move(config)), context_(context) {}

void AudioEmbedder::run() {
  validate(config_);
  const auto started = std::chrono::steady_clock::now();
  summary_ = {};
  if (config_.inputs.empty() && config_.list.empty()) throw FatalError("give audio files or folders, or --list");
  refuse_to_overwrite(config_.output, config_.overwrite);
  const AudioFrameEmbedder embedder(config_);
  if (!embedder.weights().empty()) context_.info("musicnn-vgg weights: " + embedder.weights());
  std::vector<AudioFile> items = find_audio_files(config_.inputs, config_.list);
  summary_.tracks = items.size();
  std::vector<std::string> sources;
  for (const auto& input : config_.inputs) sources.push_back(fs::absolute(input).string());
  if (!config_.list.empty()) sources.push_back(fmt::format("--list {}", fs::absolute(config_.list).string()));

  const AudioSource source(std::move(items), embedder);
  StoreBuildOptions options;
  options.output = config_.output;
  options.input_name = "audio";
  options.layers = embedder.layers();
  options.provenance.backbone = choice_name(config_.backbone);
  options.provenance.source = fmt::format("{} of {}", embedder.description(), fmt::join(sources, " "));
  options.provenance.sample_rate = kLogMelSampleRate;
  options.provenance.frame_hop_seconds = embedder.layers().front().frame_hop_seconds;
  options.jobs = config_.jobs;
  // Audio tracks are heavy to load: enough per batch to keep 16 cores busy, few enough to keep
  // memory small.
  options.tracks_per_batch = 32;
  options.strict = config_.strict;
  options.progress_label = "embed";
  options.done_verb = "embedded";
  const StoreBuild build = build_store(source, options, context_);
  summary_.embedded = build.written;
  summary_.already_present = build.already_present;
  summary_.skipped = build.skipped;
  summary_.frames = build.frames;
  summary_.dim = build.dim;
  summary_.errors_file = build.errors_file;
  summary_.audio_seconds = embedder.audio_seconds();
  if (context_.job_ranks().distributed()) {
    // Every rank decoded its own share of the audio; rank 0 reports the whole.
    std::int64_t audio_milliseconds = std::llround(summary_.audio_seconds * 1000);
    context_.job_ranks().sum_at_root(std::span<std::int64_t>(&audio_milliseconds, 1));
    summary_.audio_seconds = static_cast<double>(audio_milliseconds) / 1000;
  }
  summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace conceptree
