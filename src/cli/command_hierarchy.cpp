#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/context.hpp"

namespace conceptree::cli {

void add_hierarchy_command(CLI::App& app) {
  auto config = std::make_shared<HierarchyConfig>();
  CLI::App* command = app.add_subcommand("hierarchy", "extract a hierarchy of concepts from their similarity");
  command->footer(
      "Defaults: S is calibrated by each concept's base rate b (S -> (S-b)/(S+b), 0 at independence); concepts are\n"
      "visited by decreasing generality (how much the other concepts' members activate them); each next concept n goes\n"
      "under the placed concept p with the largest S[p][n] that has room (--max-children), if S[p][n] > --min-sim, else\n"
      "to the top level. The concept graph (edges where S exceeds --threshold) gives the betweenness centrality.\n"
      "--paper: the paper's method unchanged (raw S, visits by betweenness). Baselines: top1 (n under argmax_p S[p][n]),\n"
      "threshold (one link per pair above --threshold), matching (above --matching-threshold), random-top, random-sim.");
  bind_options(*command, *config);
  command->callback([config] {
    HierarchyExtractor extractor(*config, command_context());
    extractor.run();
    const auto& s = extractor.summary();
    command_context().info(fmt::format("concept graph: {} concepts, {} edges above {}; betweenness in {:.3f} s ({:.0f} M edge visits/s)", s.concepts,
                         s.graph_edges, config->options.threshold, s.centrality_seconds,
                         s.centrality_seconds > 0 ? static_cast<double>(s.edges_traversed) / s.centrality_seconds * 1e-6 : 0.0));
    command_context().info(fmt::format("{}: {} links, {} top-level concepts, depth {}; wrote {} in {:.2f} s", choice_name(config->options.method), s.links, s.top_level,
                         s.max_depth, config->output, s.seconds));
  });
}

}  // namespace conceptree::cli
