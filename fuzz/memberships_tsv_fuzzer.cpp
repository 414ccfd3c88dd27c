// Memberships TSV, concept<TAB>track_id[<TAB>type], as `train -m memberships.tsv` reads it.

#include "memberships_fuzzer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  conceptree::fuzz::read_memberships_as_cli_does("memberships.tsv", {data, size});
  return 0;
}
