#pragma once
// How sure is each link? The concept learning is repeated with other seeds (other train/val/test
// splits and negative samples), a hierarchy is extracted from each run, and every parent -> child
// link gets its support: the share of runs that have it, as phylogenetic trees carry bootstrap
// support. The consensus hierarchy hangs each concept under its most supported parent.
//
//   HierarchyBootstrap bootstrap(config);
//   bootstrap.run();
//   bootstrap.hierarchy();   // the consensus, links with .support, .alternatives the links it left out
//
// The frames are loaded once and every run trains, relates and extracts in memory; each run's
// hierarchy is kept in a work folder (OUTPUT.runs/) as it finishes, so a killed bootstrap resumes.

#include <cstdint>
#include <string>
#include <vector>

#include "conceptree/context.hpp"
#include "conceptree/concepts.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/params.hpp"

namespace conceptree {

struct ConsensusOptions {
  double min_support = 0;        // links below this support stay out of the consensus
  std::uint64_t parents = 1;     // parents per concept in the consensus (> 1: a DAG)
};

// The in-memory core: the consensus of hierarchies over concept ids (a concept may be missing from
// some runs, when it fell below the accuracy cut). Candidate links are taken by decreasing support
// (ties: larger mean weight, then concept order); a link joins unless its child has its parents
// already, more runs left the child at the top level than have the link, or it would close a cycle. Nodes: every concept of any run, in order of first appearance,
// with its mean centrality over the runs that have it. Support = runs with the link / all runs.
Hierarchy consensus_hierarchy(const std::vector<Hierarchy>& runs, const ConsensusOptions& options);

struct BootstrapConfig {
  std::string embeddings{};
  std::string memberships{};
  std::string output{};
  std::optional<HierarchyFormat> format;  // unset = from the output's extension
  std::string labels{};
  std::string workdir{};
  std::uint64_t runs = 20;
  std::uint64_t first_seed = 0;
  double min_support = 0;
  bool keep_runs = false;
  TrainConfig train;             // its settings; inputs, output and seed are the bootstrap's
  HierarchyOptions options;      // heymann's settings for every run
  int jobs = 0;
  bool strict = false;
  bool overwrite = false;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(embeddings, {.name = "embeddings", .help = "embedding store (HDF5) holding the tracks' frames", .required = true, .short_name = "e"});
    v(memberships, {.name = "memberships", .help = "concept memberships, TSV concept<TAB>track_id[<TAB>type] or JSON", .required = true, .short_name = "m"});
    v(output, {.name = "output", .help = "consensus hierarchy to write, links carrying their support", .required = true, .short_name = "o"});
    v(format, {.name = "format", .help = "json, graphml, dot, newick or tsv; default: from the output's extension, else json"});
    v(labels, {.name = "labels", .help = "TSV id<TAB>label giving concepts display names (default: the id)"});
    v(runs, {.name = "runs", .help = "concept learnings repeated, each with its own seed", .min = 2, .max = 100000, .short_name = "B"});
    v(first_seed, {.name = "first-seed", .help = "run r trains with seed first-seed + r (splits and negatives)"});
    v(min_support, {.name = "min-support", .help = "consensus: leave out links with less support (0.5 = majority rule); every concept still appears", .min = 0, .max = 1});
    v(workdir, {.name = "workdir", .help = "where each run's hierarchy is kept for resuming (default: OUTPUT.runs)"});
    v(keep_runs, {.name = "keep-runs", .help = "keep the work folder after the consensus is written"});
    visit_train_settings(v);
    visit_except(options, {"method", "seed", "matching-threshold", "random-density"}, v);
    v(jobs, {.name = "jobs", .help = "threads, 0 = all cores", .min = 0, .max = 1024, .short_name = "j"});
    v(strict, {.name = "strict", .help = "stop on the first membership naming a track missing from the store"});
    v(overwrite, {.name = "overwrite", .help = "replace the output, and runs left by other settings"});
  }

  // Train's settings the runs share; inputs, output and seed are the bootstrap's own.
  template <class Visitor>
  void visit_train_settings(Visitor&& v) {
    visit_except(train, {"embeddings", "memberships", "output", "seed", "jobs", "strict", "overwrite"}, v);
  }
};

struct BootstrapSummary {
  std::uint64_t runs = 0;
  std::uint64_t runs_resumed = 0;       // found finished in the work folder
  double load_seconds = 0;              // the frames, read once
  std::uint64_t concepts = 0;           // in the consensus
  std::uint64_t links = 0;
  std::uint64_t alternatives = 0;
  double mean_support = 0;              // over the consensus links
  double train_seconds = 0;
  double similarity_seconds = 0;
  double hierarchy_seconds = 0;
  double seconds = 0;
};

class HierarchyBootstrap {
 public:
  // `context` must outlive the object.
  explicit HierarchyBootstrap(BootstrapConfig config, const Context& context = default_context());
  // Throws FatalError for bad inputs or options.
  void run();
  const Hierarchy& hierarchy() const { return hierarchy_; }
  const BootstrapSummary& summary() const { return summary_; }

 private:
  BootstrapConfig config_;
  const Context& context_;
  Hierarchy hierarchy_;
  BootstrapSummary summary_;
};

}  // namespace conceptree
