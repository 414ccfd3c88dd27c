// The dsp backbone: hand-built per-second descriptors of a musicnn log-mel (docs/backbones.md,
// section "dsp", lists every dimension). Everything is computed from the 96 mel bands alone, so it
// needs no weights and takes about 15 ms per 30 s track.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "conceptree/backbone.hpp"
#include "conceptree/error.hpp"
#include "features/logmel_detail.hpp"

namespace conceptree {

namespace {

constexpr int kBands = 96;
static_assert(kBands % 8 == 0, "the flatness product takes bands 8 at a time");
constexpr double kSampleRate = 16000;
constexpr double kFrameSeconds = 256.0 / kSampleRate;  // hop 256 at 16 kHz
constexpr double kMaxFrequency = 8000;
constexpr int kWindow = DspDescriptor::kFramesPerDescriptor;
// Anything beyond is no log-mel the front end can produce (log10(10000 x + 1) of a float16 power
// stays within [0, ~8.8]); clamping keeps every power and square finite for arbitrary input.
constexpr double kLogMelLimit = 30;
// Added to every band's power (in front-end units, 10000 x power) so silence has a defined, flat
// spectral shape instead of 0/0; far below one quantisation step of a real log-mel.
constexpr double kPowerFloor = 1e-6;
constexpr double kLn10 = std::numbers::ln10;

constexpr int kGroups = 12;            // coarse band groups, 8 mel bands each
constexpr int kBandsPerGroup = kBands / kGroups;
constexpr int kMfcc = 20;              // coefficients 1..20; c0 duplicates loudness
constexpr int kContrastBands = 6;      // 16 mel bands each
constexpr int kBandsPerContrast = kBands / kContrastBands;
constexpr int kContrastTail = 3;       // ~20% of a sub-band's bands form its peak and its valley
constexpr int kFluxRegions = 4;        // 24 mel bands each
constexpr int kBandsPerFluxRegion = kBands / kFluxRegions;
constexpr int kEnvelopeRegions = 8;    // 12 mel bands each
constexpr int kBandsPerEnvelopeRegion = kBands / kEnvelopeRegions;
// A band's frame-to-frame change below this (log-mel units, ~0.1 dB) is neither a rise nor a fall.
constexpr double kChangeDeadZone = 0.01;
// Lags (frames) of the band-change autocorrelation: 5 frames is half a period of ~6 Hz vibrato or
// tremolo (negative correlation), 2 frames tells smooth glides and decays (positive) from noise.
constexpr std::array<int, 2> kModulationLags{2, 5};
constexpr double kRolloffFraction = 0.85;
// The low region ends near 1 kHz: up to there Slaney mel bands are 31 Hz apart and harmonics of
// notes above ~G2 fall in separate bands; the mid region (1-2.8 kHz) only resolves high notes.
constexpr int kRippleLowFirst = 1, kRippleLowLast = 31;
constexpr int kRippleMidFirst = 32, kRippleMidLast = 63;

// Tempo: onset autocorrelation over ~3 s centred on the window (a 1 s window holds at most two
// beats of a slow piece), lags 40-375 BPM.
constexpr int kTempoContext = 187;
constexpr int kMinLag = 10;   // 375 BPM
constexpr int kMaxLag = 94;   // 40 BPM
constexpr double kReferenceBpm = 120;
// The pulse is the shortest-lag autocorrelation peak within this fraction of the highest one:
// multiples of the period score almost as high, and the fastest strong pulse is what separates
// a 0.25 s pattern from a 0.5 s one.
constexpr double kPulsePeakFraction = 0.7;
struct TempoBand {
  const char* name;
  double low_bpm;
  double high_bpm;
};
constexpr std::array<TempoBand, 6> kTempoBands{{{"40_60", 40, 60},
                                                {"60_80", 60, 80},
                                                {"80_110", 80, 110},
                                                {"110_150", 110, 150},
                                                {"150_200", 150, 200},
                                                {"200_375", 200, 375}}};
// Onset peaks: above the local mean + this many local standard deviations of onset strength, and
// above an absolute floor (log10 units averaged over bands) so faint noise in near-silence does
// not count as onsets.
constexpr double kOnsetThresholdStd = 0.5;
constexpr double kOnsetFloor = 0.02;

// Per-frame quantities; the descriptor takes window statistics of these columns.
enum FrameColumn : int {
  kLoud = 0,
  kGroup0 = kLoud + 1,
  kMfcc0 = kGroup0 + kGroups,
  kDeltaMfcc0 = kMfcc0 + kMfcc,
  kCentroid = kDeltaMfcc0 + kMfcc,
  kSpread,
  kLogFlatness,
  kRolloff,
  kSlope,
  kContrast0,
  kRippleLow = kContrast0 + kContrastBands,
  kRippleMid,
  kFlux,
  kSubFlux0,
  kFall0 = kSubFlux0 + kFluxRegions,
  kFallFraction0 = kFall0 + kEnvelopeRegions,
  kRiseFraction0 = kFallFraction0 + kEnvelopeRegions,
  kChangePower0 = kRiseFraction0 + kEnvelopeRegions,
  kChangeProduct0 = kChangePower0 + kEnvelopeRegions,
  kRegionChange0 = kChangeProduct0 + kEnvelopeRegions * static_cast<int>(kModulationLags.size()),
  kFrameColumns = kRegionChange0 + kEnvelopeRegions,
};
constexpr int kShapeColumns = 5;
constexpr std::array<const char*, kShapeColumns> kShapeNames{"spectral_centroid_khz", "spectral_spread_khz",
                                                              "spectral_log_flatness", "spectral_rolloff_khz",
                                                              "spectral_slope"};

struct Window {
  std::size_t first = 0;
  std::size_t count = 0;
};

// 62-frame windows; a tail of at least half a window is a window of its own, a shorter one joins
// the last window so its frames still count, and a track shorter than a window is one window.
std::vector<Window> windows_for(std::size_t frames) {
  std::vector<Window> windows;
  const auto size = static_cast<std::size_t>(kWindow);
  const std::size_t full = frames / size;
  const std::size_t tail = frames % size;
  for (std::size_t w = 0; w < full; ++w) windows.push_back({w * size, size});
  if (tail == 0) return windows;
  if (windows.empty() || tail * 2 >= size) {
    windows.push_back({full * size, tail});
  } else {
    windows.back().count += tail;
  }
  return windows;
}

// One second holds too few notes for stable timbre statistics; ~3 s (as for tempo) does.
constexpr int kStatsContext = 187;
// The frames whose statistics describe `window`: ~3 s centred on it, sliding inwards near the ends
// like the tempo context, never fewer frames than the window itself (a long last window).
Window context_for(const Window& window, std::size_t frames) {
  const auto size = std::min<std::size_t>(frames, kStatsContext);
  const std::size_t centre = window.first + window.count / 2;
  const std::size_t first = std::min(centre > size / 2 ? centre - size / 2 : 0, frames - size);
  return {first, std::max(size, window.count)};
}

struct ColumnStats {
  std::vector<double> mean, std, min, max;
};

ColumnStats window_stats(const std::vector<double>& frames, std::size_t columns, const Window& window) {
  ColumnStats stats;
  stats.mean.assign(columns, 0);
  stats.std.assign(columns, 0);
  stats.min.assign(columns, 0);
  stats.max.assign(columns, 0);
  const double n = static_cast<double>(window.count);
  for (std::size_t c = 0; c < columns; ++c) {
    double sum = 0, lo = frames[window.first * columns + c], hi = lo;
    for (std::size_t t = window.first; t < window.first + window.count; ++t) {
      const double v = frames[t * columns + c];
      sum += v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    const double mean = sum / n;
    // Two passes: one-pass variance cancels catastrophically on large, nearly constant values.
    double squares = 0;
    for (std::size_t t = window.first; t < window.first + window.count; ++t) {
      const double d = frames[t * columns + c] - mean;
      squares += d * d;
    }
    stats.mean[c] = mean;
    stats.std[c] = std::sqrt(squares / n);
    stats.min[c] = lo;
    stats.max[c] = hi;
  }
  return stats;
}

struct TempoFeatures {
  double pulse_clarity = 0;
  double pulse_tempo_log2 = 0;
  std::array<double, kTempoBands.size()> band_ac{};
  double onset_rate = 0;  // onsets per second inside the window itself
};

double lag_to_bpm(double lag) { return 60.0 / (lag * kFrameSeconds); }

// Autocorrelation summary of the onset envelope around `window`, plus its onset count.
TempoFeatures tempo_features(const std::vector<double>& envelope, const std::vector<double>& flux, const Window& window) {
  TempoFeatures out;
  const auto frames = static_cast<std::ptrdiff_t>(envelope.size());
  const auto centre = static_cast<std::ptrdiff_t>(window.first + window.count / 2);
  // Near the end the context slides back rather than shrinking, so the last window of a track
  // still sees a full 3 s when the track has them.
  const std::ptrdiff_t first = std::max<std::ptrdiff_t>(0, std::min<std::ptrdiff_t>(centre - kTempoContext / 2, frames - kTempoContext));
  const std::ptrdiff_t last = std::min<std::ptrdiff_t>(frames, first + kTempoContext);
  const std::ptrdiff_t n = last - first;

  double mean = 0;
  for (std::ptrdiff_t t = first; t < last; ++t) mean += flux[static_cast<std::size_t>(t)];
  mean /= static_cast<double>(n);
  double var = 0;
  for (std::ptrdiff_t t = first; t < last; ++t) {
    const double d = flux[static_cast<std::size_t>(t)] - mean;
    var += d * d;
  }
  const double threshold = std::max(kOnsetFloor, mean + kOnsetThresholdStd * std::sqrt(var / static_cast<double>(n)));
  int onsets = 0;
  for (std::size_t t = window.first; t < window.first + window.count; ++t) {
    const double v = flux[t];
    const double before = t > 0 ? flux[t - 1] : 0;
    const double after = t + 1 < flux.size() ? flux[t + 1] : 0;
    if (v > threshold && v > before && v >= after) ++onsets;
  }
  out.onset_rate = onsets / (static_cast<double>(window.count) * kFrameSeconds);

  const std::ptrdiff_t max_lag = std::min<std::ptrdiff_t>(kMaxLag + 1, n - 1);  // one past the last lag used
  if (max_lag <= kMinLag) return out;
  std::vector<double> centred(static_cast<std::size_t>(n));
  double env_mean = 0;
  for (std::ptrdiff_t t = first; t < last; ++t) env_mean += envelope[static_cast<std::size_t>(t)];
  env_mean /= static_cast<double>(n);
  for (std::ptrdiff_t t = 0; t < n; ++t) centred[static_cast<std::size_t>(t)] = envelope[static_cast<std::size_t>(first + t)] - env_mean;
  auto raw_ac = [&](std::ptrdiff_t lag) {
    double s = 0;
    for (std::ptrdiff_t t = 0; t + lag < n; ++t) s += centred[static_cast<std::size_t>(t)] * centred[static_cast<std::size_t>(t + lag)];
    return s;
  };
  const double energy = raw_ac(0);
  // A constant envelope (silence, a steady tone) has no periodicity; a relative floor keeps
  // rounding noise from looking like one.
  if (!(energy > 1e-12)) return out;
  // Biased normalisation (divide by the lag-0 energy): longer lags overlap less, which favours
  // the period over its multiples.
  std::vector<double> ac(static_cast<std::size_t>(max_lag + 1), 0.0);
  for (std::ptrdiff_t lag = kMinLag - 1; lag <= max_lag && lag < n; ++lag) ac[static_cast<std::size_t>(lag)] = raw_ac(lag) / energy;

  double best = -1;
  for (std::ptrdiff_t lag = kMinLag; lag < max_lag; ++lag) best = std::max(best, ac[static_cast<std::size_t>(lag)]);
  out.pulse_clarity = std::max(0.0, best);
  if (best > 0) {
    for (std::ptrdiff_t lag = kMinLag; lag < max_lag; ++lag) {
      const auto l = static_cast<std::size_t>(lag);
      const bool peak = ac[l] >= ac[l - 1] && ac[l] >= ac[l + 1];
      if (!peak || ac[l] < kPulsePeakFraction * best) continue;
      // Parabolic interpolation: the period rarely is a whole number of 16 ms frames.
      const double denominator = ac[l - 1] - 2 * ac[l] + ac[l + 1];
      double offset = denominator < 0 ? 0.5 * (ac[l - 1] - ac[l + 1]) / denominator : 0.0;
      offset = std::clamp(offset, -0.5, 0.5);
      out.pulse_tempo_log2 = std::log2(lag_to_bpm(static_cast<double>(lag) + offset) / kReferenceBpm);
      break;
    }
  }
  for (std::size_t b = 0; b < kTempoBands.size(); ++b) {
    // The strongest lag, not the mean: a pulse's peak is a few frames wide in a band of up to 30.
    double strongest = 0;
    for (std::ptrdiff_t lag = kMinLag; lag < max_lag; ++lag) {
      const double bpm = lag_to_bpm(static_cast<double>(lag));
      if (bpm >= kTempoBands[b].low_bpm && bpm < kTempoBands[b].high_bpm) strongest = std::max(strongest, ac[static_cast<std::size_t>(lag)]);
    }
    out.band_ac[b] = strongest;
  }
  return out;
}

}  // namespace

struct DspDescriptor::State {
  std::vector<std::string> names;
  std::vector<double> dct;            // kMfcc x kBands, rows are DCT-II basis vectors 1..kMfcc
  std::vector<double> centre_khz;     // each mel band's centre frequency
  std::vector<double> width_hz;       // each mel band's support, for integrating power over Hz
  std::vector<double> slope_x;        // band position in [0, 1], centred, for the slope fit
  double slope_denominator = 0;
};

DspDescriptor::DspDescriptor() : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.dct.resize(static_cast<std::size_t>(kMfcc) * kBands);
  const double scale = std::sqrt(2.0 / kBands);  // orthonormal DCT-II
  for (int k = 0; k < kMfcc; ++k) {
    for (int b = 0; b < kBands; ++b) {
      s.dct[static_cast<std::size_t>(k) * kBands + b] = scale * std::cos(std::numbers::pi * (k + 1) * (b + 0.5) / kBands);
    }
  }
  // 96 triangular filters need 98 equally spaced Slaney mel points from 0 to 8 kHz.
  const double top = detail::hz_to_slaney_mel(kMaxFrequency);
  std::vector<double> points(kBands + 2);
  for (int i = 0; i < kBands + 2; ++i) points[static_cast<std::size_t>(i)] = detail::slaney_mel_to_hz(top * i / (kBands + 1));
  for (int b = 0; b < kBands; ++b) {
    const auto i = static_cast<std::size_t>(b);
    s.centre_khz.push_back(points[i + 1] / 1000);
    // Slaney area normalisation makes a band's value the mean power density over its support.
    s.width_hz.push_back(points[i + 2] - points[i]);
    s.slope_x.push_back(static_cast<double>(b) / (kBands - 1) - 0.5);
    s.slope_denominator += s.slope_x.back() * s.slope_x.back();
  }

  auto& n = s.names;
  n.insert(n.end(), {"loudness_mean", "loudness_std", "loudness_range"});
  for (int g = 0; g < kGroups; ++g) n.push_back(fmt::format("band_group_{}_mean", g));
  for (int g = 0; g < kGroups; ++g) n.push_back(fmt::format("band_group_{}_std", g));
  for (int k = 1; k <= kMfcc; ++k) n.push_back(fmt::format("mfcc_{}_mean", k));
  for (int k = 1; k <= kMfcc; ++k) n.push_back(fmt::format("mfcc_{}_std", k));
  for (int k = 1; k <= kMfcc; ++k) n.push_back(fmt::format("delta_mfcc_{}_std", k));
  for (const char* shape : kShapeNames) {
    n.push_back(fmt::format("{}_mean", shape));
    n.push_back(fmt::format("{}_std", shape));
  }
  for (int c = 0; c < kContrastBands; ++c) n.push_back(fmt::format("contrast_{}_mean", c));
  for (int c = 0; c < kContrastBands; ++c) n.push_back(fmt::format("contrast_{}_std", c));
  n.insert(n.end(), {"ripple_low_mean", "ripple_low_std", "ripple_mid_mean"});
  n.insert(n.end(), {"onset_strength_mean", "onset_strength_std", "onset_strength_max", "onset_rate"});
  for (int r = 0; r < kFluxRegions; ++r) n.push_back(fmt::format("subband_flux_{}_mean", r));
  for (int r = 0; r < kEnvelopeRegions; ++r) n.push_back(fmt::format("decay_{}_mean", r));
  for (int r = 0; r < kEnvelopeRegions; ++r) n.push_back(fmt::format("falling_fraction_{}", r));
  for (int r = 0; r < kEnvelopeRegions; ++r) n.push_back(fmt::format("rising_fraction_{}", r));
  for (int lag : kModulationLags) {
    for (int r = 0; r < kEnvelopeRegions; ++r) n.push_back(fmt::format("change_autocorr_lag{}_{}", lag, r));
  }
  for (int a = 0; a < kEnvelopeRegions; ++a) {
    for (int b = a + 1; b < kEnvelopeRegions; ++b) n.push_back(fmt::format("comodulation_{}_{}", a, b));
  }
  n.insert(n.end(), {"pulse_clarity", "pulse_tempo_log2"});
  for (const TempoBand& band : kTempoBands) n.push_back(fmt::format("tempo_ac_{}bpm", band.name));
}

DspDescriptor::DspDescriptor(DspDescriptor&&) noexcept = default;
DspDescriptor& DspDescriptor::operator=(DspDescriptor&&) noexcept = default;
DspDescriptor::~DspDescriptor() = default;

std::uint64_t DspDescriptor::dim() const { return state_->names.size(); }

const std::vector<std::string>& DspDescriptor::dimension_names() const { return state_->names; }

FrameMatrix DspDescriptor::compute(const FrameMatrix& logmel) const {
  const State& s = *state_;
  if (logmel.cols != kBands) {
    throw InputError("log-mel", fmt::format("{} columns, the dsp backbone needs {} mel bands", logmel.cols, kBands));
  }
  if (logmel.values.size() != logmel.rows * logmel.cols) {
    throw InputError("log-mel", fmt::format("{} values for {} x {} frames", logmel.values.size(), logmel.rows, logmel.cols));
  }
  FrameMatrix out;
  out.cols = dim();
  const std::size_t frames = logmel.rows;
  if (frames == 0) return out;
  for (std::size_t i = 0; i < logmel.values.size(); ++i) {
    if (!std::isfinite(logmel.values[i])) {
      throw InputError("log-mel", fmt::format("non-finite value at frame {}, band {}", i / kBands, i % kBands));
    }
  }

  constexpr auto columns = static_cast<std::size_t>(kFrameColumns);
  std::vector<double> pf(frames * columns, 0.0);  // per-frame features, frames x columns
  std::vector<double> current(kBands), previous(kBands), power(kBands), sorted(kBandsPerContrast);
  std::vector<double> mfcc(frames * kMfcc);
  std::vector<double> band_change(frames * kBands, 0.0);  // L[t][b] - L[t-1][b]; 0 for the first frame
  for (std::size_t t = 0; t < frames; ++t) {
    double* row = &pf[t * columns];
    for (int b = 0; b < kBands; ++b) {
      current[static_cast<std::size_t>(b)] =
          std::clamp(static_cast<double>(logmel.values[t * kBands + static_cast<std::size_t>(b)]), -kLogMelLimit, kLogMelLimit);
    }
    double loud = 0;
    for (double v : current) loud += v;
    loud /= kBands;
    row[kLoud] = loud;
    for (int g = 0; g < kGroups; ++g) {
      double sum = 0;
      for (int b = g * kBandsPerGroup; b < (g + 1) * kBandsPerGroup; ++b) sum += current[static_cast<std::size_t>(b)];
      row[kGroup0 + g] = sum / kBandsPerGroup;
    }
    for (int k = 0; k < kMfcc; ++k) {
      const double* basis = &s.dct[static_cast<std::size_t>(k) * kBands];
      double c = 0;
      for (int b = 0; b < kBands; ++b) c += basis[b] * current[static_cast<std::size_t>(b)];
      mfcc[t * kMfcc + static_cast<std::size_t>(k)] = c;
      row[kMfcc0 + k] = c;
    }

    // Spectral shape over linear power (the inverse of log10(10000 x + 1), in units of 10000 x).
    double total = 0, weighted = 0, log_sum = 0, plain_sum = 0, product = 1;
    for (std::size_t b = 0; b < kBands; ++b) {
      power[b] = std::max(0.0, std::exp(kLn10 * current[b]) - 1) + kPowerFloor;
      const double area = power[b] * s.width_hz[b];
      total += area;
      weighted += area * s.centre_khz[b];
      plain_sum += power[b];
      // One log per 8 bands: a product of 8 powers in [1e-6, 1e30] stays within double range,
      // and the logs were most of the descriptor's run time.
      product *= power[b];
      if (b % 8 == 7) {
        log_sum += std::log(product);
        product = 1;
      }
    }
    const double centroid = weighted / total;
    double spread = 0, cumulative = 0, rolloff = s.centre_khz.back();
    bool rolled = false;
    for (std::size_t b = 0; b < kBands; ++b) {
      const double area = power[b] * s.width_hz[b];
      const double d = s.centre_khz[b] - centroid;
      spread += area * d * d;
      cumulative += area;
      if (!rolled && cumulative >= kRolloffFraction * total) {
        rolloff = s.centre_khz[b];
        rolled = true;
      }
    }
    row[kCentroid] = centroid;
    row[kSpread] = std::sqrt(spread / total);
    // Geometric over arithmetic mean, as log10 so tonal frames are not all squeezed near 0.
    row[kLogFlatness] = std::min(0.0, (log_sum / kBands - std::log(plain_sum / kBands)) / kLn10);
    row[kRolloff] = rolloff;
    double slope = 0;
    for (std::size_t b = 0; b < kBands; ++b) slope += s.slope_x[b] * (current[b] - loud);
    row[kSlope] = slope / s.slope_denominator;

    for (int c = 0; c < kContrastBands; ++c) {
      std::copy_n(current.begin() + c * kBandsPerContrast, kBandsPerContrast, sorted.begin());
      std::sort(sorted.begin(), sorted.end());
      double valley = 0, peak = 0;
      for (int i = 0; i < kContrastTail; ++i) {
        valley += sorted[static_cast<std::size_t>(i)];
        peak += sorted[static_cast<std::size_t>(kBandsPerContrast - 1 - i)];
      }
      row[kContrast0 + c] = (peak - valley) / kContrastTail;
    }

    auto ripple = [&](int first, int last) {
      double sum = 0;
      for (int b = first; b <= last; ++b) {
        const auto i = static_cast<std::size_t>(b);
        sum += std::abs(current[i] - 0.5 * (current[i - 1] + current[i + 1]));
      }
      return sum / (last - first + 1);
    };
    row[kRippleLow] = ripple(kRippleLowFirst, kRippleLowLast);
    row[kRippleMid] = ripple(kRippleMidFirst, kRippleMidLast);

    // Positive spectral flux; the first frame has no predecessor and counts as no change.
    if (t > 0) {
      double flux = 0;
      for (int r = 0; r < kFluxRegions; ++r) {
        double region = 0;
        for (int b = r * kBandsPerFluxRegion; b < (r + 1) * kBandsPerFluxRegion; ++b) {
          const auto i = static_cast<std::size_t>(b);
          region += std::max(0.0, current[i] - previous[i]);
        }
        flux += region;
        row[kSubFlux0 + r] = region / kBandsPerFluxRegion;
      }
      row[kFlux] = flux / kBands;
      for (int r = 0; r < kEnvelopeRegions; ++r) {
        double fall = 0, region_change = 0;
        int falling = 0, rising = 0;
        for (int b = r * kBandsPerEnvelopeRegion; b < (r + 1) * kBandsPerEnvelopeRegion; ++b) {
          const auto i = static_cast<std::size_t>(b);
          const double change = current[i] - previous[i];
          band_change[t * kBands + i] = change;
          fall += std::max(0.0, -change);
          region_change += change;
          falling += change < -kChangeDeadZone ? 1 : 0;
          rising += change > kChangeDeadZone ? 1 : 0;
        }
        row[kFall0 + r] = fall / kBandsPerEnvelopeRegion;
        row[kRegionChange0 + r] = region_change / kBandsPerEnvelopeRegion;
        row[kFallFraction0 + r] = static_cast<double>(falling) / kBandsPerEnvelopeRegion;
        row[kRiseFraction0 + r] = static_cast<double>(rising) / kBandsPerEnvelopeRegion;
      }
    }
    std::swap(current, previous);
  }

  for (std::size_t t = 0; t < frames; ++t) {
    const std::size_t before = t > 0 ? t - 1 : t;
    const std::size_t after = t + 1 < frames ? t + 1 : t;
    for (int k = 0; k < kMfcc; ++k) {
      const auto kk = static_cast<std::size_t>(k);
      pf[t * columns + kDeltaMfcc0 + kk] = 0.5 * (mfcc[after * kMfcc + kk] - mfcc[before * kMfcc + kk]);
    }
  }

  // Each region's band changes and their products with the changes `lag` frames earlier: the window
  // sums of these give the modulation autocorrelation per region.
  for (std::size_t t = 1; t < frames; ++t) {
    auto change = [&](std::size_t frame, std::size_t band) { return band_change[frame * kBands + band]; };
    double* row = &pf[t * columns];
    for (int r = 0; r < kEnvelopeRegions; ++r) {
      double power_sum = 0;
      std::array<double, kModulationLags.size()> products{};
      for (int b = r * kBandsPerEnvelopeRegion; b < (r + 1) * kBandsPerEnvelopeRegion; ++b) {
        const auto band = static_cast<std::size_t>(b);
        const double now = change(t, band);
        power_sum += now * now;
        for (std::size_t l = 0; l < kModulationLags.size(); ++l) {
          const auto lag = static_cast<std::size_t>(kModulationLags[l]);
          if (t > lag) products[l] += now * change(t - lag, band);
        }
      }
      row[kChangePower0 + r] = power_sum / kBandsPerEnvelopeRegion;
      for (std::size_t l = 0; l < kModulationLags.size(); ++l) {
        row[kChangeProduct0 + r * static_cast<int>(kModulationLags.size()) + static_cast<int>(l)] = products[l] / kBandsPerEnvelopeRegion;
      }
    }
  }

  std::vector<double> flux(frames), envelope(frames);
  for (std::size_t t = 0; t < frames; ++t) flux[t] = pf[t * columns + kFlux];
  // A [1 2 1] smoothing merges an onset split over two frames and a period that alternates
  // between 15 and 16 frames into one autocorrelation peak.
  for (std::size_t t = 0; t < frames; ++t) {
    const double before = t > 0 ? flux[t - 1] : flux[t];
    const double after = t + 1 < frames ? flux[t + 1] : flux[t];
    envelope[t] = 0.25 * before + 0.5 * flux[t] + 0.25 * after;
  }

  const std::vector<Window> windows = windows_for(frames);
  out.rows = windows.size();
  out.values.reserve(out.rows * out.cols);
  for (const Window& window : windows) {
    const ColumnStats st = window_stats(pf, columns, context_for(window, frames));
    const TempoFeatures tempo = tempo_features(envelope, flux, window);
    const std::size_t row_start = out.values.size();
    auto put = [&](double v) { out.values.push_back(static_cast<float>(v)); };
    put(st.mean[kLoud]);
    put(st.std[kLoud]);
    put(st.max[kLoud] - st.min[kLoud]);
    for (int g = 0; g < kGroups; ++g) put(st.mean[kGroup0 + g]);
    for (int g = 0; g < kGroups; ++g) put(st.std[kGroup0 + g]);
    for (int k = 0; k < kMfcc; ++k) put(st.mean[kMfcc0 + k]);
    for (int k = 0; k < kMfcc; ++k) put(st.std[kMfcc0 + k]);
    for (int k = 0; k < kMfcc; ++k) put(st.std[kDeltaMfcc0 + k]);
    for (int c = kCentroid; c < kCentroid + kShapeColumns; ++c) {
      put(st.mean[static_cast<std::size_t>(c)]);
      put(st.std[static_cast<std::size_t>(c)]);
    }
    for (int c = 0; c < kContrastBands; ++c) put(st.mean[kContrast0 + c]);
    for (int c = 0; c < kContrastBands; ++c) put(st.std[kContrast0 + c]);
    put(st.mean[kRippleLow]);
    put(st.std[kRippleLow]);
    put(st.mean[kRippleMid]);
    put(st.mean[kFlux]);
    put(st.std[kFlux]);
    put(st.max[kFlux]);
    put(tempo.onset_rate);
    for (int r = 0; r < kFluxRegions; ++r) put(st.mean[kSubFlux0 + r]);
    for (int c = kFall0; c < kRiseFraction0 + kEnvelopeRegions; ++c) put(st.mean[static_cast<std::size_t>(c)]);
    for (std::size_t l = 0; l < kModulationLags.size(); ++l) {
      for (int r = 0; r < kEnvelopeRegions; ++r) {
        const double power = st.mean[static_cast<std::size_t>(kChangePower0 + r)];
        const double product = st.mean[static_cast<std::size_t>(kChangeProduct0 + r * static_cast<int>(kModulationLags.size())) + l];
        // A region that never changes has no modulation to speak of.
        put(power > 1e-12 ? std::clamp(product / power, -1.0, 1.0) : 0.0);
      }
    }
    const Window context = context_for(window, frames);
    for (int a = 0; a < kEnvelopeRegions; ++a) {
      for (int b = a + 1; b < kEnvelopeRegions; ++b) {
        const auto ca = static_cast<std::size_t>(kRegionChange0 + a), cb = static_cast<std::size_t>(kRegionChange0 + b);
        double covariance = 0;
        for (std::size_t t = context.first; t < context.first + context.count; ++t) {
          covariance += (pf[t * columns + ca] - st.mean[ca]) * (pf[t * columns + cb] - st.mean[cb]);
        }
        covariance /= static_cast<double>(context.count);
        const double scale = st.std[ca] * st.std[cb];
        // Regions that do not move have no common fate to measure.
        put(scale > 1e-12 ? std::clamp(covariance / scale, -1.0, 1.0) : 0.0);
      }
    }
    put(tempo.pulse_clarity);
    put(tempo.pulse_tempo_log2);
    for (double v : tempo.band_ac) put(v);
    if (out.values.size() - row_start != out.cols) {
      throw std::logic_error(fmt::format("dsp descriptor wrote {} values for {} names", out.values.size() - row_start, out.cols));
    }
  }
  return out;
}

}  // namespace conceptree
