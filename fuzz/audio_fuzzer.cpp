// Audio files (wav, flac, ogg/vorbis, opus, mp3 through libsndfile) as `embed`, `explain` and
// `logmel` decode them: block by block, downmixed and resampled to musicnn's 16 kHz.

#include <cstdint>
#include <vector>

#include "conceptree/audio.hpp"
#include "fuzz_support.hpp"

using namespace conceptree;

namespace {

constexpr double kTargetRate = 16000;
constexpr std::size_t kBlock = 16000 * 10;
// A header may promise hours of audio; decoding stops after this much (the CLI would go on, at
// the same cost per block).
constexpr std::size_t kMostSamples = 16000 * 120;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::write_input("input.audio", {data, size});
  fuzz::expect_clean_outcome([&] {
    AudioReader reader(path, kTargetRate);
    std::vector<float> block;
    std::size_t samples = 0;
    while (samples < kMostSamples && reader.read(block, kBlock)) samples += block.size();
  });
  return 0;
}
