#include "conceptree/hierarchy_graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "conceptree/error.hpp"
#include "conceptree/hierarchy.hpp"

namespace conceptree {

HierarchyGraph::HierarchyGraph(std::size_t node_count, std::span<const Edge> edges) {
  build(node_count, edges.size(), [edges](std::size_t e) { return edges[e]; });
}

HierarchyGraph::HierarchyGraph(const Hierarchy& hierarchy) {
  const auto& links = hierarchy.links;
  build(hierarchy.nodes.size(), links.size(), [&links](std::size_t e) { return Edge{links[e].parent, links[e].child}; });
}

// Two passes over the edges (count, then place) give both directions in edge order without
// sorting or a list per node.
template <class EdgeAt>
void HierarchyGraph::build(std::size_t node_count, std::size_t edge_count, EdgeAt edge_at) {
  // Node indices stay below the largest Node, so a loop over them cannot wrap.
  if (node_count > std::numeric_limits<Node>::max()) throw FatalError(fmt::format("a hierarchy of {} nodes is too large", node_count));
  up_.offsets.assign(node_count + 1, 0);
  down_.offsets.assign(node_count + 1, 0);
  for (std::size_t e = 0; e < edge_count; ++e) {
    const Edge edge = edge_at(e);
    if (edge.parent >= node_count || edge.child >= node_count) {
      throw FatalError(fmt::format("hierarchy link {} ({} -> {}) names a node outside its {} nodes", e, edge.parent, edge.child, node_count));
    }
    ++up_.offsets[edge.child + 1];
    ++down_.offsets[edge.parent + 1];
  }
  std::partial_sum(up_.offsets.begin(), up_.offsets.end(), up_.offsets.begin());
  std::partial_sum(down_.offsets.begin(), down_.offsets.end(), down_.offsets.begin());
  up_.neighbours.resize(edge_count);
  down_.neighbours.resize(edge_count);
  parent_edges_.resize(edge_count);
  std::vector<std::size_t> next_up(up_.offsets.begin(), up_.offsets.end() - 1);
  std::vector<std::size_t> next_down(down_.offsets.begin(), down_.offsets.end() - 1);
  for (std::size_t e = 0; e < edge_count; ++e) {
    const Edge edge = edge_at(e);
    const std::size_t slot = next_up[edge.child]++;
    up_.neighbours[slot] = edge.parent;
    parent_edges_[slot] = e;
    down_.neighbours[next_down[edge.parent]++] = edge.child;
  }
}

std::vector<HierarchyGraph::Node> HierarchyGraph::top_level() const {
  std::vector<Node> top;
  for (Node node = 0; node < node_count(); ++node) {
    if (parents(node).empty()) top.push_back(node);
  }
  return top;
}

std::size_t HierarchyGraph::max_parents() const {
  std::size_t most = 0;
  for (Node node = 0; node < node_count(); ++node) most = std::max(most, parents(node).size());
  return most;
}

void HierarchyGraph::spread(std::vector<Node>& order, std::size_t from, std::vector<std::int64_t>& depth) const {
  for (std::size_t head = from; head < order.size(); ++head) {
    const Node node = order[head];
    for (Node child : children(node)) {
      if (depth[child] >= 0) continue;
      depth[child] = depth[node] + 1;
      order.push_back(child);
    }
  }
}

std::vector<HierarchyGraph::Node> HierarchyGraph::walk_down_from_top(std::vector<std::int64_t>& depth) const {
  depth.assign(node_count(), -1);
  std::vector<Node> order = top_level();
  for (Node node : order) depth[node] = 0;
  spread(order, 0, depth);
  return order;
}

std::vector<HierarchyGraph::Node> HierarchyGraph::breadth_first_order() const {
  std::vector<std::int64_t> depth;
  return walk_down_from_top(depth);
}

std::vector<std::int64_t> HierarchyGraph::depths() const {
  std::vector<std::int64_t> depth;
  walk_down_from_top(depth);
  return depth;
}

std::vector<std::int64_t> HierarchyGraph::depths_rooting_cycles() const {
  std::vector<std::int64_t> depth;
  std::vector<Node> order = walk_down_from_top(depth);
  for (Node node = 0; node < node_count(); ++node) {
    if (depth[node] >= 0) continue;
    depth[node] = 0;
    const std::size_t from = order.size();
    order.push_back(node);
    spread(order, from, depth);
  }
  return depth;
}

AncestorFinder::AncestorFinder(const HierarchyGraph& graph) : graph_(graph), visited_in_(graph.node_count(), 0) {}

std::span<const HierarchyGraph::Node> AncestorFinder::ancestors_of(HierarchyGraph::Node node) {
  if (++walk_ == 0) {
    // The walk counter wrapped around: old marks would read as this walk's.
    std::fill(visited_in_.begin(), visited_in_.end(), 0);
    walk_ = 1;
  }
  found_.clear();
  stack_.assign(1, node);
  visited_in_[node] = walk_;
  while (!stack_.empty()) {
    const HierarchyGraph::Node current = stack_.back();
    stack_.pop_back();
    for (HierarchyGraph::Node parent : graph_.parents(current)) {
      if (visited_in_[parent] == walk_) continue;
      visited_in_[parent] = walk_;
      found_.push_back(parent);
      stack_.push_back(parent);
    }
  }
  return found_;
}

}  // namespace conceptree
