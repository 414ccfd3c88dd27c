// Hierarchy JSON as `info`, `evaluate`, `report`, `explain` and `bootstrap` read it, then what they do
// with it: summarise it, write it in every format, label it and score it against a taxonomy.

#include <cstdint>
#include <unordered_map>

#include "conceptree/evaluate.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/info.hpp"
#include "fuzz_support.hpp"

using namespace conceptree;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::write_input("hierarchy.json", {data, size});
  fuzz::expect_clean_outcome([&] { (void)detect_file_kind(path); });
  fuzz::expect_clean_outcome([&] { (void)summarize_hierarchy(path); });
  fuzz::expect_clean_outcome([&] {
    Hierarchy hierarchy = read_hierarchy_json(path);
    for (const HierarchyFormat format :
         {HierarchyFormat::Json, HierarchyFormat::Graphml, HierarchyFormat::Dot, HierarchyFormat::Newick, HierarchyFormat::Tsv}) {
      fuzz::expect_clean_outcome([&] { (void)format_hierarchy(hierarchy, format); });
    }
    static const Taxonomy truth = taxonomy_from_pairs({{"a", ""}, {"b", "a"}, {"c", "a"}, {"d", ""}, {"e", "d"}}, "truth.tsv");
    EvaluateConfig config;
    config.baselines = true;
    config.random_draws = 2;
    fuzz::expect_clean_outcome([&] {
      const Evaluation evaluation = evaluate_hierarchy(hierarchy, {.truth = &truth}, config, fuzz::quiet_context());
      (void)format_evaluation_table(evaluation);
      (void)evaluation_json(evaluation);
    });
    (void)apply_labels(hierarchy, std::unordered_map<std::string, std::string>{{"a", "A"}, {"b", "B"}});
  });
  return 0;
}
