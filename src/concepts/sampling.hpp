#pragma once
// Seeded samples of tracks, shared by concept training and TCAV's retrained CAVs.

#include <algorithm>
#include <cstdint>
#include <random>
#include <unordered_set>
#include <vector>

namespace conceptree {

// `count` distinct tracks of 0..population-1 outside `excluded` (sorted), in sampled order; all of
// them, shuffled, when fewer are available.
inline std::vector<std::uint32_t> sample_tracks_outside(std::size_t population, const std::vector<std::uint32_t>& excluded, std::size_t count, std::mt19937_64& rng) {
  const std::size_t available = population - excluded.size();
  count = std::min(count, available);
  auto is_excluded = [&](std::uint32_t t) { return std::binary_search(excluded.begin(), excluded.end(), t); };
  std::vector<std::uint32_t> chosen;
  if (count * 2 > available) {
    for (std::uint32_t t = 0; t < population; ++t)
      if (!is_excluded(t)) chosen.push_back(t);
    std::shuffle(chosen.begin(), chosen.end(), rng);
    chosen.resize(count);
    return chosen;
  }
  std::unordered_set<std::uint32_t> seen;
  std::uniform_int_distribution<std::uint32_t> pick(0, static_cast<std::uint32_t>(population - 1));
  while (chosen.size() < count) {
    const std::uint32_t t = pick(rng);
    if (!is_excluded(t) && seen.insert(t).second) chosen.push_back(t);
  }
  return chosen;
}

}  // namespace conceptree
