#include <fmt/format.h>

#include <cstdlib>
#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/embed.hpp"
#include "conceptree/context.hpp"

namespace conceptree::cli {

void weights_from_environment(std::string& weights) {
  if (!weights.empty()) return;
  const char* from_environment = std::getenv("CONCEPTREE_MSD_VGG");
  if (from_environment != nullptr) weights = from_environment;
}

void add_embed_command(CLI::App& app) {
  auto config = std::make_shared<EmbedConfig>();
  CLI::App* command = app.add_subcommand("embed", "turn audio files into frame embeddings in an embedding store");
  command->footer(
      "Each file is decoded (libsndfile), mixed to mono, resampled to 16 kHz (libsoxr), turned into the\n"
      "musicnn log-mel and passed through the backbone. Bad files (unreadable, empty, silent, unsupported)\n"
      "are skipped, named and listed in OUTPUT.errors.tsv; --strict stops instead. A killed run resumes\n"
      "from OUTPUT.partial when the same command is run again.");
  bind_options(*command, *config);
  command->callback([config] {
    weights_from_environment(config->weights);
    AudioEmbedder embedder(*config, command_context());
    embedder.run();
    const auto& s = embedder.summary();
    command_context().info(fmt::format("embedded {} of {} tracks ({} already done, {} skipped): {:.0f} s of audio in {:.1f} s ({:.0f}x real time), "
                         "{} frames of dimension {}; wrote {}{}",
                         s.embedded, s.tracks, s.already_present, s.skipped, s.audio_seconds, s.seconds,
                         s.seconds > 0 ? s.audio_seconds / s.seconds : 0.0, s.frames, s.dim, config->output,
                         s.errors_file.empty() ? "" : fmt::format(" (skipped files: {})", s.errors_file.string())));
  });
}

}  // namespace conceptree::cli
