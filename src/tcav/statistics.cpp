#include "tcav/statistics.hpp"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace conceptree::tcav_stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();
// How far below the observed difference a relabelled one may fall and still count as reaching it.
constexpr double kRelativeTolerance = 1e-9;

double mean(std::span<const double> values) { return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size()); }

// Two passes, deviations from the mean: the one-pass sum of squares loses the digits that
// scipy's variance keeps when the values sit far from 0.
double sample_variance(std::span<const double> values, double centre) {
  double squares = 0;
  for (double value : values) squares += (value - centre) * (value - centre);
  return squares / static_cast<double>(values.size() - 1);
}

// Uniform in [0, bound), bound >= 1. Taking the draw modulo `bound` alone would favour the
// smallest residues; draws below 2^64 mod bound are rejected so that every residue has the same
// number of draws mapping to it. The standard's distributions would do the same, but how is
// left to each library, and the p-value must not depend on the library.
std::uint64_t bounded_draw(std::mt19937_64& generator, std::uint64_t bound) {
  const std::uint64_t rejected_below = (std::uint64_t{0} - bound) % bound;
  for (;;) {
    const std::uint64_t draw = generator();
    if (draw >= rejected_below) return draw % bound;
  }
}

}  // namespace

WelchTest welch_t_test(std::span<const double> a, std::span<const double> b) {
  if (a.size() < 2 || b.size() < 2) return {kNaN, kNaN, kNaN};
  const double mean_a = mean(a), mean_b = mean(b);
  const double spread_a = sample_variance(a, mean_a) / static_cast<double>(a.size());
  const double spread_b = sample_variance(b, mean_b) / static_cast<double>(b.size());
  const double difference = mean_a - mean_b;
  const double spread = spread_a + spread_b;
  if (spread == 0) {
    if (difference == 0) return {0, kNaN, 1};
    return {std::copysign(kInfinity, difference), kNaN, 0};
  }
  // Welch–Satterthwaite degrees of freedom.
  const double df = spread * spread /
                    (spread_a * spread_a / static_cast<double>(a.size() - 1) + spread_b * spread_b / static_cast<double>(b.size() - 1));
  const double t = difference / std::sqrt(spread);
  if (!std::isfinite(t) || !std::isfinite(df)) return {t, df, kNaN};
  const boost::math::students_t distribution(df);
  return {t, df, 2 * boost::math::cdf(boost::math::complement(distribution, std::fabs(t)))};
}

double permutation_test(std::span<const double> a, std::span<const double> b, std::uint64_t permutations, std::uint64_t seed) {
  if (a.empty() || b.empty()) return kNaN;
  std::vector<double> pooled(a.begin(), a.end());
  pooled.insert(pooled.end(), b.begin(), b.end());
  const std::size_t a_size = a.size();
  const double a_count = static_cast<double>(a_size), b_count = static_cast<double>(b.size());
  const double total = std::accumulate(pooled.begin(), pooled.end(), 0.0);
  // Observed and relabelled differences are computed alike, from a's sum and the total.
  const auto difference = [&](double a_sum) { return a_sum / a_count - (total - a_sum) / b_count; };
  const double observed = std::fabs(difference(std::accumulate(a.begin(), a.end(), 0.0)));
  double largest = 0;
  for (double value : pooled) largest = std::max(largest, std::fabs(value));
  const double reached = observed - kRelativeTolerance * largest;
  if (!std::isfinite(reached)) return kNaN;

  std::mt19937_64 generator(seed);
  std::uint64_t as_large = 0;
  for (std::uint64_t permutation = 0; permutation < permutations; ++permutation) {
    // Fisher–Yates, stopped once a's positions are drawn: they are then a uniformly random subset
    // of the pooled values, whatever order the previous relabelling left them in.
    double a_sum = 0;
    for (std::size_t i = 0; i < a_size; ++i) {
      const std::size_t pick = i + bounded_draw(generator, pooled.size() - i);
      std::swap(pooled[i], pooled[pick]);
      a_sum += pooled[i];
    }
    if (std::fabs(difference(a_sum)) >= reached) ++as_large;
  }
  return static_cast<double>(1 + as_large) / static_cast<double>(1 + permutations);
}

std::vector<double> benjamini_hochberg(std::span<const double> p) {
  std::vector<std::size_t> tested;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (!std::isnan(p[i])) tested.push_back(i);
  std::stable_sort(tested.begin(), tested.end(), [&](std::size_t x, std::size_t y) { return p[x] < p[y]; });
  std::vector<double> q(p.size(), kNaN);
  const double m = static_cast<double>(tested.size());
  // From the largest p down, each q is the running minimum of p·m/rank, which starts at the cap.
  double running = 1;
  for (std::size_t rank = tested.size(); rank >= 1; --rank) {
    const std::size_t i = tested[rank - 1];
    running = std::min(running, p[i] * m / static_cast<double>(rank));
    q[i] = running;
  }
  return q;
}

}  // namespace conceptree::tcav_stats
