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

#include "conceptree/params.hpp"

namespace conceptree {

// How musicnn-vgg extends a clip shorter than its 3 s patch: by repeating the clip (as musicnn's
// own extractors tile short inputs), or with silence (log-mel 0).
enum class ShortClipPadding { Repeat, Silence };
template <>
inline constexpr ChoiceNames<ShortClipPadding, 2> kChoiceNames<ShortClipPadding>{
    {{{ShortClipPadding::Repeat, "repeat"}, {ShortClipPadding::Silence, "silence"}}}};

// The musicnn MSD_vgg weights shipped with conceptree: beside the installed binary or library
// (<prefix>/share/conceptree/musicnn/MSD_vgg.h5), else at the configured install prefix, else in
// the source tree it was built from. Throws InputError listing where it looked when none has them.
std::filesystem::path shipped_musicnn_weights();
// musicnn-vgg's 50 tag names in logit order: msd_tags.txt beside `weights`, else beside the
// shipped weights. Throws InputError when neither is readable or it does not hold 50 names.
std::vector<std::string> musicnn_tag_names(const std::filesystem::path& weights);

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

  // Fully convolutional over the whole log-mel, every layer of `layers` (pool1..pool5) from one
  // pass: one row per time step of each layer, its (freq x 128) map flattened freq-major (Keras
  // channels-last, index f·128 + c; pool5: 128 wide, one row per 64 mel frames: 29 for 30 s =
  // 1876 frames, 28 for 1821). A clip shorter than one patch is first extended to a patch by
  // `padding`, and keeps the rows its own length gives, at least one: a 1 s clip is one pool5
  // row, not rows of padding. Memory is bounded: inputs longer than `max_chunk_frames` run in
  // overlapping time chunks (aligned to the deepest layer's stride, with the receptive field as
  // context) whose results equal the whole-input computation.
  std::vector<FrameMatrix> fullconv(const FrameMatrix& logmel, const std::vector<std::string>& layers,
                                    std::uint64_t max_chunk_frames = kMaxChunkFrames,
                                    ShortClipPadding padding = ShortClipPadding::Repeat) const;
  FrameMatrix fullconv(const FrameMatrix& logmel, const std::string& layer, std::uint64_t max_chunk_frames = kMaxChunkFrames,
                       ShortClipPadding padding = ShortClipPadding::Repeat) const;
  // 187-frame patches every `hop_frames`: per patch, each of `layers` pool3 | pool4 | pool5
  // averaged over time and flattened (1536, 768, 128 wide), or `output` (50 logits), from one
  // pass per patch. One row per patch; a track shorter than a patch is extended to one patch by
  // `padding`.
  std::vector<FrameMatrix> patches(const FrameMatrix& logmel, const std::vector<std::string>& layers, int hop_frames = kPatchFrames,
                                   ShortClipPadding padding = ShortClipPadding::Repeat) const;
  FrameMatrix patches(const FrameMatrix& logmel, const std::string& layer, int hop_frames = kPatchFrames,
                      ShortClipPadding padding = ShortClipPadding::Repeat) const;
  // For TCAV, patches as patches() gives them (`layers` among pool1..pool5), and per layer and
  // tag logit (index into msd_tags.txt) its gradient with respect to the layer's activations,
  // summed over the layer's time steps: row p is the sum over t of d logit(patch p) / d layer[t],
  // (F x 128) freq-major like the frames — the derivative along a shift of every time step of the
  // patch by one vector, which is how a per-frame concept vector acts on a patch.
  struct PatchGradients {
    std::vector<FrameMatrix> frames;     // per layer, as patches()
    std::vector<FrameMatrix> gradients;  // layer-major: gradients[l · tags + k]
  };
  PatchGradients patch_gradients(const FrameMatrix& logmel, const std::vector<std::string>& layers, const std::vector<int>& tags,
                                 int hop_frames = kPatchFrames, ShortClipPadding padding = ShortClipPadding::Repeat) const;
  static constexpr int kTagCount = 50;
  // One layer's full tensor for one 187-frame patch, T x F x C row-major (parity tests).
  std::vector<float> patch_tensor(const FrameMatrix& patch, const std::string& layer, std::vector<std::uint64_t>* shape) const;

 private:
  struct Weights;
  explicit MusicnnVgg(std::unique_ptr<Weights> weights);
  std::vector<FrameMatrix> fullconv_whole(const FrameMatrix& logmel, const std::vector<std::string>& layers,
                                          std::uint64_t max_chunk_frames) const;
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
