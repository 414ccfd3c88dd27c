// Hierarchy extraction on hand-built similarities: Heymann & Garcia-Molina's greedy tree (visit
// order, parent choice, --max-children, --min-sim, --parents), the paper's baselines, and the
// depth / top-level / parent-count bookkeeping.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "conceptree/context.hpp"
#include "conceptree/error.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/similarity.hpp"

namespace conceptree {
namespace {

// parent, child, weight: comparable and printable, unlike HierarchyLink.
using Link = std::tuple<std::uint32_t, std::uint32_t, float>;
using Matrix = std::vector<std::vector<float>>;  // row p, column n

SimilarityMatrix similarity_of(const Matrix& rows) {
  SimilarityMatrix s;
  s.measure = "activation";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    s.names.push_back(fmt::format("c{}", i));
    s.types.push_back("concept");
    s.values.insert(s.values.end(), rows[i].begin(), rows[i].end());
  }
  s.support.assign(rows.size(), 0);
  return s;
}

// n x n, `off_diagonal` everywhere but the diagonal, which is 1 (a concept's own members are the
// most like it, and no method may link a concept to itself).
Matrix uniform_matrix(std::size_t n, float off_diagonal) {
  Matrix rows(n, std::vector<float>(n, off_diagonal));
  for (std::size_t i = 0; i < n; ++i) rows[i][i] = 1.0f;
  return rows;
}

std::vector<Link> as_links(const std::vector<HierarchyLink>& links) {
  std::vector<Link> out;
  for (const auto& link : links) out.emplace_back(link.parent, link.child, link.weight);
  return out;
}

std::vector<Link> sorted(std::vector<Link> links) {
  std::sort(links.begin(), links.end());
  return links;
}

HierarchyOptions heymann_options(double min_similarity = 0.2, std::uint64_t max_children = 20, std::uint64_t parents = 1,
                                 double additional_threshold = 0.2) {
  HierarchyOptions options;
  options.method = HierarchyMethod::Heymann;
  options.min_similarity = min_similarity;
  options.max_children = max_children;
  options.parents = parents;
  options.additional_threshold = additional_threshold;
  return options;
}

std::vector<Link> heymann(const Matrix& rows, const std::vector<double>& centrality, const HierarchyOptions& options) {
  return as_links(extract_links(similarity_of(rows), centrality, options));
}

Hierarchy hierarchy_of(std::size_t n, const std::vector<Link>& links) {
  Hierarchy h;
  h.nodes.resize(n);
  for (std::size_t i = 0; i < n; ++i) h.nodes[i].id = fmt::format("c{}", i);
  for (const auto& [parent, child, weight] : links) h.links.push_back({parent, child, weight});
  assign_depths(h);
  return h;
}

// Centralities that visit 0, 1, 2, ... in index order.
std::vector<double> descending_centrality(std::size_t n) {
  std::vector<double> centrality(n);
  for (std::size_t i = 0; i < n; ++i) centrality[i] = static_cast<double>(n - i);
  return centrality;
}

// ---------------------------------------------------------------------------------------------
// Heymann

TEST(HierarchyHeymann, VisitsByDecreasingCentralityTiesByLowerIndex) {
  // Every similarity equal and one child per parent: each concept can only go under the one
  // visited just before it, so the chain spells out the visiting order 3, 1, 2, 0, 4.
  const Matrix rows = uniform_matrix(5, 0.5f);
  const std::vector<double> centrality = {0.1, 0.5, 0.5, 0.9, 0.0};
  const auto chain = heymann(rows, centrality, heymann_options(0.2, 1));
  EXPECT_EQ(chain, (std::vector<Link>{{3, 1, 0.5f}, {1, 2, 0.5f}, {2, 0, 0.5f}, {0, 4, 0.5f}}));
  const Hierarchy h = hierarchy_of(5, chain);
  EXPECT_EQ(h.top_level(), std::vector<std::uint32_t>{3}) << "the most central concept is the top level";
  EXPECT_EQ(h.nodes[4].depth, 4);
}

TEST(HierarchyGenerality, IsTheColumnMeanOverTheOtherConcepts) {
  const Matrix rows = {
      {1.0f, 0.9f, 0.25f},
      {0.5f, 1.0f, 0.5f},
      {0.3f, 0.7f, 1.0f},
  };
  const std::vector<double> scores = generality(similarity_of(rows));
  ASSERT_EQ(scores.size(), 3u);
  EXPECT_NEAR(scores[0], (0.5 + 0.3) / 2, 1e-7);
  EXPECT_NEAR(scores[1], (0.9 + 0.7) / 2, 1e-7);
  EXPECT_NEAR(scores[2], (0.25 + 0.5) / 2, 1e-7);
  EXPECT_EQ(generality(similarity_of({{1.0f}})), std::vector<double>{0.0}) << "a lone concept";
}

TEST(HierarchyGenerality, VisitingGeneralConceptsFirstPutsAFamilyAboveItsInstruments) {
  // 0 and 2 are instruments whose members look like the family 1; the family's members look
  // half like each instrument. Visited in index order, the family lands under instrument 0.
  const Matrix rows = {
      {1.0f, 0.9f, 0.25f},
      {0.5f, 1.0f, 0.5f},
      {0.3f, 0.9f, 1.0f},
  };
  EXPECT_EQ(heymann(rows, descending_centrality(3), heymann_options()), (std::vector<Link>{{0, 1, 0.9f}, {1, 2, 0.5f}}));
  EXPECT_EQ(heymann(rows, generality(similarity_of(rows)), heymann_options()), (std::vector<Link>{{1, 0, 0.5f}, {1, 2, 0.5f}}));
}

TEST(HierarchyHeymann, EqualSimilaritiesGoToTheLowestIndexedPlacedConceptNotTheFirstPlaced) {
  // Visiting order 3, 1, 2, 0, 4 again; with room everywhere, ties pick the lowest index among
  // the concepts already placed: 0 goes under 1 although 3 was placed first.
  const auto links = heymann(uniform_matrix(5, 0.5f), {0.1, 0.5, 0.5, 0.9, 0.0}, heymann_options());
  EXPECT_EQ(links, (std::vector<Link>{{3, 1, 0.5f}, {1, 2, 0.5f}, {1, 0, 0.5f}, {0, 4, 0.5f}}));
}

TEST(HierarchyHeymann, ParentIsThePlacedConceptMostSimilarByRowParentColumnChild) {
  // Visits 0..4. The transposed entries (row n, column p) and the not-yet-placed concept 4 hold
  // the largest values, as decoys: only S[p][n] for placed p may decide.
  const Matrix rows = {
      {1.0f, 0.6f, 0.3f, 0.4f, 0.1f},
      {0.1f, 1.0f, 0.7f, 0.4f, 0.1f},
      {0.95f, 0.1f, 1.0f, 0.4f, 0.1f},
      {0.1f, 0.1f, 0.99f, 1.0f, 0.8f},
      {0.1f, 0.1f, 0.1f, 0.99f, 1.0f},
  };
  const auto links = heymann(rows, descending_centrality(5), heymann_options());
  // 1 under 0 (the only placed); 2 under 1 (0.7 > 0.3); 3: a three-way tie at 0.4 -> 0; 4 under 3.
  EXPECT_EQ(links, (std::vector<Link>{{0, 1, 0.6f}, {1, 2, 0.7f}, {0, 3, 0.4f}, {3, 4, 0.8f}}));
}

TEST(HierarchyHeymann, AFullParentTakesNoMoreChildrenAndTheNextBestIsUsed) {
  Matrix rows = uniform_matrix(6, 0.1f);
  for (std::size_t n = 1; n < 6; ++n) rows[0][n] = 0.9f;  // everyone's favourite parent
  rows[1][3] = 0.5f;
  rows[2][3] = 0.6f;
  rows[1][4] = 0.7f;
  rows[2][4] = 0.3f;
  const auto links = heymann(rows, descending_centrality(6), heymann_options(0.2, 2));
  // 0 fills up with 1 and 2; 3 then goes to its best open parent 2, 4 to 1; 5 has no open
  // parent above --min-sim and becomes top level.
  EXPECT_EQ(links, (std::vector<Link>{{0, 1, 0.9f}, {0, 2, 0.9f}, {2, 3, 0.6f}, {1, 4, 0.7f}}));
  EXPECT_EQ(hierarchy_of(6, links).top_level(), (std::vector<std::uint32_t>{0, 5}));

  // With room for everyone, all hang under 0.
  const auto roomy = heymann(rows, descending_centrality(6), heymann_options(0.2, 5));
  for (const auto& [parent, child, weight] : roomy) EXPECT_EQ(parent, 0u) << child;
  EXPECT_EQ(roomy.size(), 5u);
}

TEST(HierarchyHeymann, ASimilarityMustBeStrictlyAboveMinSim) {
  // 0.25 is exact in float and double, so "equal" really is equal.
  const float just_above = std::nextafter(0.25f, 1.0f);
  const Matrix rows = {
      {1.0f, 0.25f, just_above, 0.25f},
      {0.1f, 1.0f, 0.1f, 0.25f},
      {0.1f, 0.1f, 1.0f, 0.2f},
      {0.9f, 0.9f, 0.9f, 1.0f},
  };
  const auto links = heymann(rows, descending_centrality(4), heymann_options(0.25));
  EXPECT_EQ(links, (std::vector<Link>{{0, 2, just_above}}));
  EXPECT_EQ(hierarchy_of(4, links).top_level(), (std::vector<std::uint32_t>{0, 1, 3}));

  // A negative --min-sim admits even zero similarity: one tree under the lowest-indexed concept.
  const auto zeros = heymann(uniform_matrix(4, 0.0f), descending_centrality(4), heymann_options(-1));
  EXPECT_EQ(zeros, (std::vector<Link>{{0, 1, 0.0f}, {0, 2, 0.0f}, {0, 3, 0.0f}}));
}

TEST(HierarchyHeymann, ExtraParentsComeFromWithinTheAdditionalThresholdInSimilarityOrder) {
  // 0..3 are placed first, all top level (their mutual 0.1 is below --min-sim); then 4.
  Matrix rows = uniform_matrix(5, 0.1f);
  rows[0][4] = 0.9f;
  rows[1][4] = 0.8f;
  rows[2][4] = 0.6f;
  rows[3][4] = 0.85f;
  const auto centrality = descending_centrality(5);

  // Within 0.2 of 0.9: 3 (0.85) and 1 (0.8), not 2 (0.6); the best parent first, then by similarity.
  const auto three = heymann(rows, centrality, heymann_options(0.2, 20, 3, 0.2));
  EXPECT_EQ(three, (std::vector<Link>{{0, 4, 0.9f}, {3, 4, 0.85f}, {1, 4, 0.8f}}));
  EXPECT_EQ(hierarchy_of(5, three).max_parents(), 3u);

  // At most --parents in all, the most similar kept.
  const auto two = heymann(rows, centrality, heymann_options(0.2, 20, 2, 0.2));
  EXPECT_EQ(two, (std::vector<Link>{{0, 4, 0.9f}, {3, 4, 0.85f}}));
  EXPECT_EQ(hierarchy_of(5, two).max_parents(), 2u);

  // A narrower margin leaves out 0.8; --min-sim also applies to extra parents.
  EXPECT_EQ(heymann(rows, centrality, heymann_options(0.2, 20, 3, 0.08)), (std::vector<Link>{{0, 4, 0.9f}, {3, 4, 0.85f}}));
  EXPECT_EQ(heymann(rows, centrality, heymann_options(0.82, 20, 3, 0.2)), (std::vector<Link>{{0, 4, 0.9f}, {3, 4, 0.85f}}));

  // --parents 1 is a tree.
  EXPECT_EQ(heymann(rows, centrality, heymann_options(0.2, 20, 1, 0.2)), (std::vector<Link>{{0, 4, 0.9f}}));
}

// The algorithm as the options describe it, written for clarity rather than speed.
std::vector<Link> reference_heymann(const Matrix& s, const std::vector<double>& centrality, const HierarchyOptions& options) {
  const std::size_t n = s.size();
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return centrality[a] != centrality[b] ? centrality[a] > centrality[b] : a < b;
  });
  std::vector<std::uint32_t> placed;
  std::vector<std::uint64_t> children(n, 0);
  std::vector<Link> links;
  for (std::uint32_t node : order) {
    std::vector<std::uint32_t> open;
    for (std::uint32_t p : placed) {
      if (children[p] < options.max_children && static_cast<double>(s[p][node]) > options.min_similarity) open.push_back(p);
    }
    std::sort(open.begin(), open.end(), [&](std::uint32_t a, std::uint32_t b) {
      return s[a][node] != s[b][node] ? s[a][node] > s[b][node] : a < b;
    });
    std::size_t taken = 0;
    for (std::uint32_t p : open) {
      if (taken == options.parents) break;
      if (taken > 0 && static_cast<double>(s[p][node]) < static_cast<double>(s[open[0]][node]) - options.additional_threshold) break;
      links.emplace_back(p, node, s[p][node]);
      ++children[p];
      ++taken;
    }
    placed.push_back(node);
  }
  return links;
}

// Kahn's algorithm: true when the links hold no directed cycle.
bool acyclic(std::size_t n, const std::vector<Link>& links) {
  std::vector<std::size_t> indegree(n, 0);
  std::vector<std::vector<std::uint32_t>> children(n);
  for (const auto& [parent, child, weight] : links) {
    children[parent].push_back(child);
    ++indegree[child];
  }
  std::vector<std::uint32_t> ready;
  for (std::uint32_t v = 0; v < n; ++v) {
    if (indegree[v] == 0) ready.push_back(v);
  }
  std::size_t removed = 0;
  while (!ready.empty()) {
    const std::uint32_t v = ready.back();
    ready.pop_back();
    ++removed;
    for (std::uint32_t child : children[v]) {
      if (--indegree[child] == 0) ready.push_back(child);
    }
  }
  return removed == n;
}

TEST(HierarchyHeymann, RandomSimilaritiesMatchTheDescribedAlgorithmAndStayAcyclic) {
  // Values and centralities on coarse grids, so ties in both are common; the additional
  // thresholds are grid multiples too, so boundary cases (exactly within the margin) occur.
  std::mt19937_64 rng(2024);
  std::uniform_int_distribution<int> eighths(0, 8);
  std::uniform_int_distribution<int> levels(0, 5);
  const std::size_t n = 40;
  // How often the cases worth covering came up: several parents, and an extra parent exactly at
  // the margin below the best.
  std::size_t several_parents = 0;
  std::size_t extra_parent_on_the_margin = 0;
  for (int trial = 0; trial < 6; ++trial) {
    Matrix rows(n, std::vector<float>(n));
    for (auto& row : rows) {
      for (float& value : row) value = static_cast<float>(eighths(rng)) / 8.0f;
    }
    std::vector<double> centrality(n);
    for (double& value : centrality) value = levels(rng) / 5.0;
    for (const std::uint64_t max_children : {1u, 2u, 20u}) {
      for (const std::uint64_t parents : {1u, 2u, 4u}) {
        for (const double additional : {0.0, 0.125, 0.375}) {
          for (const double min_similarity : {0.2, 0.5}) {
            const auto options = heymann_options(min_similarity, max_children, parents, additional);
            const std::string label = fmt::format("trial {} max_children {} parents {} additional {} min_sim {}", trial, max_children,
                                                  parents, additional, min_similarity);
            const auto links = heymann(rows, centrality, options);
            ASSERT_EQ(links, reference_heymann(rows, centrality, options)) << label;
            EXPECT_TRUE(acyclic(n, links)) << label;
            const Hierarchy h = hierarchy_of(n, links);
            EXPECT_LE(h.max_parents(), parents) << label;
            std::map<std::uint32_t, std::uint64_t> children;
            std::set<std::pair<std::uint32_t, std::uint32_t>> pairs;
            for (const auto& [parent, child, weight] : links) {
              EXPECT_LE(++children[parent], max_children) << label;
              EXPECT_TRUE(pairs.emplace(parent, child).second) << label << ": repeated link " << parent << " -> " << child;
              EXPECT_EQ(weight, rows[parent][child]) << label;
              EXPECT_GT(weight, min_similarity) << label;
            }
            for (const auto& node : h.nodes) EXPECT_GE(node.depth, 0) << label;
            several_parents += h.max_parents() > 1;
            // A child's links are adjacent, its best parent first.
            for (std::size_t i = 0, best = 0; i < links.size(); ++i) {
              if (i == 0 || std::get<1>(links[i]) != std::get<1>(links[i - 1])) {
                best = i;
              } else if (additional > 0) {
                const double margin = static_cast<double>(std::get<2>(links[best])) - additional;
                extra_parent_on_the_margin += static_cast<double>(std::get<2>(links[i])) == margin;
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(several_parents, 0u);
  EXPECT_GT(extra_parent_on_the_margin, 0u);
}

// ---------------------------------------------------------------------------------------------
// Baselines

HierarchyOptions baseline(const std::string& method) {
  HierarchyOptions options;
  options.method = parse_choice<HierarchyMethod>(method).value();
  return options;
}

TEST(HierarchyBaselines, Top1HangsEachConceptUnderItsMostSimilarOtherConcept) {
  // The diagonal is the largest value and must be skipped; ties go to the lower index.
  const Matrix rows = {
      {1.0f, 0.3f, 0.6f, 0.2f},
      {0.5f, 1.0f, 0.6f, 0.9f},
      {0.5f, 0.2f, 1.0f, 0.1f},
      {0.4f, 0.8f, 0.1f, 1.0f},
  };
  const auto links = as_links(extract_links(similarity_of(rows), {0, 0, 0, 0}, baseline("top1")));
  EXPECT_EQ(sorted(links), sorted({{1, 0, 0.5f}, {3, 1, 0.8f}, {0, 2, 0.6f}, {1, 3, 0.9f}}));
  EXPECT_TRUE(extract_links(similarity_of({{1.0f}}), {0}, baseline("top1")).empty());
}

TEST(HierarchyBaselines, ThresholdAndMatchingLinkEachPairAboveOnceFromTheLargerSide) {
  const Matrix rows = {
      {1.0f, 0.3f, 0.6f, 0.2f},
      {0.5f, 1.0f, 0.6f, 0.9f},
      {0.5f, 0.2f, 1.0f, 0.7f},
      {0.4f, 0.8f, 0.7f, 1.0f},
  };
  HierarchyOptions threshold = baseline("threshold");
  threshold.threshold = 0.5;
  threshold.matching_threshold = 0.95;  // must not matter here
  // 0-1 sits exactly on 0.5 and is left out; 2-3 is a tie, so the lower index is the parent.
  EXPECT_EQ(sorted(as_links(extract_links(similarity_of(rows), {0, 0, 0, 0}, threshold))),
            sorted({{0, 2, 0.6f}, {1, 2, 0.6f}, {1, 3, 0.9f}, {2, 3, 0.7f}}));

  HierarchyOptions matching = baseline("matching");
  matching.threshold = 0.0;  // must not matter here
  matching.matching_threshold = 0.65;
  EXPECT_EQ(sorted(as_links(extract_links(similarity_of(rows), {0, 0, 0, 0}, matching))), sorted({{1, 3, 0.9f}, {2, 3, 0.7f}}));
}

Matrix random_matrix(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  Matrix rows(n, std::vector<float>(n));
  for (auto& row : rows) {
    for (float& value : row) value = unit(rng);
  }
  return rows;
}

TEST(HierarchyBaselines, RandomTopGivesEveryConceptOneOtherParentReproduciblyPerSeed) {
  const std::size_t n = 50;
  const Matrix rows = random_matrix(n, 3);
  const SimilarityMatrix s = similarity_of(rows);
  const std::vector<double> centrality(n, 0.0);
  HierarchyOptions options = baseline("random-top");
  options.seed = 7;
  const auto first = as_links(extract_links(s, centrality, options));
  EXPECT_EQ(as_links(extract_links(s, centrality, options)), first);
  options.seed = 8;
  EXPECT_NE(as_links(extract_links(s, centrality, options)), first);

  std::vector<int> parents_of(n, 0);
  std::set<std::uint32_t> distinct_parents;
  for (const auto& [parent, child, weight] : first) {
    ASSERT_LT(parent, n);
    ASSERT_LT(child, n);
    EXPECT_NE(parent, child);
    EXPECT_EQ(weight, rows[parent][child]);
    ++parents_of[child];
    distinct_parents.insert(parent);
  }
  for (std::size_t v = 0; v < n; ++v) EXPECT_EQ(parents_of[v], 1) << v;
  EXPECT_GT(distinct_parents.size(), 10u) << "parents should be spread over the concepts";
}

TEST(HierarchyBaselines, RandomSimLinksTheAskedShareOfPairsReproduciblyPerSeed) {
  const std::size_t n = 200;
  const Matrix rows = random_matrix(n, 4);
  const SimilarityMatrix s = similarity_of(rows);
  const std::vector<double> centrality(n, 0.0);
  HierarchyOptions options = baseline("random-sim");
  options.random_density = 0.1;
  options.seed = 1;
  const auto first = as_links(extract_links(s, centrality, options));
  EXPECT_EQ(as_links(extract_links(s, centrality, options)), first);
  options.seed = 2;
  EXPECT_NE(as_links(extract_links(s, centrality, options)), first);

  // 19900 pairs at 0.1: 1990 expected, standard deviation about 42.
  const double pairs = static_cast<double>(n * (n - 1) / 2);
  EXPECT_NEAR(static_cast<double>(first.size()), 0.1 * pairs, 0.1 * 0.1 * pairs);
  std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
  std::size_t lower_index_parent = 0;
  for (const auto& [parent, child, weight] : first) {
    EXPECT_NE(parent, child);
    EXPECT_TRUE(seen.emplace(std::min(parent, child), std::max(parent, child)).second) << parent << "-" << child << " twice";
    EXPECT_EQ(weight, rows[parent][child]);
    lower_index_parent += parent < child;
  }
  // Either end of a pair is the parent by a coin flip.
  EXPECT_NEAR(static_cast<double>(lower_index_parent) / static_cast<double>(first.size()), 0.5, 0.08);

  options.random_density = 0.0;
  EXPECT_TRUE(extract_links(s, centrality, options).empty());
  options.random_density = 1.0;
  EXPECT_EQ(extract_links(s, centrality, options).size(), n * (n - 1) / 2);
}

TEST(HierarchyBaselines, AnUnknownMethodIsRefusedByName) {
  EXPECT_FALSE(parse_choice<HierarchyMethod>("median"));
  EXPECT_THROW(parse_choice_option<HierarchyMethod>("median", "method"), FatalError);
  EXPECT_EQ(parse_choice<HierarchyMethod>("random-sim"), HierarchyMethod::RandomSim);
  EXPECT_EQ(choice_name(HierarchyMethod::RandomTop), "random-top");
}

// ---------------------------------------------------------------------------------------------
// Depths, top level, parent counts

TEST(HierarchyDepths, DepthIsTheDistanceFromTheNearestTopLevelConceptAndMinusOneOffIt) {
  // 0 -> 1 -> 2, 0 -> 3 -> 2, 2 -> 4 and 0 -> 4 (4 is nearer through 0); 5 <-> 6 is a cycle no top
  // level concept reaches; 7 stands alone; 0 -> 8 <-> 9 is a cycle hanging from the top level.
  const std::vector<Link> links = {{0, 1, 0}, {1, 2, 0}, {0, 3, 0}, {3, 2, 0}, {2, 4, 0}, {0, 4, 0},
                                   {5, 6, 0}, {6, 5, 0}, {0, 8, 0}, {8, 9, 0}, {9, 8, 0}};
  const Hierarchy h = hierarchy_of(10, links);
  std::vector<std::int64_t> depths;
  for (const auto& node : h.nodes) depths.push_back(node.depth);
  EXPECT_EQ(depths, (std::vector<std::int64_t>{0, 1, 2, 1, 1, -1, -1, 0, 1, 2}));
  EXPECT_EQ(h.top_level(), (std::vector<std::uint32_t>{0, 7}));
  EXPECT_EQ(h.max_parents(), 2u);

  const Hierarchy empty;
  EXPECT_EQ(empty.max_parents(), 0u);
  EXPECT_TRUE(empty.top_level().empty());
}

// ---------------------------------------------------------------------------------------------
// Calibration by base rates, and --paper

TEST(Calibration, LiftIsZeroAtTheBaseRateAndKeepsEachColumnsOrder) {
  SimilarityMatrix s = similarity_of({{1.0F, 0.6F, 0.1F}, {0.2F, 1.0F, 0.3F}, {0.2F, 0.2F, 1.0F}});
  s.base_rate = {0.2F, 0.2F, 0.1F};
  const SimilarityMatrix lift = calibrate(s, Calibration::Lift);
  EXPECT_FLOAT_EQ(lift.at(1, 0), 0.0F) << "members of 1 activate 0 at its base rate";
  EXPECT_FLOAT_EQ(lift.at(0, 1), 0.5F) << "lift 3 -> (3 - 1) / (3 + 1)";
  EXPECT_FLOAT_EQ(lift.at(0, 2), 0.0F);
  EXPECT_FLOAT_EQ(lift.at(1, 2), 0.5F);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(lift.at(i, i), 0.0F);
  EXPECT_EQ(calibrate(s, Calibration::None).values, s.values);
}

TEST(Calibration, DefaultsFollowTheFileAndPaperFixesTheMethod) {
  SimilarityMatrix with_rates = similarity_of({{1.0F, 0.5F}, {0.5F, 1.0F}});
  with_rates.base_rate = {0.3F, 0.3F};
  SimilarityMatrix cosine = similarity_of({{1.0F, 0.5F}, {0.5F, 1.0F}});
  cosine.measure = "cosine";

  const HierarchyOptions ours = resolve_options(HierarchyOptions{}, with_rates);
  EXPECT_EQ(ours.calibration, Calibration::None);
  EXPECT_EQ(ours.order, VisitOrder::Generality);
  EXPECT_EQ(ours.min_similarity, 0.0);

  HierarchyOptions paper;
  paper.paper = true;
  const HierarchyOptions resolved = resolve_options(paper, with_rates);
  EXPECT_EQ(resolved.calibration, Calibration::None);
  EXPECT_EQ(resolved.order, VisitOrder::Betweenness);
  EXPECT_EQ(resolved.min_similarity, 0.2);
  EXPECT_EQ(resolved.threshold, 0.5);

  paper.order = VisitOrder::Generality;
  EXPECT_THROW(resolve_options(paper, with_rates), FatalError) << "--paper with an explicit --order";
  paper.order.reset();
  paper.min_similarity = 0.5;
  EXPECT_THROW(resolve_options(paper, with_rates), FatalError) << "--paper with another --min-sim";
  paper.min_similarity = 0;
  paper.calibration = Calibration::Lift;
  EXPECT_THROW(resolve_options(paper, with_rates), FatalError) << "--paper with lift";
  HierarchyOptions lift;
  lift.calibration = Calibration::Lift;
  EXPECT_THROW(resolve_options(lift, cosine), FatalError) << "lift without base rates";
}

TEST(Calibration, AConceptFiringEverywhereIsNoLongerTheRoot) {
  // "everywhere" fires on every track (base rate 0.9); a and b are a family's two members, c a loner.
  // On raw S it is the most general concept and everybody's parent; calibrated, it is neither.
  SimilarityMatrix s = similarity_of({{1.0F, 0.9F, 0.9F, 0.9F},
                                      {0.9F, 1.0F, 0.6F, 0.05F},
                                      {0.9F, 0.6F, 1.0F, 0.05F},
                                      {0.9F, 0.05F, 0.05F, 1.0F}});
  s.names = {"everywhere", "a", "b", "c"};
  s.base_rate = {0.9F, 0.25F, 0.25F, 0.05F};
  HierarchyOptions options;
  options.min_similarity = 0.2;
  const Hierarchy raw = extract_hierarchy(s, options, 1);
  EXPECT_EQ(raw.top_level(), std::vector<std::uint32_t>{0});
  options.calibration = Calibration::Lift;
  const Hierarchy calibrated = extract_hierarchy(s, options, 1);
  for (const HierarchyLink& link : calibrated.links) EXPECT_NE(link.parent, 0u) << "'everywhere' parents nobody";
  ASSERT_EQ(calibrated.links.size(), 1u);
  const std::string& child = calibrated.nodes[calibrated.links[0].child].id;
  EXPECT_TRUE(child == "a" || child == "b") << child;
}

// Above --exact-centrality-limit concepts the centrality is sampled, says so, and records its
// bound; at or below it, it is exact and records none. The limit is lowered here so the graph can
// stay small, but it must still exceed the kSampledCentralitySources sources the switch draws at
// least (one per kConceptsPerSampledSource concepts would be fewer here).
TEST(HierarchyCentrality, SampledAboveTheExactLimitWithItsErrorBoundRecordedAndAnnounced) {
  const std::size_t n = kSampledCentralitySources + 200;
  static_assert((kSampledCentralitySources + 200) / kConceptsPerSampledSource < kSampledCentralitySources);
  std::mt19937_64 rng(12);
  std::uniform_real_distribution<float> below(0.0f, 0.45f);
  Matrix rows(n, std::vector<float>(n));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) rows[i][j] = i == j ? 1.0f : rng() % 200 == 0 ? 0.8f : below(rng);
  }
  const SimilarityMatrix s = similarity_of(rows);
  const auto param = [](const Hierarchy& h, const std::string& name) -> const HierarchyParam* {
    for (const auto& [key, value] : h.params) {
      if (key == name) return &value;
    }
    return nullptr;
  };
  HierarchyOptions options;
  options.order = VisitOrder::Betweenness;
  std::vector<std::string> messages;
  Context context;
  context.messages = [&](MessageLevel, std::string_view text) { messages.emplace_back(text); };

  const Hierarchy exact = extract_hierarchy(s, options, 2, nullptr, context);
  EXPECT_EQ(param(exact, "centrality_error_bound"), nullptr);
  EXPECT_EQ(param(exact, "centrality_sources"), nullptr);
  EXPECT_TRUE(messages.empty());

  options.exact_centrality_limit = n - 1;
  const Hierarchy sampled = extract_hierarchy(s, options, 2, nullptr, context);
  ASSERT_NE(param(sampled, "centrality_error_bound"), nullptr);
  EXPECT_GT(std::get<double>(*param(sampled, "centrality_error_bound")), 0.0);
  ASSERT_NE(param(sampled, "centrality_sources"), nullptr);
  EXPECT_EQ(std::get<double>(*param(sampled, "centrality_sources")), static_cast<double>(kSampledCentralitySources));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find(fmt::format("estimated from {} of {} concepts", kSampledCentralitySources, n)), std::string::npos) << messages[0];
  std::size_t differing = 0;
  for (std::size_t i = 0; i < n; ++i) differing += exact.nodes[i].centrality != sampled.nodes[i].centrality;
  EXPECT_GT(differing, 0u);
}

}  // namespace
}  // namespace conceptree
