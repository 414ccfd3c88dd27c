#pragma once
// The musicnn log-mel front end (DESIGN.md §1): 16 kHz mono, n_fft 512, hop 256, periodic Hann
// window, centred frames with reflect padding, power spectrum, 96 Slaney mel bands with Slaney
// area normalisation, cast to float16, then log10(10000 x + 1).
//   LogMel logmel;                 // builds the window, mel filters and FFT plan once
//   FrameMatrix m = logmel.compute(samples);   // frames x 96, frames = 1 + samples / 256

#include <memory>
#include <span>

#include "conceptree/store.hpp"

namespace conceptree {

inline constexpr double kLogMelSampleRate = 16000;
inline constexpr int kLogMelFftSize = 512;
inline constexpr int kLogMelHop = 256;
inline constexpr int kLogMelBands = 96;

class LogMel {
 public:
  LogMel();
  LogMel(LogMel&&) noexcept;
  LogMel& operator=(LogMel&&) noexcept;
  ~LogMel();
  // Thread-safe: one LogMel may serve many threads.
  FrameMatrix compute(std::span<const float> samples) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace conceptree
