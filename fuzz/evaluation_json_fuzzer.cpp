// `report --evaluation eval.json`: the evaluation JSON that `evaluate --json` writes, read and
// turned into the report's tables. The report's other inputs are a fixed tiny valid run.

#include <cstdint>

#include "conceptree/report.hpp"
#include "fuzz_fixtures.hpp"

using namespace conceptree;

namespace {

ReportConfig report_of_tiny_run() {
  const fuzz::TinyPipeline run;
  ReportConfig config;
  config.concepts = fuzz::scratch_dir() / "concepts.h5";
  config.similarity = fuzz::scratch_dir() / "similarity.h5";
  config.hierarchy = fuzz::scratch_dir() / "hierarchy.json";
  config.evaluation = fuzz::scratch_dir() / "evaluation.json";
  config.output = fuzz::scratch_dir() / "report.html";
  config.overwrite = true;
  write_concept_set(config.concepts, run.concepts);
  write_similarity(config.similarity, run.similarity);
  write_hierarchy(config.hierarchy, run.hierarchy, HierarchyFormat::Json);
  return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ReportConfig config = report_of_tiny_run();
  fuzz::write_input("evaluation.json", {data, size});
  fuzz::expect_clean_outcome([&] {
    ReportWriter writer(config, fuzz::quiet_context());
    writer.run();
  });
  return 0;
}
