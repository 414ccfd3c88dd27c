// A ground-truth taxonomy TSV, child<TAB>parent, as `evaluate --truth` and `report --truth` read
// and use it.

#include <cstdint>

#include "conceptree/evaluate.hpp"
#include "conceptree/hierarchy.hpp"
#include "fuzz_support.hpp"

using namespace conceptree;

namespace {

// A small hierarchy whose ids the seeds' taxonomies share: a -> b, a -> c, d -> e.
Hierarchy known_hierarchy() {
  Hierarchy hierarchy;
  for (const char* id : {"a", "b", "c", "d", "e"}) hierarchy.nodes.push_back({.id = id, .label = id});
  hierarchy.links = {{.parent = 0, .child = 1, .weight = 0.9f}, {.parent = 0, .child = 2, .weight = 0.8f}, {.parent = 3, .child = 4, .weight = 0.7f}};
  assign_depths(hierarchy);
  return hierarchy;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::write_input("truth.tsv", {data, size});
  fuzz::expect_clean_outcome([&] {
    const Taxonomy truth = read_taxonomy(path);
    (void)top_level_ancestor(truth);
    static const Hierarchy hierarchy = known_hierarchy();
    EvaluateConfig config;
    config.baselines = true;
    config.random_draws = 2;
    const Evaluation evaluation = evaluate_hierarchy(hierarchy, {.truth = &truth}, config, fuzz::quiet_context());
    (void)format_evaluation_table(evaluation);
    (void)evaluation_json(evaluation);
  });
  return 0;
}
