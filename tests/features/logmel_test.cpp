// The musicnn log-mel front end against librosa-made golden files, an independent slow
// reference, and its float16 rounding; and `conceptree logmel`.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <complex>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "conceptree/audio.hpp"
#include "conceptree/logmel.hpp"
#include "conceptree/npy.hpp"
#include "features/logmel_detail.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::quoted_args;
using testing::run_cli;
using testing::ScratchDir;

struct Difference {
  double max = 0;
  double mean = 0;
  std::size_t worst_row = 0;
  std::size_t worst_col = 0;
};

Difference compare(const FrameMatrix& ours, const std::vector<float>& golden) {
  Difference d;
  double sum = 0;
  for (std::size_t i = 0; i < golden.size(); ++i) {
    const double diff = std::abs(static_cast<double>(ours.values[i]) - golden[i]);
    sum += diff;
    if (diff > d.max) {
      d.max = diff;
      d.worst_row = i / kLogMelBands;
      d.worst_col = i % kLogMelBands;
    }
  }
  d.mean = sum / static_cast<double>(golden.size());
  return d;
}

std::vector<float> noise(std::size_t count, unsigned seed, float scale = 0.5f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> samples(count);
  for (auto& s : samples) s = normal(rng);
  return samples;
}

// ---------------------------------------------------------------------------------------------
// Parity with the golden files (librosa + numpy, as musicnn computes its input)

TEST(LogMelParity, ChirpMatchesGolden) {
  const fs::path wav = testing::test_data() / "golden" / "chirp_16k.wav";
  const fs::path npy = testing::test_data() / "golden" / "chirp_16k_logmel.npy";
  const std::vector<float> samples = read_audio(wav, kLogMelSampleRate);
  const FrameMatrix ours = LogMel().compute(samples);
  const NpyReader golden(npy);
  ASSERT_EQ(golden.header().shape, (std::vector<std::uint64_t>{ours.rows, ours.cols}));
  ASSERT_EQ(ours.rows, 1 + samples.size() / kLogMelHop);
  const Difference d = compare(ours, golden.read_all_as_float());
  std::printf("chirp log-mel vs golden: max |diff| %.3g (frame %zu, band %zu), mean %.3g\n", d.max, d.worst_row,
              d.worst_col, d.mean);
  EXPECT_LT(d.max, 2e-3);
  // Measured 2.4e-7: a few float16 boundary flips. Skipping the float16 cast alone gives ~1e-4.
  EXPECT_LT(d.mean, 1e-5);
}

// The joram clip is a 16 kHz mono mp3, so no resampling happens and the golden file tests the mp3
// decode (libsndfile's mpg123 here) plus the front end. Measured on Debian 12 (libsndfile 1.2.0):
// max |diff| 4.1e-4, mean 1.7e-7 -- a handful of mel energies landing on the other side of a
// float16 rounding boundary, each worth log10(1 + 2^-10) = 4.2e-4 at most, so the decode matches
// sample for sample. The bounds allow two such steps and a few hundred flips; a different mp3
// decoder (e.g. ffmpeg's, with other priming/gapless handling) shifts the whole clip and fails them.
TEST(LogMelParity, JoramMp3MatchesGolden) {
  const fs::path mp3 = testing::test_data() / "audio" / "joram-moments_of_clarity-08-solipsism-59-88.mp3";
  const fs::path npy = testing::test_data() / "golden" / "joram_logmel.npy";
  const std::vector<float> samples = read_audio(mp3, kLogMelSampleRate);
  const FrameMatrix ours = LogMel().compute(samples);
  const NpyReader golden(npy);
  ASSERT_EQ(golden.header().shape, (std::vector<std::uint64_t>{ours.rows, ours.cols}));
  const Difference d = compare(ours, golden.read_all_as_float());
  std::printf("joram log-mel vs golden: max |diff| %.3g (frame %zu, band %zu), mean %.3g\n", d.max, d.worst_row,
              d.worst_col, d.mean);
  EXPECT_LT(d.max, 1e-3);
  EXPECT_LT(d.mean, 1e-5);
}

// ---------------------------------------------------------------------------------------------
// An independent, slow reference: explicit reflect padding, a double-precision DFT, the same
// filterbank, then float16 and the log.

FrameMatrix reference_logmel(const std::vector<float>& y) {
  const std::size_t n = y.size();
  const std::size_t pad = kLogMelFftSize / 2;
  std::vector<double> padded;
  for (std::size_t i = pad; i >= 1; --i) padded.push_back(y[i]);  // y[pad] .. y[1]
  padded.insert(padded.end(), y.begin(), y.end());
  for (std::size_t i = 1; i <= pad; ++i) padded.push_back(y[n - 1 - i]);  // y[n-2] .. y[n-1-pad]
  const std::vector<float> weights = detail::slaney_mel_filterbank();
  const int bins = kLogMelFftSize / 2 + 1;
  const std::size_t frames = 1 + (padded.size() - kLogMelFftSize) / kLogMelHop;
  FrameMatrix m{frames, static_cast<std::uint64_t>(kLogMelBands), std::vector<float>(frames * kLogMelBands)};
  std::vector<double> power(bins);
  for (std::size_t t = 0; t < frames; ++t) {
    for (int k = 0; k < bins; ++k) {
      std::complex<double> sum = 0;
      for (int j = 0; j < kLogMelFftSize; ++j) {
        const double window = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * j / kLogMelFftSize);
        sum += padded[t * kLogMelHop + j] * window * std::polar(1.0, -2 * std::numbers::pi * k * j / kLogMelFftSize);
      }
      power[k] = std::norm(sum);
    }
    for (int b = 0; b < kLogMelBands; ++b) {
      double energy = 0;
      for (int k = 0; k < bins; ++k) energy += weights[static_cast<std::size_t>(b) * bins + k] * power[k];
      const float half = half_to_float(detail::float_to_half_bits(static_cast<float>(energy)));
      m.values[t * kLogMelBands + b] = static_cast<float>(std::log10(10000.0 * half + 1));
    }
  }
  return m;
}

TEST(LogMel, MatchesSlowReferenceIncludingPaddedEdges) {
  // 1000 samples: 4 frames, of which the first two and the last reach into the reflect padding.
  const std::vector<float> y = noise(1000, 11);
  const FrameMatrix ours = LogMel().compute(y);
  const FrameMatrix reference = reference_logmel(y);
  ASSERT_EQ(ours.rows, reference.rows);
  ASSERT_EQ(ours.rows, 4u);
  const Difference d = compare(ours, reference.values);
  // float32 FFT against double: at most one float16 step of the energy, 0.05 % in the log.
  EXPECT_LT(d.max, 5e-4) << "frame " << d.worst_row << " band " << d.worst_col;
}

TEST(LogMel, FrameCountIsOnePlusSamplesOverHop) {
  const LogMel logmel;
  for (std::size_t n : {0u, 1u, 2u, 255u, 256u, 257u, 511u, 512u, 513u, 16000u}) {
    const FrameMatrix m = logmel.compute(noise(n, 12));
    EXPECT_EQ(m.rows, 1 + n / 256) << n;
    EXPECT_EQ(m.cols, 96u);
    EXPECT_EQ(m.values.size(), m.rows * 96);
    EXPECT_TRUE(std::all_of(m.values.begin(), m.values.end(), [](float v) { return std::isfinite(v) && v >= 0; })) << n;
  }
  // No samples: one frame of silence rather than an error.
  const FrameMatrix empty = logmel.compute({});
  EXPECT_TRUE(std::all_of(empty.values.begin(), empty.values.end(), [](float v) { return v == 0.0f; }));
}

TEST(LogMel, SilenceIsZeroAndAToneLightsItsBand) {
  const LogMel logmel;
  const FrameMatrix silence = logmel.compute(std::vector<float>(16000, 0.0f));
  EXPECT_TRUE(std::all_of(silence.values.begin(), silence.values.end(), [](float v) { return v == 0.0f; }));

  // A 2 kHz tone peaks in the band whose centre lies nearest 2 kHz on the Slaney scale.
  std::vector<float> tone(16000);
  for (std::size_t i = 0; i < tone.size(); ++i) tone[i] = 0.5f * static_cast<float>(std::sin(2 * std::numbers::pi * 2000 * i / 16000.0));
  const FrameMatrix m = logmel.compute(tone);
  const float* row = m.values.data() + 30 * 96;
  const int peak = static_cast<int>(std::max_element(row, row + 96) - row);
  // Band m peaks at mel (m + 1) * mel(8000) / 97 on the Slaney scale (log above 1 kHz).
  const double log_step = std::log(6.4) / 27;
  const double mel_8k = 15 + std::log(8.0) / log_step;
  const double mel_2k = 15 + std::log(2.0) / log_step;
  EXPECT_NEAR(peak, std::round(mel_2k / (mel_8k / 97)) - 1, 1);
}

TEST(LogMel, FilterbankHasSlaneyShape) {
  const std::vector<float> w = detail::slaney_mel_filterbank();
  ASSERT_EQ(w.size(), 96u * 257u);
  int previous_peak = -1;
  for (int m = 0; m < 96; ++m) {
    const float* row = w.data() + static_cast<std::size_t>(m) * 257;
    EXPECT_TRUE(std::all_of(row, row + 257, [](float v) { return v >= 0; }));
    const int peak = static_cast<int>(std::max_element(row, row + 257) - row);
    EXPECT_GE(peak, previous_peak) << "band " << m;
    previous_peak = peak;
    // Area normalisation makes each triangle's area 1 Hz; sampled at 31.25 Hz bins the sum is off
    // by up to about a bin over the triangle's base, so only wide (high) bands are checked tightly.
    double area = 0;
    for (int k = 0; k < 257; ++k) area += row[k] * 31.25;
    if (m >= 40) {
      EXPECT_NEAR(area, 1.0, m >= 70 ? 0.02 : 0.1) << "band " << m;
    }
  }
  // The first band's triangle rises from 0 Hz to its peak f1 (just below bin 1 at 31.25 Hz) and
  // falls to 2 f1 (linear below 1 kHz), scaled by 2 / (2 f1): its value at bin 1, by hand.
  const double f1 = 200.0 / 3.0 * (15 + std::log(8.0) / (std::log(6.4) / 27)) / 97;
  const double f2 = 2 * f1;
  const double expected = (f2 - 31.25) / (f2 - f1) * 2.0 / f2;
  EXPECT_NEAR(w[1], expected, 1e-7);
  EXPECT_EQ(w[0], 0.0f);
}

TEST(LogMel, ThreadsShareOneInstance) {
  const LogMel logmel;
  std::vector<std::vector<float>> inputs;
  for (unsigned i = 0; i < 8; ++i) inputs.push_back(noise(16000 * 3 + i * 100, 20 + i));
  std::vector<FrameMatrix> sequential;
  for (const auto& input : inputs) sequential.push_back(logmel.compute(input));
  std::vector<FrameMatrix> parallel(inputs.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < inputs.size(); ++i) threads.emplace_back([&, i] { parallel[i] = logmel.compute(inputs[i]); });
  for (auto& thread : threads) thread.join();
  for (std::size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(parallel[i].values, sequential[i].values) << i;
  // Constructing in parallel too (the FFTW planner is guarded).
  std::vector<std::thread> builders;
  for (int i = 0; i < 4; ++i) builders.emplace_back([&] { EXPECT_EQ(LogMel().compute(inputs[0]).values, sequential[0].values); });
  for (auto& builder : builders) builder.join();
}

// ---------------------------------------------------------------------------------------------
// float16 rounding

float via_half(float x) { return half_to_float(detail::float_to_half_bits(x)); }

TEST(LogMelFloat16, KnownValues) {
  EXPECT_EQ(detail::float_to_half_bits(0.0f), 0x0000);
  EXPECT_EQ(detail::float_to_half_bits(-0.0f), 0x8000);
  EXPECT_EQ(detail::float_to_half_bits(1.0f), 0x3c00);
  EXPECT_EQ(detail::float_to_half_bits(65504.0f), 0x7bff);
  EXPECT_EQ(detail::float_to_half_bits(65519.0f), 0x7bff);
  EXPECT_EQ(detail::float_to_half_bits(65520.0f), 0x7c00);  // tie rounds to even: infinity
  EXPECT_EQ(detail::float_to_half_bits(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(detail::float_to_half_bits(std::ldexp(1.0f, -24)), 0x0001);    // smallest subnormal
  EXPECT_EQ(detail::float_to_half_bits(std::ldexp(1.0f, -25)), 0x0000);    // tie to even: zero
  EXPECT_EQ(detail::float_to_half_bits(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(detail::float_to_half_bits(std::ldexp(3.0f, -25)), 0x0002);    // 1.5 ulp: tie to even 2
  EXPECT_EQ(detail::float_to_half_bits(std::ldexp(1.0f, -14)), 0x0400);    // smallest normal
  EXPECT_EQ(detail::float_to_half_bits(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie, even stays
  EXPECT_EQ(detail::float_to_half_bits(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie, odd goes up
  EXPECT_TRUE(std::isnan(via_half(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_FLOAT_EQ(via_half(0.1f), 0.0999755859375f);
}

#ifdef __FLT16_MAX__
// GCC's _Float16 conversion is IEEE round-to-nearest-even; ours must agree on every float that
// matters: all bit patterns sampled densely, plus every half-way point.
TEST(LogMelFloat16, AgreesWithCompilerHalfConversion) {
  std::uint64_t checked = 0;
  for (std::uint64_t bits = 0; bits < 0x100000000ULL; bits += 97) {
    const float x = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    if (std::isnan(x)) continue;
    const auto expected = std::bit_cast<std::uint16_t>(static_cast<_Float16>(x));
    ASSERT_EQ(detail::float_to_half_bits(x), expected) << fmt::format("{:#010x}", bits);
    ++checked;
  }
  for (std::uint32_t half = 0; half < 0x7c00; ++half) {
    // The float half-way between half and half+1, and its neighbours.
    const float low = half_to_float(static_cast<std::uint16_t>(half));
    const float high = half_to_float(static_cast<std::uint16_t>(half + 1));
    const float middle = static_cast<float>((static_cast<double>(low) + high) / 2);
    for (float x : {middle, std::nextafter(middle, 0.0f), std::nextafter(middle, 1e9f), -middle}) {
      ASSERT_EQ(detail::float_to_half_bits(x), std::bit_cast<std::uint16_t>(static_cast<_Float16>(x))) << x;
    }
  }
  EXPECT_GT(checked, 40000000u);
}
#endif

// ---------------------------------------------------------------------------------------------
// conceptree logmel

TEST(LogMelCli, WritesTheSameNpyAsTheLibrary) {
  const fs::path wav = testing::test_data() / "golden" / "chirp_16k.wav";
  const fs::path golden_npy = testing::test_data() / "golden" / "chirp_16k_logmel.npy";
  ScratchDir dir;
  const fs::path out = dir / "chirp.npy";
  const auto result = run_cli(quoted_args({"logmel", wav.string(), "-o", out.string()}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const NpyReader written(out);
  EXPECT_EQ(written.header().descr, "<f4");
  const FrameMatrix library = LogMel().compute(read_audio(wav, kLogMelSampleRate));
  ASSERT_EQ(written.header().shape, (std::vector<std::uint64_t>{library.rows, 96}));
  EXPECT_EQ(written.read_all_as_float(), library.values);
  const Difference d = compare(library, NpyReader(golden_npy).read_all_as_float());
  EXPECT_LT(d.max, 2e-3);

  // An existing output stays unless --overwrite.
  const auto again = run_cli(quoted_args({"logmel", wav.string(), "-o", out.string()}));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("already exists"));
  const auto overwrite = run_cli(quoted_args({"logmel", wav.string(), "-o", out.string(), "--overwrite"}));
  EXPECT_EQ(overwrite.exit_code, 0) << overwrite.err;
  for (const auto& entry : fs::directory_iterator(dir.path())) EXPECT_EQ(entry.path().filename(), "chirp.npy");
}

TEST(LogMelCli, NeedsAnOutput) {
  const auto result = run_cli("logmel some.wav");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("output"));
}

}  // namespace
}  // namespace conceptree
