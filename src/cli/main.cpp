// conceptree: learn audio concepts, relate them, extract their hierarchy.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "cli/commands.hpp"
#include "conceptree/error.hpp"
#include "conceptree/version.hpp"

namespace conceptree::cli {
Context& command_context() {
  static Context context;
  return context;
}
}  // namespace conceptree::cli

int main(int argc, char** argv) {
  CLI::App app{"conceptree: learn audio concepts from labelled audio, measure how they relate, and extract their hierarchy.",
               "conceptree"};
  app.set_version_flag("--version", std::string("conceptree ") + conceptree::kVersion);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "no progress or informational messages (warnings and errors still go to stderr)");
  app.require_subcommand(1);
  app.fallthrough();
  app.footer("Run 'conceptree COMMAND --help' for a command's options.");
  app.parse_complete_callback([&] {
    conceptree::cli::command_context().quiet = quiet;
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
    app.exit(e);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "conceptree: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
