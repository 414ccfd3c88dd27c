#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/cav_import.hpp"
#include "conceptree/context.hpp"

namespace conceptree::cli {

void add_cavs_command(CLI::App& app) {
  CLI::App* cavs = app.add_subcommand("cavs", "manage concept activation vectors learned elsewhere");
  cavs->require_subcommand(1);
  auto config = std::make_shared<CavImportConfig>();
  CLI::App* import = cavs->add_subcommand("import", "make a concept set from CAV weights, biases and names (.npy + text)");
  bind_options(*import, *config);
  import->callback([config] {
    const CavImportSummary summary = import_cavs(*config);
    command_context().info(fmt::format("imported {} CAVs of dimension {} for layer {} into {}", summary.concepts, summary.dim,
                         config->layer, config->output));
  });
}

}  // namespace conceptree::cli
