#pragma once
// Measures a hierarchy the ways the paper does (distances between linked concepts in a proxy
// embedding space, its Table 1) and the ways the taxonomy-induction literature does (agreement
// with a ground-truth taxonomy), each next to baselines so every number has context.
//   HierarchyEvaluator evaluator(config);
//   evaluator.run();
//   evaluator.evaluation();   // also as a table (format_evaluation_table) or JSON (evaluation_json)

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "conceptree/context.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/params.hpp"

namespace conceptree {

// A ground-truth taxonomy: child -> parent edges over named concepts (any depth; a concept may
// have several parents).
struct Taxonomy {
  std::vector<std::string> concepts;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> child_parent;
};
// Reads `child<TAB>parent` lines; an optional `child<TAB>parent` header; a line with an empty
// parent declares a top-level concept. Throws InputError naming the file and line otherwise.
Taxonomy read_taxonomy(const std::filesystem::path& path);
// The same from (child, parent) pairs held in memory; an empty parent declares a top-level concept.
// Throws InputError naming `name` for an empty child, a self-parent or no concept.
Taxonomy taxonomy_from_pairs(const std::vector<std::pair<std::string, std::string>>& child_parent, const std::string& name);
// Each concept's top-level ancestor (the lowest-indexed of several; a concept only reached
// through a cycle is its own), e.g. an instrument's family.
std::vector<std::uint32_t> top_level_ancestor(const Taxonomy& taxonomy);

// Agreement of a hierarchy with a taxonomy over the concepts both hold. NaN where a ratio has
// nothing to count (e.g. purity without a link between matched concepts).
struct TruthScores {
  double family_purity = 0;             // links whose ends share a top-level truth ancestor
  double ancestor_precision = 0;        // pairs "a is an ancestor of d", transitive through any node
  double ancestor_recall = 0;
  double ancestor_f1 = 0;
  double parent_precision = 0;          // direct parent -> child links
  double parent_recall = 0;
  double parent_f1 = 0;
  double undirected_parent_precision = 0;
  double undirected_parent_recall = 0;
  double undirected_parent_f1 = 0;
  double adjusted_rand_index = 0;       // truth's top-level groups vs the hierarchy's top-level subtrees
  double cumulative_fowlkes_mallows = 0;  // Velardi et al. 2013: clusterings at each depth, deeper ones weighing more
  double taxonomic_precision = 0;       // Dellschaft & Staab 2006, by common semantic cotopy
  double taxonomic_recall = 0;
  double taxonomic_f1 = 0;
};

// Node i of the hierarchy is concept `hierarchy_to_truth[i]` of the taxonomy, or -1.
TruthScores score_against_truth(const Hierarchy& hierarchy, const Taxonomy& truth, const std::vector<std::int64_t>& hierarchy_to_truth);
// Matches every node to a taxonomy concept by id, then by label.
std::vector<std::int64_t> match_nodes(const Hierarchy& hierarchy, const std::vector<std::string>& names);

// Hubert & Arabie's adjusted Rand index of two labelings of the same items (1 when both are one
// cluster, as scikit-learn does).
double adjusted_rand_index(const std::vector<std::uint32_t>& labels_a, const std::vector<std::uint32_t>& labels_b);

// The paper's Table 1 figure: over links whose two ends have a proxy vector, the mean L2 distance
// (or cosine similarity) and its 95% interval half-width 1.96·std/√n (std as numpy's, ddof 0).
enum class ProxyMetric { L2, Cosine };
template <>
inline constexpr ChoiceNames<ProxyMetric, 2> kChoiceNames<ProxyMetric>{{{{ProxyMetric::L2, "l2"}, {ProxyMetric::Cosine, "cosine"}}}};

struct ProxyScore {
  double mean = 0;
  double ci95 = 0;
  std::uint64_t n = 0;
};
struct ProxyEmbeddings {
  std::vector<std::string> ids;
  std::vector<float> vectors;           // ids.size() x dim, row-major
  std::size_t dim = 0;
};
// Rows with NaN/Inf and repeated ids are dropped with a warning naming the file.
ProxyEmbeddings read_proxy_embeddings(const std::filesystem::path& vectors, const std::filesystem::path& ids,
                                      const Context& context = default_context());
ProxyScore score_proxy(const Hierarchy& hierarchy, const ProxyEmbeddings& proxy, const std::vector<std::int64_t>& hierarchy_to_proxy,
                       ProxyMetric metric);

struct EvaluateConfig {
  std::string hierarchy{};              // hierarchy JSON to evaluate
  std::string truth{};                  // taxonomy TSV child<TAB>parent
  std::string proxy{};                  // proxy embeddings .npy (concepts x dim)
  std::string proxy_ids{};              // one id per row of --proxy
  ProxyMetric metric = ProxyMetric::L2;
  std::string similarity{};             // sim.h5: adds the top1, threshold and matching baselines
  bool baselines = false;               // adds random-top and random-sim
  std::uint64_t random_draws = 10;
  HierarchyOptions baseline_options;    // only the baseline settings are used
  bool json = false;                    // JSON on stdout instead of the table
  std::string output{};                 // also write the JSON here
  bool overwrite = false;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(hierarchy, {.name = "hierarchy", .help = "hierarchy JSON to evaluate (conceptree's, or any with nodes[].id and links[].source/target)", .required = true});
    v(truth, {.name = "truth", .help = "ground-truth taxonomy, TSV child<TAB>parent (any depth); concepts matched by id, then label"});
    v(proxy, {.name = "proxy", .help = "proxy embeddings (.npy, one row per concept) for the paper's Table 1 distances"});
    v(proxy_ids, {.name = "proxy-ids", .help = "the concept id of each --proxy row, one per line"});
    v(metric, {.name = "metric", .help = "proxy measure between linked concepts: l2 distance (lower is better) or cosine similarity (higher is better)"});
    v(similarity, {.name = "similarity", .help = "similarity file (HDF5): adds the top1, threshold and matching baselines, and implies --baselines"});
    v(baselines, {.name = "baselines", .help = "also score the random-top and random-sim baselines, drawn over the hierarchy's concepts"});
    v(random_draws, {.name = "random-draws", .help = "random baselines: seeded draws averaged (truth) or pooled (proxy)", .min = 1, .max = 1000});
    baseline_options.visit_baseline_params(v);
    v(json, {.name = "json", .help = "print the evaluation as JSON instead of a table"});
    v(output, {.name = "output", .help = "also write the evaluation JSON to this file", .short_name = "o"});
    v(overwrite, {.name = "overwrite", .help = "replace --output if it exists"});
  }
};

struct TruthEvaluation {
  std::string file;
  std::uint64_t truth_concepts = 0;
  std::uint64_t matched = 0;                     // truth concepts found in the hierarchy
  std::vector<std::string> unmatched;            // truth concepts not in the hierarchy
  std::vector<std::pair<std::string, TruthScores>> methods;  // "hierarchy" first, then baselines
};

struct ProxyEvaluation {
  std::string file;
  ProxyMetric metric = ProxyMetric::L2;
  std::uint64_t proxy_vectors = 0;
  std::uint64_t concepts_with_vector = 0;        // hierarchy concepts with a proxy vector
  std::uint64_t unknown_ids = 0;                 // proxy ids that are no concept of the hierarchy
  std::vector<std::pair<std::string, ProxyScore>> methods;
};

struct Evaluation {
  std::string hierarchy_file;
  std::uint64_t concepts = 0;
  std::uint64_t links = 0;
  std::optional<TruthEvaluation> truth;
  std::optional<ProxyEvaluation> proxy;
};

// An aligned, human-readable table, and the JSON of `--json`:
//   {"hierarchy": ..., "truth": {"family_purity": ..., ..., "baselines": {"top1": {...}}},
//    "proxy": {"metric": "l2", "hierarchy": {"mean", "ci95", "n"}, "random_top": {...}, ...}}
std::string format_evaluation_table(const Evaluation& evaluation);
std::string evaluation_json(const Evaluation& evaluation);

// What a hierarchy is evaluated against, in memory; give a truth, proxy embeddings or both.
struct EvaluationReferences {
  const Taxonomy* truth = nullptr;
  const ProxyEmbeddings* proxy = nullptr;
  const SimilarityMatrix* similarity = nullptr;  // adds the top1, threshold and matching baselines, and the random ones
};
// The in-memory core of `conceptree evaluate`, with `config`'s metric and baseline settings (its
// file names only name things in the result and messages). Throws FatalError for bad options or
// when there is nothing to evaluate against.
Evaluation evaluate_hierarchy(const Hierarchy& hierarchy, const EvaluationReferences& references, const EvaluateConfig& config,
                              const Context& context = default_context());

class HierarchyEvaluator {
 public:
  // `context` must outlive the object.
  explicit HierarchyEvaluator(EvaluateConfig config, const Context& context = default_context());
  // Throws FatalError for bad inputs or options; unknown ids and missing concepts are counted.
  void run();
  const Evaluation& evaluation() const { return evaluation_; }

 private:
  EvaluateConfig config_;
  const Context& context_;
  Evaluation evaluation_;
};

}  // namespace conceptree
