#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/bootstrap.hpp"
#include "conceptree/context.hpp"

namespace conceptree::cli {

void add_bootstrap_command(CLI::App& app) {
  auto config = std::make_shared<BootstrapConfig>();
  CLI::App* command = app.add_subcommand("bootstrap", "repeat train + similarity + hierarchy with --runs seeds: each link's support, and their consensus");
  command->footer(
      "Run r trains with seed --first-seed + r (other splits and negatives), relates the concepts on their test tracks\n"
      "and extracts a hierarchy with the hierarchy options given here. A link's support is the share of runs that\n"
      "have it; the consensus takes links by decreasing support, each concept under its most supported parent, never\n"
      "closing a cycle (--min-support 0.5 keeps majority links only). JSON links carry \"support\" (and\n"
      "\"alternative_links\" the rest); GraphML and DOT an edge attribute; Newick [&&NHX:support=...]; TSV a column.\n"
      "The frames are loaded once. Each run's hierarchy stays in --workdir (OUTPUT.runs) until the consensus is written,\n"
      "so a killed bootstrap resumes.");
  bind_options(*command, *config);
  command->callback([config] {
    HierarchyBootstrap bootstrap(*config, command_context());
    bootstrap.run();
    const auto& s = bootstrap.summary();
    command_context().info(fmt::format("{} runs ({} found finished; frames loaded in {:.1f} s, train {:.1f} s, similarity {:.1f} s, hierarchies {:.2f} s)",
                         s.runs, s.runs_resumed, s.load_seconds, s.train_seconds, s.similarity_seconds, s.hierarchy_seconds));
    command_context().info(fmt::format("consensus: {} concepts, {} links of mean support {:.2f}, {} alternative links; wrote {} in {:.1f} s", s.concepts,
                         s.links, s.mean_support, s.alternatives, config->output, s.seconds));
  });
}

}  // namespace conceptree::cli
