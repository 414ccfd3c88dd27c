// .npy files as `import --format npy|npy-dir`, `--offsets`, `cavs import` and `evaluate --proxy` read them.

#include <cstdint>
#include <string>

#include "conceptree/evaluate.hpp"
#include "conceptree/npy.hpp"
#include "fuzz_support.hpp"

using namespace conceptree;

namespace {

// Proxy ids are only written for arrays a user could plausibly list ids for; a header claiming
// more rows than the file holds is the reader's to refuse, not the harness's to spell out.
constexpr std::uint64_t kMostProxyRows = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::write_input("input.npy", {data, size});
  fuzz::expect_clean_outcome([&] {
    const NpyReader reader(path);
    const std::uint64_t rows = reader.rows();
    (void)reader.row_size();
    if (reader.header().kind == 'f') {
      fuzz::expect_clean_outcome([&] { (void)reader.read_all_as_float(); });
      if (rows > 0) {
        std::vector<float> row(reader.row_size());
        fuzz::expect_clean_outcome([&] { reader.read_rows_as_float(rows - 1, 1, row.data()); });
      }
    } else {
      fuzz::expect_clean_outcome([&] { (void)reader.read_all_as_uint64(); });
    }
    if (reader.header().shape.size() == 2 && rows <= kMostProxyRows) {
      std::string ids;
      for (std::uint64_t i = 0; i < rows; ++i) ids += "concept" + std::to_string(i % 7) + "\n";
      const auto ids_path = fuzz::write_input("proxy_ids.txt", fuzz::bytes_of(ids));
      fuzz::expect_clean_outcome([&] { (void)read_proxy_embeddings(path, ids_path, fuzz::quiet_context()); });
    }
  });
  return 0;
}
