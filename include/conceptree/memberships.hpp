#pragma once
// Concept memberships: which tracks belong to which concept (playlist, tag, genre, ...).
// Read from TSV, `concept<TAB>track_id[<TAB>type]` with an optional header line, or from JSON,
// `{"concept": ["track", ...]}` or `{"concept": {"type": "genre", "tracks": [...]}}`.

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace conceptree {

class BatchErrors;

struct Concept {
  std::string name;                 // the key, exactly as in the file
  std::string type;                 // "" when the file gives none
  std::vector<std::string> tracks;  // distinct, in file order
};

struct Memberships {
  std::vector<Concept> concepts;           // in order of first appearance
  std::uint64_t pairs_read = 0;            // (concept, track) pairs in the file, repeats included
  std::uint64_t duplicate_pairs = 0;       // repeats dropped
  std::vector<std::string> type_conflicts; // concepts given more than one type (the first is kept)
};

// Bad lines or entries are reported to `errors` (skipped, or fatal under --strict). Throws
// FatalError when the file cannot be read or is not valid JSON.
Memberships read_memberships(const std::filesystem::path& path, BatchErrors& errors);

struct MembershipValidation {
  std::size_t concepts = 0;
  std::size_t distinct_tracks = 0;
  std::uint64_t memberships = 0;       // distinct (concept, track) pairs
  std::uint64_t duplicate_pairs = 0;
  std::size_t type_conflicts = 0;
  std::map<std::string, std::size_t> concepts_per_type;  // "" for untyped
  // Checked against a store's ids when one is given:
  bool checked_against_store = false;
  std::size_t unknown_tracks = 0;                 // distinct track ids not in the store
  std::uint64_t unknown_memberships = 0;          // pairs dropped because of them
  std::vector<std::string> unknown_examples;      // up to 5
  std::vector<std::string> empty_concepts;        // no (known) track at all
  // Sizes of concepts counted in known tracks:
  std::size_t min_size = 0, median_size = 0, max_size = 0;
};

// A concept's tracks as indices into a store's track list.
struct ResolvedConcept {
  std::string name;
  std::string type;
  std::vector<std::uint32_t> tracks;  // sorted store indices
};

struct ResolvedMemberships {
  std::vector<ResolvedConcept> concepts;       // same order as the memberships
  std::uint64_t unknown_memberships = 0;       // pairs whose track is not in the store (dropped)
  std::vector<std::string> unknown_examples;   // up to 5 such track ids
};

// Maps track ids to store indices; ids missing from the store are dropped and counted.
ResolvedMemberships resolve_memberships(const Memberships& memberships, std::span<const std::string> store_ids);

// `known_ids` empty means no store to check against.
MembershipValidation validate_memberships(const Memberships& memberships, std::span<const std::string> known_ids = {});

}  // namespace conceptree
