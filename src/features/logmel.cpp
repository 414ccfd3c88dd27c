#include "conceptree/logmel.hpp"

#include <fftw3.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <numbers>
#include <vector>

#include "conceptree/error.hpp"
#include "conceptree/npy.hpp"
#include "features/logmel_detail.hpp"

namespace conceptree {

namespace {

constexpr int kBins = kLogMelFftSize / 2 + 1;

// FFTW's planner keeps global state: creating or destroying plans from two threads at once is a
// data race, while executing an existing plan is safe.
std::mutex& fftw_planner_mutex() {
  static std::mutex mutex;
  return mutex;
}

struct FftwFree {
  void operator()(void* p) const { fftwf_free(p); }
};

// The Slaney scale's break: linear up to 1 kHz, then 27 mels for each factor of 6.4 in frequency.
constexpr double kMinLogHz = 1000.0;
constexpr double kLinearHzPerMel = 200.0 / 3.0;
constexpr double kMinLogMel = kMinLogHz / kLinearHzPerMel;

double log_step() { return std::log(6.4) / 27.0; }

// numpy's pad mode 'reflect' (the edge sample is not repeated), which for pads longer than the
// signal keeps reflecting: the padded signal is periodic with period 2(n-1).
std::size_t reflect_index(std::int64_t i, std::int64_t n) {
  if (n == 1) return 0;
  const std::int64_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return static_cast<std::size_t>(i < n ? i : period - i);
}

}  // namespace

namespace detail {

double hz_to_slaney_mel(double hz) {
  return hz >= kMinLogHz ? kMinLogMel + std::log(hz / kMinLogHz) / log_step() : hz / kLinearHzPerMel;
}

double slaney_mel_to_hz(double mel) {
  return mel >= kMinLogMel ? kMinLogHz * std::exp(log_step() * (mel - kMinLogMel)) : kLinearHzPerMel * mel;
}

// IEEE binary16 rounding, round-to-nearest-even, as numpy's astype(float16) does; written out
// because ISO C++20 has no half type.
std::uint16_t float_to_half_bits(float value) {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);  // NaN
  if (magnitude >= 0x47800000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65536 (or inf)
  if (magnitude < 0x38800000u) {
    // Below 2^-14 halves are subnormal, multiples of 2^-24; scaling by 2^24 is exact, so one
    // nearbyint (ties to even in the default rounding mode) rounds once. 1024 is the smallest normal.
    const float scaled = std::bit_cast<float>(magnitude) * 16777216.0f;
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::nearbyint(scaled)));
  }
  const std::uint32_t exponent = (magnitude >> 23) - 127 + 15;
  const std::uint32_t mantissa = magnitude & 0x7fffffu;
  std::uint32_t half = (exponent << 10) | (mantissa >> 13);
  const std::uint32_t rest = mantissa & 0x1fffu;
  // A carry out of the mantissa correctly bumps the exponent, up to infinity at 65520.
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return static_cast<std::uint16_t>(sign | half);
}

// librosa.filters.mel(sr=16000, n_fft=512, n_mels=96, fmin=0, fmax=8000, htk=False,
// norm='slaney'): computed in double like librosa, stored as float32 like its output.
std::vector<float> slaney_mel_filterbank() {
  constexpr int bands = kLogMelBands;
  const double nyquist = kLogMelSampleRate / 2;
  std::vector<double> fft_hz(kBins);
  for (int k = 0; k < kBins; ++k) fft_hz[k] = nyquist * k / (kBins - 1);
  std::vector<double> mel_hz(bands + 2);
  const double mel_max = hz_to_slaney_mel(nyquist);
  for (int i = 0; i < bands + 2; ++i) mel_hz[i] = slaney_mel_to_hz(mel_max * i / (bands + 1));

  std::vector<float> weights(static_cast<std::size_t>(bands) * kBins, 0.0f);
  for (int m = 0; m < bands; ++m) {
    const double lower_width = mel_hz[m + 1] - mel_hz[m];
    const double upper_width = mel_hz[m + 2] - mel_hz[m + 1];
    const double area_norm = 2.0 / (mel_hz[m + 2] - mel_hz[m]);
    for (int k = 0; k < kBins; ++k) {
      const double rising = (fft_hz[k] - mel_hz[m]) / lower_width;
      const double falling = (mel_hz[m + 2] - fft_hz[k]) / upper_width;
      weights[static_cast<std::size_t>(m) * kBins + k] = static_cast<float>(std::max(0.0, std::min(rising, falling)) * area_norm);
    }
  }
  return weights;
}

}  // namespace detail

struct LogMel::State {
  std::vector<float> window;  // periodic Hann
  std::vector<float> weights;  // bands x bins
  // Each band's non-zero bins, [first, last): the filters are narrow, so this skips most products.
  std::vector<int> first_bin, last_bin;
  fftwf_plan plan = nullptr;

  State() {
    window.resize(kLogMelFftSize);
    // scipy.signal.get_window('hann', N, fftbins=True): the DFT-even (periodic) window.
    for (int n = 0; n < kLogMelFftSize; ++n) {
      window[n] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * n / kLogMelFftSize));
    }
    weights = detail::slaney_mel_filterbank();
    first_bin.assign(kLogMelBands, 0);
    last_bin.assign(kLogMelBands, 0);
    for (int m = 0; m < kLogMelBands; ++m) {
      const float* row = weights.data() + static_cast<std::size_t>(m) * kBins;
      int first = 0;
      while (first < kBins && row[first] == 0.0f) ++first;
      int last = kBins;
      while (last > first && row[last - 1] == 0.0f) --last;
      first_bin[m] = first;
      last_bin[m] = last;
    }
    std::unique_ptr<float, FftwFree> in(fftwf_alloc_real(kLogMelFftSize));
    std::unique_ptr<fftwf_complex, FftwFree> out(fftwf_alloc_complex(kBins));
    if (!in || !out) throw FatalError("out of memory allocating FFT buffers");
    {
      std::lock_guard lock(fftw_planner_mutex());
      // FFTW_ESTIMATE leaves the arrays untouched and plans without timing runs.
      plan = fftwf_plan_dft_r2c_1d(kLogMelFftSize, in.get(), out.get(), FFTW_ESTIMATE);
    }
    if (!plan) throw FatalError("FFTW could not plan a 512-point real FFT");
  }

  ~State() {
    std::lock_guard lock(fftw_planner_mutex());
    fftwf_destroy_plan(plan);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
};

LogMel::LogMel() : state_(std::make_unique<State>()) {}
LogMel::LogMel(LogMel&&) noexcept = default;
LogMel& LogMel::operator=(LogMel&&) noexcept = default;
LogMel::~LogMel() = default;

FrameMatrix LogMel::compute(std::span<const float> samples) const {
  const State& s = *state_;
  const auto n = static_cast<std::int64_t>(samples.size());
  const std::uint64_t frames = 1 + samples.size() / kLogMelHop;
  FrameMatrix result{frames, static_cast<std::uint64_t>(kLogMelBands), std::vector<float>(frames * kLogMelBands)};

  // Buffers from fftwf_alloc_* share the plan's alignment, which the new-array execute requires;
  // being per call, they make compute() safe to run concurrently.
  std::unique_ptr<float, FftwFree> in(fftwf_alloc_real(kLogMelFftSize));
  std::unique_ptr<fftwf_complex, FftwFree> out(fftwf_alloc_complex(kBins));
  if (!in || !out) throw FatalError("out of memory allocating FFT buffers");
  std::vector<float> power(kBins);
  constexpr std::int64_t half_window = kLogMelFftSize / 2;

  for (std::uint64_t t = 0; t < frames; ++t) {
    // Centred frames: frame t covers samples [t*hop - n_fft/2, t*hop + n_fft/2) of the signal
    // reflect-padded by n_fft/2 on both sides (librosa center=True, pad_mode='reflect').
    const std::int64_t start = static_cast<std::int64_t>(t) * kLogMelHop - half_window;
    float* frame = in.get();
    if (n == 0) {
      std::fill_n(frame, kLogMelFftSize, 0.0f);
    } else if (start >= 0 && start + kLogMelFftSize <= n) {
      for (int k = 0; k < kLogMelFftSize; ++k) frame[k] = samples[static_cast<std::size_t>(start + k)] * s.window[k];
    } else {
      for (int k = 0; k < kLogMelFftSize; ++k) frame[k] = samples[reflect_index(start + k, n)] * s.window[k];
    }
    fftwf_execute_dft_r2c(s.plan, frame, out.get());
    for (int k = 0; k < kBins; ++k) power[k] = out.get()[k][0] * out.get()[k][0] + out.get()[k][1] * out.get()[k][1];

    float* row = result.values.data() + t * kLogMelBands;
    for (int m = 0; m < kLogMelBands; ++m) {
      const float* weights = s.weights.data() + static_cast<std::size_t>(m) * kBins;
      double energy = 0;
      for (int k = s.first_bin[m]; k < s.last_bin[m]; ++k) energy += static_cast<double>(weights[k]) * power[k];
      // musicnn stores the mel spectrogram as float16 before the log; the rounding is part of
      // the features its weights were trained on.
      const float rounded = half_to_float(detail::float_to_half_bits(static_cast<float>(energy)));
      row[m] = static_cast<float>(std::log10(10000.0 * rounded + 1.0));
    }
  }
  return result;
}

}  // namespace conceptree
