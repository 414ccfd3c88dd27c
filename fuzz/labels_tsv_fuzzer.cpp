// Display names, id<TAB>label (`hierarchy --labels`, `report --labels`), and the one-entry-per-line
// lists (`--ids`, `cavs import --names`, `explain --tracks`), which share the TSV line rules.

#include <cstdint>

#include "conceptree/hierarchy.hpp"
#include "conceptree/text_list.hpp"
#include "fuzz_support.hpp"

using namespace conceptree;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::write_input("labels.tsv", {data, size});
  fuzz::expect_clean_outcome([&] {
    Hierarchy hierarchy;
    hierarchy.nodes = {{.id = "a"}, {.id = "b"}};
    (void)apply_labels(hierarchy, read_labels(path.string()));
  });
  fuzz::expect_clean_outcome([&] { (void)read_text_list(path); });
  return 0;
}
