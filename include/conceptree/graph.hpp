#pragma once
// The concept graph (undirected, unweighted) and its betweenness centrality, exact or sampled.
//   ConceptGraph graph = threshold_graph(similarity, 0.5);
//   BetweennessCentrality centrality(graph);
//   centrality.run();
//   centrality.scores();

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "conceptree/context.hpp"

namespace conceptree {

// Adjacency in compressed rows: node v's neighbours are neighbours[offsets[v]:offsets[v+1]], ascending,
// without self loops; every undirected edge appears in both rows.
struct ConceptGraph {
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::uint32_t> neighbours;

  std::size_t node_count() const { return offsets.size() - 1; }
  std::uint64_t edge_count() const { return neighbours.size() / 2; }
  std::uint64_t degree(std::size_t node) const { return offsets[node + 1] - offsets[node]; }
};

// Edge i-j when similarity[i][j] > threshold or similarity[j][i] > threshold (i != j);
// `similarity` is n x n, row-major.
ConceptGraph threshold_graph(std::span<const float> similarity, std::size_t n, double threshold);
// From an edge list; self loops and repeated edges are dropped. Throws FatalError for a node >= n.
ConceptGraph graph_from_edges(std::size_t n, std::span<const std::pair<std::uint32_t, std::uint32_t>> edges);

struct BetweennessOptions {
  // 0 (or n and more): exact, every node a source. Otherwise the estimate of run() from this many
  // distinct sources drawn at random.
  std::uint64_t sources = 0;
  std::uint64_t seed = 0;            // which sources are drawn
  double confidence = 0.95;          // of error_bound()
};

// Brandes' betweenness on an unweighted undirected graph, normalised as networkx does (divided by
// (n-1)(n-2), so a star's centre scores 1): exact, or estimated from sampled sources. Sources run in
// parallel; each source's breadth-first search switches between pushing from the frontier and
// pulling into unvisited nodes, whichever touches fewer edges. Results are identical for any
// thread count.
//
// The estimate splits each node v's sum over sources s of its dependency delta_s(v) (Brandes' sum
// over targets t of the share of shortest s-t paths through v) by the distance of t:
//   - targets two links from s are summed exactly, from every source: t's c common neighbours
//     with s each get 1/c, which costs two hops per source instead of a search;
//   - targets three or more links away come from `sources` sources drawn at random (Brandes &
//     Pich 2007, "pivots"), one search each, v's share of each s-t pair weighted by d(s,v) / d(s,t)
//     (Geisberger, Sanders & Schultes 2008, "linear scaling"); a pair's weights from its two ends
//     add up to 1, so 2 n / sources times the sample's sum is unbiased.
// Plain pivots rank the many low-centrality concepts of a concept graph badly: a leaf's centrality
// comes mostly from pairs near it, which only the rare source next to it sees. Summing the pairs
// two links apart exactly, and crediting the others mostly from their far end, fixes most of that
// (planted 10,000-concept hierarchy, mean degree 14, 2048 sources: Spearman 0.964 plain, 0.991
// with the exact near pairs, 0.995 with linear scaling too; docs/scaling_betweenness.md).
class BetweennessCentrality {
 public:
  // `graph` and `context` must outlive the object.
  explicit BetweennessCentrality(const ConceptGraph& graph, int jobs = 0, const Context& context = default_context(),
                                 BetweennessOptions options = {});
  void run();
  const std::vector<double>& scores() const { return scores_; }
  // Adjacency entries read by run(): the work done, for edges-per-second figures.
  std::uint64_t edges_traversed() const { return edges_traversed_; }
  // Sources searched by run(): the node count when exact.
  std::uint64_t sources_searched() const { return sources_searched_; }
  bool sampled() const { return sources_searched_ < graph_.node_count(); }
  // With probability options.confidence, every score lies within this of its exact value. Only the
  // sampled part varies: each source adds between 0 and 2(n-2) to a node's sum, so Hoeffding's
  // inequality (which holds for sampling without replacement) bounds each node's mean over the
  // sources, and a union bound covers all n nodes. 0 when exact. A worst case: the ranking is far
  // better than it suggests.
  double error_bound() const;

 private:
  const ConceptGraph& graph_;
  const Context& context_;
  int jobs_;
  BetweennessOptions options_;
  std::vector<double> scores_;
  std::uint64_t edges_traversed_ = 0;
  std::uint64_t sources_searched_ = 0;
};

// `count` distinct nodes of [0, n), ascending, drawn by `seed` alone (the same on every platform).
std::vector<std::uint32_t> sample_sources(std::size_t n, std::uint64_t count, std::uint64_t seed);

}  // namespace conceptree
