// AudioReader: decoding, downmix, resampling with libsoxr, block reading and the errors a user
// sees for files that are missing, empty, truncated, mislabelled or hold NaN.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sndfile.h>

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "conceptree/audio.hpp"
#include "conceptree/error.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::input_error_from;
using testing::run_cli;
using testing::ScratchDir;
using testing::quoted_args;

// Writes interleaved `samples` with libsndfile; float wav by default, so values survive exactly.
void write_wav(const fs::path& path, int rate, int channels, const std::vector<float>& samples,
               int format = SF_FORMAT_WAV | SF_FORMAT_FLOAT) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(file, nullptr) << sf_strerror(nullptr);
  // Float wavs carry a PEAK chunk that libsndfile fills from the data; NaN must reach the file as is.
  sf_command(file, SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);
  const auto frames = static_cast<sf_count_t>(samples.size() / static_cast<std::size_t>(channels));
  ASSERT_EQ(sf_writef_float(file, samples.data(), frames), frames);
  sf_close(file);
}

std::vector<float> sine(double rate, double hz, double amplitude, std::size_t count) {
  std::vector<float> samples(count);
  for (std::size_t i = 0; i < count; ++i) {
    samples[i] = static_cast<float>(amplitude * std::sin(2 * std::numbers::pi * hz * static_cast<double>(i) / rate));
  }
  return samples;
}

std::vector<float> noise(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-0.9f, 0.9f);
  std::vector<float> samples(count);
  for (auto& s : samples) s = uniform(rng);
  return samples;
}

std::vector<std::uint32_t> bits_of(const std::vector<float>& values) {
  std::vector<std::uint32_t> bits;
  bits.reserve(values.size());
  for (float value : values) bits.push_back(std::bit_cast<std::uint32_t>(value));
  return bits;
}

double rms(const float* begin, const float* end) {
  double sum = 0;
  for (const float* p = begin; p != end; ++p) sum += static_cast<double>(*p) * *p;
  return std::sqrt(sum / static_cast<double>(end - begin));
}

// ---------------------------------------------------------------------------------------------
// Real clips

TEST(AudioReader, RealMp3ClipsDecodeToThirtySecondsAt16k) {
  const fs::path folder = testing::test_data() / "audio";
  int clips = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() != ".mp3") continue;
    ++clips;
    SCOPED_TRACE(entry.path().string());
    AudioReader reader(entry.path(), 16000);
    const AudioInfo info = reader.info();
    EXPECT_THAT(info.format, HasSubstr("MPEG"));
    ASSERT_GT(info.source_frames, 0u);
    std::vector<float> all;
    std::vector<float> block;
    while (reader.read(block, 48000)) all.insert(all.end(), block.begin(), block.end());
    // The clips are 30 s previews, give or take an mp3 frame.
    EXPECT_GT(all.size(), 29u * 16000);
    EXPECT_LT(all.size(), 31u * 16000);
    // For mp3 libsndfile's frame count is an estimate from the stream (joram: 468340 announced,
    // 465984 decoded once the encoder's padding is dropped).
    EXPECT_NEAR(static_cast<double>(all.size()), static_cast<double>(info.source_frames) * 16000.0 / info.source_rate,
                0.01 * static_cast<double>(all.size()));
    // Resampling keeps the duration: output length = decoded length x rate ratio, to within a sample.
    const std::vector<float> native = read_audio(entry.path(), info.source_rate);
    EXPECT_NEAR(static_cast<double>(all.size()), static_cast<double>(native.size()) * 16000.0 / info.source_rate, 1.0)
        << info.source_rate << " Hz, " << info.channels << " channels";
    const auto [lowest, highest] = std::minmax_element(all.begin(), all.end());
    EXPECT_GE(*lowest, -1.5f);
    EXPECT_LE(*highest, 1.5f);
    EXPECT_GT(rms(all.data(), all.data() + all.size()), 0.01) << "music, not silence";
  }
  EXPECT_EQ(clips, 2);
}

// ---------------------------------------------------------------------------------------------
// Resampling, downmix, pass-through

TEST(AudioReader, ResamplingKeepsFrequencyAndAmplitude) {
  ScratchDir dir;
  const fs::path path = dir / "sine44k.wav";
  const double hz = 1000;
  const double amplitude = 0.5;
  write_wav(path, 44100, 1, sine(44100, hz, amplitude, 44100 * 2));
  const std::vector<float> out = read_audio(path, 16000);
  ASSERT_NEAR(static_cast<double>(out.size()), 32000.0, 1.0);

  // soxr's filter is linear phase and it removes its own delay, so away from the edges (where the
  // file starts and stops abruptly) the output is the same sine sampled at 16 kHz.
  const std::size_t margin = 1600;
  double worst = 0;
  for (std::size_t i = margin; i + margin < out.size(); ++i) {
    const double ideal = amplitude * std::sin(2 * std::numbers::pi * hz * static_cast<double>(i) / 16000);
    worst = std::max(worst, std::abs(out[i] - ideal));
  }
  EXPECT_LT(worst, 1e-3);

  // Independently of the phase: zero crossings give the frequency, the RMS the amplitude.
  int crossings = 0;
  std::size_t first = 0;
  std::size_t last = 0;
  for (std::size_t i = margin + 1; i + margin < out.size(); ++i) {
    if ((out[i - 1] < 0) != (out[i] < 0)) {
      if (crossings == 0) first = i;
      last = i;
      ++crossings;
    }
  }
  const double measured_hz = (crossings - 1) / 2.0 / (static_cast<double>(last - first) / 16000);
  EXPECT_NEAR(measured_hz, hz, 1.0);
  EXPECT_NEAR(rms(out.data() + margin, out.data() + out.size() - margin) * std::numbers::sqrt2, amplitude, 1e-3);
}

TEST(AudioReader, ResamplingRemovesToneAboveTargetNyquist) {
  ScratchDir dir;
  const fs::path path = dir / "tone10k.wav";
  // 10 kHz cannot exist at 16 kHz; without an anti-alias filter it would fold to 6 kHz.
  write_wav(path, 44100, 1, sine(44100, 10000, 0.5, 44100));
  const std::vector<float> out = read_audio(path, 16000);
  ASSERT_GT(out.size(), 4000u);
  EXPECT_LT(rms(out.data() + 1600, out.data() + out.size() - 1600), 1e-4);
}

TEST(AudioReader, StereoIsDownmixedToTheChannelMean) {
  ScratchDir dir;
  const fs::path path = dir / "stereo.wav";
  const std::vector<float> left = noise(5000, 1);
  const std::vector<float> right = noise(5000, 2);
  std::vector<float> interleaved;
  for (std::size_t i = 0; i < left.size(); ++i) {
    interleaved.push_back(left[i]);
    interleaved.push_back(right[i]);
  }
  write_wav(path, 16000, 2, interleaved);
  AudioReader reader(path, 16000);
  EXPECT_EQ(reader.info().channels, 2);
  EXPECT_EQ(reader.info().source_frames, 5000u);
  const std::vector<float> out = read_audio(path, 16000);
  ASSERT_EQ(out.size(), left.size());
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], (left[i] + right[i]) / 2) << "sample " << i;
}

TEST(AudioReader, EqualRatesPassSamplesThroughUntouched) {
  ScratchDir dir;
  const fs::path path = dir / "noise16k.wav";
  const std::vector<float> samples = noise(20000, 3);
  write_wav(path, 16000, 1, samples);
  EXPECT_EQ(bits_of(read_audio(path, 16000)), bits_of(samples));

  // 16-bit PCM comes back as libsndfile's usual value / 32768.
  const fs::path pcm = dir / "pcm16.wav";
  std::vector<short> integers(samples.size());
  std::vector<float> expected(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    integers[i] = static_cast<short>(std::lround(samples[i] * 32767.0f));
    expected[i] = static_cast<float>(integers[i]) / 32768.0f;
  }
  SF_INFO info{};
  info.samplerate = 16000;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* file = sf_open(pcm.c_str(), SFM_WRITE, &info);
  ASSERT_NE(file, nullptr) << sf_strerror(nullptr);
  ASSERT_EQ(sf_writef_short(file, integers.data(), static_cast<sf_count_t>(integers.size())),
            static_cast<sf_count_t>(integers.size()));
  sf_close(file);
  EXPECT_EQ(bits_of(read_audio(pcm, 16000)), bits_of(expected));
}

// ---------------------------------------------------------------------------------------------
// Compressed formats

// Amplitude of the `hz` component of `samples`, phase-free so that codec delay does not matter.
double tone_amplitude(const std::vector<float>& samples, double rate, double hz) {
  double in_phase = 0;
  double quadrature = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const double angle = 2 * std::numbers::pi * hz * static_cast<double>(i) / rate;
    in_phase += samples[i] * std::cos(angle);
    quadrature += samples[i] * std::sin(angle);
  }
  return 2 * std::hypot(in_phase, quadrature) / static_cast<double>(samples.size());
}

TEST(AudioReader, CompressedFormatsDecodeToTheToneWritten) {
  struct Container {
    const char* file;
    int format;
    int rate;
    const char* format_name;
  };
  const Container containers[] = {
      {"tone.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, "FLAC"},
      {"tone.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, "OGG"},
      {"tone.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, "OGG"},
      {"tone.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, "MPEG"},
  };
  ScratchDir dir;
  const double seconds = 3;
  const double amplitude = 0.5;
  for (const Container& container : containers) {
    SCOPED_TRACE(container.file);
    const auto frames = static_cast<std::size_t>(seconds * container.rate);
    const std::vector<float> mono = sine(container.rate, 440, amplitude, frames);
    std::vector<float> stereo(2 * frames);
    for (std::size_t i = 0; i < frames; ++i) stereo[2 * i] = stereo[2 * i + 1] = mono[i];
    const fs::path path = dir / container.file;
    write_wav(path, container.rate, 2, stereo, container.format);

    const AudioInfo info = AudioReader(path, 16000).info();
    EXPECT_THAT(info.format, HasSubstr(container.format_name));
    EXPECT_EQ(info.channels, 2);
    EXPECT_DOUBLE_EQ(info.source_rate, container.rate);

    const std::vector<float> decoded = read_audio(path, 16000);
    // Lossy codecs pad to whole codec frames: allow 2 %.
    EXPECT_NEAR(static_cast<double>(decoded.size()), seconds * 16000, 0.02 * seconds * 16000);
    EXPECT_NEAR(tone_amplitude(decoded, 16000, 440), amplitude, 0.05);
    EXPECT_LT(tone_amplitude(decoded, 16000, 1000), 0.01) << "nothing but the tone";
  }
}

// ---------------------------------------------------------------------------------------------
// Block reading

std::vector<float> read_in_blocks(const fs::path& path, double rate, const std::vector<std::size_t>& sizes) {
  AudioReader reader(path, rate);
  std::vector<float> all;
  std::vector<float> block;
  for (std::size_t call = 0;; ++call) {
    const std::size_t size = sizes[call % sizes.size()];
    if (!reader.read(block, size)) {
      EXPECT_TRUE(block.empty());
      break;
    }
    EXPECT_LE(block.size(), size);
    all.insert(all.end(), block.begin(), block.end());
  }
  // Once at the end, it stays at the end.
  EXPECT_FALSE(reader.read(block, 100));
  return all;
}

TEST(AudioReader, ReadingInBlocksGivesTheSamplesOfOneRead) {
  ScratchDir dir;
  // Long enough for many of the reader's internal decode blocks, stereo and resampled.
  const std::size_t frames = 44100 * 40;
  std::vector<float> interleaved = noise(frames * 2, 4);
  const fs::path path = dir / "long.wav";
  write_wav(path, 44100, 2, interleaved);

  for (double rate : {16000.0, 44100.0}) {
    SCOPED_TRACE(rate);
    AudioReader whole_reader(path, rate);
    std::vector<float> whole;
    // "Everything" may be asked for without the reader allocating that much.
    ASSERT_TRUE(whole_reader.read(whole, std::numeric_limits<std::size_t>::max()));
    std::vector<float> rest;
    EXPECT_FALSE(whole_reader.read(rest, frames * 2));
    EXPECT_NEAR(static_cast<double>(whole.size()), static_cast<double>(frames) * rate / 44100, 1.0);

    EXPECT_EQ(bits_of(read_in_blocks(path, rate, {1, 4093, 65536, 777, 100000})), bits_of(whole));
    EXPECT_EQ(bits_of(read_audio(path, rate)), bits_of(whole));
  }
}

TEST(AudioReader, FullBlocksUntilTheLast) {
  ScratchDir dir;
  const fs::path path = dir / "blocks.wav";
  write_wav(path, 22050, 1, noise(22050 * 3, 5));
  AudioReader reader(path, 16000);
  std::vector<float> block;
  std::vector<std::size_t> sizes;
  while (reader.read(block, 1000)) sizes.push_back(block.size());
  ASSERT_FALSE(sizes.empty());
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], 1000u) << "block " << i;
  std::size_t total = 0;
  for (auto s : sizes) total += s;
  EXPECT_NEAR(static_cast<double>(total), 48000.0, 1.0);
}

// ---------------------------------------------------------------------------------------------
// Bad files

void expect_input_error(const fs::path& path, const std::string& problem_part) {
  SCOPED_TRACE(path.string());
  const auto error = input_error_from([&] { read_audio(path, 16000); });
  ASSERT_TRUE(error.has_value()) << "no InputError";
  EXPECT_EQ(error->item(), path.string());
  EXPECT_THAT(error->problem(), HasSubstr(problem_part));

  // The command line says the same and exits 1.
  const auto result = run_cli(quoted_args({"logmel", path.string(), "-o", (path.parent_path() / "out.npy").string()}));
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_THAT(result.err, HasSubstr(path.string()));
  EXPECT_THAT(result.err, HasSubstr(problem_part));
  EXPECT_FALSE(fs::exists(path.parent_path() / "out.npy"));
}

TEST(AudioReaderErrors, MissingFile) {
  ScratchDir dir;
  expect_input_error(dir / "absent.wav", "no such file");
}

TEST(AudioReaderErrors, EmptyFile) {
  ScratchDir dir;
  testing::write_text(dir / "empty.wav", "");
  expect_input_error(dir / "empty.wav", "empty file");
}

TEST(AudioReaderErrors, TextNamedMp3) {
  ScratchDir dir;
  testing::write_text(dir / "notes.mp3", "this is not an mp3, just some text pretending to be one\n");
  expect_input_error(dir / "notes.mp3", "cannot decode");
}

TEST(AudioReaderErrors, WavWithNoFrames) {
  ScratchDir dir;
  write_wav(dir / "zero.wav", 16000, 1, {});
  expect_input_error(dir / "zero.wav", "no audio samples");
}

TEST(AudioReaderErrors, TruncatedWav) {
  ScratchDir dir;
  const fs::path path = dir / "cut.wav";
  write_wav(path, 44100, 1, noise(44100, 6));
  fs::resize_file(path, fs::file_size(path) / 2);
  expect_input_error(path, "truncated");

  // Cut inside the header: nothing to decode at all.
  const fs::path header_only = dir / "header.wav";
  write_wav(header_only, 44100, 1, noise(100, 6));
  fs::resize_file(header_only, 30);
  expect_input_error(header_only, "cannot decode");
}

TEST(AudioReaderErrors, NaNAndInfinitySamples) {
  ScratchDir dir;
  std::vector<float> samples = noise(40000, 7);
  samples[30000] = std::numeric_limits<float>::quiet_NaN();
  write_wav(dir / "nan.wav", 16000, 1, samples);
  expect_input_error(dir / "nan.wav", "NaN sample at frame 30000");
  // Through the resampler too, which would otherwise smear it over its whole filter.
  write_wav(dir / "nan44k.wav", 44100, 1, samples);
  expect_input_error(dir / "nan44k.wav", "NaN sample at frame 30000");
  samples[30000] = 0;
  samples[123] = -std::numeric_limits<float>::infinity();
  write_wav(dir / "inf.wav", 16000, 1, samples);
  expect_input_error(dir / "inf.wav", "infinite sample at frame 123");
}

TEST(AudioReaderErrors, StreamingWavWithUnknownLengthIsNotTruncated) {
  // Writers that cannot seek back leave the data size at 0xFFFFFFFF; that is not damage.
  ScratchDir dir;
  const fs::path path = dir / "stream.wav";
  const std::vector<float> samples = noise(1000, 8);
  write_wav(path, 16000, 1, samples);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::size_t data = bytes.find("data");
  ASSERT_NE(data, std::string::npos);
  bytes.replace(data + 4, 4, std::string(4, '\xff'));
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  EXPECT_EQ(bits_of(read_audio(path, 16000)), bits_of(samples));
}

TEST(AudioReaderErrors, SilenceIsValidAudio) {
  ScratchDir dir;
  write_wav(dir / "silence.wav", 44100, 1, std::vector<float>(44100, 0.0f));
  const std::vector<float> out = read_audio(dir / "silence.wav", 16000);
  EXPECT_NEAR(static_cast<double>(out.size()), 16000.0, 1.0);
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](float x) { return x == 0.0f; }));
}

TEST(AudioReaderErrors, DirectoryAndBadTargetRate) {
  ScratchDir dir;
  const auto error = input_error_from([&] { AudioReader(dir.path(), 16000); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), dir.path().string());
  write_wav(dir / "ok.wav", 16000, 1, noise(100, 9));
  EXPECT_THROW(AudioReader(dir / "ok.wav", 0), FatalError);
}

}  // namespace
}  // namespace conceptree
