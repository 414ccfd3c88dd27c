#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/explain.hpp"
#include "conceptree/context.hpp"

namespace conceptree::cli {

void add_explain_command(CLI::App& app) {
  auto config = std::make_shared<ExplainConfig>();
  CLI::App* command = app.add_subcommand("explain", "explain recordings with concepts: per frame, per track, segments and a summary down the hierarchy");
  command->footer(
      "Audio is embedded with the concept set's own backbone and layer; --embeddings explains a store's\n"
      "tracks instead (its backbone, layer and dimension must be the concept set's). A track's score for\n"
      "a concept is the share of the concept's held-out non-member tracks whose score is lower; a concept\n"
      "is present at --presence. Bad files or ids are skipped, named and listed in OUTPUT.errors.tsv;\n"
      "--strict stops instead. Layout of OUTPUT (HDF5) and --json: docs/formats.md.");
  bind_options(*command, *config);
  command->callback([config] {
    weights_from_environment(config->weights);
    ExplainJob job(*config, command_context());
    job.run();
    const auto& s = job.summary();
    command_context().info(fmt::format("explained {} of {} tracks with {} concepts ({}) in {:.1f} s{}; wrote {}{}{}", s.explained, s.tracks, s.concepts,
                         s.calibrated ? "calibrated scores" : "raw activations", s.seconds,
                         s.audio_seconds > 0 ? fmt::format(" ({:.0f} s of audio, {:.0f}x real time)", s.audio_seconds, s.audio_seconds / std::max(s.seconds, 1e-9)) : "",
                         config->output, config->json.empty() ? "" : " and " + config->json,
                         s.skipped > 0 ? fmt::format(" ({} skipped: {})", s.skipped, s.errors_file.string()) : ""));
  });
}

}  // namespace conceptree::cli
