#include "conceptree/audio.hpp"

#include <fmt/format.h>
#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <system_error>

#include "conceptree/error.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

// Source frames decoded per libsndfile call: large enough to amortise the call, small enough that
// a many-channel file stays a few MB in flight.
constexpr sf_count_t kBlockFrames = 16384;

std::string major_format_name(int format) {
  SF_FORMAT_INFO format_info{};
  format_info.format = format & SF_FORMAT_TYPEMASK;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &format_info, sizeof(format_info)) == 0 && format_info.name) {
    return format_info.name;
  }
  return fmt::format("format 0x{:x}", format);
}

// libsndfile reads a wav or aiff whose data chunk runs past the end of the file without complaint,
// noting only "data : N (should be M)" in its log. A cut-off download or copy looks exactly like
// that, so treat it as corrupt, except for the all-ones sizes that streaming writers leave behind.
std::string truncation_problem(SNDFILE* file) {
  std::string log(16384, '\0');
  sf_command(file, SFC_GET_LOG_INFO, log.data(), static_cast<int>(log.size()));
  log.resize(log.find('\0'));
  std::size_t line_start = 0;
  while (line_start < log.size()) {
    std::size_t line_end = log.find('\n', line_start);
    if (line_end == std::string::npos) line_end = log.size();
    const std::string line = log.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    const std::size_t key_start = line.find_first_not_of(' ');
    if (key_start == std::string::npos) continue;
    const bool data_chunk = line.compare(key_start, 7, "data : ") == 0 || line.compare(key_start, 7, "SSND : ") == 0;
    if (!data_chunk) continue;
    unsigned long long declared = 0;
    unsigned long long present = 0;
    if (std::sscanf(line.c_str() + key_start + 7, "%llu (should be %llu)", &declared, &present) != 2) continue;
    if (declared > present && declared < 0x7fffffffULL) {
      return fmt::format("truncated: the header promises {} bytes of audio data, the file holds {}", declared, present);
    }
  }
  return {};
}

void check_stream_shape(const std::string& item, double rate, std::size_t channels) {
  if (channels == 0 || channels > static_cast<std::size_t>(kMaxChannels)) {
    throw InputError(item, fmt::format("{} channels (conceptree reads 1 to {})", channels, kMaxChannels));
  }
  if (!(rate >= kMinSampleRate && rate <= kMaxSampleRate)) {
    throw InputError(item, fmt::format("sample rate {} Hz is outside [{}, {}] Hz", rate, kMinSampleRate, kMaxSampleRate));
  }
}

void check_sample(const std::string& item, float value, std::uint64_t frame, std::size_t channel) {
  if (std::isfinite(value) && std::abs(value) <= kMaxSampleMagnitude) return;
  const std::string what = std::isnan(value) ? "a NaN sample" : std::isinf(value) ? "an infinite sample" : fmt::format("a sample of {:g}", value);
  throw InputError(item, fmt::format("{} at frame {}, channel {}", what, frame, channel));
}

}  // namespace

struct AudioReader::State {
  std::string item;  // the path as the user gave it, for messages
  AudioInfo info;
  double target_rate = 0;
  SNDFILE* file = nullptr;
  soxr_t resampler = nullptr;

  std::vector<float> interleaved;  // one decoded block, all channels
  std::vector<float> mono;         // the block downmixed; resampler input not yet consumed
  std::size_t mono_pos = 0;
  bool input_done = false;   // libsndfile has nothing more
  bool output_done = false;  // the resampler is flushed too
  std::uint64_t frames_read = 0;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  ~State() {
    if (resampler) soxr_delete(resampler);
    if (file) sf_close(file);
  }

  // Decodes the next block into `mono`; false at the end of the file.
  bool decode_block(sf_count_t max_frames) {
    mono.clear();
    mono_pos = 0;
    if (input_done) return false;
    const auto channels = static_cast<std::size_t>(info.channels);
    interleaved.resize(static_cast<std::size_t>(max_frames) * channels);
    const sf_count_t got = sf_readf_float(file, interleaved.data(), max_frames);
    // libsndfile reports a decoder failure only through sf_error, with a short read.
    if (sf_error(file) != SF_ERR_NO_ERROR) {
      throw InputError(item, fmt::format("corrupt audio after {} frames: {}", frames_read, sf_strerror(file)));
    }
    if (got <= 0) {
      input_done = true;
      if (frames_read == 0) throw InputError(item, "holds no audio samples");
      return false;
    }
    const auto frames = static_cast<std::size_t>(got);
    mono.resize(frames);
    for (std::size_t f = 0; f < frames; ++f) {
      const float* frame = interleaved.data() + f * channels;
      float sum = 0;
      for (std::size_t c = 0; c < channels; ++c) {
        check_sample(item, frame[c], frames_read + f, c);
        sum += frame[c];
      }
      mono[f] = channels == 1 ? sum : sum / static_cast<float>(channels);
    }
    frames_read += frames;
    return true;
  }
};

AudioReader::AudioReader(const fs::path& path, double target_rate) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.item = path.string();
  if (!(target_rate > 0) || !std::isfinite(target_rate)) {
    throw FatalError(fmt::format("{}: target sample rate {} Hz is not a positive number", s.item, target_rate));
  }
  s.target_rate = target_rate;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw InputError(s.item, "no such file");
  if (fs::is_directory(status)) throw InputError(s.item, "is a directory, not an audio file");
  if (fs::is_regular_file(status) && fs::file_size(path, ec) == 0 && !ec) throw InputError(s.item, "empty file (0 bytes)");

  SF_INFO sf_info{};
  s.file = sf_open(path.c_str(), SFM_READ, &sf_info);
  // libsndfile's own words can mislead (a text file named .mp3 gets "File does not exist or is not
  // a regular file"), so say what went wrong first and quote it after.
  if (!s.file) throw InputError(s.item, fmt::format("cannot decode as audio (libsndfile: {})", sf_strerror(nullptr)));
  s.info.source_rate = sf_info.samplerate;
  s.info.channels = sf_info.channels;
  // libsndfile uses SF_COUNT_MAX for a length it cannot know (e.g. a stream).
  s.info.source_frames = sf_info.frames > 0 && sf_info.frames < SF_COUNT_MAX ? static_cast<std::uint64_t>(sf_info.frames) : 0;
  s.info.format = major_format_name(sf_info.format);
  check_stream_shape(s.item, sf_info.samplerate, sf_info.channels < 0 ? 0 : static_cast<std::size_t>(sf_info.channels));
  if (sf_info.frames == 0) throw InputError(s.item, "holds no audio samples");
  if (std::string problem = truncation_problem(s.file); !problem.empty()) throw InputError(s.item, problem);

  if (s.info.source_rate != target_rate) {
    const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
    // Callers parallelise over files; one thread per resampler keeps that from oversubscribing.
    const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);
    soxr_error_t error = nullptr;
    s.resampler = soxr_create(s.info.source_rate, target_rate, 1, &error, &io, &quality, &runtime);
    if (error || !s.resampler) {
      throw InputError(s.item, fmt::format("cannot resample {} Hz to {} Hz: {}", s.info.source_rate, target_rate,
                                           error ? error : "soxr_create failed"));
    }
  }
}

AudioReader::AudioReader(AudioReader&&) noexcept = default;
AudioReader& AudioReader::operator=(AudioReader&&) noexcept = default;
AudioReader::~AudioReader() = default;

const AudioInfo& AudioReader::info() const { return state_->info; }

bool AudioReader::read(std::vector<float>& out, std::size_t max_samples) {
  State& s = *state_;
  out.clear();
  if (max_samples == 0 || s.output_done) return false;
  // Grown as samples come rather than sized to max_samples, so "read everything" can be asked for
  // with a huge max_samples.
  constexpr std::size_t kOutputChunk = 1 << 16;

  if (!s.resampler) {
    while (out.size() < max_samples) {
      if (s.mono_pos == s.mono.size() && !s.decode_block(kBlockFrames)) {
        s.output_done = true;
        break;
      }
      const std::size_t n = std::min(max_samples - out.size(), s.mono.size() - s.mono_pos);
      const auto first = s.mono.begin() + static_cast<std::ptrdiff_t>(s.mono_pos);
      out.insert(out.end(), first, first + static_cast<std::ptrdiff_t>(n));
      s.mono_pos += n;
    }
  } else {
    while (out.size() < max_samples) {
      if (s.mono_pos == s.mono.size() && !s.input_done) s.decode_block(kBlockFrames);
      const bool flushing = s.mono_pos == s.mono.size();
      const std::size_t filled = out.size();
      const std::size_t space = std::min(max_samples - filled, kOutputChunk);
      out.resize(filled + space);
      std::size_t consumed = 0;
      std::size_t produced = 0;
      // A null input tells soxr the stream has ended, so it releases the samples its filter holds back.
      const soxr_error_t error = soxr_process(s.resampler, flushing ? nullptr : s.mono.data() + s.mono_pos,
                                              flushing ? 0 : s.mono.size() - s.mono_pos, &consumed, out.data() + filled,
                                              space, &produced);
      out.resize(filled + produced);
      if (error) throw InputError(s.item, fmt::format("resampling failed: {}", error));
      s.mono_pos += consumed;
      if (flushing && produced == 0) {
        s.output_done = true;
        break;
      }
    }
  }
  return !out.empty();
}

std::vector<float> waveform_to_mono(std::span<const float> samples, std::size_t channels, double source_rate, double target_rate,
                                    const std::string& item) {
  check_stream_shape(item, source_rate, channels);
  if (samples.size() % channels != 0) throw InputError(item, fmt::format("{} values are not whole frames of {} channels", samples.size(), channels));
  const std::size_t frames = samples.size() / channels;
  if (frames == 0) throw InputError(item, "holds no audio samples");
  std::vector<float> mono(frames);
  for (std::size_t f = 0; f < frames; ++f) {
    float sum = 0;
    for (std::size_t c = 0; c < channels; ++c) {
      const float value = samples[f * channels + c];
      check_sample(item, value, f, c);
      sum += value;
    }
    mono[f] = channels == 1 ? sum : sum / static_cast<float>(channels);
  }
  if (source_rate == target_rate) return mono;
  // The same filter the file reader streams through, over the whole waveform at once.
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);
  std::vector<float> out(static_cast<std::size_t>(std::ceil(static_cast<double>(frames) * target_rate / source_rate)) + 64);
  std::size_t produced = 0;
  const soxr_error_t error = soxr_oneshot(source_rate, target_rate, 1, mono.data(), frames, nullptr, out.data(), out.size(), &produced, &io,
                                          &quality, &runtime);
  if (error) throw InputError(item, fmt::format("cannot resample {} Hz to {} Hz: {}", source_rate, target_rate, error));
  out.resize(produced);
  return out;
}

std::vector<float> read_audio(const fs::path& path, double target_rate) {
  AudioReader reader(path, target_rate);
  std::vector<float> all;
  if (reader.info().source_frames > 0) {
    const double expected = static_cast<double>(reader.info().source_frames) * target_rate / reader.info().source_rate;
    all.reserve(static_cast<std::size_t>(expected) + 64);
  }
  std::vector<float> block;
  while (reader.read(block, 1 << 16)) all.insert(all.end(), block.begin(), block.end());
  return all;
}

}  // namespace conceptree
