// The tag-logit gradients `embed --gradients` writes for TCAV, against PyTorch autograd on the same
// network (tests/backbone/musicnn_gradients_vs_torch.py): an independent implementation of the
// backward pass, so a wrong pooling argmax, transpose or flatten order shows as a difference.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using conceptree::testing::quoted_args;
using conceptree::testing::ScratchDir;

TEST(MusicnnGradients, PatchGradientsOfTwoTagsEqualTorchAutogradAtPool3To5) {
  const std::string python = "/usr/bin/python3";
  if (std::system((python + " -c 'import torch, h5py' >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << "/usr/bin/python3 cannot import torch and h5py (Debian python3-torch, python3-h5py)";
  const ScratchDir dir;
  const fs::path audio = conceptree::testing::test_data() / "audio";
  // A 1.5 s sweep besides musicnn's two 30 s clips: shorter than a patch, so embed repeats it to one.
  std::vector<std::int16_t> sweep(24000);
  for (std::size_t i = 0; i < sweep.size(); ++i) {
    const double t = static_cast<double>(i) / 16000;
    sweep[i] = static_cast<std::int16_t>(8000 * std::sin(2 * M_PI * (200 * t + 1000 * t * t)));
  }
  conceptree::testing::write_wav(dir / "sweep.wav", sweep);
  const std::string clips[] = {(audio / "TRWJAZW128F42760DD_test.mp3").string(),
                               (audio / "joram-moments_of_clarity-08-solipsism-59-88.mp3").string(), (dir / "sweep.wav").string()};
  const std::string weights = conceptree::testing::musicnn_weights().string();
  const fs::path store = dir / "store.h5";

  const auto embedded = conceptree::testing::run_cli(
      "-q embed " + quoted_args({"--backbone", "musicnn-vgg", "--weights", weights, "--mode", "patch", "--layer", "pool3,pool4,pool5",
                                 "--gradients", "happy,rock", clips[0], clips[1], clips[2], "-o", store.string()}));
  ASSERT_EQ(embedded.exit_code, 0) << embedded.out << embedded.err;

  const auto checked = conceptree::testing::run_command(
      python + " " +
      quoted_args({(fs::path(CONCEPTREE_SOURCE_DIR) / "tests" / "backbone" / "musicnn_gradients_vs_torch.py").string(), "--cli", CONCEPTREE_CLI,
                   "--store", store.string(), "--weights", weights, "--tag-names", conceptree::testing::msd_tags().string(), "--layers",
                   "pool3,pool4,pool5", "--tags", "happy,rock", "--workdir", dir.path().string(), clips[0], clips[1], clips[2]}));
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
}

}  // namespace
