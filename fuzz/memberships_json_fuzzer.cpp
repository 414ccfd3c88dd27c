// Memberships JSON, {"concept": ["track", ...]} or {"concept": {"type": ..., "tracks": [...]}}.

#include "memberships_fuzzer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  conceptree::fuzz::read_memberships_as_cli_does("memberships.json", {data, size});
  return 0;
}
