#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "conceptree/context.hpp"

namespace conceptree::cli {

// The context every command runs its job in: stderr, quiet under -q. The CLI owns its process,
// so this one context is the command line's, set once its options are parsed.
Context& command_context();

// --weights not given: $CONCEPTREE_MSD_VGG when set (the library itself reads no environment, and
// falls back to the weights shipped with conceptree).
void weights_from_environment(std::string& weights);

// Each adds one subcommand whose callback runs the job; errors propagate as exceptions.
void add_import_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_corpus_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_cavs_command(CLI::App& app);
void add_similarity_command(CLI::App& app);
void add_hierarchy_command(CLI::App& app);
void add_bootstrap_command(CLI::App& app);
void add_embed_command(CLI::App& app);
void add_logmel_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_explain_command(CLI::App& app);
void add_tcav_command(CLI::App& app);

}  // namespace conceptree::cli
