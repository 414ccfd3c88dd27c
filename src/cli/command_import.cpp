#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/ingest.hpp"
#include "conceptree/context.hpp"

namespace conceptree::cli {

void add_import_command(CLI::App& app) {
  auto config = std::make_shared<ImportConfig>();
  CLI::App* command = app.add_subcommand("import", "import precomputed embeddings (npy-dir, npy, h5, tf-tensors) into an embedding store");
  command->footer(
      "Formats:\n"
      "  npy-dir     folder tree of per-track .npy files (frames x dim, or dim); id = relative path without .npy\n"
      "  npy         one (tracks, dim), (tracks, frames, dim) or (total_frames, dim) + --offsets array, with --ids\n"
      "  h5          a dataset of an HDF5 file (--dataset) shaped as for npy, with --ids or --ids-dataset\n"
      "  tf-tensors  folder tree of <id>.tensor files (TensorFlow serialised TensorProto, the paper's release)\n"
      "Bad tracks are skipped and listed in OUTPUT.errors.tsv; a killed run resumes from OUTPUT.partial.");
  bind_options(*command, *config);
  command->callback([config] {
    EmbeddingImporter importer(*config, command_context());
    importer.run();
    const auto& s = importer.summary();
    std::string line = fmt::format("imported {} tracks ({} frames, dim {}) into {} in {:.1f} s", s.imported, s.frames,
                                   s.dim, config->output, s.seconds);
    if (s.already_present > 0) line += fmt::format("; {} were already there from an interrupted run", s.already_present);
    line += fmt::format("; store holds {} tracks", s.store_tracks);
    command_context().info(line);
    if (s.skipped > 0) command_context().warning(fmt::format("{} bad tracks skipped, listed in {}", s.skipped, s.errors_file.string()));
  });
}

}  // namespace conceptree::cli
