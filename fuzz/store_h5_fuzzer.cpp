// The embedding store (HDF5) as `train`, `similarity`, `explain`, `tcav` and `info` open and read
// it, and as `import`/`embed` reopen a partial one to resume.

#include <cstdint>
#include <numeric>
#include <vector>

#include "conceptree/info.hpp"
#include "conceptree/store.hpp"
#include "fuzz_support.hpp"

using namespace conceptree;

namespace {

// Reading every frame of a store that claims more than this is the reader's size check to make
// (a few tracks then); the harness reads at most this many floats at once.
constexpr std::uint64_t kMostFloatsRead = std::uint64_t{1} << 22;

void read_like_the_stages_do(const EmbeddingStore& store) {
  (void)store.index_of("t0");
  const std::uint64_t floats = store.total_frames() * store.dim();
  if (store.track_count() == 0 || store.dim() == 0 || floats / store.dim() != store.total_frames() || floats > kMostFloatsRead) return;
  std::vector<std::size_t> all(store.track_count());
  std::iota(all.begin(), all.end(), 0);
  fuzz::expect_clean_outcome([&] { (void)store.read_tracks(all); });
  fuzz::expect_clean_outcome([&] { (void)store.read_track(store.track_count() - 1); });
  std::vector<float> rows(floats);
  fuzz::expect_clean_outcome([&] { store.read_rows(0, store.total_frames(), rows.data()); });
  for (const std::string& output : store.layer().gradients) {
    fuzz::expect_clean_outcome([&] { store.read_gradient_rows(output, 0, store.total_frames(), rows.data()); });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::write_input("store.h5", {data, size});
  fuzz::expect_clean_outcome([&] { (void)detect_file_kind(path); });
  fuzz::expect_clean_outcome([&] { (void)summarize_store(path); });
  fuzz::expect_clean_outcome([&] {
    const EmbeddingStore store(path);
    read_like_the_stages_do(store);
    for (const StoreLayer& layer : store.layers()) {
      fuzz::expect_clean_outcome([&] { read_like_the_stages_do(EmbeddingStore(path, layer.name)); });
    }
  });
  // Last: resuming rewrites the file.
  fuzz::expect_clean_outcome([&] { EmbeddingStoreWriter::open_for_append(path).close(); });
  return 0;
}
