// The similarity file (HDF5) as `hierarchy`, `evaluate`, `report` and `info` read it, then a
// hierarchy extracted from it with the default method, the lift calibration and a baseline.

#include <cstdint>

#include "conceptree/hierarchy.hpp"
#include "conceptree/info.hpp"
#include "conceptree/similarity.hpp"
#include "fuzz_support.hpp"

using namespace conceptree;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::write_input("similarity.h5", {data, size});
  fuzz::expect_clean_outcome([&] { (void)detect_file_kind(path); });
  fuzz::expect_clean_outcome([&] { (void)summarize_similarity(path); });
  fuzz::expect_clean_outcome([&] {
    const SimilarityMatrix similarity = read_similarity(path);
    HierarchyOptions lift;
    lift.calibration = Calibration::Lift;
    HierarchyOptions matching;
    matching.method = HierarchyMethod::Matching;
    for (const HierarchyOptions& options : {HierarchyOptions{}, lift, matching}) {
      fuzz::expect_clean_outcome([&] {
        const Hierarchy hierarchy = extract_hierarchy(similarity, options, 1, nullptr, fuzz::quiet_context());
        (void)format_hierarchy(hierarchy, HierarchyFormat::Json);
      });
    }
  });
  return 0;
}
