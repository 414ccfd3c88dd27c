// Times MusicnnVgg::fullconv(pool5) on one .npy log-mel (frames x 96):
//   conceptree_backbone_bench WEIGHTS.h5 LOGMEL.npy [REPEATS] [OUT.npy]
// Prints the best wall time of REPEATS runs, x real time (16 kHz, hop 256) and the convolutions'
// GFLOP/s; OUT.npy receives pool5 (rows x 128) for parity checks. Threads: OMP_NUM_THREADS.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>

#include "conceptree/backbone.hpp"
#include "conceptree/npy.hpp"

int main(int argc, char** argv) try {
  if (argc < 3) {
    fmt::print(stderr, "usage: {} WEIGHTS.h5 LOGMEL.npy [REPEATS] [OUT.npy]\n", argv[0]);
    return 2;
  }
  const auto vgg = conceptree::MusicnnVgg::load(argv[1]);
  const conceptree::NpyReader reader(argv[2]);
  conceptree::FrameMatrix logmel{reader.rows(), reader.row_size(), reader.read_all_as_float()};
  const int repeats = argc > 3 ? std::max(1, std::atoi(argv[3])) : 5;

  // Multiply-adds of the five 3x3 convolutions ('same': output size = input size).
  double flop = 0;
  long t = static_cast<long>(logmel.rows), f = 96, cin = 1;
  const int pools[5][4] = {{4, 1, 2, 2}, {2, 2, 2, 2}, {2, 2, 2, 2}, {2, 2, 2, 2}, {4, 4, 4, 4}};
  for (const auto& p : pools) {
    flop += 2.0 * static_cast<double>(t * f) * 128.0 * 9.0 * static_cast<double>(cin);
    t = t < p[0] ? 0 : (t - p[0]) / p[2] + 1;
    f = f < p[1] ? 0 : (f - p[1]) / p[3] + 1;
    cin = 128;
  }

  conceptree::FrameMatrix pool5;
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    pool5 = vgg.fullconv(logmel, "pool5");
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  const double audio_seconds = static_cast<double>(logmel.rows) * 256.0 / 16000.0;
  fmt::print("frames {} pool5 {}x{} threads {} seconds {:.4f} x_real_time {:.1f} conv_gflop {:.2f} gflops {:.1f}\n", logmel.rows, pool5.rows,
             pool5.cols, omp_get_max_threads(), best, audio_seconds / best, flop / 1e9, flop / best / 1e9);
  if (argc > 4) {
    const std::uint64_t shape[] = {pool5.rows, pool5.cols};
    conceptree::write_npy(argv[4], pool5.values, shape);
  }
  return 0;
} catch (const std::exception& error) {
  fmt::print(stderr, "error: {}\n", error.what());
  return 1;
}
