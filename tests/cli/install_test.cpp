// `cmake --install` gives a binary that finds the musicnn weights installed beside it.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using conceptree::testing::quoted_args;
using conceptree::testing::run_command;
using conceptree::testing::ScratchDir;
using conceptree::testing::shell_quote;

// Embeds the chirp with the installed binary under `prefix`, with no --weights and no environment.
conceptree::testing::CommandResult embed_with_installed(const fs::path& prefix, const fs::path& output) {
  return run_command("env -u CONCEPTREE_MSD_VGG " + shell_quote((prefix / "bin" / "conceptree").string()) + " " +
                     quoted_args({"embed", "--backbone", "musicnn-vgg", (conceptree::testing::test_data() / "golden" / "chirp_16k.wav").string(),
                                  "-o", output.string()}));
}

TEST(Install, InstalledBinaryFindsTheShippedWeightsBesideIt) {
  const ScratchDir dir;
  const fs::path build = fs::path(CONCEPTREE_CLI).parent_path();
  const auto install = run_command("cmake --install " + shell_quote(build.string()) + " --prefix " + shell_quote((dir / "prefix").string()));
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  for (const char* file : {"MSD_vgg.h5", "LICENSE-musicnn.md", "msd_tags.txt"}) {
    EXPECT_TRUE(fs::is_regular_file(dir / "prefix" / "share" / "conceptree" / "musicnn" / file)) << file;
  }
  const auto first = embed_with_installed(dir / "prefix", dir / "a.h5");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find((dir / "prefix" / "share" / "conceptree" / "musicnn" / "MSD_vgg.h5").string()), std::string::npos) << first.err;
  // The installed tree can move: the binary looks beside itself, not where it was installed.
  fs::rename(dir / "prefix", dir / "moved");
  const auto moved = embed_with_installed(dir / "moved", dir / "b.h5");
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_NE(moved.err.find((dir / "moved" / "share" / "conceptree" / "musicnn" / "MSD_vgg.h5").string()), std::string::npos) << moved.err;
}

TEST(Install, BuildTreeBinaryFindsTheWeightsAndTheEnvironmentOverrides) {
  const ScratchDir dir;
  const fs::path chirp = conceptree::testing::test_data() / "golden" / "chirp_16k.wav";
  const auto found = run_command("env -u CONCEPTREE_MSD_VGG " + shell_quote(CONCEPTREE_CLI) + " " +
                                 quoted_args({"embed", "-b", "musicnn-vgg", chirp.string(), "-o", (dir / "a.h5").string()}));
  ASSERT_EQ(found.exit_code, 0) << found.err;
  EXPECT_NE(found.err.find("MSD_vgg.h5"), std::string::npos) << found.err;
  const auto overridden = run_command("CONCEPTREE_MSD_VGG=" + shell_quote((dir / "elsewhere.h5").string()) + " " + shell_quote(CONCEPTREE_CLI) +
                                      " " + quoted_args({"embed", "-b", "musicnn-vgg", chirp.string(), "-o", (dir / "b.h5").string()}));
  EXPECT_EQ(overridden.exit_code, 1);
  EXPECT_NE(overridden.err.find("elsewhere.h5"), std::string::npos) << overridden.err;
}

}  // namespace
