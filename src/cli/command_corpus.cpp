#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/corpus.hpp"
#include "conceptree/context.hpp"

namespace conceptree::cli {

void add_corpus_command(CLI::App& app) {
  auto config = std::make_shared<DemoCorpusConfig>();
  CLI::App* command = app.add_subcommand(
      "corpus", "render the demo's labelled audio corpus (General MIDI ensembles, fluidsynth): wav files, memberships, truth");
  command->footer(
      "Writes OUTPUT/audio/<track>.wav (16 kHz mono), OUTPUT/memberships.tsv (concepts: 24 instruments, their\n"
      "8 families, tempo:slow/fast, register:low/high, mode:major/minor), OUTPUT/truth.tsv (instrument -> family)\n"
      "and OUTPUT/tracks.tsv (what each track plays). Same seed, same bytes, whatever --jobs.");
  bind_options(*command, *config);
  command->callback([config] {
    DemoCorpus corpus(*config, command_context());
    corpus.run();
    const auto& s = corpus.summary();
    command_context().info(fmt::format("wrote {} tracks ({:.0f} s of audio) and {} concepts ({} memberships) to {} in {:.1f} s", s.tracks,
                         s.audio_seconds, s.concepts, s.memberships_count, config->output, s.seconds));
  });
}

}  // namespace conceptree::cli
