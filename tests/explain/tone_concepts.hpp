// A fixture both explain test programs use: concepts "low" and "high", learned on the dsp frames
// of eight low and eight high tones, and two new tones to explain.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/test_support.hpp"

namespace conceptree::testing {

// Writes DIR/train/*.wav, DIR/store.h5 and DIR/concepts.h5, then DIR/new/{a_low,b_high}.wav;
// fails the test (fatally) when embed or train does.
inline void write_tone_concepts(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir / "train");
  std::string memberships;
  for (int i = 0; i < 8; ++i) {
    const std::string low = "low" + std::to_string(i), high = "high" + std::to_string(i);
    write_wav(dir / "train" / (low + ".wav"), tone(3, 180 + 10 * i));
    write_wav(dir / "train" / (high + ".wav"), tone(3, 2500 + 100 * i));
    memberships += "low\t" + low + "\nhigh\t" + high + "\n";
  }
  write_text(dir / "memberships.tsv", memberships);
  ASSERT_EQ(run_cli(quoted_args({"-q", "embed", (dir / "train").string(), "-o", (dir / "store.h5").string()})).exit_code, 0);
  const auto trained = run_cli(quoted_args({"-q", "train", "-e", (dir / "store.h5").string(), "-m", (dir / "memberships.tsv").string(), "-o",
                                            (dir / "concepts.h5").string(), "--min-tracks", "3", "--min-accuracy", "0.5"}));
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  std::filesystem::create_directories(dir / "new");
  write_wav(dir / "new" / "a_low.wav", tone(4, 200));
  write_wav(dir / "new" / "b_high.wav", tone(4, 2700));
}

}  // namespace conceptree::testing
