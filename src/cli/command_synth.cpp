#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/context.hpp"
#include "conceptree/synth.hpp"

namespace conceptree::cli {

void add_synth_command(CLI::App& app) {
  auto config = std::make_shared<SynthConfig>();
  CLI::App* command = app.add_subcommand(
      "synth", "write a synthetic corpus with a planted concept hierarchy (embeddings, memberships, truth)");
  bind_options(*command, *config);
  command->callback([config] {
    SyntheticCorpus corpus(*config, command_context());
    corpus.run();
    const auto& s = corpus.summary();
    command_context().info(fmt::format("wrote {} tracks ({} frames), {} concepts, {} memberships to {}", config->tracks, s.frames,
                         s.concepts, s.memberships_count, config->output));
  });
}

}  // namespace conceptree::cli
