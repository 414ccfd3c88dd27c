#include "conceptree/graph.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "conceptree/error.hpp"
#include "conceptree/progress.hpp"

namespace conceptree {

namespace {

// Sources per unit of parallel work; fixed so partial sums always add up in the same order.
constexpr std::size_t kSourcesPerBlock = 16;
// The two-hop pass over every node does far less per source than a search, so its blocks are
// larger: each block clears and adds up a whole score array, which at 16 sources per block would
// cost n^2 / 16 (seconds at 100,000 nodes) for a pass that is otherwise about sum of degree^2.
constexpr std::size_t kTwoHopBlocks = 256;
// A pulling step reads every edge of its side but as a branch-free vectorised gather, a pushing
// step only the frontier's edges but with a branch per edge: pull once it reads at most this many
// times more edges than a push would.
constexpr std::uint64_t kPullAdvantage = 3;

// A push over at least this many edges per node adds into every neighbour without asking whether
// it is wanted (vectorised scatter), then sorts the wanted ones out in one pass over all nodes;
// the branch per edge it saves costs more than that pass.
constexpr std::uint64_t kBlindPushEdgesPerNode = 1;

// Sum of values[neighbours[begin:end]], vectorised with gathers.
inline double gather_sum(const double* values, const std::uint32_t* neighbours, std::uint64_t begin, std::uint64_t end) {
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (std::uint64_t k = begin; k < end; ++k) sum += values[neighbours[k]];
  return sum;
}

// values[neighbours[k]] += amount for k in [begin, end); a row never repeats a neighbour, so the
// scatter has no conflicts.
inline void scatter_add(double* values, const std::uint32_t* neighbours, std::uint64_t begin, std::uint64_t end, double amount) {
#pragma omp simd
  for (std::uint64_t k = begin; k < end; ++k) values[neighbours[k]] += amount;
}

// The targets t whose shortest paths from a source s a search credits to the nodes v on them.
enum class Targets {
  All,             // Brandes' dependency: each node gets its share of every pair's paths
  BeyondTwoLinks,  // only t three or more links from s, each share weighted by d(s,v) / d(s,t)
};

// One thread's state for single-source dependency accumulation; every array is back to its
// resting state (level -1, zeros) between sources, so only visited nodes are touched.
class SourceWorkspace {
 public:
  explicit SourceWorkspace(std::size_t n)
      : level_(n, -1), sigma_(n, 0), delta_(n, 0), coefficient_(n, 0), frontier_sigma_(n, 0), incoming_(n, 0) {}

  // Adds to `scores` the dependencies of every node on `source` for `targets`.
  void accumulate(const ConceptGraph& graph, std::uint32_t source, Targets targets, double* scores) {
    search(graph, source);
    propagate_dependencies(graph, targets, scores);
    for (std::uint32_t v : order_) {
      level_[v] = -1;
      sigma_[v] = 0;
      delta_[v] = 0;
      coefficient_[v] = 0;
    }
  }

  // Adds to `scores` the dependencies of every node on `source` for the targets exactly two links
  // away: such a target t is reached through each of the c common neighbours of source and t, and
  // each of them gets 1/c. Two hops from the source, rather than a whole search.
  void accumulate_two_hops(const ConceptGraph& graph, std::uint32_t source, double* scores) {
    const auto* offsets = graph.offsets.data();
    const auto* neighbours = graph.neighbours.data();
    // level_ 0 marks the source and its neighbours (not two links away); sigma_ counts the common
    // neighbours of the source and each node two links away, listed in order_.
    order_.clear();
    level_[source] = 0;
    for (std::uint64_t k = offsets[source]; k < offsets[source + 1]; ++k) level_[neighbours[k]] = 0;
    for (std::uint64_t k = offsets[source]; k < offsets[source + 1]; ++k) {
      const std::uint32_t v = neighbours[k];
      traversed_ += graph.degree(v);
      for (std::uint64_t e = offsets[v]; e < offsets[v + 1]; ++e) {
        const std::uint32_t t = neighbours[e];
        if (level_[t] == 0) continue;
        if (sigma_[t] == 0) order_.push_back(t);
        sigma_[t] += 1;
      }
    }
    for (std::uint32_t t : order_) coefficient_[t] = 1 / sigma_[t];
    for (std::uint64_t k = offsets[source]; k < offsets[source + 1]; ++k) {
      const std::uint32_t v = neighbours[k];
      scores[v] += gather_sum(coefficient_.data(), neighbours, offsets[v], offsets[v + 1]);
    }
    level_[source] = -1;
    for (std::uint64_t k = offsets[source]; k < offsets[source + 1]; ++k) level_[neighbours[k]] = -1;
    for (std::uint32_t t : order_) {
      sigma_[t] = 0;
      coefficient_[t] = 0;
    }
  }

  std::uint64_t traversed() const { return traversed_; }

 private:
  std::uint64_t degree_sum(const ConceptGraph& graph, std::size_t first, std::size_t last) const {
    std::uint64_t sum = 0;
    for (std::size_t i = first; i < last; ++i) sum += graph.degree(order_[i]);
    return sum;
  }

  // Breadth-first search counting shortest paths (sigma); order_ lists nodes level by level.
  void search(const ConceptGraph& graph, std::uint32_t source) {
    const auto* offsets = graph.offsets.data();
    const auto* neighbours = graph.neighbours.data();
    order_.assign(1, source);
    level_begin_.assign({0, 1});
    level_[source] = 0;
    sigma_[source] = 1;
    std::uint64_t unvisited_edges = graph.neighbours.size() - graph.degree(source);
    for (std::int32_t depth = 0;; ++depth) {
      const std::size_t first = level_begin_[static_cast<std::size_t>(depth)];
      const std::size_t last = level_begin_[static_cast<std::size_t>(depth) + 1];
      const std::uint64_t frontier_edges = degree_sum(graph, first, last);
      if (unvisited_edges <= kPullAdvantage * frontier_edges) {
        for (std::size_t i = first; i < last; ++i) frontier_sigma_[order_[i]] = sigma_[order_[i]];
        for (std::uint32_t w = 0; w < graph.node_count(); ++w) {
          if (level_[w] >= 0) continue;
          traversed_ += offsets[w + 1] - offsets[w];
          const double paths = gather_sum(frontier_sigma_.data(), neighbours, offsets[w], offsets[w + 1]);
          if (paths > 0) {
            level_[w] = depth + 1;
            sigma_[w] = paths;
            order_.push_back(w);
          }
        }
        for (std::size_t i = first; i < last; ++i) frontier_sigma_[order_[i]] = 0;
      } else if (frontier_edges >= kBlindPushEdgesPerNode * graph.node_count()) {
        traversed_ += frontier_edges;
        for (std::size_t i = first; i < last; ++i) {
          const std::uint32_t v = order_[i];
          scatter_add(incoming_.data(), neighbours, offsets[v], offsets[v + 1], sigma_[v]);
        }
        for (std::uint32_t w = 0; w < graph.node_count(); ++w) {
          if (level_[w] < 0 && incoming_[w] > 0) {
            level_[w] = depth + 1;
            sigma_[w] = incoming_[w];
            order_.push_back(w);
          }
          incoming_[w] = 0;
        }
      } else {
        traversed_ += frontier_edges;
        for (std::size_t i = first; i < last; ++i) {
          const std::uint32_t v = order_[i];
          const double paths = sigma_[v];
          for (std::uint64_t k = offsets[v]; k < offsets[v + 1]; ++k) {
            const std::uint32_t w = neighbours[k];
            if (level_[w] < 0) {
              level_[w] = depth + 1;
              order_.push_back(w);
            }
            if (level_[w] == depth + 1) sigma_[w] += paths;
          }
        }
      }
      if (order_.size() == last) break;
      unvisited_edges -= degree_sum(graph, last, order_.size());
      level_begin_.push_back(order_.size());
    }
  }

  // Brandes' dependencies, deepest level first: delta[v] = sigma[v] * sum over neighbours w one
  // level deeper of (target(w) + delta[w]) / sigma[w]; coefficient_ holds that quotient for one
  // level only. For Targets::All, target(w) = 1 and v gets delta[v]. For BeyondTwoLinks,
  // target(w) = 1 / d(s,w) when w is three or more links deep, else 0, and v gets d(s,v) delta[v]:
  // its share of each path to t, weighted by d(s,v) / d(s,t).
  void propagate_dependencies(const ConceptGraph& graph, Targets targets, double* scores) {
    const auto* offsets = graph.offsets.data();
    const auto* neighbours = graph.neighbours.data();
    const std::size_t levels = level_begin_.size() - 1;
    for (std::size_t depth = levels - 1; depth >= 1; --depth) {
      const std::size_t first = level_begin_[depth];
      const std::size_t last = level_begin_[depth + 1];
      const std::size_t deeper_last = depth + 2 < level_begin_.size() ? level_begin_[depth + 2] : last;
      if (deeper_last > last) {
        const std::uint64_t pull_edges = degree_sum(graph, first, last);
        const std::uint64_t push_edges = degree_sum(graph, last, deeper_last);
        if (pull_edges <= kPullAdvantage * push_edges) {
          traversed_ += pull_edges;
          for (std::size_t i = first; i < last; ++i) {
            const std::uint32_t v = order_[i];
            delta_[v] = sigma_[v] * gather_sum(coefficient_.data(), neighbours, offsets[v], offsets[v + 1]);
          }
        } else if (push_edges >= kBlindPushEdgesPerNode * graph.node_count()) {
          traversed_ += push_edges;
          for (std::size_t i = last; i < deeper_last; ++i) {
            const std::uint32_t w = order_[i];
            scatter_add(incoming_.data(), neighbours, offsets[w], offsets[w + 1], coefficient_[w]);
          }
          for (std::size_t i = first; i < last; ++i) delta_[order_[i]] = sigma_[order_[i]] * incoming_[order_[i]];
          std::fill(incoming_.begin(), incoming_.end(), 0.0);
        } else {
          traversed_ += push_edges;
          const auto level = static_cast<std::int32_t>(depth);
          for (std::size_t i = last; i < deeper_last; ++i) {
            const std::uint32_t w = order_[i];
            const double share = coefficient_[w];
            for (std::uint64_t k = offsets[w]; k < offsets[w + 1]; ++k) {
              const std::uint32_t v = neighbours[k];
              if (level_[v] == level) delta_[v] += share;
            }
          }
          for (std::size_t i = first; i < last; ++i) delta_[order_[i]] *= sigma_[order_[i]];
        }
        for (std::size_t i = last; i < deeper_last; ++i) coefficient_[order_[i]] = 0;
      }
      const double distance = static_cast<double>(depth);
      const bool all = targets == Targets::All;
      const double target = all ? 1 : depth >= 3 ? 1 / distance : 0;
      const double weight = all ? 1 : distance;
      for (std::size_t i = first; i < last; ++i) {
        const std::uint32_t v = order_[i];
        coefficient_[v] = (target + delta_[v]) / sigma_[v];
        scores[v] += weight * delta_[v];
      }
    }
  }

  std::vector<std::int32_t> level_;
  std::vector<double> sigma_;
  std::vector<double> delta_;
  std::vector<double> coefficient_;
  std::vector<double> frontier_sigma_;
  std::vector<double> incoming_;
  std::vector<std::uint32_t> order_;
  std::vector<std::size_t> level_begin_;
  std::uint64_t traversed_ = 0;
};

}  // namespace

ConceptGraph threshold_graph(std::span<const float> similarity, std::size_t n, double threshold) {
  if (similarity.size() != n * n) throw FatalError(fmt::format("similarity has {} values, not {} x {}", similarity.size(), n, n));
  const auto above = [&](std::size_t i, std::size_t j) {
    return similarity[i * n + j] > threshold || similarity[j * n + i] > threshold;
  };
  ConceptGraph graph;
  graph.offsets.assign(n + 1, 0);
  const auto rows = static_cast<std::int64_t>(n);
#pragma omp parallel for schedule(dynamic, 64)
  for (std::int64_t i = 0; i < rows; ++i) {
    std::uint64_t count = 0;
    for (std::size_t j = 0; j < n; ++j) count += j != static_cast<std::size_t>(i) && above(static_cast<std::size_t>(i), j);
    graph.offsets[static_cast<std::size_t>(i) + 1] = count;
  }
  for (std::size_t i = 0; i < n; ++i) graph.offsets[i + 1] += graph.offsets[i];
  graph.neighbours.resize(graph.offsets[n]);
#pragma omp parallel for schedule(dynamic, 64)
  for (std::int64_t i = 0; i < rows; ++i) {
    std::uint64_t at = graph.offsets[static_cast<std::size_t>(i)];
    for (std::size_t j = 0; j < n; ++j) {
      if (j != static_cast<std::size_t>(i) && above(static_cast<std::size_t>(i), j)) graph.neighbours[at++] = static_cast<std::uint32_t>(j);
    }
  }
  return graph;
}

ConceptGraph graph_from_edges(std::size_t n, std::span<const std::pair<std::uint32_t, std::uint32_t>> edges) {
  std::vector<std::vector<std::uint32_t>> rows(n);
  for (const auto& [a, b] : edges) {
    if (a >= n || b >= n) throw FatalError(fmt::format("edge {}-{} names a node outside the graph's {} nodes", a, b, n));
    if (a == b) continue;
    rows[a].push_back(b);
    rows[b].push_back(a);
  }
  ConceptGraph graph;
  for (auto& row : rows) {
    std::sort(row.begin(), row.end());
    row.erase(std::unique(row.begin(), row.end()), row.end());
    graph.neighbours.insert(graph.neighbours.end(), row.begin(), row.end());
    graph.offsets.push_back(graph.neighbours.size());
  }
  return graph;
}

std::vector<std::uint32_t> sample_sources(std::size_t n, std::uint64_t count, std::uint64_t seed) {
  count = std::min<std::uint64_t>(count, n);
  // A partial Fisher-Yates shuffle over mt19937_64, whose output the standard fixes; the standard
  // distributions are not fixed across libraries, so the reduction to a range is done here.
  std::mt19937_64 generator(seed);
  std::vector<std::uint32_t> nodes(n);
  std::iota(nodes.begin(), nodes.end(), 0u);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t span = n - i;
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % span;
    std::uint64_t draw = generator();
    while (draw >= limit) draw = generator();
    std::swap(nodes[i], nodes[i + draw % span]);
  }
  nodes.resize(count);
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

BetweennessCentrality::BetweennessCentrality(const ConceptGraph& graph, int jobs, const Context& context, BetweennessOptions options)
    : graph_(graph), context_(context), jobs_(jobs), options_(options) {}

double BetweennessCentrality::error_bound() const {
  const std::size_t n = graph_.node_count();
  if (!sampled() || n < 3 || sources_searched_ == 0) return 0;
  const double nodes = static_cast<double>(n);
  const double per_source_mean = std::sqrt(std::log(2 * nodes / (1 - options_.confidence)) / (2 * static_cast<double>(sources_searched_)));
  // The normalised score's sampled part is 2 n / (n-1) times the mean over sources of a weighted
  // dependency / (n-2), which lies in [0, 1].
  return 2 * nodes / (nodes - 1) * per_source_mean;
}

namespace {

// Sum over `sources` of accumulate(workspace, source, per-node sums), in parallel, added up in the
// same order for any thread count; adds the adjacency entries read to `edges_traversed`.
template <class Accumulate>
std::vector<double> sum_over_sources(const ConceptGraph& graph, int jobs, std::span<const std::uint32_t> sources, std::size_t sources_per_block,
                                     Progress& progress, std::uint64_t& edges_traversed, Accumulate&& accumulate) {
  const std::size_t n = graph.node_count();
  std::vector<double> totals(n, 0.0);
  const std::size_t source_count = sources.size();
  const int threads = jobs > 0 ? jobs : omp_get_max_threads();
  const std::size_t blocks = (source_count + sources_per_block - 1) / sources_per_block;
  const std::size_t wave_blocks = 4 * static_cast<std::size_t>(threads);
  std::vector<double> partial(wave_blocks * n);
  std::vector<std::uint64_t> traversed(static_cast<std::size_t>(threads), 0);
#pragma omp parallel num_threads(threads)
  {
    SourceWorkspace workspace(n);
    for (std::size_t wave = 0; wave < blocks; wave += wave_blocks) {
      const std::size_t wave_end = std::min(blocks, wave + wave_blocks);
#pragma omp for schedule(dynamic, 1)
      for (std::size_t block = wave; block < wave_end; ++block) {
        double* sums = partial.data() + (block - wave) * n;
        std::fill(sums, sums + n, 0.0);
        const std::size_t last = std::min(source_count, (block + 1) * sources_per_block);
        for (std::size_t k = block * sources_per_block; k < last; ++k) accumulate(workspace, sources[k], sums);
        progress.advance(last - block * sources_per_block);
      }
      // Blocks are added in block order, whichever thread computed them.
#pragma omp for schedule(static)
      for (std::size_t v = 0; v < n; ++v) {
        for (std::size_t block = wave; block < wave_end; ++block) totals[v] += partial[(block - wave) * n + v];
      }
    }
    traversed[static_cast<std::size_t>(omp_get_thread_num())] = workspace.traversed();
  }
  for (std::uint64_t count : traversed) edges_traversed += count;
  return totals;
}

}  // namespace

void BetweennessCentrality::run() {
  const std::size_t n = graph_.node_count();
  scores_.assign(n, 0.0);
  edges_traversed_ = 0;
  sources_searched_ = 0;
  if (n == 0) return;
  std::vector<std::uint32_t> every_node(n);
  std::iota(every_node.begin(), every_node.end(), 0u);
  const bool sample = options_.sources > 0 && options_.sources < n;
  if (!sample) {
    Progress progress(context_, "betweenness", n);
    scores_ = sum_over_sources(graph_, jobs_, every_node, kSourcesPerBlock, progress, edges_traversed_,
                               [this](SourceWorkspace& workspace, std::uint32_t source, double* sums) {
      workspace.accumulate(graph_, source, Targets::All, sums);
    });
    progress.finish();
    sources_searched_ = n;
  } else {
    // Pairs two links apart, from every source (cheap: two hops each), plus the sampled sources'
    // pairs further apart. Weighting a source's share of each pair by d(s,v) / d(s,t) (Geisberger,
    // Sanders & Schultes 2008) credits the pair to v mostly from its far end: from the many
    // sources far from v, not the few near it, which lowers the variance. A pair's weights from its
    // two ends add up to 1, so 2 n / sources times the sample's sum is unbiased.
    const std::vector<std::uint32_t> sources = sample_sources(n, options_.sources, options_.seed);
    Progress progress(context_, "betweenness", n + sources.size());
    const std::size_t two_hop_block = std::max(kSourcesPerBlock, (n + kTwoHopBlocks - 1) / kTwoHopBlocks);
    scores_ = sum_over_sources(graph_, jobs_, every_node, two_hop_block, progress, edges_traversed_,
                               [this](SourceWorkspace& workspace, std::uint32_t source, double* sums) {
      workspace.accumulate_two_hops(graph_, source, sums);
    });
    const std::vector<double> beyond = sum_over_sources(graph_, jobs_, sources, kSourcesPerBlock, progress, edges_traversed_,
                                                        [this](SourceWorkspace& workspace, std::uint32_t source, double* sums) {
      workspace.accumulate(graph_, source, Targets::BeyondTwoLinks, sums);
    });
    progress.finish();
    const double sampling = 2 * static_cast<double>(n) / static_cast<double>(sources.size());
    for (std::size_t v = 0; v < n; ++v) scores_[v] += sampling * beyond[v];
    sources_searched_ = sources.size();
  }
  if (n > 2) {
    const double scale = 1 / (static_cast<double>(n - 1) * static_cast<double>(n - 2));
    for (double& score : scores_) score *= scale;
  }
}

}  // namespace conceptree
