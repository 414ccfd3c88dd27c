#pragma once
// What the dense (extract.cpp) and the sparse (sparse_extract.cpp) extraction share.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "conceptree/context.hpp"
#include "conceptree/graph.hpp"
#include "conceptree/hierarchy.hpp"

namespace conceptree {

// Concepts by decreasing score, ties by index: heymann's visit order.
std::vector<std::uint32_t> centrality_order(const std::vector<double>& centrality);
// The settings that shaped the links, recorded through the options' own declarations; settings of
// other methods are left out (--paper is recorded as the settings it fixed).
void record_params(const HierarchyOptions& options, const std::string& measure, std::uint64_t graph_edges, Hierarchy& hierarchy);
// resolve_options() for a similarity known by its measure, whether it holds base rates, and its
// concept count (which decides whether betweenness is sampled).
HierarchyOptions resolve_options(const HierarchyOptions& options, const std::string& measure, bool has_base_rates, std::size_t concepts);

// One node per concept, labelled by its id, with its centrality.
std::vector<HierarchyNode> concept_nodes(const std::vector<std::string>& names, const std::vector<std::string>& types,
                                         const std::vector<double>& centrality);

struct ConceptCentrality {
  std::vector<double> scores;
  std::optional<double> error_bound;  // when sampled: every score within it of the exact one, with 95 % probability
};
// Betweenness on the concept graph, sampled as the resolved options say (and then announced);
// its time and work go into `summary`.
ConceptCentrality concept_centrality(const ConceptGraph& graph, const HierarchyOptions& options, int jobs, HierarchySummary* summary,
                                     const Context& context);

}  // namespace conceptree
