#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/context.hpp"
#include "conceptree/similarity.hpp"

namespace conceptree::cli {

void add_similarity_command(CLI::App& app) {
  auto config = std::make_shared<SimilarityConfig>();
  CLI::App* command = app.add_subcommand("similarity", "measure how much each concept's members look like every other concept");
  command->footer(
      "activation: S[i][j] = mean over concept i's test tracks of the track's mean frame activation\n"
      "sigmoid(v_j.x + b_j) of concept j; asymmetric. cosine: cosine of [v; b], for CAVs without audio.\n"
      "Only kept concepts take part. Writes /similarity (K x K float32), /names, /types, /support; with --layout sparse\n"
      "(auto: above 20,000 concepts) each row's and each column's --top-k largest values and every value above\n"
      "--keep-above, in compressed rows (/sparse/offsets, /sparse/columns, /sparse/values; docs/formats.md).");
  bind_options(*command, *config);
  command->callback([config] {
    SimilarityComputer computer(*config, command_context());
    computer.run();
    const auto& s = computer.summary();
    if (s.measure == "activation") {
      const auto& a = s.activation;
      command_context().info(fmt::format("scored {} frames of {} test tracks against {} concepts in {:.2f} s (reading {:.2f} s, scoring {:.2f} s at {:.1f} GFLOP/s, {})",
                           a.frames, a.tracks, s.concepts, s.seconds, a.read_seconds, a.score_seconds,
                           a.score_seconds > 0 ? a.gemm_flops / a.score_seconds * 1e-9 : 0.0, a.gemm));
    }
    const std::string shape = s.layout == SimilarityLayout::Sparse
                                  ? fmt::format("{} kept entries of a sparse {} x {}", s.kept_entries, s.concepts, s.concepts)
                                  : fmt::format("{} x {}", s.concepts, s.concepts);
    command_context().info(fmt::format("wrote {} {} similarity to {}{}", shape, s.measure, config->output,
                         s.concepts_missing_tracks > 0 ? fmt::format(" ({} concepts had test tracks missing from the store)", s.concepts_missing_tracks) : ""));
  });
}

}  // namespace conceptree::cli
