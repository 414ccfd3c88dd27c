// A concept's test balanced accuracy with a 95 % interval over its test tracks: Wilson's interval
// at the effective sample size of a mean of two proportions.

#include <gtest/gtest.h>

#include "conceptree/concept_set.hpp"

namespace conceptree {
namespace {

TEST(BalancedAccuracyInterval, IsWilsonsAtTheEffectiveSampleSize) {
  // 5 positive and 5 negative tracks: n = 4 / (1/5 + 1/5) = 10. scipy.stats.binomtest(8, 10)
  // .proportion_ci(method="wilson") gives (0.4901624715366418, 0.9433178485456248).
  const auto [low, high] = balanced_accuracy_interval(0.8, 5, 5);
  EXPECT_NEAR(low, 0.4901624715366418, 1e-12);
  EXPECT_NEAR(high, 0.9433178485456248, 1e-12);
  // The smaller side sets the width: 10 positives against 30 negatives is n = 30.
  const auto [unequal_low, unequal_high] = balanced_accuracy_interval(0.8, 10, 30);
  EXPECT_NEAR(unequal_low, 0.6269430358685175, 1e-12);
  EXPECT_NEAR(unequal_high, 0.9049489282271013, 1e-12);
}

TEST(BalancedAccuracyInterval, ReachesChanceForSmallTestSetsAndStaysInZeroOne) {
  EXPECT_LE(balanced_accuracy_interval(0.7, 4, 4).first, 0.5) << "a 0.7 on 8 tracks may be chance";
  EXPECT_GT(balanced_accuracy_interval(0.7, 200, 200).first, 0.5);
  for (const double accuracy : {0.0, 1.0}) {
    const auto [low, high] = balanced_accuracy_interval(accuracy, 3, 3);
    EXPECT_GE(low, 0.0);
    EXPECT_LE(high, 1.0);
    EXPECT_LT(low, high);
  }
  EXPECT_EQ(balanced_accuracy_interval(0.9, 0, 10), (std::pair<double, double>{0.0, 1.0})) << "no positive test track";
}

}  // namespace
}  // namespace conceptree
