#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/concepts.hpp"
#include "conceptree/context.hpp"

namespace conceptree::cli {

void add_train_command(CLI::App& app) {
  auto config = std::make_shared<TrainConfig>();
  CLI::App* command = app.add_subcommand("train", "learn one concept activation vector (linear classifier) per concept");
  command->footer(
      "Each concept's tracks and an equal share of sampled other tracks are split by track into\n"
      "train/val/test; a class-balanced L2 logistic regression is fitted on the train frames by L-BFGS\n"
      "for each --regularization value and the best on validation is kept. A killed run resumes from\n"
      "OUTPUT.partial when the same command is run again.");
  bind_options(*command, *config);
  command->callback([config] {
    ConceptTrainer trainer(*config, command_context());
    trainer.run();
    const auto& s = trainer.summary();
    command_context().info(fmt::format("trained {} concepts ({} this run) in {:.1f} s (reading frames {:.1f} s, fitting {:.2f} s); {} kept with test balanced "
                         "accuracy > {}; mean test balanced accuracy {:.3f}; {} skipped for size; wrote {}",
                         s.trained, s.trained_this_run, s.seconds, s.load_seconds, s.train_seconds, s.kept, config->min_accuracy,
                         s.mean_test_balanced_accuracy, s.skipped_small + s.skipped_large, config->output));
  });
}

}  // namespace conceptree::cli
