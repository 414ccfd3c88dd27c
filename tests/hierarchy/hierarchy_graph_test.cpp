// HierarchyGraph and AncestorFinder: adjacency in edge order, top level, depths, breadth-first
// order and ancestors on a DAG, graphs with cycles, a forest, and a chain a million links deep.

#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "conceptree/error.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/hierarchy_graph.hpp"

namespace conceptree {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using Node = HierarchyGraph::Node;
using Edge = HierarchyGraph::Edge;

std::vector<Node> listed(std::span<const Node> nodes) { return {nodes.begin(), nodes.end()}; }

// 0 and 1 at the top; 2 under both; 3 under 2 and (further up) 0; 4 under 3.
const std::vector<Edge> kDag = {{0, 2}, {2, 3}, {1, 2}, {3, 4}, {0, 3}};

TEST(HierarchyGraph, KeepsParentsAndChildrenInEdgeOrder) {
  const HierarchyGraph graph(5, kDag);
  ASSERT_EQ(graph.node_count(), 5u);
  EXPECT_THAT(listed(graph.parents(2)), ElementsAre(0, 1));
  EXPECT_THAT(listed(graph.parents(3)), ElementsAre(2, 0));
  EXPECT_THAT(listed(graph.parents(0)), IsEmpty());
  EXPECT_THAT(listed(graph.children(0)), ElementsAre(2, 3));
  EXPECT_THAT(listed(graph.children(4)), IsEmpty());
  const auto edges = graph.parent_edges(3);
  EXPECT_THAT(std::vector<std::size_t>(edges.begin(), edges.end()), ElementsAre(1, 4)) << "the edges behind parents(3)";
  EXPECT_EQ(graph.max_parents(), 2u);
}

TEST(HierarchyGraph, DagDepthsAreTheShortestWayDown) {
  const HierarchyGraph graph(5, kDag);
  EXPECT_THAT(graph.top_level(), ElementsAre(0, 1));
  EXPECT_THAT(graph.depths(), ElementsAre(0, 0, 1, 1, 2)) << "3 hangs directly under 0 too";
  EXPECT_THAT(graph.depths_rooting_cycles(), ElementsAre(0, 0, 1, 1, 2));
  EXPECT_THAT(graph.breadth_first_order(), ElementsAre(0, 1, 2, 3, 4));
}

TEST(HierarchyGraph, AncestorsAreTransitiveAndEachListedOnce) {
  const HierarchyGraph graph(5, kDag);
  AncestorFinder finder(graph);
  EXPECT_THAT(listed(finder.ancestors_of(4)), ElementsAre(3, 2, 0, 1)) << "depth first, parents in edge order";
  EXPECT_THAT(listed(finder.ancestors_of(0)), IsEmpty());
  EXPECT_THAT(listed(finder.ancestors_of(2)), ElementsAre(0, 1)) << "marks of the walk before do not hide nodes";
  EXPECT_THAT(listed(finder.ancestors_of(3)), UnorderedElementsAre(0, 1, 2));
}

TEST(HierarchyGraph, NodesOnlyBelowACycleHaveNoDepth) {
  // 0 -> 1 at the top; 2 <-> 3 a cycle with 4 under it; 5 its own parent.
  const std::vector<Edge> edges = {{0, 1}, {2, 3}, {3, 2}, {3, 4}, {5, 5}};
  const HierarchyGraph graph(6, edges);
  EXPECT_THAT(graph.top_level(), ElementsAre(0));
  EXPECT_THAT(graph.depths(), ElementsAre(0, 1, -1, -1, -1, -1));
  EXPECT_THAT(graph.breadth_first_order(), ElementsAre(0, 1)) << "the top level reaches no cycle";
  EXPECT_THAT(graph.depths_rooting_cycles(), ElementsAre(0, 1, 0, 1, 2, 0)) << "the cycle's lowest index starts its level";

  AncestorFinder finder(graph);
  EXPECT_THAT(listed(finder.ancestors_of(2)), ElementsAre(3)) << "a node is not its own ancestor, even on a cycle";
  EXPECT_THAT(listed(finder.ancestors_of(4)), ElementsAre(3, 2));
  EXPECT_THAT(listed(finder.ancestors_of(5)), IsEmpty());
}

TEST(HierarchyGraph, ForestOrdersTreesByTheirTops) {
  // Two trees: 3 over 1 and 4, 1 over 0; and 2 over 5.
  const std::vector<Edge> edges = {{3, 4}, {2, 5}, {3, 1}, {1, 0}};
  const HierarchyGraph graph(6, edges);
  EXPECT_THAT(graph.top_level(), ElementsAre(2, 3));
  EXPECT_THAT(graph.breadth_first_order(), ElementsAre(2, 3, 5, 4, 1, 0)) << "level by level, children in edge order";
  EXPECT_THAT(graph.depths(), ElementsAre(2, 1, 0, 0, 1, 1));
  EXPECT_EQ(graph.max_parents(), 1u);
}

TEST(HierarchyGraph, RepeatedEdgesStayRepeated) {
  const std::vector<Edge> edges = {{0, 1}, {0, 1}};
  const HierarchyGraph graph(2, edges);
  EXPECT_THAT(listed(graph.children(0)), ElementsAre(1, 1));
  EXPECT_THAT(listed(graph.parents(1)), ElementsAre(0, 0));
  EXPECT_EQ(graph.max_parents(), 2u);
  EXPECT_THAT(graph.breadth_first_order(), ElementsAre(0, 1));
}

TEST(HierarchyGraph, EmptyGraph) {
  const HierarchyGraph graph(0, {});
  EXPECT_EQ(graph.node_count(), 0u);
  EXPECT_THAT(graph.top_level(), IsEmpty());
  EXPECT_THAT(graph.depths(), IsEmpty());
  EXPECT_EQ(graph.max_parents(), 0u);
}

TEST(HierarchyGraph, RefusesAnEdgeToAMissingNode) {
  const std::vector<Edge> edges = {{0, 1}, {1, 2}};
  EXPECT_THROW(HierarchyGraph(2, edges), FatalError);
}

TEST(HierarchyGraph, FromAHierarchyLinkIsEdge) {
  Hierarchy hierarchy;
  hierarchy.nodes.resize(3);
  hierarchy.links = {{.parent = 2, .child = 0}, {.parent = 2, .child = 1}, {.parent = 0, .child = 1}};
  const HierarchyGraph graph(hierarchy);
  EXPECT_THAT(listed(graph.children(2)), ElementsAre(0, 1));
  EXPECT_THAT(listed(graph.parents(1)), ElementsAre(2, 0));
  const auto edges = graph.parent_edges(1);
  EXPECT_THAT(std::vector<std::size_t>(edges.begin(), edges.end()), ElementsAre(1, 2));
  EXPECT_THAT(graph.top_level(), ElementsAre(2));
}

// Hierarchies come from files: a walk that recursed would overflow the stack long before this.
TEST(HierarchyGraph, MillionLinkChainNeedsNoRecursion) {
  constexpr Node kNodes = 1'000'000;
  std::vector<Edge> edges;
  edges.reserve(kNodes);
  for (Node node = 1; node < kNodes; ++node) edges.push_back({node - 1, node});
  {
    const HierarchyGraph chain(kNodes, edges);
    const auto depth = chain.depths();
    EXPECT_EQ(depth.back(), kNodes - 1);
    EXPECT_EQ(chain.breadth_first_order().size(), kNodes);
    AncestorFinder finder(chain);
    const auto above = finder.ancestors_of(kNodes - 1);
    ASSERT_EQ(above.size(), kNodes - 1);
    EXPECT_EQ(above.front(), kNodes - 2);
    EXPECT_EQ(above.back(), 0u);
  }
  edges.push_back({kNodes - 1, 0});  // closed into one cycle
  const HierarchyGraph ring(kNodes, edges);
  EXPECT_THAT(ring.top_level(), IsEmpty());
  const auto depth = ring.depths();
  EXPECT_EQ(std::count(depth.begin(), depth.end(), -1), static_cast<std::ptrdiff_t>(kNodes));
  EXPECT_EQ(ring.depths_rooting_cycles().back(), kNodes - 1);
  AncestorFinder finder(ring);
  EXPECT_EQ(finder.ancestors_of(kNodes / 2).size(), kNodes - 1);
}

TEST(HierarchyGraph, AssignDepthsOnAMillionLinkChain) {
  constexpr std::uint32_t kNodes = 1'000'000;
  Hierarchy chain;
  chain.nodes.resize(kNodes);
  for (std::uint32_t node = 1; node < kNodes; ++node) chain.links.push_back({.parent = node - 1, .child = node});
  assign_depths(chain);
  EXPECT_EQ(chain.nodes.back().depth, kNodes - 1);
  EXPECT_EQ(chain.max_parents(), 1u);
  EXPECT_THAT(chain.top_level(), ElementsAre(0));
}

}  // namespace
}  // namespace conceptree
