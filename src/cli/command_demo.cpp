#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/demo.hpp"

namespace conceptree::cli {

void add_demo_command(CLI::App& app) {
  auto config = std::make_shared<DemoConfig>();
  CLI::App* command = app.add_subcommand(
      "demo", "the whole pipeline on a rendered audio corpus with a known hierarchy: corpus, embed, train, similarity, hierarchy, evaluate, report");
  command->footer(
      "Writes into -o DIR: audio/, memberships.tsv, truth.tsv, store.h5, concepts.h5, similarity.h5, hierarchy.json,\n"
      "evaluation.json and report.html. Rerunning reuses finished stages; --overwrite redoes them all.");
  bind_options(*command, *config);
  command->callback([config] {
    weights_from_environment(config->embed.weights);
    DemoPipeline demo(*config, command_context());
    demo.run();
    const std::string headline = format_demo_headline(demo.summary());
    std::fwrite(headline.data(), 1, headline.size(), stdout);
  });
}

}  // namespace conceptree::cli
