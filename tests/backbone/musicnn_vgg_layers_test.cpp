// musicnn-vgg on clips shorter than one patch, and several layers from one pass.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conceptree/backbone.hpp"
#include "conceptree/error.hpp"
#include "conceptree/npy.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

const MusicnnVgg& model() {
  static const MusicnnVgg vgg = MusicnnVgg::load(testing::musicnn_weights());
  return vgg;
}

FrameMatrix joram_logmel() {
  NpyReader reader(testing::test_data() / "golden" / "joram_logmel.npy");
  return {reader.rows(), reader.row_size(), reader.read_all_as_float()};
}

// The first `rows` log-mel frames of `logmel`.
FrameMatrix head(const FrameMatrix& logmel, std::uint64_t rows) {
  return {rows, logmel.cols, {logmel.values.begin(), logmel.values.begin() + static_cast<std::ptrdiff_t>(rows * logmel.cols)}};
}

// The first `rows` rows of `frames`.
std::vector<float> first_rows(const FrameMatrix& frames, std::uint64_t rows) {
  return {frames.values.begin(), frames.values.begin() + static_cast<std::ptrdiff_t>(rows * frames.cols)};
}

// `clip` extended to one 187-frame patch as the backbone should: tiled, or followed by log-mel 0.
FrameMatrix extended(const FrameMatrix& clip, ShortClipPadding padding) {
  FrameMatrix patch{MusicnnVgg::kPatchFrames, clip.cols, std::vector<float>(MusicnnVgg::kPatchFrames * clip.cols, 0.0f)};
  for (std::uint64_t r = 0; r < patch.rows; ++r) {
    if (padding == ShortClipPadding::Silence && r >= clip.rows) break;
    std::copy_n(clip.values.begin() + static_cast<std::ptrdiff_t>((r % clip.rows) * clip.cols), clip.cols,
                patch.values.begin() + static_cast<std::ptrdiff_t>(r * clip.cols));
  }
  return patch;
}

TEST(MusicnnVggShortClips, AOneSecondClipIsOnePool5FrameNotFramesOfPadding) {
  const FrameMatrix second = head(joram_logmel(), 62);  // 62 frames of 16 ms
  // pool1..pool4 keep the rows of the clip's own length: 62 -> 30 -> 15 -> 7 -> 3; pool5 would
  // have none and keeps one.
  const std::vector<std::pair<std::string, std::uint64_t>> expected_rows = {{"pool3", 7}, {"pool4", 3}, {"pool5", 1}};
  for (const auto& [layer, rows] : expected_rows) {
    const FrameMatrix frames = model().fullconv(second, layer);
    EXPECT_EQ(frames.rows, rows) << layer;
    EXPECT_EQ(frames.values.size(), frames.rows * frames.cols) << layer;
  }
}

TEST(MusicnnVggShortClips, PaddingRepeatsTheClipOrAddsSilence) {
  const FrameMatrix clip = head(joram_logmel(), 40);
  for (const ShortClipPadding padding : {ShortClipPadding::Repeat, ShortClipPadding::Silence}) {
    const FrameMatrix short_result = model().fullconv(clip, "pool5", MusicnnVgg::kMaxChunkFrames, padding);
    const FrameMatrix patch_result = model().fullconv(extended(clip, padding), "pool5");
    ASSERT_EQ(short_result.rows, 1u);
    EXPECT_EQ(short_result.values, first_rows(patch_result, 1));
    const FrameMatrix pool3 = model().fullconv(clip, "pool3", MusicnnVgg::kMaxChunkFrames, padding);
    EXPECT_EQ(pool3.rows, 4u);  // 40 -> 19 -> 9 -> 4
    EXPECT_EQ(pool3.values, first_rows(model().fullconv(extended(clip, padding), "pool3"), 4));
    // Patch mode pads the same way: its one patch is the extended clip.
    EXPECT_EQ(model().patches(clip, "pool5", MusicnnVgg::kPatchFrames, padding).values,
              model().patches(extended(clip, padding), "pool5").values);
  }
  EXPECT_NE(model().fullconv(clip, "pool5", MusicnnVgg::kMaxChunkFrames, ShortClipPadding::Repeat).values,
            model().fullconv(clip, "pool5", MusicnnVgg::kMaxChunkFrames, ShortClipPadding::Silence).values);
}

TEST(MusicnnVggShortClips, ClipsOfAPatchOrMoreAreNotPadded) {
  const FrameMatrix logmel = joram_logmel();
  const FrameMatrix patch = head(logmel, MusicnnVgg::kPatchFrames);
  EXPECT_EQ(model().fullconv(patch, "pool5", MusicnnVgg::kMaxChunkFrames, ShortClipPadding::Repeat).values,
            model().fullconv(patch, "pool5", MusicnnVgg::kMaxChunkFrames, ShortClipPadding::Silence).values);
  EXPECT_EQ(model().fullconv(patch, "pool5").rows, 2u);
}

TEST(MusicnnVggShortClips, NoFramesGiveNoRows) {
  const FrameMatrix empty{0, 96, {}};
  EXPECT_EQ(model().fullconv(empty, "pool5").rows, 0u);
}

TEST(MusicnnVggLayers, OnePassEqualsOneLayerAtATime) {
  const FrameMatrix logmel = joram_logmel();
  const std::vector<std::string> layers = {"pool5", "pool3", "pool4"};
  const std::vector<FrameMatrix> together = model().fullconv(logmel, layers);
  ASSERT_EQ(together.size(), layers.size());
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const FrameMatrix alone = model().fullconv(logmel, layers[i]);
    EXPECT_EQ(together[i].rows, alone.rows) << layers[i];
    EXPECT_EQ(together[i].cols, alone.cols) << layers[i];
    EXPECT_EQ(together[i].values, alone.values) << layers[i];
  }
  const std::vector<std::string> patch_layers = {"output", "pool4", "pool5"};
  const std::vector<FrameMatrix> patches = model().patches(logmel, patch_layers);
  for (std::size_t i = 0; i < patch_layers.size(); ++i) {
    EXPECT_EQ(patches[i].values, model().patches(logmel, patch_layers[i]).values) << patch_layers[i];
  }
}

TEST(MusicnnVggLayers, ChunkedPassesEqualTheWholeForEveryLayer) {
  // Chunks of several sizes, down to barely more than pool5's receptive field, must give every
  // layer's rows exactly once, including the shallow layers' rows past pool5's last window.
  const FrameMatrix long_input = joram_logmel();
  const std::vector<std::string> layers = {"pool3", "pool4", "pool5"};
  const std::vector<FrameMatrix> whole = model().fullconv(long_input, layers, 1u << 30);
  for (const std::uint64_t chunk : {300u, 777u}) {
    const std::vector<FrameMatrix> chunked = model().fullconv(long_input, layers, chunk);
    for (std::size_t i = 0; i < layers.size(); ++i) {
      EXPECT_EQ(chunked[i].rows, whole[i].rows) << layers[i] << " chunk " << chunk;
      EXPECT_EQ(chunked[i].values, whole[i].values) << layers[i] << " chunk " << chunk;
    }
  }
}

TEST(MusicnnVggLayers, RejectsOutputInFullconvAndUnknownLayers) {
  const FrameMatrix logmel = joram_logmel();
  EXPECT_THROW(model().fullconv(logmel, std::vector<std::string>{"pool5", "output"}), InputError);
  EXPECT_THROW(model().fullconv(logmel, std::vector<std::string>{"pool5", "pool9"}), InputError);
  EXPECT_THROW(model().fullconv(logmel, std::vector<std::string>{}), InputError);
}

TEST(MusicnnVggWeights, ShippedWeightsAreFound) {
  const std::filesystem::path found = shipped_musicnn_weights();
  EXPECT_TRUE(std::filesystem::is_regular_file(found)) << found;
  EXPECT_EQ(found.filename(), "MSD_vgg.h5");
  EXPECT_NO_THROW(MusicnnVgg::load(found));
}

}  // namespace
}  // namespace conceptree
