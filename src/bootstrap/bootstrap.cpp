#include "conceptree/bootstrap.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "conceptree/atomic_file.hpp"
#include "conceptree/batch_errors.hpp"
#include "conceptree/store.hpp"
#include "conceptree/error.hpp"
#include "conceptree/context.hpp"
#include "conceptree/journal.hpp"
#include "conceptree/ranks.hpp"
#include "conceptree/settings_record.hpp"
#include "conceptree/similarity.hpp"
#include "conceptree/version.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct Tally {
  std::uint64_t runs = 0;
  double weight_sum = 0;
};

// True when `ancestor` is reachable upwards from `node` through the chosen parents.
bool reaches_up(std::uint32_t node, std::uint32_t ancestor, const std::vector<std::vector<std::uint32_t>>& parents_of) {
  std::vector<std::uint32_t> frontier{node};
  std::vector<bool> seen(parents_of.size(), false);
  seen[node] = true;
  while (!frontier.empty()) {
    const std::uint32_t current = frontier.back();
    frontier.pop_back();
    if (current == ancestor) return true;
    for (std::uint32_t parent : parents_of[current]) {
      if (!seen[parent]) {
        seen[parent] = true;
        frontier.push_back(parent);
      }
    }
  }
  return false;
}

// The settings a finished run depends on; runs left by other settings are not reused.
nlohmann::ordered_json run_settings(BootstrapConfig config) {
  nlohmann::ordered_json settings;
  settings["tool_version"] = std::string("conceptree ") + kVersion;
  for (const std::string& input : {config.embeddings, config.memberships}) {
    std::error_code error;
    const auto size = fs::file_size(input, error);
    const auto modified = fs::last_write_time(input, error);
    settings["inputs"].push_back({{"path", fs::absolute(input).string()},
                                  {"bytes", error ? 0 : size},
                                  {"modified", error ? 0 : modified.time_since_epoch().count()}});
  }
  settings["first_seed"] = config.first_seed;
  settings["train"] = record_settings([&](auto&& visitor) { config.visit_train_settings(visitor); });
  settings["hierarchy"] = record_settings([&](auto&& visitor) { config.options.visit(visitor); });
  return settings;
}

}  // namespace

Hierarchy consensus_hierarchy(const std::vector<Hierarchy>& runs, const ConsensusOptions& options) {
  if (runs.empty()) throw FatalError("a consensus needs at least one hierarchy");
  Hierarchy consensus;
  std::unordered_map<std::string, std::uint32_t> index;
  std::vector<std::uint64_t> present;
  std::vector<std::uint64_t> top_level;  // runs where the concept has no parent
  std::map<std::pair<std::uint32_t, std::uint32_t>, Tally> tallies;
  for (const Hierarchy& run : runs) {
    std::vector<std::uint32_t> global(run.nodes.size());
    for (std::size_t i = 0; i < run.nodes.size(); ++i) {
      const auto [found, added] = index.emplace(run.nodes[i].id, static_cast<std::uint32_t>(consensus.nodes.size()));
      if (added) {
        consensus.nodes.push_back(run.nodes[i]);
        consensus.nodes.back().centrality = 0;
        present.push_back(0);
        top_level.push_back(0);
      }
      global[i] = found->second;
      consensus.nodes[found->second].centrality += run.nodes[i].centrality;
      ++present[found->second];
    }
    for (std::uint32_t node : run.top_level()) ++top_level[global[node]];
    for (const HierarchyLink& link : run.links) {
      Tally& tally = tallies[{global[link.parent], global[link.child]}];
      ++tally.runs;
      tally.weight_sum += link.weight;
    }
  }
  for (std::size_t i = 0; i < consensus.nodes.size(); ++i) consensus.nodes[i].centrality /= static_cast<double>(present[i]);

  std::vector<HierarchyLink> candidates;
  candidates.reserve(tallies.size());
  for (const auto& [ends, tally] : tallies) {
    candidates.push_back({ends.first, ends.second, static_cast<float>(tally.weight_sum / static_cast<double>(tally.runs)),
                          static_cast<float>(static_cast<double>(tally.runs) / static_cast<double>(runs.size()))});
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const HierarchyLink& a, const HierarchyLink& b) {
    if (a.support != b.support) return a.support > b.support;
    return a.weight > b.weight;
  });
  std::vector<std::vector<std::uint32_t>> parents_of(consensus.nodes.size());
  for (const HierarchyLink& link : candidates) {
    // Being top level is a placement too: a concept most runs leave there stays there.
    const double top_level_support = static_cast<double>(top_level[link.child]) / static_cast<double>(runs.size());
    const bool joins = link.support >= options.min_support && link.support > top_level_support &&
                       parents_of[link.child].size() < options.parents && !reaches_up(link.parent, link.child, parents_of);
    if (joins) {
      parents_of[link.child].push_back(link.parent);
      consensus.links.push_back(link);
    } else {
      consensus.alternatives.push_back(link);
    }
  }
  assign_depths(consensus);
  return consensus;
}

HierarchyBootstrap::HierarchyBootstrap(BootstrapConfig config, const Context& context) : config_(std::move(config)), context_(context) {}

void HierarchyBootstrap::run() {
  validate(config_);
  const auto start = Clock::now();
  refuse_to_overwrite(config_.output, config_.overwrite);
  const HierarchyFormat format = config_.format.value_or(hierarchy_format_for(config_.output));
  const fs::path workdir = config_.workdir.empty() ? fs::path(config_.output + ".runs") : fs::path(config_.workdir);
  summary_ = BootstrapSummary{};

  // Under MPI each rank makes whole runs and rank 0 keeps them; a run inside is one process's.
  const Ranks& ranks = context_.job_ranks();
  Context one_rank = context_;
  one_rank.ranks.reset();
  const std::string settings = run_settings(config_).dump(1);
  const fs::path settings_path = workdir / "settings.json";
  if (ranks.is_root()) {
    if (fs::exists(settings_path)) {
      std::ifstream in(settings_path);
      const std::string recorded((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (recorded != settings) {
        if (!config_.overwrite) {
          throw FatalError(fmt::format("{} holds runs made with other settings or inputs ({}); pass --overwrite to redo them, or another --workdir",
                                       workdir.string(), settings_path.string()));
        }
        fs::remove_all(workdir);
      }
    }
    fs::create_directories(workdir);
    write_file_atomically(settings_path, settings);
  }

  const EmbeddingStore store(config_.embeddings, config_.train.layer);
  const ResolvedMemberships memberships = read_training_memberships(config_.memberships, store, config_.strict, one_rank);
  // Each run's hierarchy is kept as it finishes; the frames are loaded once, and only when a run is left.
  const auto tree_of = [&workdir](std::uint64_t r) { return workdir / fmt::format("run{:04}-tree.json", r); };
  std::vector<std::optional<Hierarchy>> finished(config_.runs);
  std::vector<std::uint64_t> pending;
  for (std::uint64_t r = 0; r < config_.runs; ++r) {
    if (!ranks.is_root() || !fs::exists(tree_of(r))) {
      pending.push_back(r);
      continue;
    }
    try {
      finished[r] = read_hierarchy_json(tree_of(r));
    } catch (const InputError& error) {
      throw FatalError(fmt::format("{} (a finished run of an earlier bootstrap; remove it to redo the run)", error.what()));
    }
    ++summary_.runs_resumed;
    context_.info(fmt::format("run {}/{} (seed {}): found finished", r + 1, config_.runs, config_.first_seed + r));
  }
  if (ranks.distributed()) {
    RecordWriter writer;
    writer.put_vector(pending);
    pending = RecordReader(ranks.broadcast(writer.bytes())).get_vector<std::uint64_t>();
  }

  std::optional<StoreFrames> frames;
  const auto make_run = [&](std::uint64_t r) {
    const auto run_start = Clock::now();
    if (!frames) {
      frames.emplace(store, one_rank);
      summary_.load_seconds = frames->load_seconds();
    }
    TrainConfig train = config_.train;
    train.seed = config_.first_seed + r;
    train.jobs = config_.jobs;
    const ConceptSet set = learn_concepts(frames->view(), memberships, train, nullptr, one_rank);
    summary_.train_seconds += seconds_since(run_start);
    const auto relate_start = Clock::now();
    BatchErrors missing(config_.strict, one_rank);
    const SimilarityMatrix similarity = activation_similarity(set, frames->view(), config_.jobs, missing, nullptr, one_rank);
    summary_.similarity_seconds += seconds_since(relate_start);
    const auto extract_start = Clock::now();
    Hierarchy hierarchy = extract_hierarchy(similarity, config_.options, config_.jobs, nullptr, one_rank);
    summary_.hierarchy_seconds += seconds_since(extract_start);
    context_.info(fmt::format("run {}/{} (seed {}): {} concepts, {} links in {:.1f} s", r + 1, config_.runs, config_.first_seed + r,
                         hierarchy.nodes.size(), hierarchy.links.size(), seconds_since(run_start)));
    return hierarchy;
  };
  if (!ranks.distributed()) {
    for (std::uint64_t r : pending) {
      write_hierarchy(tree_of(r), make_run(r), HierarchyFormat::Json);
      // Read back from the file written, as a resumed run is, so every run reaches the consensus
      // the same way, whichever process or rank made it.
      finished[r] = read_hierarchy_json(tree_of(r));
    }
  } else {
    // In rounds of one run per rank: rank 0 keeps each round's runs as it ends, so a killed job
    // resumes from them.
    const auto rank_count = static_cast<std::size_t>(ranks.size());
    for (std::size_t round_start = 0; round_start < pending.size(); round_start += rank_count) {
      RecordWriter writer;
      const std::size_t mine = round_start + static_cast<std::size_t>(ranks.rank());
      if (mine < pending.size()) writer.put_string(format_hierarchy(make_run(pending[mine]), HierarchyFormat::Json));
      const std::vector<std::string> parts = ranks.gather(writer.bytes());
      for (std::size_t from = 0; from < parts.size() && round_start + from < pending.size(); ++from) {
        const std::uint64_t r = pending[round_start + from];
        write_file_atomically(tree_of(r), RecordReader(parts[from]).get_string());
        finished[r] = read_hierarchy_json(tree_of(r));
      }
    }
    if (!ranks.is_root()) return;
  }
  std::vector<Hierarchy> hierarchies;
  hierarchies.reserve(config_.runs);
  for (auto& run : finished) hierarchies.push_back(std::move(*run));

  hierarchy_ = consensus_hierarchy(hierarchies, {.min_support = config_.min_support, .parents = config_.options.parents});
  if (!config_.labels.empty()) apply_labels(hierarchy_, read_labels(config_.labels));
  for (const auto& param : hierarchies.front().params) {
    if (param.first != "graph_edges") hierarchy_.params.push_back(param);
  }
  hierarchy_.params.emplace_back("bootstrap_runs", static_cast<double>(config_.runs));
  hierarchy_.params.emplace_back("first_seed", static_cast<double>(config_.first_seed));
  hierarchy_.params.emplace_back("min_support", config_.min_support);
  hierarchy_.params.emplace_back("embeddings", fs::absolute(config_.embeddings).string());
  hierarchy_.params.emplace_back("memberships", fs::absolute(config_.memberships).string());
  write_hierarchy(config_.output, hierarchy_, format);
  if (!config_.keep_runs) fs::remove_all(workdir);

  summary_.runs = config_.runs;
  summary_.concepts = hierarchy_.nodes.size();
  summary_.links = hierarchy_.links.size();
  summary_.alternatives = hierarchy_.alternatives.size();
  double support = 0;
  for (const auto& link : hierarchy_.links) support += link.support;
  summary_.mean_support = hierarchy_.links.empty() ? 0 : support / static_cast<double>(hierarchy_.links.size());
  summary_.seconds = seconds_since(start);
}

}  // namespace conceptree
