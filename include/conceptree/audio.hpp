#pragma once
// Audio input: decoding (libsndfile: wav, flac, ogg/vorbis, opus, mp3), downmix to mono and
// resampling (libsoxr, high quality) to the rate a backbone expects.
//   AudioReader reader(path, 16000);
//   while (reader.read(block, 16000 * 30)) consume(block);
// Long files are read block by block, so memory stays bounded.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace conceptree {

struct AudioInfo {
  double source_rate = 0;          // Hz of the file
  int channels = 0;
  std::uint64_t source_frames = 0; // samples per channel in the file (0 when unknown; for mp3 an
                                   // estimate: the decoder drops encoder padding, so fewer may come)
  std::string format;              // libsndfile's name of the container/codec, e.g. "MPEG-1/2 Audio"
};

class AudioReader {
 public:
  // Opens `path` and prepares mono output at `target_rate` Hz. Throws InputError naming the file
  // for a missing, unreadable, unsupported or empty file.
  AudioReader(const std::filesystem::path& path, double target_rate);
  AudioReader(AudioReader&&) noexcept;
  AudioReader& operator=(AudioReader&&) noexcept;
  ~AudioReader();

  const AudioInfo& info() const;
  // Replaces `out` with up to `max_samples` mono samples at the target rate; false at the end.
  // Throws InputError for a file that turns out corrupt part way, or holds NaN/Inf.
  bool read(std::vector<float>& out, std::size_t max_samples);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The whole file as mono samples at `target_rate` (for short clips and tests).
std::vector<float> read_audio(const std::filesystem::path& path, double target_rate);

// What conceptree accepts of any audio, from a file or held in memory: a header declaring a
// 1 Hz rate or 10,000 channels is damage, not music. Samples are nominally within [-1, 1]; some
// tools write float files at integer scale (±32768), so only magnitudes no audio has are refused,
// before they overflow the spectrum to Inf.
inline constexpr double kMinSampleRate = 1000;
inline constexpr double kMaxSampleRate = 768000;
inline constexpr int kMaxChannels = 256;
inline constexpr float kMaxSampleMagnitude = 1e6f;

// A waveform held in memory as mono samples at `target_rate`, downmixed and resampled as a file
// is: `samples` holds frames x `channels` values, interleaved, at `source_rate` Hz. Throws
// InputError naming `item` for no samples, a non-finite or absurd sample, a rate outside
// [kMinSampleRate, kMaxSampleRate] or more than kMaxChannels channels.
std::vector<float> waveform_to_mono(std::span<const float> samples, std::size_t channels, double source_rate, double target_rate,
                                    const std::string& item);

}  // namespace conceptree
