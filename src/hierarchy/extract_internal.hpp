#pragma once
// What the dense (extract.cpp) and the sparse (sparse_extract.cpp) extraction share.

#include <cstdint>
#include <string>
#include <vector>

#include "conceptree/hierarchy.hpp"

namespace conceptree {

// Concepts by decreasing score, ties by index: heymann's visit order.
std::vector<std::uint32_t> centrality_order(const std::vector<double>& centrality);
// The settings that shaped the links, recorded through the options' own declarations; settings of
// other methods are left out (--paper is recorded as the settings it fixed).
void record_params(const HierarchyOptions& options, const std::string& measure, std::uint64_t graph_edges, Hierarchy& hierarchy);
// resolve_options() for a similarity known by its measure and whether it holds base rates.
HierarchyOptions resolve_options(const HierarchyOptions& options, const std::string& measure, bool has_base_rates);

}  // namespace conceptree
