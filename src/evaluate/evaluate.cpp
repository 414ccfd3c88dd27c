#include "conceptree/evaluate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"
#include "conceptree/names.hpp"
#include "conceptree/hierarchy_graph.hpp"
#include "conceptree/context.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/similarity.hpp"
#include "conceptree/text_list.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using Pair = std::uint64_t;  // (first << 32) | second, node indices

constexpr double kNotAvailable = std::numeric_limits<double>::quiet_NaN();

Pair make_pair_key(std::uint32_t first, std::uint32_t second) { return (static_cast<Pair>(first) << 32) | second; }

HierarchyGraph taxonomy_graph(const Taxonomy& taxonomy) {
  std::vector<HierarchyGraph::Edge> edges;
  edges.reserve(taxonomy.child_parent.size());
  for (const auto& [child, parent] : taxonomy.child_parent) edges.push_back({parent, child});
  return HierarchyGraph(taxonomy.concepts.size(), edges);
}

// The top-level concept reached by following first parents; on a cycle, its lowest index. A root
// once found is kept for every later walk that reaches its node, so each node is walked once.
std::vector<std::uint32_t> first_parent_roots(const HierarchyGraph& graph) {
  const auto n = static_cast<std::uint32_t>(graph.node_count());
  constexpr std::uint32_t kUnknown = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> roots(n, kUnknown);
  std::vector<std::uint32_t> position(n, 0);  // 1 + index on the current walk, 0 = not on it
  std::vector<std::uint32_t> walk;
  for (std::uint32_t start = 0; start < n; ++start) {
    walk.clear();
    std::uint32_t node = start;
    while (roots[node] == kUnknown && !graph.parents(node).empty() && position[node] == 0) {
      position[node] = static_cast<std::uint32_t>(walk.size()) + 1;
      walk.push_back(node);
      node = graph.parents(node).front();
    }
    std::uint32_t root = node;
    if (roots[node] != kUnknown) {
      root = roots[node];
    } else if (position[node] != 0) {
      root = *std::min_element(walk.begin() + position[node] - 1, walk.end());
    } else {
      roots[node] = node;
    }
    for (std::uint32_t visited : walk) {
      position[visited] = 0;
      roots[visited] = root;
    }
  }
  return roots;
}

// The concepts without a parent above each concept; a concept only on a cycle is its own group.
std::vector<std::vector<std::uint32_t>> top_level_ancestors(const HierarchyGraph& graph) {
  const auto n = static_cast<std::uint32_t>(graph.node_count());
  std::vector<std::vector<std::uint32_t>> tops(n);
  if (graph.max_parents() <= 1) {
    // With one parent each, the only top-level concept above a node is where its parents lead.
    const auto roots = first_parent_roots(graph);
    for (std::uint32_t node = 0; node < n; ++node) tops[node] = {graph.parents(roots[node]).empty() ? roots[node] : node};
    return tops;
  }
  AncestorFinder finder(graph);
  for (std::uint32_t node = 0; node < n; ++node) {
    if (graph.parents(node).empty()) {
      tops[node] = {node};
      continue;
    }
    for (std::uint32_t ancestor : finder.ancestors_of(node)) {
      if (graph.parents(ancestor).empty()) tops[node].push_back(ancestor);
    }
    std::sort(tops[node].begin(), tops[node].end());
    if (tops[node].empty()) tops[node] = {node};
  }
  return tops;
}

double ratio(std::uint64_t numerator, std::uint64_t denominator) {
  return denominator == 0 ? kNotAvailable : static_cast<double>(numerator) / static_cast<double>(denominator);
}

double f1_score(double precision, double recall) {
  if (std::isnan(precision) || std::isnan(recall)) return kNotAvailable;
  return precision + recall == 0 ? 0.0 : 2 * precision * recall / (precision + recall);
}

std::uint64_t common_count(std::vector<Pair>& predicted, std::vector<Pair>& truth) {
  std::sort(predicted.begin(), predicted.end());
  predicted.erase(std::unique(predicted.begin(), predicted.end()), predicted.end());
  std::sort(truth.begin(), truth.end());
  truth.erase(std::unique(truth.begin(), truth.end()), truth.end());
  std::vector<Pair> common;
  std::set_intersection(predicted.begin(), predicted.end(), truth.begin(), truth.end(), std::back_inserter(common));
  return common.size();
}

// Precision, recall and F1 of predicted pairs against true pairs.
void score_pairs(std::vector<Pair> predicted, std::vector<Pair> truth, double& precision, double& recall, double& f1) {
  const std::uint64_t common = common_count(predicted, truth);
  precision = ratio(common, predicted.size());
  recall = ratio(common, truth.size());
  f1 = f1_score(precision, recall);
}

// One taxonomy seen from the concepts both taxonomies hold ("items"): each item's node in it and
// all its ancestors, and every node's depth: 1 + the fewest links up to a node without parents,
// where nodes only reachable through a cycle start a level of their own, lowest index first.
struct ItemView {
  std::vector<std::uint32_t> node;                      // per item
  std::vector<std::vector<std::uint32_t>> ancestors;    // per item, every node above it
  std::vector<std::uint32_t> depth;                     // per node
};

ItemView item_view(const HierarchyGraph& graph, std::vector<std::uint32_t> item_nodes) {
  ItemView view{std::move(item_nodes), {}, {}};
  for (std::int64_t depth : graph.depths_rooting_cycles()) view.depth.push_back(static_cast<std::uint32_t>(depth + 1));
  AncestorFinder finder(graph);
  for (std::uint32_t node : view.node) {
    const auto above = finder.ancestors_of(node);
    view.ancestors.emplace_back(above.begin(), above.end());
  }
  return view;
}

// Velardi et al. (2013)'s cumulative Fowlkes-Mallows index: cutting each taxonomy at depth d
// gives one cluster per node of depth d (the items in its subtree, the node included); B_d is the
// Fowlkes-Mallows index of the two clusterings of the items (pairs in a common cluster in both /
// sqrt(pairs in a common cluster in each)), and the index their mean weighted by d, so that the
// deeper, finer levels count more. A depth where neither taxonomy puts two items together says
// nothing and is left out; one where only one does scores 0. NaN when no depth counts.
double cumulative_fowlkes_mallows(const ItemView& a, const ItemView& b) {
  const std::size_t items = a.node.size();
  std::uint32_t deepest = 0;
  for (const ItemView* view : {&a, &b})
    for (std::size_t item = 0; item < items; ++item) deepest = std::max(deepest, view->depth[view->node[item]]);
  const auto pairs = [](std::uint64_t count) { return count * (count - 1) / 2; };
  double weighted = 0, weights = 0;
  for (std::uint32_t d = 1; d <= deepest; ++d) {
    // The clusters of each item at this depth, in each taxonomy.
    const auto clusters_of = [&](const ItemView& view, std::size_t item) {
      std::vector<std::uint32_t> clusters;
      if (view.depth[view.node[item]] == d) clusters.push_back(view.node[item]);
      for (std::uint32_t ancestor : view.ancestors[item])
        if (view.depth[ancestor] == d) clusters.push_back(ancestor);
      return clusters;
    };
    std::map<std::uint32_t, std::uint64_t> size_a, size_b;
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint64_t> both;
    for (std::size_t item = 0; item < items; ++item) {
      const auto in_a = clusters_of(a, item), in_b = clusters_of(b, item);
      for (std::uint32_t c : in_a) ++size_a[c];
      for (std::uint32_t c : in_b) ++size_b[c];
      for (std::uint32_t ca : in_a)
        for (std::uint32_t cb : in_b) ++both[{ca, cb}];
    }
    std::uint64_t pairs_a = 0, pairs_b = 0, shared = 0;
    for (const auto& [cluster, size] : size_a) pairs_a += pairs(size);
    for (const auto& [cluster, size] : size_b) pairs_b += pairs(size);
    for (const auto& [clusters, size] : both) shared += pairs(size);
    if (pairs_a == 0 && pairs_b == 0) continue;
    const double index = pairs_a == 0 || pairs_b == 0 ? 0.0 : static_cast<double>(shared) / std::sqrt(static_cast<double>(pairs_a) * static_cast<double>(pairs_b));
    weighted += d * index;
    weights += d;
  }
  return weights == 0 ? kNotAvailable : weighted / weights;
}

// Dellschaft & Staab (2006)'s taxonomic precision and recall by common semantic cotopy: an item's
// cotopy in a taxonomy is the other items above or below it there; its local precision the share
// of its cotopy in `predicted` that is also its cotopy in `truth`, its local recall the reverse;
// the scores are their means over the items. An empty cotopy scores 1 where the other one is
// empty too (both leave the item alone), else 0, as Dellschaft & Staab's empty-cotopy rule.
// An item's local precision (or recall): the share of its `count` related items that are related in
// both taxonomies; an empty cotopy scores 1 when the other one is empty too, else 0.
double local_cotopy_score(std::uint64_t common, std::uint64_t count, std::uint64_t other_count) {
  return count == 0 ? (other_count == 0 ? 1.0 : 0.0) : static_cast<double>(common) / static_cast<double>(count);
}

void semantic_cotopy_scores(const ItemView& predicted, const ItemView& truth, double& precision, double& recall, double& f1) {
  const std::size_t items = predicted.node.size();
  if (items == 0) {
    precision = recall = f1 = kNotAvailable;
    return;
  }
  // Per item, the other items above or below it, ascending.
  const auto relations = [&](const ItemView& view) {
    std::vector<std::vector<std::uint32_t>> related(items);
    std::unordered_map<std::uint32_t, std::uint32_t> item_of_node;
    for (std::uint32_t item = 0; item < items; ++item) item_of_node.emplace(view.node[item], item);
    for (std::uint32_t item = 0; item < items; ++item)
      for (std::uint32_t ancestor : view.ancestors[item]) {
        const auto found = item_of_node.find(ancestor);
        if (found == item_of_node.end() || found->second == item) continue;
        related[item].push_back(found->second);
        related[found->second].push_back(item);
      }
    for (auto& list : related) {
      std::sort(list.begin(), list.end());
      list.erase(std::unique(list.begin(), list.end()), list.end());
    }
    return related;
  };
  const auto in_predicted = relations(predicted), in_truth = relations(truth);
  double precision_sum = 0, recall_sum = 0;
  std::vector<std::uint32_t> common;
  for (std::size_t i = 0; i < items; ++i) {
    common.clear();
    std::set_intersection(in_predicted[i].begin(), in_predicted[i].end(), in_truth[i].begin(), in_truth[i].end(), std::back_inserter(common));
    precision_sum += local_cotopy_score(common.size(), in_predicted[i].size(), in_truth[i].size());
    recall_sum += local_cotopy_score(common.size(), in_truth[i].size(), in_predicted[i].size());
  }
  precision = precision_sum / static_cast<double>(items);
  recall = recall_sum / static_cast<double>(items);
  f1 = f1_score(precision, recall);
}

// ---------------------------------------------------------------------------------------------
// The same scores for two forests (one parent per node, no cycles), in n log n: a chain as deep as
// it is long has quadratically many ancestor pairs, so they are counted, never listed.

bool is_forest(const HierarchyGraph& graph) {
  if (graph.max_parents() > 1) return false;
  const auto depths = graph.depths();
  return std::none_of(depths.begin(), depths.end(), [](std::int64_t depth) { return depth < 0; });
}

// A forest in pre-order: node order[p] at position p, its subtree at positions [enter, leave) so
// that a is d or above it exactly when enter[a] <= enter[d] < leave[a], and depth 1 at the top.
struct ForestWalk {
  std::vector<std::uint32_t> order;
  std::vector<std::uint32_t> enter, leave, depth;
};

ForestWalk walk_forest(const HierarchyGraph& forest) {
  const std::size_t n = forest.node_count();
  ForestWalk walk{{}, std::vector<std::uint32_t>(n), std::vector<std::uint32_t>(n), std::vector<std::uint32_t>(n)};
  walk.order.reserve(n);
  std::vector<std::pair<std::uint32_t, std::size_t>> stack;  // node, its next child
  const auto visit = [&](std::uint32_t node, std::uint32_t depth) {
    walk.enter[node] = static_cast<std::uint32_t>(walk.order.size());
    walk.depth[node] = depth;
    walk.order.push_back(node);
    stack.emplace_back(node, 0);
  };
  for (std::uint32_t root : forest.top_level()) {
    visit(root, 1);
    while (!stack.empty()) {
      const auto [node, next] = stack.back();
      const auto children = forest.children(node);
      if (next < children.size()) {
        ++stack.back().second;
        visit(children[next], walk.depth[node] + 1);
      } else {
        walk.leave[node] = static_cast<std::uint32_t>(walk.order.size());
        stack.pop_back();
      }
    }
  }
  return walk;
}

// Sums over positions: add at one, total over a range, in log time each.
class FenwickTree {
 public:
  explicit FenwickTree(std::size_t size) : tree_(size + 1, 0) {}
  void add(std::size_t position, std::int64_t delta) {
    for (std::size_t i = position + 1; i < tree_.size(); i += i & (~i + 1)) tree_[i] += delta;
  }
  // Over [begin, end).
  std::int64_t sum(std::size_t begin, std::size_t end) const { return prefix(end) - prefix(begin); }

 private:
  std::int64_t prefix(std::size_t end) const {
    std::int64_t total = 0;
    for (std::size_t i = end; i > 0; i -= i & (~i + 1)) total += tree_[i];
    return total;
  }
  std::vector<std::int64_t> tree_;
};

// Per item: how many items are above it and below it in one forest.
struct ItemAncestry {
  std::vector<std::uint64_t> above, below;
};

// Calls enter(item) for each item in pre-order and leave(item) once its subtree is done;
// item_of_node gives each node's item or -1.
template <class Enter, class Leave>
void walk_items(const ForestWalk& walk, const std::vector<std::int64_t>& item_of_node, Enter&& enter, Leave&& leave) {
  std::vector<std::uint32_t> open;  // items whose subtree is being walked, as their nodes
  for (std::uint32_t position = 0; position < walk.order.size(); ++position) {
    while (!open.empty() && walk.leave[open.back()] <= position) {
      leave(static_cast<std::size_t>(item_of_node[open.back()]));
      open.pop_back();
    }
    const std::uint32_t node = walk.order[position];
    if (item_of_node[node] < 0) continue;
    enter(static_cast<std::size_t>(item_of_node[node]));
    open.push_back(node);
  }
  for (auto node = open.rbegin(); node != open.rend(); ++node) leave(static_cast<std::size_t>(item_of_node[*node]));
}

ItemAncestry item_ancestry(const ForestWalk& walk, const std::vector<std::int64_t>& item_of_node, std::size_t items) {
  ItemAncestry ancestry{std::vector<std::uint64_t>(items), std::vector<std::uint64_t>(items)};
  std::vector<std::uint64_t> seen_before(items);
  std::uint64_t on_path = 0, seen = 0;
  walk_items(
      walk, item_of_node,
      [&](std::size_t item) {
        ancestry.above[item] = on_path++;
        seen_before[item] = seen++;
      },
      [&](std::size_t item) {
        --on_path;
        ancestry.below[item] = seen - seen_before[item] - 1;
      });
  return ancestry;
}

// For each item, the items related to it in both forests, by kind: above it in both, below it in
// both, above it in `predicted` and below it in `truth`, and the reverse. One walk of `predicted`
// keeps the items on its current path and those seen so far as marks on `truth`'s positions: an
// item's truth subtree is a range of them, and its truth ancestors are the items whose range holds it.
struct SharedAncestry {
  std::vector<std::uint64_t> above_both, below_both, above_below, below_above;
};

SharedAncestry shared_ancestry(const ForestWalk& predicted, const std::vector<std::int64_t>& predicted_item, const ForestWalk& truth,
                               const std::vector<std::uint32_t>& truth_node) {
  const std::size_t items = truth_node.size();
  SharedAncestry shared{std::vector<std::uint64_t>(items), std::vector<std::uint64_t>(items), std::vector<std::uint64_t>(items),
                        std::vector<std::uint64_t>(items)};
  const std::size_t positions = truth.order.size();
  // *_points: one mark at each item's truth position; *_ranges: one over each item's truth subtree
  // (as +1 at enter, -1 at leave, so the sum up to a position counts the ranges over it).
  FenwickTree path_points(positions), path_ranges(positions + 1), seen_points(positions), seen_ranges(positions + 1);
  std::vector<std::int64_t> seen_points_before(items), seen_ranges_before(items);
  const auto range = [&](std::size_t item) { return std::pair<std::size_t, std::size_t>{truth.enter[truth_node[item]], truth.leave[truth_node[item]]}; };
  const auto cover = [](FenwickTree& ranges, std::size_t begin, std::size_t end, std::int64_t delta) {
    ranges.add(begin, delta);
    ranges.add(end, -delta);
  };
  walk_items(
      predicted, predicted_item,
      [&](std::size_t item) {
        const auto [begin, end] = range(item);
        shared.above_both[item] = static_cast<std::uint64_t>(path_ranges.sum(0, begin + 1));
        shared.above_below[item] = static_cast<std::uint64_t>(path_points.sum(begin + 1, end));
        seen_points_before[item] = seen_points.sum(begin, end);
        seen_ranges_before[item] = seen_ranges.sum(0, begin + 1);
        path_points.add(begin, 1);
        cover(path_ranges, begin, end, 1);
        seen_points.add(begin, 1);
        cover(seen_ranges, begin, end, 1);
      },
      [&](std::size_t item) {
        const auto [begin, end] = range(item);
        path_points.add(begin, -1);
        cover(path_ranges, begin, end, -1);
        // What was seen while walking the item's predicted subtree, less the item itself.
        shared.below_both[item] = static_cast<std::uint64_t>(seen_points.sum(begin, end) - seen_points_before[item] - 1);
        shared.below_above[item] = static_cast<std::uint64_t>(seen_ranges.sum(0, begin + 1) - seen_ranges_before[item] - 1);
      });
  return shared;
}

// Ancestor precision, recall and F1, and the cotopy scores, of two forests over the same items.
void score_forest_ancestry(const ForestWalk& predicted, const std::vector<std::int64_t>& predicted_item, const ForestWalk& truth,
                           const std::vector<std::int64_t>& truth_item, const std::vector<std::uint32_t>& truth_node, TruthScores& scores) {
  const std::size_t items = truth_node.size();
  const ItemAncestry in_predicted = item_ancestry(predicted, predicted_item, items), in_truth = item_ancestry(truth, truth_item, items);
  const SharedAncestry shared = shared_ancestry(predicted, predicted_item, truth, truth_node);
  std::uint64_t predicted_pairs = 0, truth_pairs = 0, common_pairs = 0;
  for (std::size_t item = 0; item < items; ++item) {
    predicted_pairs += in_predicted.above[item];
    truth_pairs += in_truth.above[item];
    common_pairs += shared.above_both[item];
  }
  scores.ancestor_precision = ratio(common_pairs, predicted_pairs);
  scores.ancestor_recall = ratio(common_pairs, truth_pairs);
  scores.ancestor_f1 = f1_score(scores.ancestor_precision, scores.ancestor_recall);
  if (items == 0) {
    scores.taxonomic_precision = scores.taxonomic_recall = scores.taxonomic_f1 = kNotAvailable;
    return;
  }
  // In a forest what is above an item and what is below it never overlap, so the counts add up.
  double precision_sum = 0, recall_sum = 0;
  for (std::size_t item = 0; item < items; ++item) {
    const std::uint64_t predicted_count = in_predicted.above[item] + in_predicted.below[item];
    const std::uint64_t truth_count = in_truth.above[item] + in_truth.below[item];
    const std::uint64_t common = shared.above_both[item] + shared.below_both[item] + shared.above_below[item] + shared.below_above[item];
    precision_sum += local_cotopy_score(common, predicted_count, truth_count);
    recall_sum += local_cotopy_score(common, truth_count, predicted_count);
  }
  scores.taxonomic_precision = precision_sum / static_cast<double>(items);
  scores.taxonomic_recall = recall_sum / static_cast<double>(items);
  scores.taxonomic_f1 = f1_score(scores.taxonomic_precision, scores.taxonomic_recall);
}

// cumulative_fowlkes_mallows for two forests. An item is in one cluster per depth down to its own:
// the node above it (or itself) there. Pairs sharing a cluster in one forest come from each node's
// item count; pairs sharing one in both from the cells (cluster in a, cluster in b) of the items
// deep enough in both, kept from the deepest level up: the cells one level up are those of their
// parents, plus the items whose shallower depth is that level.
double forest_fowlkes_mallows(const HierarchyGraph& a, const ForestWalk& walk_a, const std::vector<std::uint32_t>& node_a,
                              const HierarchyGraph& b, const ForestWalk& walk_b, const std::vector<std::uint32_t>& node_b) {
  const std::size_t items = node_a.size();
  std::uint32_t deepest = 0;
  for (std::size_t item = 0; item < items; ++item) deepest = std::max({deepest, walk_a.depth[node_a[item]], walk_b.depth[node_b[item]]});
  const auto pairs = [](std::uint64_t count) { return count * (count - 1) / 2; };
  // Pairs of items sharing a cluster at each depth, in one forest.
  const auto pairs_per_depth = [&](const ForestWalk& walk, const std::vector<std::uint32_t>& nodes) {
    std::vector<std::uint64_t> items_before(walk.order.size() + 1, 0);  // items at positions before p
    for (std::uint32_t node : nodes) items_before[walk.enter[node] + 1] = 1;
    std::partial_sum(items_before.begin(), items_before.end(), items_before.begin());
    std::vector<std::uint64_t> per_depth(deepest + 1, 0);
    for (std::uint32_t node : walk.order) {
      if (walk.depth[node] > deepest) continue;
      per_depth[walk.depth[node]] += pairs(items_before[walk.leave[node]] - items_before[walk.enter[node]]);
    }
    return per_depth;
  };
  const auto pairs_a = pairs_per_depth(walk_a, node_a), pairs_b = pairs_per_depth(walk_b, node_b);
  // Each item's cluster at its shallower depth, in both forests: the node at that depth on its path.
  std::vector<std::uint32_t> shallower(items);
  for (std::size_t item = 0; item < items; ++item) shallower[item] = std::min(walk_a.depth[node_a[item]], walk_b.depth[node_b[item]]);
  const auto clusters_at_shallower = [&](const ForestWalk& walk, const std::vector<std::uint32_t>& nodes) {
    std::vector<std::int64_t> item_of_node(walk.order.size(), -1);
    for (std::size_t item = 0; item < items; ++item) item_of_node[nodes[item]] = static_cast<std::int64_t>(item);
    std::vector<std::uint32_t> clusters(items), path;
    for (std::uint32_t position = 0; position < walk.order.size(); ++position) {
      while (!path.empty() && walk.leave[path.back()] <= position) path.pop_back();
      const std::uint32_t node = walk.order[position];
      path.push_back(node);
      if (item_of_node[node] >= 0) clusters[static_cast<std::size_t>(item_of_node[node])] = path[shallower[static_cast<std::size_t>(item_of_node[node])] - 1];
    }
    return clusters;
  };
  const auto cluster_a = clusters_at_shallower(walk_a, node_a), cluster_b = clusters_at_shallower(walk_b, node_b);
  std::vector<std::vector<std::uint32_t>> joining(deepest + 1);  // items by their shallower depth
  for (std::size_t item = 0; item < items; ++item) joining[shallower[item]].push_back(static_cast<std::uint32_t>(item));

  std::vector<std::uint64_t> shared(deepest + 1, 0);
  std::vector<std::pair<Pair, std::uint64_t>> cells, merged;  // (cluster in a, cluster in b), items
  for (std::uint32_t d = deepest; d >= 1; --d) {
    for (auto& [cell, count] : cells) {
      cell = make_pair_key(a.parents(static_cast<std::uint32_t>(cell >> 32)).front(), b.parents(static_cast<std::uint32_t>(cell)).front());
    }
    for (std::uint32_t item : joining[d]) cells.emplace_back(make_pair_key(cluster_a[item], cluster_b[item]), 1);
    std::sort(cells.begin(), cells.end());
    merged.clear();
    for (const auto& [cell, count] : cells) {
      if (!merged.empty() && merged.back().first == cell) merged.back().second += count;
      else merged.emplace_back(cell, count);
    }
    cells.swap(merged);
    for (const auto& [cell, count] : cells) shared[d] += pairs(count);
  }
  double weighted = 0, weights = 0;
  for (std::uint32_t d = 1; d <= deepest; ++d) {
    if (pairs_a[d] == 0 && pairs_b[d] == 0) continue;
    const double index = pairs_a[d] == 0 || pairs_b[d] == 0 ? 0.0 : static_cast<double>(shared[d]) / std::sqrt(static_cast<double>(pairs_a[d]) * static_cast<double>(pairs_b[d]));
    weighted += d * index;
    weights += d;
  }
  return weights == 0 ? kNotAvailable : weighted / weights;
}

std::vector<Pair> undirected(std::vector<Pair> pairs) {
  for (Pair& pair : pairs) {
    const auto first = static_cast<std::uint32_t>(pair >> 32), second = static_cast<std::uint32_t>(pair);
    pair = make_pair_key(std::min(first, second), std::max(first, second));
  }
  return pairs;
}

std::vector<double> proxy_values(const Hierarchy& hierarchy, const ProxyEmbeddings& proxy, const std::vector<std::int64_t>& hierarchy_to_proxy,
                                 ProxyMetric metric) {
  std::vector<double> values;
  values.reserve(hierarchy.links.size());
  const std::size_t dim = proxy.dim;
  for (const auto& link : hierarchy.links) {
    const std::int64_t a = hierarchy_to_proxy[link.parent], b = hierarchy_to_proxy[link.child];
    if (a < 0 || b < 0) continue;
    const float* x = proxy.vectors.data() + static_cast<std::size_t>(a) * dim;
    const float* y = proxy.vectors.data() + static_cast<std::size_t>(b) * dim;
    double dot = 0, xx = 0, yy = 0, squared_distance = 0;
    for (std::size_t k = 0; k < dim; ++k) {
      dot += static_cast<double>(x[k]) * y[k];
      xx += static_cast<double>(x[k]) * x[k];
      yy += static_cast<double>(y[k]) * y[k];
      const double difference = static_cast<double>(x[k]) - y[k];
      squared_distance += difference * difference;
    }
    if (metric == ProxyMetric::L2) {
      values.push_back(std::sqrt(squared_distance));
    } else if (xx > 0 && yy > 0) {
      values.push_back(dot / std::sqrt(xx * yy));
    }
  }
  return values;
}

ProxyScore summarize(const std::vector<double>& values) {
  ProxyScore score;
  score.n = values.size();
  if (values.empty()) {
    score.mean = score.ci95 = kNotAvailable;
    return score;
  }
  double sum = 0;
  for (double value : values) sum += value;
  score.mean = sum / static_cast<double>(values.size());
  double squares = 0;
  for (double value : values) squares += (value - score.mean) * (value - score.mean);
  score.ci95 = 1.96 * std::sqrt(squares / static_cast<double>(values.size())) / std::sqrt(static_cast<double>(values.size()));
  return score;
}

// The truth scores in the order tables and JSON list them.
struct TruthMetric {
  const char* key;
  const char* display;
  double TruthScores::*field;
};

constexpr TruthMetric kTruthMetrics[] = {
    {"family_purity", "family purity", &TruthScores::family_purity},
    {"ancestor_precision", "ancestor precision", &TruthScores::ancestor_precision},
    {"ancestor_recall", "ancestor recall", &TruthScores::ancestor_recall},
    {"ancestor_f1", "ancestor F1", &TruthScores::ancestor_f1},
    {"parent_precision", "parent precision", &TruthScores::parent_precision},
    {"parent_recall", "parent recall", &TruthScores::parent_recall},
    {"parent_f1", "parent F1", &TruthScores::parent_f1},
    {"undirected_parent_precision", "undirected parent precision", &TruthScores::undirected_parent_precision},
    {"undirected_parent_recall", "undirected parent recall", &TruthScores::undirected_parent_recall},
    {"undirected_parent_f1", "undirected parent F1", &TruthScores::undirected_parent_f1},
    {"adjusted_rand_index", "adjusted Rand index (top level)", &TruthScores::adjusted_rand_index},
    {"cumulative_fowlkes_mallows", "cumulative Fowlkes-Mallows", &TruthScores::cumulative_fowlkes_mallows},
    {"taxonomic_precision", "taxonomic precision (cotopy)", &TruthScores::taxonomic_precision},
    {"taxonomic_recall", "taxonomic recall (cotopy)", &TruthScores::taxonomic_recall},
    {"taxonomic_f1", "taxonomic F1 (cotopy)", &TruthScores::taxonomic_f1},
};

// Mean of each score over the draws where it is defined.
TruthScores average(const std::vector<TruthScores>& draws) {
  TruthScores mean;
  auto field_mean = [&](double TruthScores::*field) {
    double sum = 0;
    std::size_t count = 0;
    for (const auto& draw : draws) {
      if (std::isnan(draw.*field)) continue;
      sum += draw.*field;
      ++count;
    }
    mean.*field = count == 0 ? kNotAvailable : sum / static_cast<double>(count);
  };
  for (const auto& metric : kTruthMetrics) field_mean(metric.field);
  return mean;
}

// JSON keys use underscores (random_top); tables show the method names of `conceptree hierarchy`.
std::string json_key(std::string method) {
  std::replace(method.begin(), method.end(), '-', '_');
  return method;
}

nlohmann::json number_or_null(double value) { return std::isnan(value) ? nlohmann::json(nullptr) : nlohmann::json(value); }

std::string format_number(double value) { return std::isnan(value) ? "n/a" : fmt::format("{:.3f}", value); }

// Seeded draws of a random baseline over the nodes of `like` (ids and labels kept).
std::vector<Hierarchy> random_baselines(const Hierarchy& like, HierarchyMethod method, const HierarchyOptions& settings, std::uint64_t draws) {
  // The random methods ignore the values; they only give the links a weight.
  SimilarityMatrix no_similarity;
  no_similarity.names.resize(like.nodes.size());
  no_similarity.values.assign(like.nodes.size() * like.nodes.size(), 0.0F);
  HierarchyOptions options = settings;
  options.method = method;
  std::vector<Hierarchy> baselines(draws);
  for (std::uint64_t draw = 0; draw < draws; ++draw) {
    options.seed = settings.seed + draw;
    baselines[draw].nodes = like.nodes;
    baselines[draw].links = extract_links(no_similarity, {}, options);
  }
  return baselines;
}

Hierarchy similarity_baseline(const SimilarityMatrix& similarity, const Hierarchy& labelled_by, HierarchyMethod method,
                              const HierarchyOptions& settings) {
  std::unordered_map<std::string, const HierarchyNode*> by_id;
  for (const auto& node : labelled_by.nodes) by_id.emplace(node.id, &node);
  Hierarchy baseline;
  baseline.nodes.resize(similarity.size());
  for (std::size_t i = 0; i < similarity.size(); ++i) {
    HierarchyNode& node = baseline.nodes[i];
    node.id = similarity.names[i];
    const auto known = by_id.find(node.id);
    node.label = known != by_id.end() ? known->second->label : node.id;
    node.type = similarity.types[i];
  }
  HierarchyOptions options = resolve_options(settings, similarity);
  options.method = method;
  baseline.links = extract_links(calibrate(similarity, options.calibration), {}, options);
  return baseline;
}

}  // namespace

Taxonomy read_taxonomy(const fs::path& path) {
  Taxonomy taxonomy;
  std::unordered_map<std::string, std::uint32_t> index;
  auto concept_index = [&](const std::string& name) {
    const auto [it, added] = index.emplace(name, static_cast<std::uint32_t>(taxonomy.concepts.size()));
    if (added) taxonomy.concepts.push_back(name);
    return it->second;
  };
  std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
  const auto is_header = [](const std::vector<std::string>& fields) {
    return fields.size() >= 2 && fields[0] == "child" && fields[1] == "parent";
  };
  for_each_tsv_line(
      path,
      [&](const TsvLine& line) {
        if (line.fields.size() < 2) throw InputError(line.where(), "expected child<TAB>parent");
        const std::string& child = line.fields[0];
        const std::string& parent = line.fields[1];
        if (child.empty()) throw InputError(line.where(), "empty child");
        check_name(child, line.where(), "concept name");
        check_name(parent, line.where(), "concept name");
        if (child == parent) throw InputError(line.where(), fmt::format("'{}' is its own parent", child));
        const std::uint32_t child_index = concept_index(child);
        if (parent.empty()) return;
        const std::pair<std::uint32_t, std::uint32_t> edge{child_index, concept_index(parent)};
        if (seen.insert(edge).second) taxonomy.child_parent.push_back(edge);
      },
      is_header);
  if (taxonomy.concepts.empty()) throw InputError(path.string(), "no concepts in the taxonomy");
  return taxonomy;
}

Taxonomy taxonomy_from_pairs(const std::vector<std::pair<std::string, std::string>>& child_parent, const std::string& name) {
  Taxonomy taxonomy;
  std::unordered_map<std::string, std::uint32_t> index;
  auto concept_index = [&](const std::string& concept_name) {
    const auto [it, added] = index.emplace(concept_name, static_cast<std::uint32_t>(taxonomy.concepts.size()));
    if (added) taxonomy.concepts.push_back(concept_name);
    return it->second;
  };
  std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
  for (std::size_t pair = 0; pair < child_parent.size(); ++pair) {
    const auto& [child, parent] = child_parent[pair];
    if (child.empty()) throw InputError(fmt::format("{}[{}]", name, pair), "empty child");
    check_name(child, fmt::format("{}[{}]", name, pair), "concept name");
    check_name(parent, fmt::format("{}[{}]", name, pair), "concept name");
    if (child == parent) throw InputError(fmt::format("{}[{}]", name, pair), fmt::format("'{}' is its own parent", child));
    const std::uint32_t child_index = concept_index(child);
    if (parent.empty()) continue;
    const std::pair<std::uint32_t, std::uint32_t> edge{child_index, concept_index(parent)};
    if (seen.insert(edge).second) taxonomy.child_parent.push_back(edge);
  }
  if (taxonomy.concepts.empty()) throw InputError(name, "no concepts in the taxonomy");
  return taxonomy;
}

std::vector<std::uint32_t> top_level_ancestor(const Taxonomy& taxonomy) {
  std::vector<std::uint32_t> tops;
  for (const auto& concept_tops : top_level_ancestors(taxonomy_graph(taxonomy))) tops.push_back(concept_tops.front());
  return tops;
}

std::vector<std::int64_t> match_nodes(const Hierarchy& hierarchy, const std::vector<std::string>& names) {
  std::unordered_map<std::string, std::uint32_t> index;
  for (std::uint32_t i = 0; i < names.size(); ++i) index.emplace(names[i], i);
  std::vector<std::int64_t> matched(hierarchy.nodes.size(), -1);
  std::vector<bool> taken(names.size(), false);
  // Ids first, so a label never takes a name that is some other node's id.
  for (std::size_t i = 0; i < hierarchy.nodes.size(); ++i) {
    const auto found = index.find(hierarchy.nodes[i].id);
    if (found == index.end() || taken[found->second]) continue;
    matched[i] = found->second;
    taken[found->second] = true;
  }
  for (std::size_t i = 0; i < hierarchy.nodes.size(); ++i) {
    if (matched[i] >= 0) continue;
    const auto found = index.find(hierarchy.nodes[i].label);
    if (found == index.end() || taken[found->second]) continue;
    matched[i] = found->second;
    taken[found->second] = true;
  }
  return matched;
}

double adjusted_rand_index(const std::vector<std::uint32_t>& labels_a, const std::vector<std::uint32_t>& labels_b) {
  if (labels_a.size() != labels_b.size()) throw FatalError("adjusted_rand_index: labelings of different lengths");
  auto pairs = [](double count) { return count * (count - 1) / 2; };
  std::map<std::pair<std::uint32_t, std::uint32_t>, double> contingency;
  std::map<std::uint32_t, double> rows, columns;
  for (std::size_t i = 0; i < labels_a.size(); ++i) {
    contingency[{labels_a[i], labels_b[i]}] += 1;
    rows[labels_a[i]] += 1;
    columns[labels_b[i]] += 1;
  }
  double index = 0, row_pairs = 0, column_pairs = 0;
  for (const auto& [cell, count] : contingency) index += pairs(count);
  for (const auto& [label, count] : rows) row_pairs += pairs(count);
  for (const auto& [label, count] : columns) column_pairs += pairs(count);
  const double total_pairs = pairs(static_cast<double>(labels_a.size()));
  if (total_pairs == 0) return 1.0;
  const double expected = row_pairs * column_pairs / total_pairs;
  const double maximum = (row_pairs + column_pairs) / 2;
  if (maximum == expected) return 1.0;
  return (index - expected) / (maximum - expected);
}

TruthScores score_against_truth(const Hierarchy& hierarchy, const Taxonomy& truth, const std::vector<std::int64_t>& hierarchy_to_truth) {
  const auto node_count = static_cast<std::uint32_t>(hierarchy.nodes.size());
  std::vector<std::int64_t> truth_to_node(truth.concepts.size(), -1);
  std::vector<std::uint32_t> matched;
  for (std::uint32_t i = 0; i < node_count; ++i) {
    if (hierarchy_to_truth[i] < 0) continue;
    truth_to_node[static_cast<std::size_t>(hierarchy_to_truth[i])] = i;
    matched.push_back(i);
  }
  const HierarchyGraph truth_graph = taxonomy_graph(truth), predicted_graph(hierarchy);
  const auto truth_tops = top_level_ancestors(truth_graph);

  TruthScores scores;
  std::uint64_t same_family = 0, linked = 0;
  std::vector<Pair> predicted_edges, truth_edges;
  for (const auto& link : hierarchy.links) {
    const std::int64_t parent = hierarchy_to_truth[link.parent], child = hierarchy_to_truth[link.child];
    if (parent < 0 || child < 0) continue;
    ++linked;
    const auto& a = truth_tops[static_cast<std::size_t>(parent)];
    const auto& b = truth_tops[static_cast<std::size_t>(child)];
    std::vector<std::uint32_t> shared;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(shared));
    same_family += !shared.empty();
    predicted_edges.push_back(make_pair_key(link.parent, link.child));
  }
  for (const auto& [child, parent] : truth.child_parent) {
    const std::int64_t child_node = truth_to_node[child], parent_node = truth_to_node[parent];
    if (child_node >= 0 && parent_node >= 0) {
      truth_edges.push_back(make_pair_key(static_cast<std::uint32_t>(parent_node), static_cast<std::uint32_t>(child_node)));
    }
  }
  scores.family_purity = ratio(same_family, linked);
  score_pairs(predicted_edges, truth_edges, scores.parent_precision, scores.parent_recall, scores.parent_f1);
  score_pairs(undirected(predicted_edges), undirected(truth_edges), scores.undirected_parent_precision, scores.undirected_parent_recall,
              scores.undirected_parent_f1);

  std::vector<std::uint32_t> truth_items;
  for (std::uint32_t node : matched) truth_items.push_back(static_cast<std::uint32_t>(hierarchy_to_truth[node]));
  if (is_forest(predicted_graph) && is_forest(truth_graph)) {
    const ForestWalk predicted_walk = walk_forest(predicted_graph), truth_walk = walk_forest(truth_graph);
    std::vector<std::int64_t> predicted_item(node_count, -1), truth_item(truth.concepts.size(), -1);
    for (std::size_t item = 0; item < matched.size(); ++item) {
      predicted_item[matched[item]] = static_cast<std::int64_t>(item);
      truth_item[truth_items[item]] = static_cast<std::int64_t>(item);
    }
    score_forest_ancestry(predicted_walk, predicted_item, truth_walk, truth_item, truth_items, scores);
    scores.cumulative_fowlkes_mallows = forest_fowlkes_mallows(predicted_graph, predicted_walk, matched, truth_graph, truth_walk, truth_items);
  } else {
    // A DAG or a graph with cycles: every ancestor pair, listed.
    std::vector<Pair> predicted_ancestry, truth_ancestry;
    AncestorFinder predicted_ancestors(predicted_graph), truth_ancestors(truth_graph);
    for (std::uint32_t node : matched) {
      for (std::uint32_t ancestor : predicted_ancestors.ancestors_of(node)) {
        if (ancestor != node && hierarchy_to_truth[ancestor] >= 0) predicted_ancestry.push_back(make_pair_key(ancestor, node));
      }
      for (std::uint32_t ancestor : truth_ancestors.ancestors_of(static_cast<std::uint32_t>(hierarchy_to_truth[node]))) {
        const std::int64_t ancestor_node = truth_to_node[ancestor];
        if (ancestor_node >= 0 && ancestor_node != node) truth_ancestry.push_back(make_pair_key(static_cast<std::uint32_t>(ancestor_node), node));
      }
    }
    score_pairs(std::move(predicted_ancestry), std::move(truth_ancestry), scores.ancestor_precision, scores.ancestor_recall, scores.ancestor_f1);
    const ItemView predicted_view = item_view(predicted_graph, matched), truth_view = item_view(truth_graph, truth_items);
    scores.cumulative_fowlkes_mallows = cumulative_fowlkes_mallows(predicted_view, truth_view);
    semantic_cotopy_scores(predicted_view, truth_view, scores.taxonomic_precision, scores.taxonomic_recall, scores.taxonomic_f1);
  }

  const auto predicted_roots = first_parent_roots(predicted_graph);
  std::vector<std::uint32_t> truth_groups, predicted_groups;
  for (std::uint32_t node : matched) {
    truth_groups.push_back(truth_tops[static_cast<std::size_t>(hierarchy_to_truth[node])].front());
    predicted_groups.push_back(predicted_roots[node]);
  }
  scores.adjusted_rand_index = matched.empty() ? kNotAvailable : adjusted_rand_index(truth_groups, predicted_groups);
  return scores;
}

ProxyEmbeddings read_proxy_embeddings(const fs::path& vectors_path, const fs::path& ids_path, const Context& context) {
  const NpyReader reader(vectors_path);
  if (reader.header().shape.size() != 2) {
    throw InputError(vectors_path.string(), fmt::format("expected a 2-d array (concepts x dim), found {} dimensions", reader.header().shape.size()));
  }
  const std::vector<std::string> ids = read_text_list(ids_path);
  // A list holds no blank line before its last entry, so entry i is on line i + 1.
  for (std::size_t row = 0; row < ids.size(); ++row) check_name(ids[row], fmt::format("{}:{}", ids_path.string(), row + 1), "concept id");
  if (ids.size() != reader.rows()) {
    throw InputError(ids_path.string(), fmt::format("{} ids for the {} rows of {}", ids.size(), reader.rows(), vectors_path.string()));
  }
  const std::vector<float> all = reader.read_all_as_float();
  ProxyEmbeddings proxy;
  proxy.dim = reader.row_size();
  std::unordered_set<std::string> seen;
  std::size_t not_finite = 0, repeated = 0;
  for (std::size_t row = 0; row < ids.size(); ++row) {
    const float* vector = all.data() + row * proxy.dim;
    if (!std::all_of(vector, vector + proxy.dim, [](float x) { return std::isfinite(x); })) {
      ++not_finite;
      continue;
    }
    if (!seen.insert(ids[row]).second) {
      ++repeated;
      continue;
    }
    proxy.ids.push_back(ids[row]);
    proxy.vectors.insert(proxy.vectors.end(), vector, vector + proxy.dim);
  }
  if (not_finite > 0) context.warning(fmt::format("{}: {} row{} with NaN or Inf left out", vectors_path.string(), not_finite, not_finite == 1 ? "" : "s"));
  if (repeated > 0) context.warning(fmt::format("{}: {} repeated id{}; the first row of each is used", ids_path.string(), repeated, repeated == 1 ? "" : "s"));
  return proxy;
}

ProxyScore score_proxy(const Hierarchy& hierarchy, const ProxyEmbeddings& proxy, const std::vector<std::int64_t>& hierarchy_to_proxy,
                       ProxyMetric metric) {
  return summarize(proxy_values(hierarchy, proxy, hierarchy_to_proxy, metric));
}

std::string evaluation_json(const Evaluation& evaluation) {
  nlohmann::ordered_json out;
  out["hierarchy"] = evaluation.hierarchy_file;
  out["concepts"] = evaluation.concepts;
  out["links"] = evaluation.links;
  auto truth_object = [](const TruthScores& scores) {
    nlohmann::ordered_json object;
    for (const auto& metric : kTruthMetrics) object[metric.key] = number_or_null(scores.*metric.field);
    return object;
  };
  if (evaluation.truth) {
    const TruthEvaluation& truth = *evaluation.truth;
    nlohmann::ordered_json object;
    object["file"] = truth.file;
    object["truth_concepts"] = truth.truth_concepts;
    object["matched"] = truth.matched;
    object["unmatched"] = truth.unmatched;
    for (const auto& [method, scores] : truth.methods) {
      if (method == "hierarchy") {
        object.update(truth_object(scores));
      } else {
        object["baselines"][json_key(method)] = truth_object(scores);
      }
    }
    out["truth"] = object;
  }
  if (evaluation.proxy) {
    const ProxyEvaluation& proxy = *evaluation.proxy;
    nlohmann::ordered_json object;
    object["file"] = proxy.file;
    object["metric"] = choice_name(proxy.metric);
    object["lower_is_better"] = proxy.metric == ProxyMetric::L2;
    object["proxy_vectors"] = proxy.proxy_vectors;
    object["concepts_with_vector"] = proxy.concepts_with_vector;
    object["unknown_ids"] = proxy.unknown_ids;
    for (const auto& [method, score] : proxy.methods) {
      object[json_key(method)] = {{"mean", number_or_null(score.mean)}, {"ci95", number_or_null(score.ci95)}, {"n", score.n}};
    }
    out["proxy"] = object;
  }
  return out.dump(2) + "\n";
}

std::string format_evaluation_table(const Evaluation& evaluation) {
  std::string out = fmt::format("hierarchy {}: {} concepts, {} links\n", evaluation.hierarchy_file, evaluation.concepts, evaluation.links);
  if (evaluation.truth) {
    const TruthEvaluation& truth = *evaluation.truth;
    out += fmt::format("\ntruth {}: {} of {} truth concepts are in the hierarchy\n", truth.file, truth.matched, truth.truth_concepts);
    std::size_t label_width = 0;
    for (const auto& metric : kTruthMetrics) label_width = std::max(label_width, std::string_view(metric.display).size());
    out += fmt::format("  {:<{}}", "", label_width);
    for (const auto& [method, scores] : truth.methods) out += fmt::format("  {:>10}", method);
    out += "\n";
    for (const auto& metric : kTruthMetrics) {
      out += fmt::format("  {:<{}}", metric.display, label_width);
      for (const auto& [method, scores] : truth.methods) out += fmt::format("  {:>10}", format_number(scores.*metric.field));
      out += "\n";
    }
  }
  if (evaluation.proxy) {
    const ProxyEvaluation& proxy = *evaluation.proxy;
    out += fmt::format("\nproxy {} ({}, {} is better): {} of {} concepts have a vector\n", proxy.file,
                       proxy.metric == ProxyMetric::L2 ? "L2 distance" : "cosine similarity", proxy.metric == ProxyMetric::L2 ? "lower" : "higher",
                       proxy.concepts_with_vector, evaluation.concepts);
    out += fmt::format("  {:<12}  {:>7}  {:>7}  {:>7}\n", "", "mean", "±95%", "links");
    for (const auto& [method, score] : proxy.methods) {
      out += fmt::format("  {:<12}  {:>7}  {:>7}  {:>7}\n", method, format_number(score.mean), format_number(score.ci95), score.n);
    }
  }
  return out;
}

HierarchyEvaluator::HierarchyEvaluator(EvaluateConfig config, const Context& context) : config_(std::move(config)), context_(context) {}

namespace {
std::string name_or(const std::string& name, const char* fallback) { return name.empty() ? fallback : name; }
}  // namespace

Evaluation evaluate_hierarchy(const Hierarchy& hierarchy, const EvaluationReferences& references, const EvaluateConfig& config,
                              const Context& context) {
  EvaluateConfig checked = config;
  visit_except(checked, {"hierarchy"}, ParamValidator{});
  if (!references.truth && !references.proxy) throw FatalError("nothing to evaluate against: give a truth taxonomy and/or proxy embeddings");
  const std::string hierarchy_name = name_or(config.hierarchy, "the hierarchy");
  Evaluation evaluation;
  evaluation.hierarchy_file = config.hierarchy;
  evaluation.concepts = hierarchy.nodes.size();
  evaluation.links = hierarchy.links.size();

  // What is scored: the hierarchy itself, then each baseline's draws (held in `baselines`).
  std::deque<Hierarchy> baselines;
  std::vector<std::pair<std::string, std::vector<const Hierarchy*>>> candidates;
  candidates.emplace_back("hierarchy", std::vector<const Hierarchy*>{&hierarchy});
  const auto add_baseline = [&](std::string_view method, std::vector<Hierarchy> draws) {
    std::vector<const Hierarchy*> held;
    for (Hierarchy& draw : draws) held.push_back(&baselines.emplace_back(std::move(draw)));
    candidates.emplace_back(std::string(method), std::move(held));
  };
  if (references.similarity) {
    for (HierarchyMethod method : {HierarchyMethod::Top1, HierarchyMethod::Threshold, HierarchyMethod::Matching}) {
      add_baseline(choice_name(method), {similarity_baseline(*references.similarity, hierarchy, method, config.baseline_options)});
    }
  }
  if (config.baselines || references.similarity) {
    for (HierarchyMethod method : {HierarchyMethod::RandomTop, HierarchyMethod::RandomSim}) {
      add_baseline(choice_name(method), random_baselines(hierarchy, method, config.baseline_options, config.random_draws));
    }
  }
  // The hierarchy's own matches are made once: on a large one they cost as much as the scoring.
  const auto matches = [&](const Hierarchy& draw, const std::vector<std::string>& names, const std::vector<std::int64_t>& of_hierarchy) {
    return &draw == &hierarchy ? of_hierarchy : match_nodes(draw, names);
  };

  if (references.truth) {
    const Taxonomy& taxonomy = *references.truth;
    TruthEvaluation truth;
    truth.file = config.truth;
    truth.truth_concepts = taxonomy.concepts.size();
    const auto hierarchy_to_truth = match_nodes(hierarchy, taxonomy.concepts);
    std::vector<bool> found(taxonomy.concepts.size(), false);
    for (std::int64_t t : hierarchy_to_truth) {
      if (t >= 0) found[static_cast<std::size_t>(t)] = true;
    }
    for (std::size_t t = 0; t < found.size(); ++t) {
      if (found[t]) {
        ++truth.matched;
      } else {
        truth.unmatched.push_back(taxonomy.concepts[t]);
      }
    }
    if (!truth.unmatched.empty()) {
      context.warning(fmt::format("{}: {} of {} truth concepts are not in {} (e.g. '{}'); scored over the {} that are", name_or(config.truth, "truth"),
                                  truth.unmatched.size(), truth.truth_concepts, hierarchy_name, truth.unmatched.front(), truth.matched));
    }
    for (const auto& [method, draws] : candidates) {
      std::vector<TruthScores> scores;
      for (const Hierarchy* draw : draws) scores.push_back(score_against_truth(*draw, taxonomy, matches(*draw, taxonomy.concepts, hierarchy_to_truth)));
      truth.methods.emplace_back(method, average(scores));
    }
    evaluation.truth = std::move(truth);
  }

  if (references.proxy) {
    const ProxyEmbeddings& proxy_embeddings = *references.proxy;
    ProxyEvaluation proxy;
    proxy.file = config.proxy;
    proxy.metric = config.metric;
    proxy.proxy_vectors = proxy_embeddings.ids.size();
    const auto hierarchy_to_proxy = match_nodes(hierarchy, proxy_embeddings.ids);
    proxy.concepts_with_vector = static_cast<std::uint64_t>(std::count_if(hierarchy_to_proxy.begin(), hierarchy_to_proxy.end(), [](std::int64_t p) { return p >= 0; }));
    proxy.unknown_ids = proxy.proxy_vectors - proxy.concepts_with_vector;
    if (proxy.concepts_with_vector == 0) {
      context.warning(fmt::format("{}: none of its ids is a concept of {}", name_or(config.proxy_ids, "proxy ids"), hierarchy_name));
    }
    for (const auto& [method, draws] : candidates) {
      std::vector<double> pooled;
      for (const Hierarchy* draw : draws) {
        const auto values = proxy_values(*draw, proxy_embeddings, matches(*draw, proxy_embeddings.ids, hierarchy_to_proxy), config.metric);
        pooled.insert(pooled.end(), values.begin(), values.end());
      }
      proxy.methods.emplace_back(method, summarize(pooled));
    }
    evaluation.proxy = std::move(proxy);
  }
  return evaluation;
}

void HierarchyEvaluator::run() {
  validate(config_);
  if (config_.proxy.empty() != config_.proxy_ids.empty()) throw FatalError("--proxy and --proxy-ids go together");
  if (config_.truth.empty() && config_.proxy.empty()) {
    throw FatalError("nothing to evaluate against: give --truth taxonomy.tsv and/or --proxy emb.npy --proxy-ids ids.txt");
  }
  if (!config_.output.empty()) refuse_to_overwrite(config_.output, config_.overwrite);
  try {
    const Hierarchy hierarchy = read_hierarchy_json(config_.hierarchy);
    std::optional<SimilarityMatrix> similarity;
    std::optional<Taxonomy> truth;
    std::optional<ProxyEmbeddings> proxy;
    if (!config_.similarity.empty()) similarity = read_similarity(config_.similarity);
    if (!config_.truth.empty()) truth = read_taxonomy(config_.truth);
    if (!config_.proxy.empty()) proxy = read_proxy_embeddings(config_.proxy, config_.proxy_ids, context_);
    evaluation_ = evaluate_hierarchy(hierarchy,
                                     {.truth = truth ? &*truth : nullptr, .proxy = proxy ? &*proxy : nullptr,
                                      .similarity = similarity ? &*similarity : nullptr},
                                     config_, context_);
  } catch (const InputError& error) {
    throw FatalError(error.what());
  }
  if (!config_.output.empty()) write_file_atomically(config_.output, evaluation_json(evaluation_));
}

}  // namespace conceptree
