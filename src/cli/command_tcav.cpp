#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/log.hpp"
#include "conceptree/tcav.hpp"

namespace conceptree::cli {

void add_tcav_command(CLI::App& app) {
  auto config = std::make_shared<TcavConfig>();
  CLI::App* command = app.add_subcommand("tcav", "which concepts drive a model's output: TCAV scores with significance tests");
  command->footer(
      "The store holds a layer's frames and a model output's gradients with respect to them\n"
      "(embed --backbone musicnn-vgg --mode patch --gradients TAG, or import --gradient). Each concept's\n"
      "CAV is retrained --runs times on other negative samples; random track sets of its size give the\n"
      "null. Welch's t-test and a permutation test compare the two, with Benjamini-Hochberg q-values\n"
      "across concepts. Same seed, same numbers, whatever --jobs. JSON layout: docs/formats.md.");
  bind_options(*command, *config);
  command->callback([config] {
    TcavJob job(*config);
    job.run();
    const auto& s = job.summary();
    log_info(fmt::format("tcav of '{}': {} concepts over {} inputs of {} tracks, {} significant at q < {} in {:.1f} s{}; wrote {}{}", config->target,
                         s.concepts, s.inputs, s.tracks, s.significant, config->options.alpha, s.seconds,
                         s.skipped_concepts > 0 ? fmt::format(" ({} concepts skipped: too few tracks in the store)", s.skipped_concepts) : "",
                         config->output, config->html.empty() ? "" : " and " + config->html));
  });
}

}  // namespace conceptree::cli
