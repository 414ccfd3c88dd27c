#include "conceptree/memberships.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "conceptree/batch_errors.hpp"
#include "conceptree/error.hpp"
#include "conceptree/names.hpp"
#include "conceptree/text_list.hpp"
#include "common/json_input.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool is_header(const std::vector<std::string>& fields) {
  return fields.size() >= 2 && lowercase(fields[0]) == "concept" && lowercase(fields[1]).starts_with("track");
}

// Accumulates concepts in order of first appearance, dropping repeated pairs.
class MembershipBuilder {
 public:
  void add(const std::string& concept_name, const std::string& track, const std::string& type) {
    auto [it, inserted] = index_.try_emplace(concept_name, result_.concepts.size());
    if (inserted) {
      result_.concepts.push_back({concept_name, type, {}});
      seen_.emplace_back();
    }
    Concept& target = result_.concepts[it->second];
    if (!type.empty() && target.type != type) {
      if (target.type.empty()) {
        target.type = type;
      } else if (conflicted_.insert(concept_name).second) {
        result_.type_conflicts.push_back(concept_name);
      }
    }
    if (track.empty()) return;
    ++result_.pairs_read;
    if (!seen_[it->second].insert(track).second) {
      ++result_.duplicate_pairs;
      return;
    }
    target.tracks.push_back(track);
  }

  Memberships finish() { return std::move(result_); }

 private:
  Memberships result_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::unordered_set<std::string>> seen_;
  std::unordered_set<std::string> conflicted_;
};

Memberships read_tsv(const fs::path& path, BatchErrors& errors) {
  MembershipBuilder builder;
  const auto add_line = [&](const TsvLine& line) {
    const auto& fields = line.fields;
    if (fields.size() < 2 || fields.size() > 3) {
      errors.report(InputError(line.where(), "expected concept<TAB>track_id[<TAB>type], got " + std::to_string(fields.size()) + " field(s)"));
      return;
    }
    if (fields[0].empty()) {
      errors.report(InputError(line.where(), "empty concept name"));
      return;
    }
    try {
      check_name(fields[0], line.where(), "concept name");
      check_name(fields[1], line.where(), "track id");
      if (fields.size() == 3) check_name(fields[2], line.where(), "concept type");
    } catch (const InputError& error) {
      errors.report(error);
      return;
    }
    builder.add(fields[0], fields[1], fields.size() == 3 ? fields[2] : "");
  };
  try {
    for_each_tsv_line(path, add_line, is_header);
  } catch (const InputError& error) {
    // Bad lines went to `errors`; what reaches here is the whole file unreadable, which stops the job.
    throw FatalError(error.what());
  }
  return builder.finish();
}

std::string json_track_id(const nlohmann::ordered_json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  throw std::invalid_argument("track ids must be strings or integers, got " + std::string(value.type_name()));
}

Memberships read_json(const fs::path& path, std::istream& stream, BatchErrors& errors) {
  // Ordered, so concepts keep their order in the file as the TSV reader keeps it.
  nlohmann::ordered_json document;
  try {
    document = parse_json_input<nlohmann::ordered_json>(stream, path.string());
  } catch (const InputError& error) {
    throw FatalError(error.what());
  }
  if (!document.is_object()) throw FatalError(path.string() + ": expected a JSON object {\"concept\": [\"track\", ...]}");
  MembershipBuilder builder;
  for (const auto& [name, value] : document.items()) {
    const std::string item = path.string() + ": concept '" + printable_name(name) + "'";
    try {
      std::string type;
      const nlohmann::ordered_json* tracks = &value;
      if (value.is_object()) {
        if (value.contains("type") && value["type"].is_string()) type = value["type"].get<std::string>();
        if (!value.contains("tracks")) throw std::invalid_argument("object without a \"tracks\" list");
        tracks = &value["tracks"];
      }
      if (!tracks->is_array()) throw std::invalid_argument("expected a list of track ids");
      if (name.empty()) throw std::invalid_argument("empty concept name");
      check_name(name, item, "concept name");
      check_name(type, item, "concept type");
      std::vector<std::string> ids;
      for (const auto& track : *tracks) {
        ids.push_back(json_track_id(track));
        check_name(ids.back(), item, "track id");
      }
      builder.add(name, "", type);
      for (const auto& id : ids) builder.add(name, id, type);
    } catch (const std::invalid_argument& problem) {
      errors.report(InputError(item, problem.what()));
    } catch (const InputError& error) {
      errors.report(error);
    }
  }
  return builder.finish();
}

}  // namespace

Memberships read_memberships(const fs::path& path, BatchErrors& errors) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw FatalError(path.string() + ": cannot open memberships file");
  const int first = (stream >> std::ws).peek();
  stream.clear();
  stream.seekg(0);
  if (path.extension() == ".json" || first == '{') return read_json(path, stream, errors);
  return read_tsv(path, errors);
}

ResolvedMemberships resolve_memberships(const Memberships& memberships, std::span<const std::string> store_ids) {
  std::unordered_map<std::string, std::uint32_t> index;
  index.reserve(store_ids.size());
  for (std::size_t i = 0; i < store_ids.size(); ++i) index.emplace(store_ids[i], static_cast<std::uint32_t>(i));
  ResolvedMemberships resolved;
  resolved.concepts.reserve(memberships.concepts.size());
  for (const auto& concept_entry : memberships.concepts) {
    ResolvedConcept target{concept_entry.name, concept_entry.type, {}};
    target.tracks.reserve(concept_entry.tracks.size());
    for (const auto& track : concept_entry.tracks) {
      const auto found = index.find(track);
      if (found == index.end()) {
        ++resolved.unknown_memberships;
        if (resolved.unknown_examples.size() < 5) resolved.unknown_examples.push_back(track);
        continue;
      }
      target.tracks.push_back(found->second);
    }
    std::sort(target.tracks.begin(), target.tracks.end());
    resolved.concepts.push_back(std::move(target));
  }
  return resolved;
}

MembershipValidation validate_memberships(const Memberships& memberships, std::span<const std::string> known_ids) {
  MembershipValidation result;
  result.concepts = memberships.concepts.size();
  result.duplicate_pairs = memberships.duplicate_pairs;
  result.type_conflicts = memberships.type_conflicts.size();
  result.checked_against_store = !known_ids.empty();
  const std::unordered_set<std::string> known(known_ids.begin(), known_ids.end());
  std::unordered_set<std::string> tracks;
  std::unordered_set<std::string> unknown;
  std::vector<std::size_t> sizes;
  for (const auto& concept_entry : memberships.concepts) {
    ++result.concepts_per_type[concept_entry.type];
    result.memberships += concept_entry.tracks.size();
    std::size_t size = 0;
    for (const auto& track : concept_entry.tracks) {
      tracks.insert(track);
      if (result.checked_against_store && !known.contains(track)) {
        ++result.unknown_memberships;
        if (unknown.insert(track).second && result.unknown_examples.size() < 5) result.unknown_examples.push_back(track);
        continue;
      }
      ++size;
    }
    if (size == 0) result.empty_concepts.push_back(concept_entry.name);
    sizes.push_back(size);
  }
  result.distinct_tracks = tracks.size();
  result.unknown_tracks = unknown.size();
  if (!sizes.empty()) {
    std::sort(sizes.begin(), sizes.end());
    result.min_size = sizes.front();
    result.median_size = sizes[sizes.size() / 2];
    result.max_size = sizes.back();
  }
  return result;
}

}  // namespace conceptree
