#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "cli/param_binding.hpp"
#include "conceptree/context.hpp"
#include "conceptree/report.hpp"

namespace conceptree::cli {

void add_report_command(CLI::App& app) {
  auto config = std::make_shared<ReportConfig>();
  CLI::App* command = app.add_subcommand("report", "write one self-contained HTML report: hierarchy with search, concept details, CAV map, accuracies, evaluation");
  command->footer(
      "The report is a single HTML file that opens offline in any browser: d3, the page's script and style and\n"
      "all the data are inlined. It shows the hierarchy as a collapsible tree with a search box, each concept's\n"
      "metrics, parents, children and most similar concepts (both ways), a PCA map of the CAVs coloured by type\n"
      "or by --truth family, the histogram of test balanced accuracies with the keep cut-off, and the tables of\n"
      "an --evaluation file. Open REPORT.html#search=TEXT to start on a search, #concept=ID on a concept.");
  bind_options(*command, *config);
  command->callback([config] {
    ReportWriter writer(*config, command_context());
    writer.run();
    const auto& s = writer.summary();
    command_context().info(fmt::format("{} concepts trained, {} kept; hierarchy of {} concepts, {} links, {} top-level, depth {}; wrote {} ({:.1f} MB) in {:.2f} s",
                         s.concepts_trained, s.concepts_kept, s.hierarchy_nodes, s.links, s.top_level, s.max_depth, config->output,
                         static_cast<double>(s.bytes) / 1e6, s.seconds));
  });
}

}  // namespace conceptree::cli
