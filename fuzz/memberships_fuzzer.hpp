#pragma once
// The memberships reader as `train`, `bootstrap` and `info` use it; the two harnesses differ only
// in the file's extension, which picks the format (so do a leading '{' and the content).

#include <array>
#include <cstdint>
#include <string>

#include "conceptree/batch_errors.hpp"
#include "conceptree/memberships.hpp"
#include "fuzz_support.hpp"

namespace conceptree::fuzz {

inline void read_memberships_as_cli_does(const std::string& file_name, std::span<const unsigned char> bytes) {
  const auto path = write_input(file_name, bytes);
  // A store's ids: a few that seeds and mutations use, to reach resolution with known tracks.
  static const std::array<std::string, 4> store_ids{"t0", "t1", "track", "1"};
  for (const bool strict : {false, true}) {
    expect_clean_outcome([&] {
      BatchErrors errors(strict, quiet_context());
      const Memberships memberships = read_memberships(path, errors);
      (void)validate_memberships(memberships);
      (void)validate_memberships(memberships, store_ids);
      (void)resolve_memberships(memberships, store_ids);
    });
  }
}

}  // namespace conceptree::fuzz
