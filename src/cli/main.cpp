// conceptree: learn audio concepts, relate them, extract their hierarchy.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string_view>

#include "cli/commands.hpp"
#include "conceptree/error.hpp"
#include "conceptree/version.hpp"
#ifdef CONCEPTREE_WITH_MPI
#include "distributed/mpi_world.hpp"
#endif

namespace conceptree::cli {
Context& command_context() {
  static Context context;
  return context;
}

namespace {

// The commands that split their items over MPI ranks; under mpirun every other command runs on
// rank 0 alone.
bool splits_over_ranks(std::string_view command) {
  for (const char* name : {"embed", "import", "train", "similarity", "bootstrap", "tcav"})
    if (command == name) return true;
  return false;
}

std::string_view command_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (argv[i][0] != '-') return argv[i];
  return {};
}

}  // namespace
}  // namespace conceptree::cli

int main(int argc, char** argv) {
  std::shared_ptr<const conceptree::Ranks> ranks;
#ifdef CONCEPTREE_WITH_MPI
  std::shared_ptr<conceptree::MpiWorld> world;
  if (conceptree::launched_by_mpi()) {
    world = std::make_shared<conceptree::MpiWorld>(argc, argv);
    if (world->distributed()) ranks = world;
  }
#endif
  const bool speaks = !ranks || ranks->is_root();
  if (ranks && !ranks->is_root() && !conceptree::cli::splits_over_ranks(conceptree::cli::command_word(argc, argv))) return 0;
  CLI::App app{"conceptree: learn audio concepts from labelled audio, measure how they relate, and extract their hierarchy.",
               "conceptree"};
  app.set_version_flag("--version", std::string("conceptree ") + conceptree::kVersion);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "no progress or informational messages (warnings and errors still go to stderr)");
  app.require_subcommand(1);
  app.fallthrough();
  app.footer("Run 'conceptree COMMAND --help' for a command's options.");
  app.parse_complete_callback([&] {
    conceptree::Context& context = conceptree::cli::command_context();
    context.quiet = quiet || !speaks;
    // Rank 0 says what every rank would: the others' messages would only repeat it.
    if (!speaks) context.messages = [](conceptree::MessageLevel, std::string_view) {};
    if (ranks && conceptree::cli::splits_over_ranks(conceptree::cli::command_word(argc, argv))) context.ranks = ranks;
  });

  conceptree::cli::add_demo_command(app);
  conceptree::cli::add_embed_command(app);
  conceptree::cli::add_import_command(app);
  conceptree::cli::add_train_command(app);
  conceptree::cli::add_cavs_command(app);
  conceptree::cli::add_similarity_command(app);
  conceptree::cli::add_hierarchy_command(app);
  conceptree::cli::add_bootstrap_command(app);
  conceptree::cli::add_evaluate_command(app);
  conceptree::cli::add_explain_command(app);
  conceptree::cli::add_tcav_command(app);
  conceptree::cli::add_report_command(app);
  conceptree::cli::add_info_command(app);
  conceptree::cli::add_synth_command(app);
  conceptree::cli::add_corpus_command(app);
  conceptree::cli::add_logmel_command(app);

  // CLI11 would only say "a subcommand is required"; name the word the user typed.
  if (argc > 1 && argv[1][0] != '-' && app.get_subcommands([&](const CLI::App* sub) { return sub->get_name() == argv[1]; }).empty()) {
    std::fprintf(stderr, "conceptree: error: unknown command '%s' (see conceptree --help)\n", argv[1]);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (speaks) app.exit(e);
    return 2;
  } catch (const std::exception& e) {
    if (!ranks) {
      std::fprintf(stderr, "conceptree: error: %s\n", e.what());
      return 1;
    }
    std::fprintf(stderr, "conceptree: error: rank %d of %d: %s\n", ranks->rank(), ranks->size(), e.what());
    std::fflush(stderr);
#ifdef CONCEPTREE_WITH_MPI
    // The other ranks may be waiting for this one in a collective: end them all. Rank 0's output
    // is still only a temporary file and the journal it resumes from.
    world->abort_job(1);
#endif
    return 1;
  }
  return 0;
}
