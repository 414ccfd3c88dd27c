// The concept set (HDF5) as `similarity`, `explain`, `tcav`, `report` and `info` read it, then the
// two similarity measures over it (the activation one on a tiny fixed set of frames).

#include <cstdint>

#include "conceptree/concept_set.hpp"
#include "conceptree/info.hpp"
#include "conceptree/similarity.hpp"
#include "fuzz_fixtures.hpp"

using namespace conceptree;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::TinyPipeline run;
  const auto path = fuzz::write_input("concepts.h5", {data, size});
  fuzz::expect_clean_outcome([&] { (void)detect_file_kind(path); });
  fuzz::expect_clean_outcome([&] {
    for (const std::string& layer : concept_set_layers(path)) {
      fuzz::expect_clean_outcome([&] {
        const ConceptSet set = read_concept_set(path, layer);
        fuzz::expect_clean_outcome([&] { (void)cosine_similarity(set); });
        fuzz::expect_clean_outcome([&] {
          const FrameView view{.data = run.frames.data(), .dim = fuzz::TinyPipeline::kDim, .offsets = run.offsets, .track_ids = run.track_ids, .layer = layer};
          BatchErrors errors(false, fuzz::quiet_context());
          (void)activation_similarity(set, view, 1, errors, nullptr, fuzz::quiet_context());
        });
      });
    }
  });
  return 0;
}
