// The concept graph: thresholding a similarity, building from edge lists, and exact betweenness
// centrality checked against networkx, closed forms and a textbook Brandes.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "conceptree/error.hpp"
#include "conceptree/graph.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using conceptree::testing::python_with_networkx;
using conceptree::testing::run_python_script;
using conceptree::testing::ScratchDir;
using Edge = std::pair<std::uint32_t, std::uint32_t>;

std::vector<double> betweenness(const ConceptGraph& graph, int jobs = 0) {
  BetweennessCentrality centrality(graph, jobs);
  centrality.run();
  return centrality.scores();
}

// Relative 1e-9 where the reference is non-zero; zeros must come out as (almost exactly) zero.
void expect_scores_match(const std::vector<double>& actual, const std::vector<double>& expected, const std::string& graph) {
  ASSERT_EQ(actual.size(), expected.size()) << graph;
  for (std::size_t v = 0; v < expected.size(); ++v) {
    const double tolerance = expected[v] == 0 ? 1e-12 : 1e-9 * std::fabs(expected[v]);
    EXPECT_NEAR(actual[v], expected[v], tolerance) << graph << ", node " << v;
  }
}

// Brandes (2001) as printed: one breadth-first search and one dependency pass per source, with
// predecessor lists; nothing shared with the library's push/pull search.
std::vector<double> textbook_brandes(std::size_t n, const std::vector<Edge>& edges) {
  std::vector<std::vector<std::uint32_t>> adjacency(n);
  for (const auto& [a, b] : edges) {
    if (a == b) continue;
    adjacency[a].push_back(b);
    adjacency[b].push_back(a);
  }
  for (auto& row : adjacency) {
    std::sort(row.begin(), row.end());
    row.erase(std::unique(row.begin(), row.end()), row.end());
  }
  std::vector<double> scores(n, 0.0);
  for (std::uint32_t source = 0; source < n; ++source) {
    std::vector<std::vector<std::uint32_t>> predecessors(n);
    std::vector<double> paths(n, 0.0);
    std::vector<std::int64_t> distance(n, -1);
    std::vector<std::uint32_t> visited;
    std::deque<std::uint32_t> queue{source};
    paths[source] = 1;
    distance[source] = 0;
    while (!queue.empty()) {
      const std::uint32_t v = queue.front();
      queue.pop_front();
      visited.push_back(v);
      for (std::uint32_t w : adjacency[v]) {
        if (distance[w] < 0) {
          distance[w] = distance[v] + 1;
          queue.push_back(w);
        }
        if (distance[w] == distance[v] + 1) {
          paths[w] += paths[v];
          predecessors[w].push_back(v);
        }
      }
    }
    std::vector<double> dependency(n, 0.0);
    for (auto it = visited.rbegin(); it != visited.rend(); ++it) {
      const std::uint32_t w = *it;
      for (std::uint32_t v : predecessors[w]) dependency[v] += paths[v] / paths[w] * (1 + dependency[w]);
      if (w != source) scores[w] += dependency[w];
    }
  }
  if (n > 2) {
    for (double& score : scores) score /= static_cast<double>(n - 1) * static_cast<double>(n - 2);
  }
  return scores;
}

// Each pair linked with probability `density`; the first `hubs` nodes link to nearly everyone, so
// searches meet both tiny and huge frontiers.
std::vector<Edge> random_edges(std::size_t n, double density, std::uint64_t seed, std::size_t hubs = 0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<Edge> edges;
  for (std::uint32_t a = 0; a < n; ++a) {
    for (std::uint32_t b = a + 1; b < n; ++b) {
      const double p = a < hubs ? 0.9 : density;
      if (unit(rng) < p) edges.emplace_back(a, b);
    }
  }
  return edges;
}

// ---------------------------------------------------------------------------------------------
// Betweenness against networkx

// Writes, for each graph, NAME.edges (node count, then one "a b" line per edge) and
// NAME.betweenness (networkx's normalised score of node 0, 1, ... one per line, exact repr).
constexpr const char* kNetworkxReference = R"(
import sys
import networkx as nx

folder = sys.argv[1]
graphs = {
    # 90 edges on 150 nodes: many isolated nodes and small components.
    "gnm_sparse": nx.gnm_random_graph(150, 90, seed=7),
    "gnp_dense": nx.gnp_random_graph(90, 0.3, seed=11),
    "star": nx.star_graph(24),
    "path": nx.path_graph(17),
    "two_cliques": nx.disjoint_union(nx.complete_graph(6), nx.complete_graph(9)),
    "barbell": nx.barbell_graph(7, 4),
    # Many equal-length shortest paths, so path counts above 1 matter.
    "grid": nx.grid_2d_graph(7, 9),
    # Hubs: frontiers much larger and much smaller than the unvisited rest.
    "preferential": nx.barabasi_albert_graph(260, 3, seed=5),
}
with open(folder + "/graphs.txt", "w") as index:
    for name, graph in graphs.items():
        graph = nx.convert_node_labels_to_integers(graph, ordering="sorted")
        index.write(name + "\n")
        with open(f"{folder}/{name}.edges", "w") as out:
            out.write(f"{graph.number_of_nodes()}\n")
            for a, b in graph.edges():
                out.write(f"{a} {b}\n")
        scores = nx.betweenness_centrality(graph)
        with open(f"{folder}/{name}.betweenness", "w") as out:
            for node in range(graph.number_of_nodes()):
                out.write(repr(scores[node]) + "\n")
)";

struct ReferenceGraph {
  std::string name;
  std::size_t nodes = 0;
  std::vector<Edge> edges;
  std::vector<double> betweenness;
};

ReferenceGraph read_reference_graph(const fs::path& folder, const std::string& name) {
  ReferenceGraph graph;
  graph.name = name;
  std::ifstream edges(folder / (name + ".edges"));
  edges >> graph.nodes;
  std::uint32_t a = 0, b = 0;
  while (edges >> a >> b) graph.edges.emplace_back(a, b);
  std::ifstream scores(folder / (name + ".betweenness"));
  std::string line;
  while (std::getline(scores, line)) graph.betweenness.push_back(std::stod(line));
  return graph;
}

TEST(GraphBetweenness, MatchesNetworkxOnAssortedGraphs) {
  const std::string python = python_with_networkx();
  if (python.empty()) GTEST_SKIP() << "no /usr/bin/python3 with networkx; ClosedForms covers the basics";
  ScratchDir dir;
  const auto generated = run_python_script(python, dir / "reference.py", kNetworkxReference, {dir.path().string()});
  ASSERT_EQ(generated.exit_code, 0) << generated.err;

  std::ifstream index(dir / "graphs.txt");
  std::string name;
  std::size_t compared = 0;
  while (std::getline(index, name)) {
    const ReferenceGraph reference = read_reference_graph(dir.path(), name);
    ASSERT_EQ(reference.betweenness.size(), reference.nodes) << name;
    const ConceptGraph graph = graph_from_edges(reference.nodes, reference.edges);
    EXPECT_EQ(graph.edge_count(), reference.edges.size()) << name;
    if (name == "gnm_sparse") {
      std::size_t isolated = 0;
      for (std::size_t v = 0; v < graph.node_count(); ++v) isolated += graph.degree(v) == 0;
      EXPECT_GT(isolated, 0u) << "the sparse graph is meant to hold isolated nodes";
    }
    expect_scores_match(betweenness(graph), reference.betweenness, name);
    expect_scores_match(betweenness(graph, 1), reference.betweenness, name + " (1 thread)");
    ++compared;
  }
  EXPECT_EQ(compared, 8u);
}

// ---------------------------------------------------------------------------------------------
// Betweenness without Python

TEST(GraphBetweenness, ClosedForms) {
  // A star's centre lies on every path between two leaves: 1 once normalised; leaves 0.
  const std::size_t leaves = 12;
  std::vector<Edge> star;
  for (std::uint32_t leaf = 1; leaf <= leaves; ++leaf) star.emplace_back(0, leaf);
  const auto star_scores = betweenness(graph_from_edges(leaves + 1, star));
  EXPECT_NEAR(star_scores[0], 1.0, 1e-12);
  for (std::size_t leaf = 1; leaf <= leaves; ++leaf) EXPECT_EQ(star_scores[leaf], 0.0) << leaf;

  // Path 0-1-...-(n-1): node i separates i nodes from n-1-i nodes, counted in both directions.
  const std::size_t n = 11;
  std::vector<Edge> path;
  for (std::uint32_t i = 0; i + 1 < n; ++i) path.emplace_back(i, i + 1);
  const auto path_scores = betweenness(graph_from_edges(n, path));
  for (std::size_t i = 0; i < n; ++i) {
    const double expected = 2.0 * static_cast<double>(i * (n - 1 - i)) / static_cast<double>((n - 1) * (n - 2));
    EXPECT_NEAR(path_scores[i], expected, 1e-12) << i;
  }

  // Complete graphs have no intermediate nodes; tiny graphs are not normalised and stay zero.
  const auto complete = betweenness(graph_from_edges(8, random_edges(8, 1.0, 0)));
  for (double score : complete) EXPECT_EQ(score, 0.0);
  EXPECT_TRUE(betweenness(graph_from_edges(0, {})).empty());
  EXPECT_EQ(betweenness(graph_from_edges(2, std::vector<Edge>{{0, 1}})), (std::vector<double>{0.0, 0.0}));
}

TEST(GraphBetweenness, AgreesWithTextbookBrandesAcrossDensities) {
  // Densities from nearly empty to nearly complete, with and without hubs, so every search and
  // dependency step takes each of its push, blind-push and pull forms somewhere.
  std::uint64_t seed = 100;
  for (const std::size_t n : {3u, 17u, 64u, 150u}) {
    for (const double density : {0.02, 0.08, 0.3, 0.7, 0.97}) {
      for (const std::size_t hubs : {0u, 3u}) {
        const auto edges = random_edges(n, density, ++seed, std::min(hubs, n));
        const std::string label = fmt::format("n={} density={} hubs={}", n, density, hubs);
        expect_scores_match(betweenness(graph_from_edges(n, edges), 2), textbook_brandes(n, edges), label);
      }
    }
  }
}

TEST(GraphBetweenness, IdenticalBitsForOneAndTwoThreads) {
  // 301 nodes: not a whole number of 16-source blocks, and several waves of blocks for either
  // thread count, so the blocks are summed across wave boundaries.
  const std::size_t n = 301;
  const ConceptGraph graph = graph_from_edges(n, random_edges(n, 0.3, 42, 5));
  const auto one = betweenness(graph, 1);
  const auto two = betweenness(graph, 2);
  ASSERT_EQ(one.size(), n);
  ASSERT_EQ(two.size(), n);
  double total = 0;
  for (std::size_t v = 0; v < n; ++v) {
    EXPECT_EQ(std::bit_cast<std::uint64_t>(one[v]), std::bit_cast<std::uint64_t>(two[v])) << "node " << v;
    total += one[v];
  }
  EXPECT_GT(total, 0.0);

  BetweennessCentrality counted(graph, 2);
  counted.run();
  EXPECT_GT(counted.edges_traversed(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Sampled sources (Brandes & Pich pivots)

std::vector<double> ranks_of(const std::vector<double>& values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    for (std::size_t k = i; k <= j; ++k) ranks[order[k]] = (static_cast<double>(i) + static_cast<double>(j)) / 2;
    i = j + 1;
  }
  return ranks;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const auto ra = ranks_of(a), rb = ranks_of(b);
  const double mean = (static_cast<double>(a.size()) - 1) / 2;
  double cov = 0, va = 0, vb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    cov += (ra[i] - mean) * (rb[i] - mean);
    va += (ra[i] - mean) * (ra[i] - mean);
    vb += (rb[i] - mean) * (rb[i] - mean);
  }
  return cov / std::sqrt(va * vb);
}

TEST(GraphSampledBetweenness, SourcesAreDistinctAscendingAndFixedBySeed) {
  const auto drawn = sample_sources(1000, 100, 7);
  ASSERT_EQ(drawn.size(), 100u);
  EXPECT_TRUE(std::is_sorted(drawn.begin(), drawn.end()));
  EXPECT_EQ(std::adjacent_find(drawn.begin(), drawn.end()), drawn.end());
  EXPECT_LT(drawn.back(), 1000u);
  EXPECT_EQ(drawn, sample_sources(1000, 100, 7));
  EXPECT_NE(drawn, sample_sources(1000, 100, 8));
  EXPECT_EQ(sample_sources(5, 100, 7).size(), 5u);
}

TEST(GraphSampledBetweenness, AllNodesAsSourcesIsTheExactComputation) {
  const std::size_t n = 120;
  const ConceptGraph graph = graph_from_edges(n, random_edges(n, 0.1, 9, 2));
  BetweennessCentrality all(graph, 2, default_context(), {.sources = n});
  all.run();
  EXPECT_FALSE(all.sampled());
  EXPECT_EQ(all.error_bound(), 0.0);
  expect_scores_match(all.scores(), betweenness(graph, 2), "all sources");
}

// The concept graph of a planted four-level hierarchy (like those bench/betweenness_sampling.py makes at
// 10,000 concepts): each concept a unit vector = its parent's + noise shrinking with depth, and
// S[i][j] > 0.5 when cos(i, j) + noise exceeds a threshold that rises with j's depth. Hubs at the
// top, many low-degree leaves: the degree spread of a real concept graph, not an Erdos-Renyi one.
ConceptGraph planted_concept_graph(std::size_t n, std::uint64_t seed) {
  constexpr std::size_t kDimension = 32;
  constexpr double kSpread[] = {1.0, 0.6, 0.4, 0.3};
  std::mt19937_64 rng(seed);
  // Box-Muller over mt19937_64, whose output the standard fixes: the same graph with every library.
  const auto normal = [&rng] {
    const double u = (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53;
    const double v = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * std::numbers::pi * v);
  };
  const std::size_t level_sizes[] = {std::max<std::size_t>(1, n / 500), n / 50, n / 8};
  std::vector<int> depth(n, 3);
  std::vector<std::vector<double>> vectors(n, std::vector<double>(kDimension, 0.0));
  std::size_t level_first = 0, previous_first = 0;
  for (int level = 0; level < 4; ++level) {
    const std::size_t size = level < 3 ? level_sizes[level] : n - level_first;
    for (std::size_t i = level_first; i < level_first + size; ++i) {
      depth[i] = level;
      if (level > 0) vectors[i] = vectors[previous_first + rng() % (level_first - previous_first)];
      for (double& x : vectors[i]) x += kSpread[level] * normal();
    }
    previous_first = level_first;
    level_first += size;
  }
  // Normalised only now: a child inherits its parent's vector before normalisation, noise and all.
  for (auto& vector : vectors) {
    double norm = 0;
    for (double x : vector) norm += x * x;
    for (double& x : vector) x /= std::sqrt(norm);
  }
  // Above 0 where S would be above 0.5.
  std::vector<float> logits(n * n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double cosine = 0;
      for (std::size_t d = 0; d < kDimension; ++d) cosine += vectors[i][d] * vectors[j][d];
      logits[i * n + j] = static_cast<float>(cosine - 0.75 - 0.08 * depth[j] + 0.04 * normal());
    }
  }
  return threshold_graph(logits, n, 0.0);
}

double largest_error(const std::vector<double>& estimate, const std::vector<double>& exact) {
  double largest = 0;
  for (std::size_t v = 0; v < exact.size(); ++v) largest = std::max(largest, std::fabs(estimate[v] - exact[v]));
  return largest;
}

TEST(GraphSampledBetweenness, ExactOnGraphsWithoutPairsThreeLinksApart) {
  // Pairs two links apart are summed from every source, only those further apart are sampled: on
  // a graph of diameter 2 any sample gives the exact scores.
  std::vector<Edge> wheel, bipartite;
  for (std::uint32_t v = 1; v <= 12; ++v) {
    wheel.emplace_back(0, v);
    wheel.emplace_back(v, v % 12 + 1);
  }
  for (std::uint32_t a = 0; a < 4; ++a) {
    for (std::uint32_t b = 4; b < 11; ++b) bipartite.emplace_back(a, b);
  }
  for (const auto& [name, graph] : {std::pair{"wheel", graph_from_edges(13, wheel)}, std::pair{"K4,7", graph_from_edges(11, bipartite)}}) {
    BetweennessCentrality sampled(graph, 2, default_context(), {.sources = 3, .seed = 1});
    sampled.run();
    EXPECT_TRUE(sampled.sampled()) << name;
    expect_scores_match(sampled.scores(), betweenness(graph, 2), name);
  }
  // A path has pairs up to 8 links apart: there the sample shows.
  std::vector<Edge> path;
  for (std::uint32_t v = 0; v + 1 < 9; ++v) path.emplace_back(v, v + 1);
  const ConceptGraph line = graph_from_edges(9, path);
  BetweennessCentrality sampled(line, 2, default_context(), {.sources = 3, .seed = 1});
  sampled.run();
  EXPECT_NE(sampled.scores(), betweenness(line, 2));
}

TEST(GraphSampledBetweenness, RanksAPlantedConceptGraphAsTheExactScoresDo) {
  const std::size_t n = 2000;
  const ConceptGraph graph = planted_concept_graph(n, 1);
  ASSERT_GT(graph.edge_count(), 4 * n);
  const auto exact = betweenness(graph, 2);
  BetweennessCentrality sampled(graph, 2, default_context(), {.sources = n / 4, .seed = 3});
  sampled.run();
  EXPECT_TRUE(sampled.sampled());
  EXPECT_EQ(sampled.sources_searched(), n / 4);
  EXPECT_GE(spearman(sampled.scores(), exact), 0.99);
  // The check can fail: a handful of sources does not rank the low-centrality leaves.
  BetweennessCentrality few(graph, 2, default_context(), {.sources = 5, .seed = 3});
  few.run();
  EXPECT_LT(spearman(few.scores(), exact), 0.99);
}

TEST(GraphSampledBetweenness, FixedBySeedAndIdenticalForOneAndTwoThreads) {
  const std::size_t n = 600;
  const ConceptGraph graph = planted_concept_graph(n, 2);
  BetweennessCentrality one(graph, 1, default_context(), {.sources = 100, .seed = 5});
  BetweennessCentrality two(graph, 2, default_context(), {.sources = 100, .seed = 5});
  BetweennessCentrality other_seed(graph, 2, default_context(), {.sources = 100, .seed = 6});
  one.run();
  two.run();
  other_seed.run();
  for (std::size_t v = 0; v < n; ++v) ASSERT_EQ(std::bit_cast<std::uint64_t>(one.scores()[v]), std::bit_cast<std::uint64_t>(two.scores()[v])) << v;
  EXPECT_NE(one.scores(), other_seed.scores());
}

TEST(GraphSampledBetweenness, UnbiasedAndWithinTheStatedBoundAtLeastAsOftenAsItsConfidence) {
  // Few sources on a small graph, so single estimates are rough: the bound must still cover every
  // node at once in at least 95 % of the draws, and the draws' mean must approach the exact scores
  // (a wrongly scaled sampled part would not).
  const std::size_t n = 150;
  const ConceptGraph graph = planted_concept_graph(n, 4);
  const auto exact = betweenness(graph, 1);
  constexpr int kDraws = 300;
  int covered = 0;
  double bound = 0, worst = 0;
  std::vector<double> mean(n, 0.0);
  for (int seed = 0; seed < kDraws; ++seed) {
    BetweennessCentrality sampled(graph, 1, default_context(), {.sources = 25, .seed = static_cast<std::uint64_t>(seed), .confidence = 0.95});
    sampled.run();
    bound = sampled.error_bound();
    const double error = largest_error(sampled.scores(), exact);
    worst = std::max(worst, error);
    covered += error <= bound;
    for (std::size_t v = 0; v < n; ++v) mean[v] += sampled.scores()[v] / kDraws;
  }
  EXPECT_GE(covered, kDraws * 95 / 100) << "largest error " << worst << ", bound " << bound;
  // Scores lie in [0, 1]: a bound of 1 or more would hold by saying nothing.
  EXPECT_LT(bound, 1.0);
  double total_exact = 0, total_error = 0;
  for (std::size_t v = 0; v < n; ++v) {
    total_exact += exact[v];
    total_error += std::fabs(mean[v] - exact[v]);
  }
  EXPECT_LT(total_error, 0.03 * total_exact) << "mean over draws vs exact, summed over nodes";
}

// ---------------------------------------------------------------------------------------------
// Building graphs

std::vector<std::vector<std::uint32_t>> rows_of(const ConceptGraph& graph) {
  std::vector<std::vector<std::uint32_t>> rows(graph.node_count());
  for (std::size_t v = 0; v < graph.node_count(); ++v) {
    rows[v].assign(graph.neighbours.begin() + static_cast<std::ptrdiff_t>(graph.offsets[v]),
                   graph.neighbours.begin() + static_cast<std::ptrdiff_t>(graph.offsets[v + 1]));
  }
  return rows;
}

TEST(GraphThreshold, LinksPairsWhereEitherDirectionIsStrictlyAboveTheThreshold) {
  // Row i, column j. The diagonal is above the threshold but makes no self loop; 0.5 exactly
  // (representable in float and double alike) is not above 0.5.
  // clang-format off
  const std::vector<float> similarity = {
      0.9f, 0.8f, 0.1f, 0.5f, 0.0f,
      0.2f, 1.0f, 0.1f, 0.1f, 0.6f,
      0.1f, 0.7f, 0.9f, 0.5f, 0.5f,
      0.5f, 0.1f, 0.2f, 0.9f, 0.5f,
      0.0f, 0.1f, 0.50001f, 0.4f, 0.9f,
  };
  // clang-format on
  const ConceptGraph graph = threshold_graph(similarity, 5, 0.5);
  // 0-1 (0.8 one way only), 1-2 (0.7 the other way), 1-4 (0.6), 2-4 (0.50001 from row 4).
  const std::vector<std::vector<std::uint32_t>> expected = {{1}, {0, 2, 4}, {1, 4}, {}, {1, 2}};
  EXPECT_EQ(rows_of(graph), expected);
  EXPECT_EQ(graph.edge_count(), 4u);
  EXPECT_EQ(graph.degree(3), 0u);

  const ConceptGraph same = graph_from_edges(5, std::vector<Edge>{{0, 1}, {2, 1}, {4, 1}, {2, 4}});
  EXPECT_EQ(graph.offsets, same.offsets);
  EXPECT_EQ(graph.neighbours, same.neighbours);

  // Lowering the threshold below 0.5 admits the pairs sitting exactly on it.
  EXPECT_EQ(threshold_graph(similarity, 5, 0.49).edge_count(), 7u);
}

TEST(GraphThreshold, RejectsAMatrixOfTheWrongSize) {
  const std::vector<float> six(6, 0.9f);
  EXPECT_THROW(threshold_graph(six, 3, 0.5), FatalError);
}

TEST(GraphFromEdges, DropsRepeatsAndSelfLoopsAndRejectsUnknownNodes) {
  const std::vector<Edge> edges = {{3, 1}, {1, 3}, {3, 1}, {2, 2}, {0, 3}, {4, 4}};
  const ConceptGraph graph = graph_from_edges(5, edges);
  EXPECT_EQ(graph.node_count(), 5u);
  EXPECT_EQ(graph.edge_count(), 2u);
  const std::vector<std::vector<std::uint32_t>> expected = {{3}, {3}, {}, {0, 1}, {}};
  EXPECT_EQ(rows_of(graph), expected);

  EXPECT_THROW(graph_from_edges(5, std::vector<Edge>{{0, 1}, {1, 5}}), FatalError);
  EXPECT_THROW(graph_from_edges(5, std::vector<Edge>{{7, 7}}), FatalError);
}

}  // namespace
}  // namespace conceptree
