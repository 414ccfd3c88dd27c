#pragma once
// Backbones: from a track's log-mel (frames x 96, conceptree/logmel.hpp) to frame embeddings.
//   musicnn-vgg  the musicnn MSD_vgg CNN (Pons & Serra), weights read from its Keras HDF5 file
//   dsp          hand-built descriptors, no weights (the default)

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "conceptree/store.hpp"

namespace conceptree {

// The musicnn MSD_vgg network: BN(input), then 5 x [conv 3x3 'same' 128 -> ReLU -> BN(eps 1e-3)
// -> max-pool], pools (time x freq, stride): (4x1, 2x2), (2x2, 2x2), (2x2, 2x2), (2x2, 2x2),
// (4x4, 4x4) 'valid'; then flatten -> dense -> 50 MSD tag logits (names: msd_tags.txt).
class MusicnnVgg {
 public:
  static constexpr int kPatchFrames = 187;          // 3 s of log-mel
  static constexpr int kFramesPerPool5Frame = 64;   // fully convolutional pool5 stride in mel frames
  // Longest stretch of log-mel one fullconv pass holds (~33 s, so a 30 s preview is one pass):
  // bounds the activations to ~35 MB whatever the track's length.
  static constexpr std::uint64_t kMaxChunkFrames = 2048;

  // Reads the Keras HDF5 weights by layer name. Throws InputError naming the file when a layer
  // is missing or has the wrong shape.
  static MusicnnVgg load(const std::filesystem::path& weights);
  MusicnnVgg(MusicnnVgg&&) noexcept;
  MusicnnVgg& operator=(MusicnnVgg&&) noexcept;
  ~MusicnnVgg();

  // Fully convolutional over the whole log-mel. `layer` pool3 | pool4 | pool5: one row per time
  // step of that layer, the (freq x 128) map flattened freq-major (pool5: 128 wide, one row per
  // 64 mel frames: 29 for 30 s = 1876 frames, 28 for 1821). Memory is bounded: inputs longer than
  // `max_chunk_frames` run in overlapping time chunks (aligned to the layer's stride, with the
  // receptive field as context) whose results equal the whole-input computation.
  FrameMatrix fullconv(const FrameMatrix& logmel, const std::string& layer,
                       std::uint64_t max_chunk_frames = kMaxChunkFrames) const;
  // 187-frame patches every `hop_frames`: per patch, `layer` pool3 | pool4 | pool5 averaged over
  // time and flattened (1536, 768, 128 wide), or `output` (50 logits). One row per patch; a track
  // shorter than a patch is zero-padded to one patch.
  FrameMatrix patches(const FrameMatrix& logmel, const std::string& layer, int hop_frames = kPatchFrames) const;
  // One layer's full tensor for one 187-frame patch, T x F x C row-major (parity tests).
  std::vector<float> patch_tensor(const FrameMatrix& patch, const std::string& layer, std::vector<std::uint64_t>* shape) const;

 private:
  struct Weights;
  explicit MusicnnVgg(std::unique_ptr<Weights> weights);
  std::unique_ptr<Weights> weights_;
};

// dsp: a 196-d descriptor per second of audio from the log-mel alone, its statistics taken over ~3 s
// centred on that second (band statistics, MFCC and deltas, spectral shape, contrast and harmonic
// ripple, per-region decay, modulation and comodulation of band changes, onset and tempo
// statistics; no chroma: 96 mel bands cannot resolve semitones); documented dimension by dimension
// in docs/backbones.md. Raw units, not standardised: z-score the dimensions before comparing them.
class DspDescriptor {
 public:
  static constexpr int kFramesPerDescriptor = 62;   // ~1 s of log-mel frames (hop 16 ms)
  DspDescriptor();
  DspDescriptor(DspDescriptor&&) noexcept;
  DspDescriptor& operator=(DspDescriptor&&) noexcept;
  ~DspDescriptor();
  std::uint64_t dim() const;
  // One row per ~1 s window: row i starts at frame 62 i; a last partial window of at least 31
  // frames is a row of its own, a shorter tail joins the previous row, and a track shorter than a
  // window is one row. No rows for no frames. Deterministic and finite for any finite input;
  // thread-safe. Throws InputError("log-mel", ...) unless 96 columns of finite values.
  FrameMatrix compute(const FrameMatrix& logmel) const;
  // Name of each dimension, e.g. "mfcc_3_mean".
  const std::vector<std::string>& dimension_names() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace conceptree
