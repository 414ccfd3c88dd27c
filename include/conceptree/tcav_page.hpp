#pragma once
// One self-contained, offline HTML page of TCAV results (`conceptree tcav`): per concept its score
// (or its magnitude-weighted variant) as a bar with its spread over runs, drawn over the band of
// its random null, marked where both significance tests agree; sorting, a filter, and with a
// hierarchy a tree that folds like the report's and a panel setting a concept beside its parents
// and children. d3 and the page's own script and style are inlined; labels are escaped.

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace conceptree {

// The page's HTML for results in the "conceptree.tcav" format (docs/formats.md, TCAV results).
// FatalError when `results` is not that format, or a version of it this page does not know.
std::string tcav_page_html(const nlohmann::ordered_json& results);

}  // namespace conceptree
