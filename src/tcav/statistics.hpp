#pragma once
// The significance tests behind `conceptree tcav`: does a concept's TCAV score over repeated runs
// differ from its null, the scores of random track sets of the same size? A parametric test
// (Welch's t), a distribution-free one (permutation of the run labels), and Benjamini–Hochberg
// q-values to control the false discovery rate over all the concepts tested at once.
//
// Inputs are finite values; a NaN or infinity among them makes the result NaN.

#include <cstdint>
#include <span>
#include <vector>

namespace conceptree::tcav_stats {

struct WelchTest {
  double t = 0;
  double df = 0;
  double p = 1;
};

// Two-sided Welch t-test of mean(a) != mean(b) without assuming equal variances: the values of
// scipy.stats.ttest_ind(a, b, equal_var=False).
//  - A sample of fewer than 2 values has no sample variance (it divides by n - 1), so nothing can
//    be said about its spread: t, df and p are NaN.
//  - Both samples constant: the difference of means is exact, not estimated. t = ±inf and p = 0
//    when the means differ; t = 0 and p = 1 when they are equal. df (0/0) is NaN either way.
//    (scipy reports df = 1 and p = 0 or NaN here.)
WelchTest welch_t_test(std::span<const double> a, std::span<const double> b);

// Two-sided permutation test of the difference of means: the pooled values are relabelled
// `permutations` times, each a uniformly random choice of which values are a's, and
//   p = (1 + #{relabellings with |mean(a*) - mean(b*)| >= |mean(a) - mean(b)|}) / (1 + permutations),
// never 0, and 1 when permutations = 0. The relabellings come from std::mt19937_64 seeded with
// `seed` and an unbiased bounded draw of this file's own, so the same inputs and seed give the
// same p with any standard library. A relabelled difference counts as at least as large when it
// falls short by no more than 1e-9 times the largest |value|: a relabelling that only reorders
// equal sums must count, whatever the rounding of the sums. An empty sample gives NaN.
double permutation_test(std::span<const double> a, std::span<const double> b, std::uint64_t permutations, std::uint64_t seed);

// Benjamini–Hochberg q-values (step-up: each is the smallest p·m/rank over the p-values ranked at
// or above it, so they are monotone in p; at most 1), in the order of `p`. A NaN p-value is a test
// that was not made: its q-value is NaN and it does not count in m.
std::vector<double> benjamini_hochberg(std::span<const double> p);

}  // namespace conceptree::tcav_stats
