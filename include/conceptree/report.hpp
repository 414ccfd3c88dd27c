#pragma once
// One self-contained HTML report of a concept hierarchy: the collapsible tree with search, a
// detail panel per concept (metrics, parents, children, most similar concepts), a 2-D PCA map of
// the CAVs, the histogram of test accuracies with the keep cut-off, and evaluation tables.
// Everything (d3, the report's script and style, the data) is inlined, so it opens offline.
//   ReportWriter writer(config);
//   writer.run();
//   writer.summary();

#include <cstdint>
#include <string>
#include <vector>

#include "conceptree/context.hpp"
#include "conceptree/params.hpp"

namespace conceptree {

struct ReportConfig {
  std::string concepts{};      // concept set (HDF5)
  std::string similarity{};    // similarity file (HDF5)
  std::string hierarchy{};     // hierarchy JSON
  std::string evaluation{};    // optional: JSON from 'conceptree evaluate --json'
  std::string truth{};         // optional: TSV child<TAB>parent, colours the map by truth family
  std::string labels{};        // optional: TSV id<TAB>label display names
  std::string explanations{};  // optional: page of 'conceptree explain --html', linked from the header
  std::string output{};        // HTML file to write
  std::string layer{};         // CAV layer for the map; empty = the concept set's only or first layer
  std::uint64_t top_similar = 10;
  bool overwrite = false;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(concepts, {.name = "concepts", .help = "concept set (HDF5) from 'train' or 'cavs'", .required = true, .short_name = "c"});
    v(similarity, {.name = "similarity", .help = "similarity file (HDF5) from 'conceptree similarity'", .required = true, .short_name = "s"});
    v(hierarchy, {.name = "hierarchy", .help = "hierarchy JSON from 'conceptree hierarchy' (or any with nodes[].id, links[].source/target)", .required = true});
    v(evaluation, {.name = "evaluation", .help = "evaluation JSON from 'conceptree evaluate --json', shown as tables"});
    v(truth, {.name = "truth", .help = "TSV child<TAB>parent of a known taxonomy: the map can colour concepts by their top-level truth ancestor"});
    v(labels, {.name = "labels", .help = "TSV id<TAB>label giving concepts display names (default: the hierarchy's labels, else the id)"});
    v(explanations, {.name = "explanations", .help = "page from 'conceptree explain --html' to link from the report's header (the link is relative to the report's folder)"});
    v(output, {.name = "output", .help = "HTML report to write", .required = true, .short_name = "o"});
    v(layer, {.name = "layer", .help = "CAV layer of the concept set drawn on the map (default: its only or first layer)"});
    v(top_similar, {.name = "top-similar", .help = "most similar concepts listed per concept, each way", .min = 1, .max = 1000});
    v(overwrite, {.name = "overwrite", .help = "replace the output if it exists"});
  }
};

struct ReportSummary {
  std::uint64_t concepts_trained = 0;     // concepts with a CAV in the concept set
  std::uint64_t concepts_kept = 0;
  std::uint64_t hierarchy_nodes = 0;
  std::uint64_t links = 0;
  std::uint64_t top_level = 0;
  std::int64_t max_depth = 0;
  std::vector<std::string> unknown_ids;   // hierarchy ids missing from the concept set or the similarity
  std::uint64_t bytes = 0;                // size of the HTML written
  double seconds = 0;
};

class ReportWriter {
 public:
  // `context` must outlive the object.
  explicit ReportWriter(ReportConfig config, const Context& context = default_context());
  // Throws InputError naming the file for a missing or malformed input, FatalError for bad
  // options or an output that cannot be written.
  void run();
  const ReportSummary& summary() const { return summary_; }

 private:
  ReportConfig config_;
  const Context& context_;
  ReportSummary summary_;
};

}  // namespace conceptree
