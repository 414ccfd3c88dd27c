#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/evaluate.hpp"

namespace conceptree::cli {

void add_evaluate_command(CLI::App& app) {
  auto config = std::make_shared<EvaluateConfig>();
  CLI::App* command = app.add_subcommand("evaluate", "measure a hierarchy against a ground-truth taxonomy and/or proxy embeddings, next to baselines");
  command->footer(
      "--truth: family purity (links whose ends share a top-level truth ancestor), ancestor and parent-link\n"
      "precision/recall/F1, and the adjusted Rand index of the top-level groups, over the concepts in both.\n"
      "--proxy: the paper's Table 1, mean L2 distance (or cosine) between linked concepts' proxy vectors\n"
      "± 1.96·std/√n. --baselines adds random-top and random-sim; --similarity adds top1, threshold and matching.");
  bind_options(*command, *config);
  command->callback([config] {
    HierarchyEvaluator evaluator(*config, command_context());
    evaluator.run();
    const std::string text = config->json ? evaluation_json(evaluator.evaluation()) : format_evaluation_table(evaluator.evaluation());
    std::fwrite(text.data(), 1, text.size(), stdout);
  });
}

}  // namespace conceptree::cli
