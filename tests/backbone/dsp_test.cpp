// The dsp backbone on synthetic log-mels built from known spectra (harmonic tones, noise bursts,
// pulse trains) and on a real track's log-mel: window layout, robustness, and that the descriptor
// tells instruments and tempi apart.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include "conceptree/backbone.hpp"
#include "conceptree/error.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/store.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;

constexpr int kBands = 96;
constexpr double kFrameSeconds = 256.0 / 16000;

double hz_to_mel(double hz) {
  return hz < 1000 ? hz / (200.0 / 3) : 15 + std::log(hz / 1000) / (std::log(6.4) / 27);
}
double mel_to_hz(double mel) {
  return mel < 15 ? mel * (200.0 / 3) : 1000 * std::exp(std::log(6.4) / 27 * (mel - 15));
}

// Slaney-normalised triangular mel filters evaluated at single frequencies: enough to place
// sinusoids and band-limited noise in the 96 bands the way the musicnn front end would.
class MelBands {
 public:
  MelBands() {
    for (int i = 0; i < kBands + 2; ++i) points_.push_back(mel_to_hz(hz_to_mel(8000) * i / (kBands + 1)));
  }
  // Adds a sinusoid of `power` at `hz`, spread over +-1 FFT bin like a Hann-windowed peak.
  void add_tone(std::vector<double>& bands, double hz, double power) const {
    for (double offset : {-31.25, 0.0, 31.25}) {
      const double share = offset == 0 ? 0.5 : 0.25;
      add_point(bands, hz + offset, power * share);
    }
  }
  double centre(int band) const { return points_[static_cast<std::size_t>(band) + 1]; }

 private:
  void add_point(std::vector<double>& bands, double hz, double power) const {
    for (int b = 0; b < kBands; ++b) {
      const double lo = points_[static_cast<std::size_t>(b)], mid = points_[static_cast<std::size_t>(b) + 1],
                   hi = points_[static_cast<std::size_t>(b) + 2];
      double w = 0;
      if (hz > lo && hz <= mid) w = (hz - lo) / (mid - lo);
      if (hz > mid && hz < hi) w = (hi - hz) / (hi - mid);
      bands[static_cast<std::size_t>(b)] += power * w * 2 / (hi - lo);
    }
  }
  std::vector<double> points_;
};

FrameMatrix zeros(std::uint64_t frames) { return {frames, kBands, std::vector<float>(frames * kBands, 0.0f)}; }

void set_frame(FrameMatrix& m, std::size_t t, const std::vector<double>& power) {
  for (int b = 0; b < kBands; ++b) {
    m.values[t * kBands + static_cast<std::size_t>(b)] = static_cast<float>(std::log10(10000 * power[static_cast<std::size_t>(b)] + 1));
  }
}

std::size_t column(const DspDescriptor& dsp, const std::string& name) {
  const auto& names = dsp.dimension_names();
  const auto it = std::find(names.begin(), names.end(), name);
  EXPECT_NE(it, names.end()) << name;
  return static_cast<std::size_t>(it - names.begin());
}

double mean_of(const DspDescriptor& dsp, const FrameMatrix& d, const std::string& name) {
  const std::size_t c = column(dsp, name);
  double sum = 0;
  for (std::uint64_t r = 0; r < d.rows; ++r) sum += d.values[r * d.cols + c];
  return sum / static_cast<double>(d.rows);
}

bool all_finite(const FrameMatrix& m) {
  return std::all_of(m.values.begin(), m.values.end(), [](float v) { return std::isfinite(v); });
}

enum class Instrument { kMellowTone, kBrightTone, kBass, kPercussion, kNoisePad };

// About `seconds` of one synthetic instrument. Tones: notes of random pitch and length with
// vibrato; the mellow and bright tones share a pitch range and differ only in their harmonic
// envelope. Percussion: decaying broadband noise bursts every 0.5 s; the noise pad has the same
// spectrum held steady. The whole track gets a random gain so loudness alone cannot separate them.
FrameMatrix synth_instrument(Instrument instrument, double seconds, std::uint32_t seed) {
  static const MelBands mel;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::normal_distribution<double> jitter(0, 0.25);
  const auto frames = static_cast<std::size_t>(seconds / kFrameSeconds);
  FrameMatrix m = zeros(frames);
  const double gain = std::pow(10.0, unit(rng) * 2 - 1);
  double f0 = 0, note_left = 0, note_age = 0;
  std::vector<double> power(kBands);
  for (std::size_t t = 0; t < frames; ++t) {
    std::fill(power.begin(), power.end(), 1e-5 * gain);
    if (instrument == Instrument::kPercussion || instrument == Instrument::kNoisePad) {
      const double since_hit = std::fmod(static_cast<double>(t) * kFrameSeconds, 0.5);
      const double env = instrument == Instrument::kPercussion ? std::exp(-since_hit / 0.06) : 0.3;
      for (int b = 0; b < kBands; ++b) {
        const double tilt = 0.3 + mel.centre(b) / 8000;  // snare/hat-like: more energy up high
        power[static_cast<std::size_t>(b)] += gain * 1e-1 * tilt * env * std::exp(jitter(rng));
      }
    } else {
      if (note_left <= 0) {
        if (instrument == Instrument::kBass) f0 = 45 + unit(rng) * 60;
        if (instrument == Instrument::kMellowTone) f0 = 150 + unit(rng) * 250;
        if (instrument == Instrument::kBrightTone) f0 = 150 + unit(rng) * 250;
        note_left = 0.4 + unit(rng) * 0.8;
        note_age = 0;
      }
      const double vibrato = 1 + 0.006 * std::sin(2 * 3.14159265 * 5.5 * note_age);
      const double attack = std::min(1.0, note_age / 0.05);
      for (int h = 1; f0 * h * vibrato < 7900; ++h) {
        double amp = 0;
        if (instrument == Instrument::kMellowTone) amp = 1.0 / (h * h * h);
        if (instrument == Instrument::kBrightTone) amp = 1.0 / std::pow(h, 0.6);
        if (instrument == Instrument::kBass) amp = h * f0 < 900 ? 1.0 / h : 0.0;
        if (amp > 0) mel.add_tone(power, f0 * h * vibrato, gain * 30 * amp * attack * std::exp(0.3 * jitter(rng)));
      }
      note_left -= kFrameSeconds;
      note_age += kFrameSeconds;
    }
    set_frame(m, t, power);
  }
  return m;
}

// Noise bursts every `period` seconds, otherwise a quiet steady noise floor.
FrameMatrix pulse_train(double period, double seconds, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> jitter(0, 0.2);
  const auto frames = static_cast<std::size_t>(seconds / kFrameSeconds);
  FrameMatrix m = zeros(frames);
  std::vector<double> power(kBands);
  for (std::size_t t = 0; t < frames; ++t) {
    const double time = static_cast<double>(t) * kFrameSeconds;
    const double since = time - period * std::floor(time / period + 1e-9);
    const double env = std::exp(-since / 0.05);
    for (double& p : power) p = (1e-5 + 1e-1 * env) * std::exp(jitter(rng));
    set_frame(m, t, power);
  }
  return m;
}

TEST(DspDescriptor, DimensionNamesMatchDimAndAreUnique) {
  const DspDescriptor dsp;
  const auto& names = dsp.dimension_names();
  EXPECT_EQ(dsp.dim(), 196u);
  ASSERT_EQ(names.size(), dsp.dim());
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  for (const char* expected : {"mfcc_3_mean", "loudness_mean", "onset_rate", "pulse_tempo_log2", "band_group_11_std"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
}

TEST(DspDescriptor, EveryDimensionIsDocumented) {
  const std::string docs = testing::read_text(fs::path(CONCEPTREE_SOURCE_DIR) / "docs" / "backbones.md");
  const DspDescriptor dsp;
  std::vector<std::string> missing;
  std::map<std::string, std::pair<std::size_t, std::size_t>> index_ranges;  // pattern -> first, last index
  for (std::size_t i = 0; i < dsp.dim(); ++i) {
    const std::string& name = dsp.dimension_names()[i];
    // Families are documented once with a placeholder index, e.g. mfcc_<k>_mean.
    std::string pattern = name;
    // Pairs have a second index, e.g. comodulation_<k>_<l>.
    for (const char* family : {"band_group_", "delta_mfcc_", "mfcc_", "contrast_", "subband_flux_", "decay_", "falling_fraction_",
                               "rising_fraction_", "change_autocorr_lag2_", "change_autocorr_lag5_", "comodulation_"}) {
      const std::string prefix = family;
      if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size() && std::isdigit(static_cast<unsigned char>(name[prefix.size()]))) {
        const std::size_t end = name.find('_', prefix.size());
        std::string rest = end == std::string::npos ? "" : name.substr(end);
        if (rest.size() > 1 && std::all_of(rest.begin() + 1, rest.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
          rest = "_<l>";
        }
        pattern = prefix + "<k>" + rest;
        break;
      }
    }
    if (docs.find("`" + pattern + "`") == std::string::npos) missing.push_back(pattern);
    auto [it, fresh] = index_ranges.try_emplace(pattern, i, i);
    if (!fresh) it->second.second = i;
  }
  // The table's index column matches dimension_names().
  for (const auto& [pattern, range] : index_ranges) {
    const std::string index = range.first == range.second ? std::to_string(range.first)
                                                          : std::to_string(range.first) + "-" + std::to_string(range.second);
    if (docs.find("| " + index + " | `" + pattern + "` |") == std::string::npos) missing.push_back(index + " " + pattern);
  }
  EXPECT_TRUE(missing.empty()) << "not in docs/backbones.md: " << ::testing::PrintToString(missing);
}

TEST(DspDescriptor, OneRowPerSecondWithHalfWindowTail) {
  const DspDescriptor dsp;
  const std::map<std::uint64_t, std::uint64_t> expected{{1, 1},   {2, 1},   {30, 1},  {61, 1},    {62, 1},  {63, 1},
                                                        {92, 1},  {93, 2},  {124, 2}, {1876, 30}, {1890, 30}, {1891, 31}};
  for (const auto& [frames, rows] : expected) {
    const FrameMatrix d = dsp.compute(synth_instrument(Instrument::kBrightTone, static_cast<double>(frames) * kFrameSeconds + 1e-9, 1));
    ASSERT_EQ(d.rows, rows) << frames << " frames";
    EXPECT_EQ(d.cols, dsp.dim());
    EXPECT_EQ(d.values.size(), d.rows * d.cols);
    EXPECT_TRUE(all_finite(d)) << frames << " frames";
  }
  const FrameMatrix none = dsp.compute(zeros(0));
  EXPECT_EQ(none.rows, 0u);
  EXPECT_EQ(none.cols, dsp.dim());
}

TEST(DspDescriptor, ShortTailJoinsTheLastWindow) {
  const DspDescriptor dsp;
  FrameMatrix exact = synth_instrument(Instrument::kMellowTone, 62 * kFrameSeconds + 1e-9, 3);
  ASSERT_EQ(exact.rows, 62u);
  FrameMatrix longer = exact;
  longer.rows = 70;
  // A loud tail: if it were dropped, the loudness of the only row would not change.
  longer.values.resize(70 * kBands, 8.0f);
  const FrameMatrix a = dsp.compute(exact), b = dsp.compute(longer);
  ASSERT_EQ(a.rows, 1u);
  ASSERT_EQ(b.rows, 1u);
  EXPECT_GT(mean_of(dsp, b, "loudness_mean"), mean_of(dsp, a, "loudness_mean") + 0.3);
}

TEST(DspDescriptor, SilenceIsFiniteAndQuiet) {
  const DspDescriptor dsp;
  for (std::uint64_t frames : {1u, 2u, 61u, 200u}) {
    const FrameMatrix d = dsp.compute(zeros(frames));
    ASSERT_TRUE(all_finite(d)) << frames;
    EXPECT_EQ(mean_of(dsp, d, "loudness_mean"), 0.0);
    EXPECT_EQ(mean_of(dsp, d, "onset_rate"), 0.0);
    EXPECT_EQ(mean_of(dsp, d, "onset_strength_max"), 0.0);
    EXPECT_EQ(mean_of(dsp, d, "pulse_clarity"), 0.0);
    EXPECT_NEAR(mean_of(dsp, d, "spectral_log_flatness_mean"), 0.0, 1e-9);  // silence reads as flat
  }
}

TEST(DspDescriptor, FiniteOnRandomAndExtremeInput) {
  const DspDescriptor dsp;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(0, 9);
  for (std::uint64_t frames : {1u, 5u, 63u, 500u}) {
    FrameMatrix m = zeros(frames);
    for (float& v : m.values) v = uniform(rng);
    EXPECT_TRUE(all_finite(dsp.compute(m))) << frames;
  }
  const float huge = std::numeric_limits<float>::max();
  std::uniform_int_distribution<int> pick(0, 3);
  FrameMatrix wild = zeros(300);
  for (float& v : wild.values) {
    const float choices[] = {huge, -huge, 0.0f, std::numeric_limits<float>::denorm_min()};
    v = choices[pick(rng)];
  }
  EXPECT_TRUE(all_finite(dsp.compute(wild)));
  FrameMatrix constant = zeros(300);
  std::fill(constant.values.begin(), constant.values.end(), 5.0f);
  const FrameMatrix d = dsp.compute(constant);
  EXPECT_TRUE(all_finite(d));
  EXPECT_EQ(mean_of(dsp, d, "pulse_clarity"), 0.0);
}

TEST(DspDescriptor, RejectsWrongWidthAndNonFiniteValues) {
  const DspDescriptor dsp;
  const FrameMatrix narrow{3, 95, std::vector<float>(3 * 95, 1.0f)};
  const auto width = testing::input_error_from([&] { dsp.compute(narrow); });
  ASSERT_TRUE(width.has_value());
  EXPECT_NE(width->problem().find("95"), std::string::npos);
  FrameMatrix nan = zeros(10);
  nan.values[4 * kBands + 7] = std::numeric_limits<float>::quiet_NaN();
  const auto error = testing::input_error_from([&] { dsp.compute(nan); });
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->problem().find("frame 4, band 7"), std::string::npos) << error->problem();
}

TEST(DspDescriptor, Deterministic) {
  const FrameMatrix m = synth_instrument(Instrument::kPercussion, 7.3, 11);
  const DspDescriptor a;
  DspDescriptor b;
  DspDescriptor moved(std::move(b));
  const FrameMatrix first = a.compute(m), second = a.compute(m), third = moved.compute(m);
  EXPECT_EQ(first.values, second.values);
  EXPECT_EQ(first.values, third.values);
}

TEST(DspDescriptor, SpectralShapeFollowsATone) {
  const DspDescriptor dsp;
  const MelBands mel;
  for (double hz : {500.0, 1000.0, 3000.0}) {
    FrameMatrix m = zeros(62);
    std::vector<double> power(kBands, 0.0);
    mel.add_tone(power, hz, 1e-2);
    for (std::size_t t = 0; t < 62; ++t) set_frame(m, t, power);
    const FrameMatrix d = dsp.compute(m);
    EXPECT_NEAR(mean_of(dsp, d, "spectral_centroid_khz_mean"), hz / 1000, 0.1 * hz / 1000) << hz;
    EXPECT_LT(mean_of(dsp, d, "spectral_log_flatness_mean"), -3) << hz;
    EXPECT_EQ(mean_of(dsp, d, "onset_rate"), 0.0);
  }
}

// Nearest class centroid in the train windows' z-scored descriptor space.
TEST(DspDescriptor, SeparatesSyntheticInstruments) {
  const DspDescriptor dsp;
  const std::vector<Instrument> classes{Instrument::kMellowTone, Instrument::kBrightTone, Instrument::kBass, Instrument::kPercussion,
                                       Instrument::kNoisePad};
  const std::size_t dim = dsp.dim();
  std::vector<std::vector<double>> train_rows, test_rows;
  std::vector<std::size_t> train_labels, test_labels;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    for (std::uint32_t track = 0; track < 6; ++track) {
      const FrameMatrix d = dsp.compute(synth_instrument(classes[c], 8, 100 * static_cast<std::uint32_t>(c) + track));
      ASSERT_TRUE(all_finite(d));
      for (std::uint64_t r = 0; r < d.rows; ++r) {
        std::vector<double> row(d.values.begin() + static_cast<std::ptrdiff_t>(r * dim), d.values.begin() + static_cast<std::ptrdiff_t>((r + 1) * dim));
        // Whole tracks are held out: windows of one track share a gain and a note sequence.
        (track < 3 ? train_rows : test_rows).push_back(row);
        (track < 3 ? train_labels : test_labels).push_back(c);
      }
    }
  }
  std::vector<double> mean(dim, 0), scale(dim, 0);
  for (const auto& row : train_rows) {
    for (std::size_t j = 0; j < dim; ++j) mean[j] += row[j] / static_cast<double>(train_rows.size());
  }
  for (const auto& row : train_rows) {
    for (std::size_t j = 0; j < dim; ++j) scale[j] += (row[j] - mean[j]) * (row[j] - mean[j]) / static_cast<double>(train_rows.size());
  }
  for (double& s : scale) s = std::sqrt(s) + 1e-6;
  std::vector<std::vector<double>> centroids(classes.size(), std::vector<double>(dim, 0));
  std::vector<double> counts(classes.size(), 0);
  for (std::size_t i = 0; i < train_rows.size(); ++i) {
    for (std::size_t j = 0; j < dim; ++j) centroids[train_labels[i]][j] += (train_rows[i][j] - mean[j]) / scale[j];
    counts[train_labels[i]] += 1;
  }
  for (std::size_t c = 0; c < classes.size(); ++c) {
    for (double& v : centroids[c]) v /= counts[c];
  }
  std::size_t correct = 0;
  for (std::size_t i = 0; i < test_rows.size(); ++i) {
    std::size_t best = 0;
    double best_distance = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < classes.size(); ++c) {
      double distance = 0;
      for (std::size_t j = 0; j < dim; ++j) {
        const double d = (test_rows[i][j] - mean[j]) / scale[j] - centroids[c][j];
        distance += d * d;
      }
      if (distance < best_distance) {
        best_distance = distance;
        best = c;
      }
    }
    correct += best == test_labels[i] ? 1 : 0;
  }
  const double accuracy = static_cast<double>(correct) / static_cast<double>(test_rows.size());
  EXPECT_GE(accuracy, 0.95) << correct << " of " << test_rows.size();
}

TEST(DspDescriptor, SustainedTonesAndPercussionDifferWhereExpected) {
  const DspDescriptor dsp;
  const FrameMatrix tone = dsp.compute(synth_instrument(Instrument::kBrightTone, 6, 5));
  const FrameMatrix drums = dsp.compute(synth_instrument(Instrument::kPercussion, 6, 5));
  EXPECT_GT(mean_of(dsp, tone, "ripple_low_mean"), 2 * mean_of(dsp, drums, "ripple_low_mean"));
  EXPECT_GT(mean_of(dsp, drums, "spectral_log_flatness_mean"), mean_of(dsp, tone, "spectral_log_flatness_mean") + 0.5);
  EXPECT_GT(mean_of(dsp, drums, "pulse_clarity"), 0.5);
  EXPECT_NEAR(mean_of(dsp, drums, "onset_rate"), 2.0, 0.5);
}

// A 220 Hz harmonic tone whose amplitude follows `envelope(seconds)`.
FrameMatrix shaped_tone(double (*envelope)(double), double seconds) {
  const MelBands mel;
  const auto frames = static_cast<std::size_t>(seconds / kFrameSeconds);
  FrameMatrix m = zeros(frames);
  for (std::size_t t = 0; t < frames; ++t) {
    std::vector<double> power(kBands, 1e-5);
    const double amplitude = envelope(static_cast<double>(t) * kFrameSeconds);
    for (int h = 1; h <= 12; ++h) mel.add_tone(power, 220.0 * h, 1e-1 * amplitude / h);
    set_frame(m, t, power);
  }
  return m;
}

TEST(DspDescriptor, DecayAndTremoloShowInBandChanges) {
  const DspDescriptor dsp;
  // Struck every 0.5 s, then decaying 30 dB per second; a steady tone under 6 Hz tremolo.
  const FrameMatrix plucked = dsp.compute(shaped_tone([](double s) { return std::pow(10.0, -3 * std::fmod(s, 0.5)); }, 6));
  const FrameMatrix tremolo = dsp.compute(shaped_tone([](double s) { return 1 + 0.5 * std::sin(2 * 3.14159265 * 6 * s); }, 6));
  // Bands holding a partial fall in every frame but the onset's.
  EXPECT_GT(mean_of(dsp, plucked, "falling_fraction_1"), 5 * mean_of(dsp, plucked, "rising_fraction_1"));
  EXPECT_GT(mean_of(dsp, plucked, "decay_1_mean"), 0.005);
  // Sharp onsets dominate the plucked tone's band changes; the tremolo changes smoothly.
  EXPECT_GT(mean_of(dsp, tremolo, "change_autocorr_lag2_1"), mean_of(dsp, plucked, "change_autocorr_lag2_1") + 0.2);
  EXPECT_LT(mean_of(dsp, tremolo, "change_autocorr_lag5_1"), -0.5);
  EXPECT_NEAR(mean_of(dsp, tremolo, "falling_fraction_1"), mean_of(dsp, tremolo, "rising_fraction_1"), 0.1);
  // All partials rise and fall together.
  EXPECT_GT(mean_of(dsp, tremolo, "comodulation_0_2"), 0.9);
}

TEST(DspDescriptor, TempoFollowsOnsetRate) {
  const DspDescriptor dsp;
  const FrameMatrix slow = dsp.compute(pulse_train(0.5, 12, 21));
  const FrameMatrix fast = dsp.compute(pulse_train(0.25, 12, 22));
  // 0.5 s is 120 BPM (log2 ratio 0), 0.25 s is 240 BPM (1).
  EXPECT_NEAR(mean_of(dsp, slow, "pulse_tempo_log2"), 0.0, 0.1);
  EXPECT_NEAR(mean_of(dsp, fast, "pulse_tempo_log2"), 1.0, 0.1);
  EXPECT_NEAR(mean_of(dsp, slow, "onset_rate"), 2.0, 0.4);
  EXPECT_NEAR(mean_of(dsp, fast, "onset_rate"), 4.0, 0.6);
  EXPECT_GT(mean_of(dsp, fast, "tempo_ac_200_375bpm"), mean_of(dsp, slow, "tempo_ac_200_375bpm") + 0.3);
  EXPECT_GT(mean_of(dsp, slow, "tempo_ac_110_150bpm"), 0.5);
  EXPECT_GT(mean_of(dsp, slow, "pulse_clarity"), 0.6);
  EXPECT_GT(mean_of(dsp, fast, "pulse_clarity"), 0.6);
}

TEST(DspDescriptor, RealTrackLogMel) {
  const fs::path path = testing::test_data() / "golden" / "joram_logmel.npy";
  const NpyReader reader(path);
  ASSERT_EQ(reader.row_size(), static_cast<std::uint64_t>(kBands));
  const FrameMatrix logmel{reader.rows(), kBands, reader.read_all_as_float()};
  const DspDescriptor dsp;
  const FrameMatrix d = dsp.compute(logmel);
  EXPECT_GE(d.rows, 29u);
  EXPECT_LE(d.rows, 30u);
  EXPECT_EQ(d.rows, (logmel.rows + 31) / 62);
  EXPECT_TRUE(all_finite(d));
  const double loudness = mean_of(dsp, d, "loudness_mean");
  EXPECT_GT(loudness, 0.1);
  EXPECT_LT(loudness, 9.0);
  const double centroid = mean_of(dsp, d, "spectral_centroid_khz_mean");
  EXPECT_GT(centroid, 0.1);
  EXPECT_LT(centroid, 8.0);
  // Music has onsets; a 30 s excerpt without any would mean the onset detector is broken.
  EXPECT_GT(mean_of(dsp, d, "onset_rate"), 0.2);
}

}  // namespace
}  // namespace conceptree
