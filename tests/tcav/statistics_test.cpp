// The statistics behind `conceptree tcav`: Welch's t-test against scipy on seeded samples and by
// definition where the samples are degenerate, the permutation test's determinism and its
// agreement with an exhaustive count, and Benjamini–Hochberg q-values worked out by hand and
// against their definition.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "support/test_support.hpp"
#include "tcav/statistics.hpp"

namespace conceptree {
namespace {

using Json = nlohmann::json;
using tcav_stats::benjamini_hochberg;
using tcav_stats::permutation_test;
using tcav_stats::welch_t_test;
using testing::ScratchDir;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> normal_sample(std::size_t size, double mean, double deviation, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<double> draw(mean, deviation);
  std::vector<double> values(size);
  for (double& value : values) value = draw(generator);
  return values;
}

// Relative closeness that treats equal infinities as equal.
::testing::AssertionResult relatively_near(double actual, double expected, double tolerance) {
  if (actual == expected) return ::testing::AssertionSuccess();
  if (std::fabs(actual - expected) <= tolerance * std::fabs(expected)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << actual << " vs scipy's " << expected << " (relative error "
                                       << std::fabs(actual - expected) / std::fabs(expected) << ")";
}

struct WelchCase {
  std::string name;
  std::vector<double> a, b;
};

// Reads the cases from argv[1], writes scipy's t, df and p for each to argv[2]; json's floats are
// repr's, which read back to the same double. Debian 12's scipy (1.10) does not return df, so it is
// computed from scipy's own variances the way ttest_ind does inside.
constexpr const char* kScipyWelch = R"(
import json, sys
from scipy import stats
cases = json.load(open(sys.argv[1]))
out = {}
for name, (a, b) in cases.items():
    result = stats.ttest_ind(a, b, equal_var=False)
    n1, n2 = len(a), len(b)
    v1, v2 = stats.tvar(a) / n1, stats.tvar(b) / n2
    df = (v1 + v2) ** 2 / (v1 ** 2 / (n1 - 1) + v2 ** 2 / (n2 - 1))
    out[name] = [float(result.statistic), float(df), float(result.pvalue)]
json.dump(out, open(sys.argv[2], "w"))
)";

TEST(StatisticsWelch, MatchesScipyOnSeededSamples) {
  if (testing::run_command("/usr/bin/python3 -c 'import scipy.stats'").exit_code != 0)
    GTEST_SKIP() << "/usr/bin/python3 with scipy (Debian python3-scipy, installed by scripts/setup.sh) is the reference and is missing";
  std::vector<WelchCase> cases = {
      // A TCAV score's runs against its random null: equal sizes, a clear difference.
      {"equal_sizes", normal_sample(30, 0.8, 0.05, 1), normal_sample(30, 0.5, 0.1, 2)},
      // Unequal sizes and variances, means close: p far from 0.
      {"unequal_sizes_and_variances", normal_sample(12, 0.52, 0.02, 3), normal_sample(40, 0.5, 0.2, 4)},
      // Far apart: p deep in the tail, where a relative error shows first.
      {"far_apart", normal_sample(20, 0.9, 0.02, 5), normal_sample(25, 0.5, 0.03, 6)},
      // Shares of inputs take few values: ties within and across the samples.
      {"ties", {0.5, 0.5, 0.6, 0.6, 0.6, 0.7, 0.7, 0.8}, {0.4, 0.5, 0.5, 0.5, 0.6, 0.6}},
      // One sample constant (exactly representable, so its variance is exactly 0 on both sides).
      {"one_constant", std::vector<double>(10, 0.5), normal_sample(15, 0.55, 0.1, 7)},
      {"two_values_each", {0.25, 0.75}, {0.125, 0.5}},
      // b above a: t negative.
      {"negative_t", normal_sample(9, 0.3, 0.1, 8), normal_sample(14, 0.6, 0.15, 9)},
  };
  Json input = Json::object();
  for (const auto& c : cases) input[c.name] = {c.a, c.b};
  const ScratchDir dir;
  testing::write_text(dir / "cases.json", input.dump());
  const auto run = testing::run_python_script("/usr/bin/python3", dir / "welch.py", kScipyWelch,
                                              {(dir / "cases.json").string(), (dir / "scipy.json").string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Json scipy = Json::parse(testing::read_text(dir / "scipy.json"));
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto result = welch_t_test(c.a, c.b);
    const Json& expected = scipy.at(c.name);
    EXPECT_TRUE(relatively_near(result.t, expected[0].get<double>(), 1e-9)) << "t";
    EXPECT_TRUE(relatively_near(result.df, expected[1].get<double>(), 1e-9)) << "df";
    EXPECT_TRUE(relatively_near(result.p, expected[2].get<double>(), 1e-9)) << "p";
  }
}

TEST(StatisticsWelch, FewerThanTwoValuesInASampleGiveNaN) {
  for (const auto& [a, b] : {std::pair<std::vector<double>, std::vector<double>>{{0.5}, {0.1, 0.2, 0.3}},
                             {{0.1, 0.2, 0.3}, {}},
                             {{}, {}}}) {
    const auto result = welch_t_test(a, b);
    EXPECT_TRUE(std::isnan(result.t));
    EXPECT_TRUE(std::isnan(result.df));
    EXPECT_TRUE(std::isnan(result.p));
  }
}

TEST(StatisticsWelch, TwoConstantSamplesAreEqualOrCertainlyDifferent) {
  const std::vector<double> low(5, 0.25), high(7, 0.75), also_low(3, 0.25);
  const auto differ = welch_t_test(high, low);
  EXPECT_EQ(differ.t, std::numeric_limits<double>::infinity());
  EXPECT_EQ(differ.p, 0.0);
  EXPECT_TRUE(std::isnan(differ.df));
  EXPECT_EQ(welch_t_test(low, high).t, -std::numeric_limits<double>::infinity());
  const auto same = welch_t_test(low, also_low);
  EXPECT_EQ(same.t, 0.0);
  EXPECT_EQ(same.p, 1.0);
  EXPECT_TRUE(std::isnan(same.df));
}

TEST(StatisticsWelch, ANonFiniteValueGivesNaN) {
  const std::vector<double> a = {0.1, kNaN, 0.3}, b = {0.2, 0.4, 0.5};
  EXPECT_TRUE(std::isnan(welch_t_test(a, b).p));
  const std::vector<double> infinite = {0.1, std::numeric_limits<double>::infinity()};
  EXPECT_TRUE(std::isnan(welch_t_test(infinite, b).p));
}

// ---------------------------------------------------------------------------------------------
// Permutation test

TEST(StatisticsPermutation, IsDeterministicForASeed) {
  const auto a = normal_sample(30, 0.55, 0.1, 11), b = normal_sample(30, 0.5, 0.1, 12);
  const double p = permutation_test(a, b, 2000, 7);
  EXPECT_EQ(permutation_test(a, b, 2000, 7), p);
  EXPECT_GT(p, 0.0);
  EXPECT_LE(p, 1.0);
  // Pinned: std::mt19937_64 is specified to the bit and the bounded draw is the test's own, so
  // any standard library and machine must count the same relabellings.
  const std::vector<double> fixed_a = {0.61, 0.55, 0.72, 0.58, 0.66, 0.49, 0.63}, fixed_b = {0.52, 0.47, 0.58, 0.44, 0.6, 0.5};
  EXPECT_EQ(permutation_test(fixed_a, fixed_b, 999, 42), 50.0 / 1000.0) << "49 of 999 relabellings as extreme";
}

TEST(StatisticsPermutation, SeparatedSamplesReachTheSmallestP) {
  // 12 of 27 values: of the 17,383,860 relabellings only the observed one is as extreme (the
  // sizes differ, so swapping the samples is not a relabelling).
  std::vector<double> a, b;
  for (int i = 0; i < 12; ++i) a.push_back(100 + i);
  for (int i = 0; i < 15; ++i) b.push_back(i);
  EXPECT_EQ(permutation_test(a, b, 2000, 0), 1.0 / 2001.0);
  EXPECT_EQ(permutation_test(b, a, 2000, 0), 1.0 / 2001.0) << "two-sided";
}

TEST(StatisticsPermutation, IdenticalSamplesGiveOne) {
  const std::vector<double> a = {0.1, 0.2, 0.3, 0.4}, constant(6, 0.3);
  EXPECT_EQ(permutation_test(a, a, 500, 3), 1.0);
  EXPECT_EQ(permutation_test(constant, constant, 500, 3), 1.0);
  // Same values in another order: the sums are rounded differently, the means are still equal.
  const std::vector<double> reversed = {0.4, 0.3, 0.2, 0.1};
  EXPECT_EQ(permutation_test(a, reversed, 500, 3), 1.0);
}

TEST(StatisticsPermutation, NoPermutationsOrAnEmptySample) {
  const std::vector<double> a = {0.1, 0.2}, b = {0.3, 0.9};
  EXPECT_EQ(permutation_test(a, b, 0, 1), 1.0);
  EXPECT_TRUE(std::isnan(permutation_test(a, {}, 100, 1)));
  EXPECT_TRUE(std::isnan(permutation_test({}, b, 100, 1)));
}

// With few enough values every relabelling can be counted: the test's p must converge to the
// exact share of relabellings at least as extreme. Values are tenths, counted exactly as integers,
// so relabellings whose sums tie only up to rounding (the mirror image of a and b, here) must
// count too.
TEST(StatisticsPermutation, ConvergesToTheExactCount) {
  const std::vector<int> tenths_a = {1, 2, 3, 7, 4}, tenths_b = {4, 5, 6, 9, 2};
  std::vector<int> pooled(tenths_a);
  pooled.insert(pooled.end(), tenths_b.begin(), tenths_b.end());
  const int total = std::accumulate(pooled.begin(), pooled.end(), 0);
  const int a_size = static_cast<int>(tenths_a.size()), b_size = static_cast<int>(tenths_b.size());
  // |mean(a) - mean(b)| in units of a tenth/(a_size·b_size): |a_sum·b_size - (total - a_sum)·a_size|.
  const auto scaled_difference = [&](int a_sum) { return std::abs(a_sum * b_size - (total - a_sum) * a_size); };
  const int observed = scaled_difference(std::accumulate(tenths_a.begin(), tenths_a.end(), 0));
  int as_large = 0, relabellings = 0;
  for (unsigned mask = 0; mask < (1u << pooled.size()); ++mask) {
    if (std::popcount(mask) != a_size) continue;
    int a_sum = 0;
    for (std::size_t i = 0; i < pooled.size(); ++i)
      if (mask & (1u << i)) a_sum += pooled[i];
    ++relabellings;
    if (scaled_difference(a_sum) >= observed) ++as_large;
  }
  ASSERT_EQ(relabellings, 252);
  const double exact = static_cast<double>(as_large) / relabellings;

  std::vector<double> a, b;
  for (int t : tenths_a) a.push_back(t / 10.0);
  for (int t : tenths_b) b.push_back(t / 10.0);
  const std::uint64_t permutations = 100000;
  const double p = permutation_test(a, b, permutations, 5);
  // Four standard errors of a share estimated from `permutations` draws.
  EXPECT_NEAR(p, exact, 4 * std::sqrt(exact * (1 - exact) / permutations)) << as_large << " of 252 relabellings";
}

// ---------------------------------------------------------------------------------------------
// Benjamini–Hochberg

void expect_q(const std::vector<double>& q, const std::vector<double>& expected) {
  ASSERT_EQ(q.size(), expected.size());
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(q[i])) << "q[" << i << "] = " << q[i];
    } else {
      EXPECT_NEAR(q[i], expected[i], 1e-15) << "q[" << i << "]";
    }
  }
}

TEST(StatisticsBenjaminiHochberg, WorkedByHand) {
  // m = 4. Ranked: 0.01·4/1 = 0.04, 0.03·4/2 = 0.06, 0.04·4/3 = 0.0533..., 0.2·4/4 = 0.2; each q
  // is the smallest of these at its rank or above: 0.04, 0.0533..., 0.0533..., 0.2.
  expect_q(benjamini_hochberg(std::vector<double>{0.01, 0.04, 0.03, 0.2}), {0.04, 0.16 / 3, 0.16 / 3, 0.2});
  // Step-up: 0.045·3/3 pulls the smaller p-values' q-values down to it.
  expect_q(benjamini_hochberg(std::vector<double>{0.04, 0.045, 0.041}), {0.045, 0.045, 0.045});
  expect_q(benjamini_hochberg(std::vector<double>{0.02, 0.02, 0.02}), {0.02, 0.02, 0.02});
  expect_q(benjamini_hochberg(std::vector<double>{0.3}), {0.3});
  EXPECT_TRUE(benjamini_hochberg(std::vector<double>{}).empty());
}

TEST(StatisticsBenjaminiHochberg, NaNStaysNaNAndDoesNotCount) {
  // m = 2, not 4: 0.01·2/1 = 0.02, 0.02·2/2 = 0.02.
  expect_q(benjamini_hochberg(std::vector<double>{kNaN, 0.01, kNaN, 0.02}), {kNaN, 0.02, kNaN, 0.02});
  expect_q(benjamini_hochberg(std::vector<double>{kNaN}), {kNaN});
}

TEST(StatisticsBenjaminiHochberg, CapsAtOne) { expect_q(benjamini_hochberg(std::vector<double>{1.2, 0.9}), {1.0, 1.0}); }

// Against the definition, computed the slow way: q_i = min over p_j >= p_i of min(1, p_j·m/rank_j),
// rank_j counting the p-values at or below p_j.
TEST(StatisticsBenjaminiHochberg, MatchesTheDefinitionAndIsMonotone) {
  std::mt19937_64 generator(17);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<double> p;
  for (int i = 0; i < 60; ++i) p.push_back(i % 7 == 0 ? uniform(generator) * 0.001 : uniform(generator));
  p.push_back(p[3]);  // a tie
  const std::vector<double> q = benjamini_hochberg(p);
  const double m = static_cast<double>(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    double expected = 1;
    for (double pj : p) {
      if (pj < p[i]) continue;
      double rank = 0;
      for (double pk : p) rank += pk <= pj ? 1 : 0;
      expected = std::min(expected, pj * m / rank);
    }
    EXPECT_NEAR(q[i], expected, 1e-15) << "p = " << p[i];
    EXPECT_GE(q[i], p[i]);
    for (std::size_t j = 0; j < p.size(); ++j) {
      if (p[j] <= p[i]) {
        EXPECT_LE(q[j], q[i]);
      }
    }
  }
}

}  // namespace
}  // namespace conceptree
