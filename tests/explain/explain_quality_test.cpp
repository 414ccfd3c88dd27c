// Does explain explain? bench/explain_quality.py on a the demo corpus: held-out tracks' true
// instruments must rank far above the base-rate baseline, and boundaries between two concatenated
// tracks must be found. Measured at 640 tracks over seeds 0-4 (dsp): mAP 0.80-0.84 against 0.16-0.18,
// boundaries within 1 s in 0.38-0.72 of pairs (docs/usage.md); the bounds here sit well below that,
// so only a real regression fails.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using conceptree::testing::quoted_args;
using conceptree::testing::ScratchDir;

TEST(ExplainQuality, TrueInstrumentsRankHighAndBoundariesAreFound) {
  if (!fs::exists("/usr/share/sounds/sf2/FluidR3_GM.sf2")) GTEST_SKIP() << "fluid-soundfont-gm is not installed";
  const std::string python = conceptree::testing::python_with_h5py();
  if (python.empty()) GTEST_SKIP() << "no /usr/bin/python3";
  const ScratchDir dir;
  const fs::path build = fs::path(CONCEPTREE_CLI).parent_path();
  const auto result = conceptree::testing::run_command(
      python + " " + quoted_args({(fs::path(CONCEPTREE_SOURCE_DIR) / "bench" / "explain_quality.py").string(), "--build", build.string(), "--workdir",
                                  dir.path().string(), "--seeds", "0", "--pairs", "20", "--no-philharmonia", "--json",
                                  (dir / "quality.json").string()}));
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  std::ifstream in(dir / "quality.json");
  const nlohmann::json quality = nlohmann::json::parse(in)["demo"]["0"];
  EXPECT_GE(quality["map_score"].get<double>(), 0.6) << quality.dump();
  EXPECT_GE(quality["map_summary"].get<double>(), 0.6) << quality.dump();
  EXPECT_GE(quality["map_score"].get<double>(), 2.5 * quality["map_base_rate"].get<double>()) << quality.dump();
  EXPECT_GE(quality["boundary_within_1s"].get<double>(), 0.2) << quality.dump();
}

}  // namespace
