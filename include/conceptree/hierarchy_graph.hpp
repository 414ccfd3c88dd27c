#pragma once
// The adjacency of a hierarchy, built once for everything that walks it: each node's parents and
// children, the top level, depths, a breadth-first order and ancestors.
//   HierarchyGraph graph(hierarchy);               // or (node count, parent -> child edges)
//   graph.children(node);  graph.depths();
//   AncestorFinder finder(graph);
//   for (auto ancestor : finder.ancestors_of(node)) ...
//
// Edges go parent -> child. The graph may be a DAG or hold cycles (the baselines' hierarchies, a
// hand-written taxonomy). Every walk is iterative and linear in what it visits: hierarchies come
// from files, and a chain as deep as it is long must not exhaust the stack.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace conceptree {

struct Hierarchy;

class HierarchyGraph {
 public:
  using Node = std::uint32_t;
  struct Edge {
    Node parent = 0;
    Node child = 0;
  };

  // Both throw FatalError when an edge names a node outside [0, node_count).
  HierarchyGraph(std::size_t node_count, std::span<const Edge> edges);
  // The hierarchy's nodes; link i is edge i.
  explicit HierarchyGraph(const Hierarchy& hierarchy);

  std::size_t node_count() const { return up_.offsets.size() - 1; }
  // Both in the order of the edges, repeated edges repeated.
  std::span<const Node> parents(Node node) const { return up_.neighbours_of(node); }
  std::span<const Node> children(Node node) const { return down_.neighbours_of(node); }
  // The edge behind each of parents(node), in the same order.
  std::span<const std::size_t> parent_edges(Node node) const {
    return std::span<const std::size_t>(parent_edges_).subspan(up_.offsets[node], up_.offsets[node + 1] - up_.offsets[node]);
  }

  // The nodes without a parent, ascending.
  std::vector<Node> top_level() const;
  std::size_t max_parents() const;
  // The nodes the top level reaches, each once: the top level ascending, then level by level,
  // each node's children in edge order.
  std::vector<Node> breadth_first_order() const;
  // Links from the nearest top-level node; -1 for a node none reaches (one that hangs only below a cycle).
  std::vector<std::int64_t> depths() const;
  // As depths(), but each node the top level does not reach, lowest index first, is given depth 0
  // and spreads depths below it as a top-level node would.
  std::vector<std::int64_t> depths_rooting_cycles() const;

 private:
  // One direction in compressed rows: node v's neighbours are neighbours[offsets[v], offsets[v + 1]).
  struct Rows {
    std::vector<std::size_t> offsets;
    std::vector<Node> neighbours;

    std::span<const Node> neighbours_of(Node node) const {
      return std::span<const Node>(neighbours).subspan(offsets[node], offsets[node + 1] - offsets[node]);
    }
  };

  template <class EdgeAt>
  void build(std::size_t node_count, std::size_t edge_count, EdgeAt edge_at);
  // Breadth-first from order[from, end) (already at their depth) into the nodes still at depth -1,
  // appending them to `order`.
  void spread(std::vector<Node>& order, std::size_t from, std::vector<std::int64_t>& depth) const;
  // breadth_first_order(), with every node's depth as depths() gives it.
  std::vector<Node> walk_down_from_top(std::vector<std::int64_t>& depth) const;

  Rows up_;    // parents
  Rows down_;  // children
  std::vector<std::size_t> parent_edges_;  // beside up_.neighbours
};

// The ancestors of one node after another. Its marks are kept from walk to walk, so a walk costs
// only the part of the graph above its node, not a pass over all nodes.
class AncestorFinder {
 public:
  // `graph` must outlive the object.
  explicit AncestorFinder(const HierarchyGraph& graph);
  // Every node reachable upwards from `node`, without `node` itself even on a cycle through it,
  // depth first with each node's parents in edge order; valid until the next call.
  std::span<const HierarchyGraph::Node> ancestors_of(HierarchyGraph::Node node);

 private:
  const HierarchyGraph& graph_;
  std::vector<std::uint32_t> visited_in_;  // the walk that last reached each node; 0 = none
  std::uint32_t walk_ = 0;
  std::vector<HierarchyGraph::Node> found_;
  std::vector<HierarchyGraph::Node> stack_;
};

}  // namespace conceptree
