#pragma once
// Hierarchy extraction from a concept similarity (Heymann & Garcia-Molina 2006, as in the paper),
// the paper's baselines, and the hierarchy file formats.
//   HierarchyExtractor extractor(config);
//   extractor.run();
//   extractor.hierarchy();
//
// A hierarchy is a set of concepts (nodes) and parent -> child links. There is no root node:
// concepts without a parent are the top level. With --parents k > 1 it is a DAG; the baselines
// `top1`, `threshold`, `matching` and the random ones are graphs that may hold cycles.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "conceptree/context.hpp"
#include "conceptree/params.hpp"
#include "conceptree/similarity.hpp"

namespace conceptree {

enum class HierarchyMethod { Heymann, Top1, Threshold, Matching, RandomTop, RandomSim };
template <>
inline constexpr ChoiceNames<HierarchyMethod, 6> kChoiceNames<HierarchyMethod>{
    {{{HierarchyMethod::Heymann, "heymann"}, {HierarchyMethod::Top1, "top1"}, {HierarchyMethod::Threshold, "threshold"},
      {HierarchyMethod::Matching, "matching"}, {HierarchyMethod::RandomTop, "random-top"}, {HierarchyMethod::RandomSim, "random-sim"}}}};

enum class Calibration { None, Lift };
template <>
inline constexpr ChoiceNames<Calibration, 2> kChoiceNames<Calibration>{{{{Calibration::None, "none"}, {Calibration::Lift, "lift"}}}};

enum class VisitOrder { Generality, Betweenness };
template <>
inline constexpr ChoiceNames<VisitOrder, 2> kChoiceNames<VisitOrder>{
    {{{VisitOrder::Generality, "generality"}, {VisitOrder::Betweenness, "betweenness"}}}};

enum class HierarchyFormat { Json, Graphml, Dot, Newick, Tsv };
template <>
inline constexpr ChoiceNames<HierarchyFormat, 5> kChoiceNames<HierarchyFormat>{
    {{{HierarchyFormat::Json, "json"}, {HierarchyFormat::Graphml, "graphml"}, {HierarchyFormat::Dot, "dot"},
      {HierarchyFormat::Newick, "newick"}, {HierarchyFormat::Tsv, "tsv"}}}};

// Defaults (ours) and the paper's (--paper): visits by generality vs betweenness, --min-sim 0 vs 0.2
// (measured over seeds of the demo and philharmonia_dev: bench/hierarchy_table.py, docs/usage.md).
// --calibration lift compares S with each concept's base rate; it pays when the concepts were
// trained against every other track (the demo's small-corpus settings), not with train's 1:1 sample.
// Exact betweenness costs one breadth-first search per concept: above --exact-centrality-limit
// concepts it is estimated from one source per kConceptsPerSampledSource concepts, and at least
// kSampledCentralitySources, unless --centrality-sources says otherwise. The sources needed for a
// rank correlation of 0.99 with the exact scores grow with the concepts: 2048 sufficed at 10,000
// planted concepts, 100,000 needed 8192 (docs/scaling_betweenness.md).
inline constexpr std::uint64_t kExactCentralityLimit = 20000;
inline constexpr std::uint64_t kSampledCentralitySources = 2048;
inline constexpr std::uint64_t kConceptsPerSampledSource = 10;

struct HierarchyOptions {
  HierarchyMethod method = HierarchyMethod::Heymann;
  Calibration calibration = Calibration::None;  // lift: S against each concept's base rate
  std::optional<VisitOrder> order;     // heymann; unset = generality, betweenness with --paper
  bool paper = false;                  // the paper's method unchanged
  double threshold = 0.5;              // graph edge i-j when S[i][j] or S[j][i] exceeds it
  double min_similarity = 0;           // heymann: a parent p of n needs S[p][n] above it (--paper: 0.2)
  std::uint64_t max_children = 20;     // heymann: a full parent takes no more children
  std::uint64_t parents = 1;           // heymann: up to this many parents per concept (> 1: a DAG)
  double additional_threshold = 0.2;   // heymann: extra parents within this of the best S[p][n]
  double matching_threshold = 0.66;    // matching: link when S exceeds it
  double random_density = 0.1;         // random-sim: share of concept pairs linked
  std::uint64_t seed = 0;              // random-top, random-sim
  std::uint64_t centrality_sources = 0;  // 0: exact up to exact_centrality_limit concepts, sampled above
  std::uint64_t exact_centrality_limit = kExactCentralityLimit;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(method, {.name = "method", .help = "heymann (greedy tree, concepts visited in --order), or a baseline: top1, threshold, matching, random-top, random-sim"});
    v(order, {.name = "order", .help = "heymann: visit concepts by decreasing generality (mean S[j][i] over the other concepts j: how much their members look like i; the default) or betweenness in the concept graph (the paper's)"});
    v(min_similarity, {.name = "min-sim", .help = "heymann: a concept hangs under p only when S[p][n] exceeds this, else it is top level (--paper: 0.2)", .min = -1, .max = 1e9});
    v(max_children, {.name = "max-children", .help = "heymann: children a concept may take", .min = 1, .max = 1e9});
    v(parents, {.name = "parents", .help = "heymann: parents per concept; above 1 the hierarchy is a DAG", .min = 1, .max = 1000});
    v(additional_threshold, {.name = "additional-threshold", .help = "heymann with --parents > 1: extra parents need S[p][n] within this of the best parent's", .min = 0, .max = 1e9});
    visit_baseline_params(v);
  }

  // The settings the baselines depend on (and the calibration, which the similarity baselines share with
  // heymann); `conceptree evaluate` builds baselines with them too.
  template <class Visitor>
  void visit_baseline_params(Visitor&& v) {
    v(paper, {.name = "paper", .help = "the paper's method unchanged: --order betweenness --min-sim 0.2, raw S (give none of them with it)"});
    v(calibration, {.name = "calibration", .help = "none: raw S; lift: S[i][j] against concept j's base rate b_j as (S-b)/(S+b), 0 at independence, so a concept firing on every track is neither general nor anyone's parent (needs an activation similarity; pays with concepts trained against every other track, as the demo's)"});
    v(threshold, {.name = "threshold", .help = "concept graph (for centrality, and the threshold baseline): edge i-j when S[i][j] or S[j][i] exceeds this", .min = -1, .max = 1e9});
    v(matching_threshold, {.name = "matching-threshold", .help = "matching baseline: link concepts whose S exceeds this", .min = -1, .max = 1e9});
    v(random_density, {.name = "random-density", .help = "random-sim baseline: share of concept pairs linked", .min = 0, .max = 1});
    v(seed, {.name = "seed", .help = "seed of the random baselines, and of the sampled centrality's sources"});
    v(centrality_sources, {.name = "centrality-sources", .help = "betweenness estimated from this many randomly drawn source concepts (Brandes & Pich pivots; the error bound is recorded in the hierarchy) instead of all of them; 0 = exact up to --exact-centrality-limit concepts, above it one source per 10 concepts and at least 2048", .min = 0, .max = 1e9});
    v(exact_centrality_limit, {.name = "exact-centrality-limit", .help = "with --centrality-sources 0, betweenness is exact up to this many concepts and sampled above", .min = 0, .max = 1e12});
  }
};

struct HierarchyNode {
  std::string id;                      // the concept's key, as in the memberships
  std::string label;                   // display name
  std::string type;
  double centrality = 0;               // betweenness in the concept graph
  std::int64_t depth = 0;              // links from the nearest top-level concept; -1 when none reaches it (cycles)
};

struct HierarchyLink {
  std::uint32_t parent = 0;            // node indices
  std::uint32_t child = 0;
  float weight = 0;                    // S[parent][child]
  float support = -1;                  // share of bootstrap runs that have the link; < 0 when not bootstrapped
};

// A setting recorded with a hierarchy: text or a number.
using HierarchyParam = std::variant<std::string, double>;

struct Hierarchy {
  std::vector<HierarchyNode> nodes;
  std::vector<HierarchyLink> links;
  std::vector<std::pair<std::string, HierarchyParam>> params;  // how it was made
  // Bootstrapped: links some run had that the consensus left out, with their support.
  std::vector<HierarchyLink> alternatives;

  bool has_support() const { return !links.empty() && links.front().support >= 0; }
  std::size_t max_parents() const;
  std::vector<std::uint32_t> top_level() const;  // nodes without a parent, in node order
};

// The options as they apply (--paper's settings, the order); throws FatalError when --paper is
// combined with other values of the settings it fixes, or lift is asked of a similarity without
// base rates.
HierarchyOptions resolve_options(const HierarchyOptions& options, const SimilarityMatrix& similarity);
// S calibrated as `calibration` asks: none returns it unchanged; lift gives (S[i][j] - b_j) / (S[i][j] + b_j)
// (in [-1, 1), 0 when i's members activate j at its base rate b_j) and a zero diagonal.
SimilarityMatrix calibrate(const SimilarityMatrix& similarity, Calibration calibration);

// How much the members of the other concepts look like each concept: mean over j != i of S[j][i].
// Broad concepts (a family over its instruments) score higher than the narrow ones they contain.
std::vector<double> generality(const SimilarityMatrix& similarity);
// Link sets of each method on an in-memory similarity; `centrality` orders heymann's visits.
std::vector<HierarchyLink> extract_links(const SimilarityMatrix& similarity, const std::vector<double>& centrality,
                                         const HierarchyOptions& options);
// Fills every node's depth from the links.
void assign_depths(Hierarchy& hierarchy);

struct HierarchySummary;
// The in-memory core of `conceptree hierarchy`: resolves and records the options, calibrates S,
// builds the concept graph, ranks by centrality and extracts the links. Nodes are labelled by id.
Hierarchy extract_hierarchy(const SimilarityMatrix& similarity, const HierarchyOptions& options, int jobs,
                            HierarchySummary* summary = nullptr, const Context& context = default_context());

struct SparseSimilarity;
// The same on a sparse similarity (sparse_similarity.hpp), never K x K. Exact where the kept
// entries decide: the concept graph (FatalError when --threshold is below the file's keep_above),
// generality (the file's column means), top1, threshold and matching (FatalError when
// --matching-threshold is below keep_above); heymann picks each concept's parent among the kept
// entries of its column (its top_k best candidates and every value above keep_above), the same
// parent as on the dense matrix unless all of them are full or not yet placed. random-top and
// random-sim need every value (FatalError), as does --calibration lift with --order generality.
Hierarchy extract_hierarchy(const SparseSimilarity& similarity, const HierarchyOptions& options, int jobs,
                            HierarchySummary* summary = nullptr, const Context& context = default_context());

// Formats; `format` one of json, graphml, dot, newick, tsv. Newick needs a tree or forest
// (FatalError otherwise). write_hierarchy goes through a temporary file and a rename.
std::string format_hierarchy(const Hierarchy& hierarchy, HierarchyFormat format);
void write_hierarchy(const std::filesystem::path& path, const Hierarchy& hierarchy, HierarchyFormat format);
// The format an output path asks for by its extension (.json .graphml .dot/.gv .nwk/.newick .tsv), json otherwise.
HierarchyFormat hierarchy_format_for(const std::filesystem::path& path);
// Reads a hierarchy JSON (conceptree's, or any with nodes[].id and links[].source/target);
// throws InputError naming the file for bad structure or unknown ids.
Hierarchy read_hierarchy_json(const std::filesystem::path& path);
// Display names from a TSV of id<TAB>label lines; throws InputError naming the file and line.
std::unordered_map<std::string, std::string> read_labels(const std::string& path);
// Gives the nodes named in `labels` their display name; returns how many it found.
std::size_t apply_labels(Hierarchy& hierarchy, const std::unordered_map<std::string, std::string>& labels);

struct HierarchyConfig {
  std::string similarity{};            // similarity file (HDF5)
  std::string output{};
  std::optional<HierarchyFormat> format;  // unset = from the output's extension
  std::string labels{};                // optional TSV id<TAB>label
  HierarchyOptions options;
  int jobs = 0;
  bool overwrite = false;

  template <class Visitor>
  void visit(Visitor&& v) {
    v(similarity, {.name = "similarity", .help = "similarity file (HDF5) from 'conceptree similarity'", .required = true, .short_name = "s"});
    v(output, {.name = "output", .help = "hierarchy to write", .required = true, .short_name = "o"});
    v(format, {.name = "format", .help = "json, graphml (Gephi), dot (Graphviz), newick or tsv (child<TAB>parent); default: from the output's extension, else json"});
    v(labels, {.name = "labels", .help = "TSV id<TAB>label giving concepts display names (default: the id)"});
    options.visit(v);
    v(jobs, {.name = "jobs", .help = "threads, 0 = all cores", .min = 0, .max = 1024, .short_name = "j"});
    v(overwrite, {.name = "overwrite", .help = "replace the output if it exists"});
  }
};

struct HierarchySummary {
  std::uint64_t concepts = 0;
  std::uint64_t graph_edges = 0;        // undirected edges of the concept graph
  std::uint64_t links = 0;
  std::uint64_t top_level = 0;
  std::int64_t max_depth = 0;
  std::uint64_t edges_traversed = 0;    // by the betweenness computation
  double centrality_seconds = 0;
  double seconds = 0;
};

class HierarchyExtractor {
 public:
  // `context` must outlive the object.
  explicit HierarchyExtractor(HierarchyConfig config, const Context& context = default_context());
  // Throws FatalError for bad inputs or options.
  void run();
  const Hierarchy& hierarchy() const { return hierarchy_; }
  const HierarchySummary& summary() const { return summary_; }

 private:
  HierarchyConfig config_;
  const Context& context_;
  Hierarchy hierarchy_;
  HierarchySummary summary_;
};

}  // namespace conceptree
