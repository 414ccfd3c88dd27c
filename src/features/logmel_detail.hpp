#pragma once
// Pieces of the log-mel front end exposed inside the library (the dsp backbone places its bands on
// the same mel scale) and to tests.

#include <cstdint>
#include <vector>

namespace conceptree::detail {

// IEEE binary16 bits of `value`, rounded to nearest even (numpy's astype(float16)).
std::uint16_t float_to_half_bits(float value);

// librosa's Slaney mel scale (htk=False): linear below 1 kHz (200/3 Hz per mel), logarithmic above.
double hz_to_slaney_mel(double hz);
double slaney_mel_to_hz(double mel);

// librosa.filters.mel(sr=16000, n_fft=512, n_mels=96, htk=False, norm='slaney'): 96 x 257, row-major.
std::vector<float> slaney_mel_filterbank();

}  // namespace conceptree::detail
