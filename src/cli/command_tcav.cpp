#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/context.hpp"
#include "conceptree/tcav.hpp"

namespace conceptree::cli {

void add_tcav_command(CLI::App& app) {
  auto config = std::make_shared<TcavConfig>();
  CLI::App* command = app.add_subcommand("tcav", "which concepts drive a model's output: TCAV scores with significance tests");
  command->footer(
      "The store holds a layer's frames and a model output's gradients with respect to them\n"
      "(embed --backbone musicnn-vgg --mode patch --gradients TAG, or import --gradient). Each concept's\n"
      "CAV is made again --runs times against other negative samples; --random random track sets of\n"
      "its size, scored the same way, give the null. The concept's mean sensitivity (or --test score)\n"
      "is tested against the random sets' means (t-test with Benjamini-Hochberg q-values across\n"
      "concepts; a rank test beside it); tf/tcav's runs test is written too, for comparison. Same\n"
      "seed, same numbers, whatever --jobs. Method: docs/usage.md; JSON layout: docs/formats.md.");
  bind_options(*command, *config);
  command->callback([config] {
    TcavJob job(*config, command_context());
    job.run();
    const auto& s = job.summary();
    command_context().info(fmt::format("tcav of '{}': {} concepts over {} inputs of {} tracks, {} significant at q < {} in {:.1f} s{}; wrote {}{}", config->target,
                         s.concepts, s.inputs, s.tracks, s.significant, config->options.alpha, s.seconds,
                         s.skipped_concepts > 0 ? fmt::format(" ({} concepts skipped: too few tracks in the store)", s.skipped_concepts) : "",
                         config->output, config->html.empty() ? "" : " and " + config->html));
  });
}

}  // namespace conceptree::cli
