// The musicnn MSD_vgg network (Pons & Serra), inference only, from its Keras HDF5 weights.
//
// Layout: activations are T x F x C row-major (time, mel band, channel), the Keras layout of the
// input (T, 96, 1), so kernels (3, 3, in, out) read as a (9·in) x out matrix with no reordering
// and pool5 flattens to the dense layer's 256 inputs as stored. Each conv block is
//   conv 3x3 'same' (zero padding) + bias -> ReLU -> BN (moving stats, eps 1e-3) -> max-pool 'valid'
// computed as im2col + SGEMM over blocks of output rows, with bias/ReLU/BN fused into one pass over
// the GEMM result and the pooling read from it while it is still in cache. BN cannot be folded into
// the conv weights (the ReLU sits between them), and the input BN cannot be folded into conv1
// (its 'same' padding pads the normalised input with zeros).
// Conventions checked against the golden tensors of the Keras model (tests/backbone).

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <utility>

#include "common/gemm.hpp"
#include "conceptree/backbone.hpp"
#include "conceptree/error.hpp"
#include "hdf5/hdf5.hpp"

namespace conceptree {

namespace {

constexpr int kMelBands = 96;
constexpr int kChannels = 128;
constexpr int kTags = 50;
constexpr int kConvLayers = 5;
constexpr double kBatchNormEpsilon = 1e-3;  // Keras/TF batch_normalization default
// Conv output positions (rows of one GEMM) per block: big enough for GEMM to run at full speed
// (K = 1152), small enough that the im2col block (~4.5 MB) and its result stay near the caches.
constexpr std::size_t kGemmRowsPerBlock = 256;

struct PoolShape {
  int kt, kf, st, sf;  // kernel and stride, time x freq
};
constexpr std::array<PoolShape, kConvLayers> kPools{{{4, 1, 2, 2}, {2, 2, 2, 2}, {2, 2, 2, 2}, {2, 2, 2, 2}, {4, 4, 4, 4}}};

// A vector that leaves new floats uninitialised: every activation is written before it is read,
// and zero-filling a 20 MB pool1 serially, outside the parallel loops, cost ~10 % of a pass.
// Buffers of 2 MB and more ask for transparent huge pages: first touches of fresh 4 KB pages (a page
// fault and, in a VM, a TLB flush each) were a quarter of the whole embed's CPU time.
template <class T>
struct UninitialisedAllocator : std::allocator<T> {
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return std::allocator<T>::allocate(n);
    const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* memory = std::aligned_alloc(kHugePage, rounded);
    if (memory == nullptr) throw std::bad_alloc();
    madvise(memory, rounded, MADV_HUGEPAGE);
    return static_cast<T*>(memory);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) < kHugePage) {
      std::allocator<T>::deallocate(p, n);
    } else {
      std::free(p);
    }
  }

  template <class U>
  struct rebind {
    using other = UninitialisedAllocator<U>;
  };
  UninitialisedAllocator() = default;
  template <class U>
  UninitialisedAllocator(const UninitialisedAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using Floats = std::vector<float, UninitialisedAllocator<float>>;

struct Tensor {
  int t = 0, f = 0, c = 0;
  Floats v;  // t x f x c row-major
};

int pooled_extent(int size, int kernel, int stride) { return size < kernel ? 0 : (size - kernel) / stride + 1; }

// Layers by name: 1..5 for pool1..pool5, 6 for the tag logits.
constexpr int kOutputLayer = kConvLayers + 1;

int layer_index(const std::string& layer) {
  if (layer == "output") return kOutputLayer;
  if (layer.size() == 5 && layer.starts_with("pool") && layer[4] >= '1' && layer[4] <= '5') return layer[4] - '0';
  throw InputError(layer, "not a musicnn-vgg layer (pool1..pool5, output)");
}

// Rows of the mel input that pooled rows [first, last] of conv block `layer` (1-based) depend on.
std::pair<std::int64_t, std::int64_t> receptive_rows(int layer, std::int64_t first, std::int64_t last) {
  for (int l = layer; l >= 1; --l) {
    const PoolShape& p = kPools[l - 1];
    // Pool rows [first, last] read conv rows [st·first, st·last + kt − 1]; a 3x3 'same' conv reads
    // one more row on each side.
    first = first * p.st - 1;
    last = last * p.st + p.kt - 1 + 1;
  }
  return {first, last};
}

std::int64_t cumulative_stride(int layer) {
  std::int64_t stride = 1;
  for (int l = 0; l < layer; ++l) stride *= kPools[l].st;
  return stride;
}

// Time steps and frequency bins of conv block `layer`'s pooled output for `rows` log-mel frames.
std::pair<std::int64_t, std::int64_t> layer_extent(int layer, std::int64_t rows) {
  std::int64_t freq = kMelBands;
  for (int i = 0; i < layer; ++i) {
    rows = pooled_extent(static_cast<int>(rows), kPools[i].kt, kPools[i].st);
    freq = pooled_extent(static_cast<int>(freq), kPools[i].kf, kPools[i].sf);
  }
  return {rows, freq};
}

// Distinct conv layers (1..5) for `names`, ascending; the tag logits count as pool5.
std::vector<int> conv_layers_for(const std::vector<std::string>& names) {
  std::vector<int> layers;
  for (const auto& name : names) layers.push_back(std::min(layer_index(name), kConvLayers));
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  return layers;
}

// A clip shorter than a patch extended to one patch: tiled, or followed by log-mel 0 (silence).
FrameMatrix padded_to_patch(const FrameMatrix& logmel, ShortClipPadding padding) {
  FrameMatrix padded{MusicnnVgg::kPatchFrames, kMelBands, std::vector<float>(MusicnnVgg::kPatchFrames * std::size_t{kMelBands}, 0.0f)};
  const std::size_t clip = logmel.values.size();
  if (padding == ShortClipPadding::Silence || clip == 0) {
    std::copy(logmel.values.begin(), logmel.values.end(), padded.values.begin());
  } else {
    for (std::size_t i = 0; i < padded.values.size(); ++i) padded.values[i] = logmel.values[i % clip];
  }
  return padded;
}

void check_logmel(const FrameMatrix& logmel) {
  if (logmel.cols != kMelBands)
    throw InputError("log-mel", fmt::format("{} columns; musicnn-vgg needs {} mel bands", logmel.cols, kMelBands));
  if (logmel.values.size() != logmel.rows * logmel.cols)
    throw InputError("log-mel", fmt::format("{} values for {} x {}", logmel.values.size(), logmel.rows, logmel.cols));
}

struct ConvLayer {
  int in_channels = 0;
  std::vector<float> kernel;  // (9·in) x 128, Keras (kh, kw, in, out) order
  std::vector<float> kernel_transposed;  // 128 x (9·in), for the backward pass
  std::vector<float> bias, scale, shift;
};

}  // namespace

struct MusicnnVgg::Weights {
  float input_scale = 1, input_shift = 0;
  std::array<ConvLayer, kConvLayers> conv;
  std::vector<float> dense;       // 256 x 50
  std::vector<float> dense_bias;  // 50
  Gemm gemm = Gemm::OpenBlas;

  // Input BN, then blocks 1..`layers`.
  Tensor run(const float* frames, int rows, int layers, bool parallel) const;
  // Input BN, then blocks up to the last of `layers` (ascending, 1..5), keeping each of them.
  std::vector<Tensor> run(const float* frames, int rows, const std::vector<int>& layers, bool parallel) const;
  Tensor conv_block(const Tensor& in, int layer, bool parallel) const;
  std::vector<float> logits(const Tensor& pool5) const;

  // What the backward pass through conv block `layer` keeps of its forward pass over `in`.
  struct BlockTape {
    int t = 0, f = 0;                    // the block's input (and 'same' conv) extent
    int pooled_t = 0, pooled_f = 0;
    Floats slope;                        // t x f x 128: d BN(ReLU(z)) / dz, the BN scale where z > 0, else 0
    std::vector<std::uint32_t> argmax;   // per pooled value: conv position (row · f + band) of its window's max
  };
  BlockTape tape(const Tensor& in, int layer) const;
  // The gradient with respect to the block's input, from the gradient with respect to its pooled output.
  Tensor backward(const BlockTape& tape, const Tensor& out_gradient, int layer) const;
};

namespace {

// im2col of a whole tensor: row (r, f) holds the 3x3xC neighbourhood of (r, f), zeros outside.
Floats neighbourhoods(const Tensor& in) {
  const std::size_t C = static_cast<std::size_t>(in.c);
  Floats columns(static_cast<std::size_t>(in.t) * static_cast<std::size_t>(in.f) * 9 * C);
  float* col = columns.data();
  for (int r = 0; r < in.t; ++r)
    for (int f = 0; f < in.f; ++f)
      for (int dt = -1; dt <= 1; ++dt)
        for (int df = -1; df <= 1; ++df, col += C) {
          const int t = r + dt, g = f + df;
          if (t < 0 || t >= in.t || g < 0 || g >= in.f) {
            std::fill(col, col + C, 0.0f);
          } else {
            std::copy_n(in.v.data() + (static_cast<std::size_t>(t) * static_cast<std::size_t>(in.f) + static_cast<std::size_t>(g)) * C, C, col);
          }
        }
  return columns;
}

}  // namespace

MusicnnVgg::Weights::BlockTape MusicnnVgg::Weights::tape(const Tensor& in, int layer) const {
  const ConvLayer& w = conv[static_cast<std::size_t>(layer - 1)];
  const PoolShape& p = kPools[static_cast<std::size_t>(layer - 1)];
  BlockTape tape{in.t, in.f, pooled_extent(in.t, p.kt, p.st), pooled_extent(in.f, p.kf, p.sf), {}, {}};
  const std::size_t positions = static_cast<std::size_t>(in.t) * static_cast<std::size_t>(in.f);
  const std::size_t K = 9 * static_cast<std::size_t>(in.c);
  const Floats columns = neighbourhoods(in);
  Floats y(positions * kChannels);
  sgemm_row_major(gemm, positions, kChannels, K, columns.data(), K, w.kernel.data(), kChannels, y.data(), kChannels);
  tape.slope.resize(y.size());
  for (std::size_t pos = 0; pos < positions; ++pos) {
    for (std::size_t c = 0; c < kChannels; ++c) {
      float& value = y[pos * kChannels + c];
      const float z = value + w.bias[c];
      tape.slope[pos * kChannels + c] = z > 0 ? w.scale[c] : 0.0f;
      value = std::max(z, 0.0f) * w.scale[c] + w.shift[c];
    }
  }
  // The first maximum of each window, scanning as the forward pass does.
  tape.argmax.resize(static_cast<std::size_t>(tape.pooled_t) * static_cast<std::size_t>(tape.pooled_f) * kChannels);
  for (int i = 0; i < tape.pooled_t; ++i)
    for (int fo = 0; fo < tape.pooled_f; ++fo)
      for (std::size_t c = 0; c < kChannels; ++c) {
        std::uint32_t best = 0;
        float best_value = -std::numeric_limits<float>::infinity();
        for (int a = 0; a < p.kt; ++a)
          for (int e = 0; e < p.kf; ++e) {
            const auto pos = static_cast<std::uint32_t>((i * p.st + a) * in.f + fo * p.sf + e);
            if (y[pos * kChannels + c] > best_value) {
              best_value = y[pos * kChannels + c];
              best = pos;
            }
          }
        tape.argmax[(static_cast<std::size_t>(i) * static_cast<std::size_t>(tape.pooled_f) + static_cast<std::size_t>(fo)) * kChannels + c] = best;
      }
  return tape;
}

Tensor MusicnnVgg::Weights::backward(const BlockTape& tape, const Tensor& out_gradient, int layer) const {
  const ConvLayer& w = conv[static_cast<std::size_t>(layer - 1)];
  const std::size_t positions = static_cast<std::size_t>(tape.t) * static_cast<std::size_t>(tape.f);
  const std::size_t C = static_cast<std::size_t>(w.in_channels), K = 9 * C;
  // Through the pooling (to each window's maximum), then BN and ReLU.
  Floats dz(positions * kChannels);
  std::fill(dz.begin(), dz.end(), 0.0f);
  for (std::size_t o = 0; o < tape.argmax.size(); ++o) {
    const std::size_t c = o % kChannels;
    dz[tape.argmax[o] * std::size_t{kChannels} + c] += out_gradient.v[o];
  }
  for (std::size_t i = 0; i < dz.size(); ++i) dz[i] *= tape.slope[i];
  // Through the convolution: each position's neighbourhood gradient, added back where it was read.
  Floats columns(positions * K);
  sgemm_row_major(gemm, positions, K, kChannels, dz.data(), kChannels, w.kernel_transposed.data(), K, columns.data(), K);
  Tensor in{tape.t, tape.f, w.in_channels, Floats(positions * C)};
  std::fill(in.v.begin(), in.v.end(), 0.0f);
  const float* col = columns.data();
  for (int r = 0; r < tape.t; ++r)
    for (int f = 0; f < tape.f; ++f)
      for (int dt = -1; dt <= 1; ++dt)
        for (int df = -1; df <= 1; ++df, col += C) {
          const int t = r + dt, g = f + df;
          if (t < 0 || t >= tape.t || g < 0 || g >= tape.f) continue;
          float* target = in.v.data() + (static_cast<std::size_t>(t) * static_cast<std::size_t>(tape.f) + static_cast<std::size_t>(g)) * C;
          for (std::size_t k = 0; k < C; ++k) target[k] += col[k];
        }
  return in;
}

Tensor MusicnnVgg::Weights::run(const float* frames, int rows, int layers, bool parallel) const {
  Tensor x{rows, kMelBands, 1, Floats(static_cast<std::size_t>(rows) * kMelBands)};
  for (std::size_t i = 0; i < x.v.size(); ++i) x.v[i] = frames[i] * input_scale + input_shift;
  for (int l = 1; l <= layers; ++l) x = conv_block(x, l, parallel);
  return x;
}

std::vector<Tensor> MusicnnVgg::Weights::run(const float* frames, int rows, const std::vector<int>& layers, bool parallel) const {
  Tensor x{rows, kMelBands, 1, Floats(static_cast<std::size_t>(rows) * kMelBands)};
  for (std::size_t i = 0; i < x.v.size(); ++i) x.v[i] = frames[i] * input_scale + input_shift;
  std::vector<Tensor> kept;
  for (int l = 1; l <= layers.back(); ++l) {
    x = conv_block(x, l, parallel);
    if (std::find(layers.begin(), layers.end(), l) != layers.end()) kept.push_back(l == layers.back() ? std::move(x) : x);
  }
  return kept;
}

Tensor MusicnnVgg::Weights::conv_block(const Tensor& in, int layer, bool parallel) const {
  const ConvLayer& w = conv[static_cast<std::size_t>(layer - 1)];
  const PoolShape& p = kPools[static_cast<std::size_t>(layer - 1)];
  const int T = in.t, F = in.f, C = in.c;
  Tensor out{pooled_extent(T, p.kt, p.st), pooled_extent(F, p.kf, p.sf), kChannels, {}};
  out.v.resize(static_cast<std::size_t>(out.t) * static_cast<std::size_t>(out.f) * kChannels);
  if (out.v.empty()) return out;

  const std::size_t K = 9 * static_cast<std::size_t>(C);
  // Pooled rows per block; pool windows overlap in time only in block 1 (kt 4, st 2), where a block
  // recomputes kt − st conv rows: 2 rows of a cheap layer.
  const int block_rows = std::max(1, static_cast<int>(kGemmRowsPerBlock / static_cast<std::size_t>(p.st * F)));
  const int blocks = (out.t + block_rows - 1) / block_rows;

#pragma omp parallel if (parallel && blocks > 1)
  {
    Floats columns, conv_out;
#pragma omp for schedule(dynamic)
    for (int b = 0; b < blocks; ++b) {
      const int i0 = b * block_rows, i1 = std::min(out.t, i0 + block_rows);
      const int r0 = i0 * p.st, r1 = std::min(T, (i1 - 1) * p.st + p.kt);
      const std::size_t positions = static_cast<std::size_t>(r1 - r0) * static_cast<std::size_t>(F);
      columns.resize(positions * K);
      conv_out.resize(positions * kChannels);
      // im2col: row (r, f) holds the 3x3xC neighbourhood of input (r, f), zeros outside the input.
      float* col = columns.data();
      if (C == 1) {  // block 1: one value per neighbour, where a memcpy call per value would dominate
        for (int r = r0; r < r1; ++r)
          for (int f = 0; f < F; ++f)
            for (int dt = -1; dt <= 1; ++dt)
              for (int df = -1; df <= 1; ++df) {
                const int t = r + dt, g = f + df;
                *col++ = t < 0 || t >= T || g < 0 || g >= F ? 0.0f : in.v[static_cast<std::size_t>(t) * F + static_cast<std::size_t>(g)];
              }
      } else {
        for (int r = r0; r < r1; ++r) {
          for (int f = 0; f < F; ++f) {
            for (int dt = -1; dt <= 1; ++dt) {
              for (int df = -1; df <= 1; ++df, col += C) {
                const int t = r + dt, g = f + df;
                if (t < 0 || t >= T || g < 0 || g >= F) {
                  std::fill(col, col + C, 0.0f);
                } else {
                  std::memcpy(col, in.v.data() + (static_cast<std::size_t>(t) * F + static_cast<std::size_t>(g)) * C,
                              sizeof(float) * static_cast<std::size_t>(C));
                }
              }
            }
          }
        }
      }
      sgemm_row_major(gemm, positions, kChannels, K, columns.data(), K, w.kernel.data(), kChannels, conv_out.data(), kChannels);
      // bias -> ReLU -> BN, in place.
      for (std::size_t pos = 0; pos < positions; ++pos) {
        float* y = conv_out.data() + pos * kChannels;
        for (int c = 0; c < kChannels; ++c) y[c] = std::max(y[c] + w.bias[c], 0.0f) * w.scale[c] + w.shift[c];
      }
      // Max-pool 'valid'.
      for (int i = i0; i < i1; ++i) {
        for (int fo = 0; fo < out.f; ++fo) {
          float* o = out.v.data() + (static_cast<std::size_t>(i) * out.f + static_cast<std::size_t>(fo)) * kChannels;
          std::fill(o, o + kChannels, -std::numeric_limits<float>::infinity());
          for (int a = 0; a < p.kt; ++a) {
            for (int e = 0; e < p.kf; ++e) {
              const float* y =
                  conv_out.data() + (static_cast<std::size_t>(i * p.st + a - r0) * F + static_cast<std::size_t>(fo * p.sf + e)) * kChannels;
              for (int c = 0; c < kChannels; ++c) o[c] = std::max(o[c], y[c]);
            }
          }
        }
      }
    }
  }
  return out;
}

std::vector<float> MusicnnVgg::Weights::logits(const Tensor& pool5) const {
  // Keras Flatten of (T, F, C) = this tensor's row-major order; the dense layer wants 256 = 2x1x128.
  std::vector<float> result(dense_bias);
  if (pool5.v.size() * kTags != dense.size())
    throw InputError("log-mel", fmt::format("pool5 has {} values; the dense layer needs {} (a {}-frame patch)", pool5.v.size(),
                                            dense.size() / kTags, kPatchFrames));
  for (std::size_t i = 0; i < pool5.v.size(); ++i)
    for (int k = 0; k < kTags; ++k) result[static_cast<std::size_t>(k)] += pool5.v[i] * dense[i * kTags + static_cast<std::size_t>(k)];
  return result;
}

namespace {

// One dataset of a Keras layer group, found by its name's prefix ("kernel" matches "kernel_1:0"
// and "kernel:0", which differ across Keras versions), checked against `shape`.
std::vector<float> read_weight(const h5::File& file, hid_t root, const std::string& layer, const std::string& prefix,
                               const std::vector<std::uint64_t>& shape) {
  std::string group = layer + "/" + layer;
  if (!h5::exists(root, group)) group = layer;
  if (!h5::exists(root, group)) throw InputError(file.name(), fmt::format("no layer {} (is this musicnn's MSD_vgg.h5?)", layer));
  const h5::Handle handle = h5::open_group(root, group, file.name());
  std::string found;
  for (const std::string& name : h5::member_names(handle.id()))
    if (name.starts_with(prefix)) found = name;
  if (found.empty()) throw InputError(file.name(), fmt::format("layer {} has no {} weights", layer, prefix));
  std::vector<std::uint64_t> actual;
  std::vector<float> values = h5::read_vector<float>(handle.id(), found, file.name(), &actual);
  if (actual != shape) {
    throw InputError(file.name(), fmt::format("{}/{} has shape ({}), expected ({})", group, found, fmt::join(actual, ", "),
                                              fmt::join(shape, ", ")));
  }
  return values;
}

// BN with moving statistics as y = scale·x + shift.
void batch_norm(const h5::File& file, hid_t root, const std::string& layer, std::uint64_t channels, std::vector<float>& scale,
                std::vector<float>& shift) {
  const std::vector<std::uint64_t> shape{channels};
  const auto gamma = read_weight(file, root, layer, "gamma", shape);
  const auto beta = read_weight(file, root, layer, "beta", shape);
  const auto mean = read_weight(file, root, layer, "moving_mean", shape);
  const auto variance = read_weight(file, root, layer, "moving_variance", shape);
  scale.resize(channels);
  shift.resize(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    const double s = gamma[c] / std::sqrt(static_cast<double>(variance[c]) + kBatchNormEpsilon);
    scale[c] = static_cast<float>(s);
    shift[c] = static_cast<float>(beta[c] - mean[c] * s);
  }
}

}  // namespace

MusicnnVgg MusicnnVgg::load(const std::filesystem::path& weights) {
  const h5::File file(weights, h5::Mode::ReadOnly);
  // A whole saved Keras model keeps the weights under /model_weights; a weights file at the root.
  h5::Handle model_weights;
  hid_t root = file.id();
  if (h5::exists(root, "model_weights")) {
    model_weights = h5::open_group(root, "model_weights", file.name());
    root = model_weights.id();
  }
  auto w = std::make_unique<Weights>();
  std::vector<float> scale, shift;
  batch_norm(file, root, "bn_input", 1, scale, shift);
  w->input_scale = scale[0];
  w->input_shift = shift[0];
  for (int l = 0; l < kConvLayers; ++l) {
    ConvLayer& conv = w->conv[static_cast<std::size_t>(l)];
    conv.in_channels = l == 0 ? 1 : kChannels;
    const std::string name = fmt::format("{}CNN", l + 1);
    conv.kernel = read_weight(file, root, name, "kernel", {3, 3, static_cast<std::uint64_t>(conv.in_channels), kChannels});
    conv.bias = read_weight(file, root, name, "bias", {kChannels});
    const std::size_t K = 9 * static_cast<std::size_t>(conv.in_channels);
    conv.kernel_transposed.resize(K * kChannels);
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t c = 0; c < kChannels; ++c) conv.kernel_transposed[c * K + k] = conv.kernel[k * kChannels + c];
    batch_norm(file, root, fmt::format("bn_conv{}", l + 1), kChannels, conv.scale, conv.shift);
  }
  w->dense = read_weight(file, root, "output", "kernel", {2 * kChannels, kTags});
  w->dense_bias = read_weight(file, root, "output", "bias", {kTags});
  w->gemm = fastest_gemm();
  return MusicnnVgg(std::move(w));
}

MusicnnVgg::MusicnnVgg(std::unique_ptr<Weights> weights) : weights_(std::move(weights)) {}
MusicnnVgg::MusicnnVgg(MusicnnVgg&&) noexcept = default;
MusicnnVgg& MusicnnVgg::operator=(MusicnnVgg&&) noexcept = default;
MusicnnVgg::~MusicnnVgg() = default;

std::vector<FrameMatrix> MusicnnVgg::fullconv(const FrameMatrix& logmel, const std::vector<std::string>& layers,
                                             std::uint64_t max_chunk_frames, ShortClipPadding padding) const {
  const SingleThreadedBlas single_threaded_blas;
  check_logmel(logmel);
  if (layers.empty()) throw InputError("musicnn-vgg", "no layer asked for");
  for (const auto& layer : layers)
    if (layer_index(layer) == kOutputLayer) throw InputError(layer, "fullconv gives pool1..pool5; the tag logits need patches()");
  if (logmel.rows > static_cast<std::uint64_t>(std::numeric_limits<int>::max() / kMelBands))
    throw InputError("log-mel", fmt::format("{} frames is too long", logmel.rows));
  if (logmel.rows == 0 || logmel.rows >= kPatchFrames) return fullconv_whole(logmel, layers, max_chunk_frames);
  // The network saw 3 s patches in training: a shorter clip is extended to one, and keeps only
  // the rows of its own length (at least one).
  std::vector<FrameMatrix> result = fullconv_whole(padded_to_patch(logmel, padding), layers, max_chunk_frames);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto own_rows = static_cast<std::uint64_t>(std::max<std::int64_t>(1, layer_extent(layer_index(layers[i]), static_cast<std::int64_t>(logmel.rows)).first));
    result[i].rows = std::min(result[i].rows, own_rows);
    result[i].values.resize(result[i].rows * result[i].cols);
  }
  return result;
}

FrameMatrix MusicnnVgg::fullconv(const FrameMatrix& logmel, const std::string& layer, std::uint64_t max_chunk_frames,
                                 ShortClipPadding padding) const {
  return std::move(fullconv(logmel, std::vector<std::string>{layer}, max_chunk_frames, padding).front());
}

std::vector<FrameMatrix> MusicnnVgg::fullconv_whole(const FrameMatrix& logmel, const std::vector<std::string>& layers,
                                                    std::uint64_t max_chunk_frames) const {
  const SingleThreadedBlas single_threaded_blas;
  const auto T = static_cast<std::int64_t>(logmel.rows);
  const std::vector<int> conv = conv_layers_for(layers);
  // Results per distinct conv layer, copied out to the names asked for at the end.
  std::vector<FrameMatrix> computed(conv.size());
  std::vector<std::int64_t> rows(conv.size());
  for (std::size_t i = 0; i < conv.size(); ++i) {
    const auto [layer_rows, freq] = layer_extent(conv[i], T);
    rows[i] = layer_rows;
    computed[i].rows = static_cast<std::uint64_t>(layer_rows);
    computed[i].cols = static_cast<std::uint64_t>(freq) * kChannels;
  }
  const auto named = [&] {
    std::vector<FrameMatrix> result;
    for (const auto& layer : layers) {
      const auto found = std::find(conv.begin(), conv.end(), layer_index(layer));
      result.push_back(computed[static_cast<std::size_t>(found - conv.begin())]);
    }
    return result;
  };
  if (rows.front() == 0) return named();  // too short for even the shallowest layer asked for
  if (static_cast<std::uint64_t>(T) <= max_chunk_frames) {
    std::vector<Tensor> x = weights_->run(logmel.values.data(), static_cast<int>(T), conv, true);
    for (std::size_t i = 0; i < conv.size(); ++i) computed[i].values.assign(x[i].v.begin(), x[i].v.end());
    return named();
  }

  // Chunks of the deepest layer's output rows [j0, j1). A chunk starts at a multiple of that layer's
  // stride (so every layer's pool windows line up with the whole input's) and spans the receptive
  // field of its rows, so its zero padding touches only rows it drops; at the true ends the padding
  // is the whole input's own. Each layer takes the rows whose receptive field the chunk holds;
  // chunks overlap by more than any shallower layer's receptive field, so each row is in one.
  const int deepest = conv.back();
  const std::int64_t stride = cumulative_stride(deepest);
  const auto [lo0, hi0] = receptive_rows(deepest, 0, 0);
  const std::int64_t span = hi0 - lo0 + 1 + (stride - 1);  // one row's input, plus alignment slack
  const std::int64_t per_chunk = std::max<std::int64_t>(1, (static_cast<std::int64_t>(max_chunk_frames) - span) / stride + 1);
  for (auto& matrix : computed) matrix.values.resize(matrix.rows * matrix.cols);
  std::vector<std::int64_t> next_row(conv.size(), 0);
  const std::int64_t deepest_rows = std::max<std::int64_t>(rows.back(), 1);
  for (std::int64_t j0 = 0; j0 < deepest_rows; j0 += per_chunk) {
    const std::int64_t j1 = std::min(deepest_rows, j0 + per_chunk);
    const auto [lo, hi] = receptive_rows(deepest, j0, j1 - 1);
    const std::int64_t start = std::max<std::int64_t>(0, lo) / stride * stride;
    // The last chunk runs to the end: shallower layers have rows past the deepest one's last window.
    const std::int64_t end = j1 == deepest_rows ? T : std::min(T, hi + 1);
    const std::vector<Tensor> x = weights_->run(logmel.values.data() + start * kMelBands, static_cast<int>(end - start), conv, true);
    for (std::size_t i = 0; i < conv.size(); ++i) {
      const std::int64_t layer_stride = cumulative_stride(conv[i]);
      const auto width = static_cast<std::int64_t>(computed[i].cols);
      for (std::int64_t& r = next_row[i]; r < rows[i]; ++r) {
        const auto [a, b] = receptive_rows(conv[i], r, r);
        const std::int64_t chunk_row = r - start / layer_stride;
        if ((a < start && start > 0) || (b >= end && end < T) || chunk_row >= x[i].t) break;
        std::copy_n(x[i].v.begin() + chunk_row * width, width, computed[i].values.begin() + r * width);
      }
    }
  }
  for (std::size_t i = 0; i < conv.size(); ++i)
    if (next_row[i] != rows[i])
      throw FatalError(fmt::format("musicnn-vgg: chunks of {} frames missed pool{} rows from {} of {}", max_chunk_frames, conv[i], next_row[i], rows[i]));
  return named();
}

std::vector<FrameMatrix> MusicnnVgg::patches(const FrameMatrix& logmel, const std::vector<std::string>& layers, int hop_frames,
                                            ShortClipPadding padding) const {
  const SingleThreadedBlas single_threaded_blas;
  check_logmel(logmel);
  if (layers.empty()) throw InputError("musicnn-vgg", "no layer asked for");
  if (hop_frames <= 0) throw InputError("log-mel", fmt::format("patch hop of {} frames; it must be positive", hop_frames));
  if (logmel.rows > 0 && logmel.rows < kPatchFrames) return patches(padded_to_patch(logmel, padding), layers, hop_frames, padding);
  const std::uint64_t count = logmel.rows <= kPatchFrames ? 1 : (logmel.rows - kPatchFrames) / static_cast<std::uint64_t>(hop_frames) + 1;
  const std::vector<int> conv = conv_layers_for(layers);

  std::vector<FrameMatrix> result(layers.size());
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const int l = layer_index(layers[i]);
    result[i].rows = count;
    result[i].cols = l == kOutputLayer ? kTags : static_cast<std::uint64_t>(layer_extent(l, kPatchFrames).second) * kChannels;
    result[i].values.assign(result[i].rows * result[i].cols, 0.0f);
  }

  // Many patches: one per thread, each single-threaded; few: each patch's layers in parallel.
  const bool across_patches = count >= static_cast<std::uint64_t>(omp_get_max_threads());
#pragma omp parallel for schedule(dynamic) if (across_patches)
  for (std::int64_t k = 0; k < static_cast<std::int64_t>(count); ++k) {
    std::vector<float> patch(static_cast<std::size_t>(kPatchFrames) * kMelBands, 0.0f);
    const std::uint64_t first = static_cast<std::uint64_t>(k) * static_cast<std::uint64_t>(hop_frames);
    const std::uint64_t frames = std::min<std::uint64_t>(kPatchFrames, logmel.rows - first);
    std::copy_n(logmel.values.begin() + static_cast<std::int64_t>(first * kMelBands), frames * kMelBands, patch.begin());
    const std::vector<Tensor> x = weights_->run(patch.data(), kPatchFrames, conv, !across_patches);
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const int l = layer_index(layers[i]);
      const Tensor& tensor = x[static_cast<std::size_t>(std::find(conv.begin(), conv.end(), std::min(l, kConvLayers)) - conv.begin())];
      float* row = result[i].values.data() + static_cast<std::uint64_t>(k) * result[i].cols;
      if (l == kOutputLayer) {
        const auto logits = weights_->logits(tensor);
        std::copy(logits.begin(), logits.end(), row);
        continue;
      }
      // Mean over time; (F, C) flattened freq-major.
      const std::size_t width = static_cast<std::size_t>(tensor.f) * kChannels;
      for (int t = 0; t < tensor.t; ++t)
        for (std::size_t j = 0; j < width; ++j) row[j] += tensor.v[static_cast<std::size_t>(t) * width + j];
      for (std::size_t j = 0; j < width; ++j) row[j] /= static_cast<float>(tensor.t);
    }
  }
  return result;
}

FrameMatrix MusicnnVgg::patches(const FrameMatrix& logmel, const std::string& layer, int hop_frames, ShortClipPadding padding) const {
  return std::move(patches(logmel, std::vector<std::string>{layer}, hop_frames, padding).front());
}

MusicnnVgg::PatchGradients MusicnnVgg::patch_gradients(const FrameMatrix& logmel, const std::vector<std::string>& layers,
                                                      const std::vector<int>& tags, int hop_frames, ShortClipPadding padding) const {
  const SingleThreadedBlas single_threaded_blas;
  check_logmel(logmel);
  if (layers.empty()) throw InputError("musicnn-vgg", "no layer asked for");
  if (hop_frames <= 0) throw InputError("log-mel", fmt::format("patch hop of {} frames; it must be positive", hop_frames));
  for (const auto& layer : layers)
    if (layer_index(layer) == kOutputLayer) throw InputError(layer, "gradients are taken with respect to pool1..pool5, not the logits");
  for (const int tag : tags)
    if (tag < 0 || tag >= kTags) throw InputError("musicnn-vgg", fmt::format("tag index {}; the network has {} tags", tag, kTags));
  if (logmel.rows > 0 && logmel.rows < kPatchFrames) return patch_gradients(padded_to_patch(logmel, padding), layers, tags, hop_frames, padding);
  const std::uint64_t count = logmel.rows <= kPatchFrames ? 1 : (logmel.rows - kPatchFrames) / static_cast<std::uint64_t>(hop_frames) + 1;
  // Forward from the input to pool5, keeping every layer from the shallowest asked for: the
  // backward pass needs each block's input.
  const int shallowest = conv_layers_for(layers).front();
  std::vector<int> kept;
  for (int l = shallowest; l <= kConvLayers; ++l) kept.push_back(l);
  const std::size_t tag_count = tags.size();

  PatchGradients result;
  result.frames.resize(layers.size());
  result.gradients.resize(layers.size() * tag_count);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::uint64_t width = static_cast<std::uint64_t>(layer_extent(layer_index(layers[i]), kPatchFrames).second) * kChannels;
    result.frames[i] = {count, width, std::vector<float>(count * width, 0.0f)};
    for (std::size_t k = 0; k < tag_count; ++k) result.gradients[i * tag_count + k] = {count, width, std::vector<float>(count * width, 0.0f)};
  }
  const auto time_sum = [](const Tensor& tensor, float* row) {
    const std::size_t width = static_cast<std::size_t>(tensor.f) * kChannels;
    for (int t = 0; t < tensor.t; ++t)
      for (std::size_t j = 0; j < width; ++j) row[j] += tensor.v[static_cast<std::size_t>(t) * width + j];
  };

  const bool across_patches = count >= static_cast<std::uint64_t>(omp_get_max_threads());
#pragma omp parallel for schedule(dynamic) if (across_patches)
  for (std::int64_t k = 0; k < static_cast<std::int64_t>(count); ++k) {
    std::vector<float> patch(static_cast<std::size_t>(kPatchFrames) * kMelBands, 0.0f);
    const std::uint64_t first = static_cast<std::uint64_t>(k) * static_cast<std::uint64_t>(hop_frames);
    const std::uint64_t frames = std::min<std::uint64_t>(kPatchFrames, logmel.rows - first);
    std::copy_n(logmel.values.begin() + static_cast<std::int64_t>(first * kMelBands), frames * kMelBands, patch.begin());
    const std::vector<Tensor> x = weights_->run(patch.data(), kPatchFrames, kept, !across_patches);  // x[l - shallowest] = pool_l
    const auto pool = [&](int l) -> const Tensor& { return x[static_cast<std::size_t>(l - shallowest)]; };
    std::vector<Weights::BlockTape> tapes;  // tapes[j] for block shallowest + 1 + j
    for (int l = shallowest + 1; l <= kConvLayers; ++l) tapes.push_back(weights_->tape(pool(l - 1), l));

    for (std::size_t i = 0; i < layers.size(); ++i) {
      const Tensor& tensor = pool(layer_index(layers[i]));
      float* row = result.frames[i].values.data() + static_cast<std::uint64_t>(k) * result.frames[i].cols;
      time_sum(tensor, row);
      for (std::uint64_t j = 0; j < result.frames[i].cols; ++j) row[j] /= static_cast<float>(tensor.t);
    }
    for (std::size_t tag = 0; tag < tag_count; ++tag) {
      // The logits are a linear function of the flattened pool5: their gradient is a dense column.
      Tensor gradient{pool(kConvLayers).t, pool(kConvLayers).f, kChannels, Floats(pool(kConvLayers).v.size())};
      for (std::size_t j = 0; j < gradient.v.size(); ++j)
        gradient.v[j] = weights_->dense[j * kTags + static_cast<std::size_t>(tags[tag])];
      for (int l = kConvLayers;; --l) {
        for (std::size_t i = 0; i < layers.size(); ++i) {
          if (layer_index(layers[i]) != l) continue;
          FrameMatrix& target = result.gradients[i * tag_count + tag];
          time_sum(gradient, target.values.data() + static_cast<std::uint64_t>(k) * target.cols);
        }
        if (l == shallowest) break;
        gradient = weights_->backward(tapes[static_cast<std::size_t>(l - shallowest - 1)], gradient, l);
      }
    }
  }
  return result;
}

std::vector<float> MusicnnVgg::patch_tensor(const FrameMatrix& patch, const std::string& layer, std::vector<std::uint64_t>* shape) const {
  const SingleThreadedBlas single_threaded_blas;
  check_logmel(patch);
  const int l = layer_index(layer);
  if (patch.rows != kPatchFrames) throw InputError("log-mel", fmt::format("a patch of {} frames; musicnn-vgg patches have {}", patch.rows, kPatchFrames));
  const Tensor x = weights_->run(patch.values.data(), kPatchFrames, std::min(l, kConvLayers), true);
  if (l == kOutputLayer) {
    if (shape) *shape = {kTags};
    return weights_->logits(x);
  }
  if (shape) *shape = {static_cast<std::uint64_t>(x.t), static_cast<std::uint64_t>(x.f), static_cast<std::uint64_t>(x.c)};
  return {x.v.begin(), x.v.end()};
}

}  // namespace conceptree
