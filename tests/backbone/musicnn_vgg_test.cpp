// musicnn-vgg against golden tensors of the Keras MSD_vgg model (patch of joram's log-mel, and
// the fully convolutional pool5 of the whole clip).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <thread>
#include <string>
#include <vector>

#include "conceptree/backbone.hpp"
#include "conceptree/error.hpp"
#include "conceptree/npy.hpp"
#include "hdf5/hdf5.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
fs::path weights_path() { return testing::musicnn_weights(); }
fs::path golden(const std::string& name) { return testing::test_data() / "golden" / name; }

struct Golden {
  std::vector<std::uint64_t> shape;
  std::vector<float> values;
};

Golden read_golden(const std::string& name) {
  NpyReader reader(golden(name));
  return {reader.header().shape, reader.read_all_as_float()};
}

FrameMatrix read_logmel(const std::string& name) {
  NpyReader reader(golden(name));
  FrameMatrix m;
  m.rows = reader.rows();
  m.cols = reader.row_size();
  m.values = reader.read_all_as_float();
  return m;
}

// Largest |a − b| over the largest |b|: the parity measure of the brief (1e-3).
double relative_error(const std::vector<float>& actual, const std::vector<float>& expected) {
  EXPECT_EQ(actual.size(), expected.size());
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(actual[i]) - expected[i]));
    scale = std::max(scale, std::abs(static_cast<double>(expected[i])));
  }
  return diff / std::max(scale, 1e-30);
}

// Loaded once: every test reads the same weights.
const MusicnnVgg& model() {
  static const MusicnnVgg vgg = MusicnnVgg::load(weights_path());
  return vgg;
}

class MusicnnVggGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(MusicnnVggGolden, PatchTensorMatchesKeras) {
  const std::string layer = GetParam();
  const FrameMatrix patch = read_logmel("vgg_patch187_input.npy");
  const Golden expected = read_golden("vgg_patch187_" + layer + ".npy");
  std::vector<std::uint64_t> shape;
  const std::vector<float> actual = model().patch_tensor(patch, layer, &shape);
  EXPECT_EQ(shape, expected.shape);
  const double error = relative_error(actual, expected.values);
  EXPECT_LT(error, 1e-3) << layer;
  RecordProperty("relative_error", std::to_string(error));
  std::printf("[ parity ] %s max |diff| / max |golden| = %.3g\n", layer.c_str(), error);
}

INSTANTIATE_TEST_SUITE_P(Layers, MusicnnVggGolden, ::testing::Values("pool3", "pool4", "pool5", "output"));

TEST(MusicnnVggFullconv, Pool5MatchesKerasOverTheWholeClip) {
  const FrameMatrix logmel = read_logmel("joram_logmel.npy");
  const Golden expected = read_golden("vgg_fulltrack_pool5.npy");
  const FrameMatrix pool5 = model().fullconv(logmel, "pool5");
  // 1821 frames (29.1 s): floor(((1821 − 4)/2 + 1)/16 ...) gives 28 rows; a full 30 s (1876) gives 29.
  EXPECT_EQ(logmel.rows, 1821u);
  EXPECT_EQ(pool5.rows, 28u);
  EXPECT_EQ(pool5.cols, 128u);
  ASSERT_EQ(expected.shape, (std::vector<std::uint64_t>{28, 1, 128}));
  const double error = relative_error(pool5.values, expected.values);
  EXPECT_LT(error, 1e-3);
  std::printf("[ parity ] fullconv pool5 max |diff| / max |golden| = %.3g\n", error);
}

TEST(MusicnnVggFullconv, ThirtySecondsGiveTwentyNinePool5Frames) {
  FrameMatrix logmel{1876, 96, std::vector<float>(1876 * 96, 0.5f)};
  const FrameMatrix pool5 = model().fullconv(logmel, "pool5");
  EXPECT_EQ(pool5.rows, 29u);
  EXPECT_EQ(pool5.cols, 128u);
  EXPECT_EQ(model().fullconv(logmel, "pool3").cols, 12u * 128u);
  EXPECT_EQ(model().fullconv(logmel, "pool4").cols, 6u * 128u);
}

double max_relative_difference(const FrameMatrix& a, const FrameMatrix& b) {
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.cols, b.cols);
  return relative_error(a.values, b.values);
}

TEST(MusicnnVggFullconv, ChunkedEqualsOnePass) {
  FrameMatrix logmel = read_logmel("joram_logmel.npy");
  // Chunks of 1 (200 frames) and 9 (700) pool5 rows; pool3 in chunks of 300 frames.
  for (const auto& [layer, chunks] : std::vector<std::pair<std::string, std::vector<std::uint64_t>>>{{"pool5", {200, 700}}, {"pool3", {300}}}) {
    const FrameMatrix whole = model().fullconv(logmel, layer, 1u << 30);
    for (const std::uint64_t chunk : chunks) {
      const FrameMatrix chunked = model().fullconv(logmel, layer, chunk);
      EXPECT_LT(max_relative_difference(chunked, whole), 1e-5) << layer << " in chunks of " << chunk;
    }
  }
  // A track longer than the default chunk (3 x 29 s) runs in chunks by default.
  FrameMatrix tripled{logmel.rows * 3, logmel.cols, {}};
  for (int i = 0; i < 3; ++i) tripled.values.insert(tripled.values.end(), logmel.values.begin(), logmel.values.end());
  ASSERT_GT(tripled.rows, MusicnnVgg::kMaxChunkFrames);
  const FrameMatrix whole = model().fullconv(tripled, "pool5", 1u << 30);
  const FrameMatrix chunked = model().fullconv(tripled, "pool5");
  EXPECT_EQ(whole.rows, (tripled.rows - 4) / 2 / 32);  // 5463 frames -> 85 rows
  EXPECT_LT(max_relative_difference(chunked, whole), 1e-5);
}

TEST(MusicnnVggFullconv, ShortInputsAreExtendedToOneRow) {
  FrameMatrix logmel{40, 96, std::vector<float>(40 * 96, 1.0f)};
  const FrameMatrix pool5 = model().fullconv(logmel, "pool5");
  EXPECT_EQ(pool5.rows, 1u);
  EXPECT_EQ(pool5.cols, 128u);
  EXPECT_EQ(pool5.values.size(), 128u);
}

TEST(MusicnnVggPatches, ShapesPerLayer) {
  const FrameMatrix logmel = read_logmel("joram_logmel.npy");
  const std::uint64_t patches = (1821 - 187) / 187 + 1;  // 9
  for (const auto& [layer, width] : std::vector<std::pair<std::string, std::uint64_t>>{
           {"pool3", 1536}, {"pool4", 768}, {"pool5", 128}, {"output", 50}}) {
    const FrameMatrix m = model().patches(logmel, layer);
    EXPECT_EQ(m.rows, patches) << layer;
    EXPECT_EQ(m.cols, width) << layer;
    EXPECT_EQ(m.values.size(), m.rows * m.cols);
  }
  EXPECT_EQ(model().patches(logmel, "pool5", 93).rows, (1821u - 187u) / 93u + 1u);
  // Shorter than a patch: zero-padded to one.
  FrameMatrix short_clip{100, 96, std::vector<float>(logmel.values.begin(), logmel.values.begin() + 100 * 96)};
  EXPECT_EQ(model().patches(short_clip, "output").rows, 1u);
}

TEST(MusicnnVggPatches, FirstPatchMatchesPatchTensor) {
  const FrameMatrix logmel = read_logmel("joram_logmel.npy");
  const FrameMatrix patch = read_logmel("vgg_patch187_input.npy");  // joram's first 187 frames
  const FrameMatrix logits = model().patches(logmel, "output");
  const std::vector<float> first(logits.values.begin(), logits.values.begin() + 50);
  EXPECT_LT(relative_error(first, model().patch_tensor(patch, "output", nullptr)), 1e-5);
  // pool5 averaged over its 2 time steps.
  const FrameMatrix pool5 = model().patches(logmel, "pool5");
  const std::vector<float> tensor = model().patch_tensor(patch, "pool5", nullptr);
  for (int c = 0; c < 128; ++c) EXPECT_NEAR(pool5.values[static_cast<std::size_t>(c)], (tensor[c] + tensor[128 + c]) / 2, 1e-5);
}

TEST(MusicnnVggPatches, JoramIsElectronic) {
  const FrameMatrix logits = model().patches(read_logmel("joram_logmel.npy"), "output");
  std::vector<double> mean(50, 0.0);
  for (std::uint64_t r = 0; r < logits.rows; ++r)
    for (int k = 0; k < 50; ++k) mean[static_cast<std::size_t>(k)] += 1 / (1 + std::exp(-logits.values[r * 50 + static_cast<std::uint64_t>(k)]));
  std::vector<std::string> tags;
  std::ifstream in(testing::msd_tags());
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) tags.push_back(line);
  ASSERT_EQ(tags.size(), 50u);
  const auto best = std::max_element(mean.begin(), mean.end()) - mean.begin();
  EXPECT_EQ(tags[static_cast<std::size_t>(best)], "electronic");
}

TEST(MusicnnVggPatches, ConcurrentCallsAgree) {
  const FrameMatrix logmel = read_logmel("joram_logmel.npy");
  const FrameMatrix expected = model().fullconv(logmel, "pool5");
  std::vector<FrameMatrix> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results) threads.emplace_back([&] { result = model().fullconv(logmel, "pool5"); });
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result.values, expected.values);
}

TEST(MusicnnVggInput, RejectsWrongShapesAndLayers) {
  FrameMatrix wrong{187, 40, std::vector<float>(187 * 40, 0.0f)};
  EXPECT_THROW(model().fullconv(wrong, "pool5"), InputError);
  FrameMatrix patch{187, 96, std::vector<float>(187 * 96, 0.0f)};
  EXPECT_THROW(model().patch_tensor(patch, "pool9", nullptr), InputError);
  EXPECT_THROW(model().fullconv(patch, "output"), InputError);
  EXPECT_THROW(model().patches(patch, "pool5", 0), InputError);
  FrameMatrix long_patch{200, 96, std::vector<float>(200 * 96, 0.0f)};
  EXPECT_THROW(model().patch_tensor(long_patch, "output", nullptr), InputError);
}

// Copies every dataset of MSD_vgg.h5 into `target`, replacing `replace` (when given) by a
// (3, 3, 2, 128) array and leaving out `drop`.
void copy_weights(const fs::path& target, const std::string& replace, const std::string& drop) {
  const h5::File source(weights_path(), h5::Mode::ReadOnly);
  h5::File out(target, h5::Mode::Create);
  std::vector<std::string> paths;
  for (const std::string& layer : h5::member_names(source.id())) {
    if (!h5::exists(source.id(), layer + "/" + layer)) continue;  // weightless layers (dropout, flatten)
    const h5::Handle group = h5::open_group(source.id(), layer + "/" + layer, source.name());
    for (const std::string& name : h5::member_names(group.id())) paths.push_back(layer + "/" + layer + "/" + name);
  }
  for (const std::string& path : paths) {
    if (path == drop) continue;
    std::vector<std::uint64_t> shape;
    std::vector<float> values = h5::read_vector<float>(source.id(), path, source.name(), &shape);
    if (path == replace) {
      shape = {3, 3, 2, 128};
      values.assign(3 * 3 * 2 * 128, 0.0f);
    }
    h5::create_group(out.id(), path.substr(0, path.rfind('/')));
    h5::write_floats(out.id(), path, values, shape);
  }
  out.close();
}

TEST(MusicnnVggLoad, ErrorsNameTheFile) {
  testing::ScratchDir dir;
  const auto missing = testing::input_error_from([&] { MusicnnVgg::load(dir / "missing.h5"); });
  ASSERT_TRUE(missing);
  EXPECT_NE(missing->item().find("missing.h5"), std::string::npos);

  {
    h5::File empty(dir / "empty.h5", h5::Mode::Create);
    const std::vector<float> values{1, 2};
    h5::write_floats(empty.id(), "other", values, std::vector<std::uint64_t>{2});
    empty.close();
  }
  const auto no_layers = testing::input_error_from([&] { MusicnnVgg::load(dir / "empty.h5"); });
  ASSERT_TRUE(no_layers);
  EXPECT_NE(no_layers->item().find("empty.h5"), std::string::npos);
  EXPECT_NE(no_layers->problem().find("bn_input"), std::string::npos) << no_layers->problem();

  copy_weights(dir / "wrong.h5", "3CNN/3CNN/kernel_1:0", "");
  const auto wrong = testing::input_error_from([&] { MusicnnVgg::load(dir / "wrong.h5"); });
  ASSERT_TRUE(wrong);
  EXPECT_NE(wrong->item().find("wrong.h5"), std::string::npos);
  EXPECT_NE(wrong->problem().find("3CNN"), std::string::npos) << wrong->problem();

  copy_weights(dir / "partial.h5", "", "bn_conv4/bn_conv4/moving_variance:0");
  const auto partial = testing::input_error_from([&] { MusicnnVgg::load(dir / "partial.h5"); });
  ASSERT_TRUE(partial);
  EXPECT_NE(partial->item().find("partial.h5"), std::string::npos);
  EXPECT_NE(partial->problem().find("bn_conv4"), std::string::npos) << partial->problem();

  // The copy with nothing changed loads and computes the same pool5.
  copy_weights(dir / "copy.h5", "", "");
  const MusicnnVgg copy = MusicnnVgg::load(dir / "copy.h5");
  const FrameMatrix patch = read_logmel("vgg_patch187_input.npy");
  EXPECT_EQ(copy.patch_tensor(patch, "pool5", nullptr), model().patch_tensor(patch, "pool5", nullptr));
}

}  // namespace
}  // namespace conceptree
