#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>

#include "cli/commands.hpp"
#include "conceptree/batch_errors.hpp"
#include "conceptree/concept_set.hpp"
#include "conceptree/error.hpp"
#include "conceptree/info.hpp"
#include "conceptree/memberships.hpp"
#include "conceptree/strings.hpp"

namespace conceptree::cli {

namespace {

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

// With `limit`, at most that many values followed by ", ..." when there are more.
std::string join_numbers(const std::vector<std::uint64_t>& values, const char* separator, std::size_t limit = static_cast<std::size_t>(-1)) {
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < values.size() && i < limit; ++i) texts.push_back(std::to_string(values[i]));
  if (values.size() > limit) texts.emplace_back("...");
  return join(texts, separator);
}

void print_store(const std::string& path) {
  const StoreSummary s = summarize_store(path);
  fmt::print("{}: embedding store, {}\n", path, human_bytes(s.file_bytes));
  fmt::print("  tracks            {}\n", s.tracks);
  fmt::print("  frames            {} (per track: min {}, median {}, max {})\n", s.total_frames, s.min_frames,
             s.median_frames, s.max_frames);
  for (const auto& layer : s.layers) {
    const double raw = static_cast<double>(layer.frames * layer.layer.dim * 4);
    fmt::print("  layer {:<12} dim {}, {} frames every {:.3f} s, {}, chunks {}, {}{}\n", layer.layer.name, layer.layer.dim, layer.frames,
               layer.layer.frame_hop_seconds, layer.type_name,
               layer.chunk_dims.empty() ? "none" : join_numbers(layer.chunk_dims, "x"),
               layer.filters.empty() ? "uncompressed" : layer.filters,
               raw > 0 && !layer.filters.empty() ? fmt::format(" ({:.0f}% of raw)", 100.0 * layer.stored_bytes / raw) : "");
    if (!layer.layer.gradients.empty()) fmt::print("  {:<18} gradients of {}\n", "", join(layer.layer.gradients, ", "));
  }
  for (const auto& [name, value] : s.attributes) fmt::print("  {:<17} {}\n", name, value);
}

// Test balanced accuracies in 0.05-wide bins from 0.5, one bar each, with the keep cut-off marked.
void print_accuracy_histogram(const ConceptSet& set, double cutoff) {
  constexpr int kBins = 10;
  int counts[kBins] = {};
  for (const auto& metrics : set.metrics) {
    const int bin = static_cast<int>((metrics.test_balanced_accuracy - 0.5) / 0.05);
    ++counts[std::clamp(bin, 0, kBins - 1)];
  }
  const int largest = *std::max_element(std::begin(counts), std::end(counts));
  fmt::print("  test balanced accuracy (# kept, . below the cut-off {:.2f}):\n", cutoff);
  for (int bin = kBins - 1; bin >= 0; --bin) {
    const double low = 0.5 + 0.05 * bin;
    const int width = largest > 0 ? (counts[bin] * 40 + largest - 1) / largest : 0;
    // Bins below the cut-off (concepts marked not kept) are drawn with '.'.
    const char bar = low + 1e-9 >= cutoff ? '#' : '.';
    fmt::print("    {:.2f}-{:.2f} {:>6} {}\n", bin == 0 ? 0.0 : low, low + 0.05, counts[bin],
               std::string(static_cast<std::size_t>(width), bar));
  }
}

void print_concept_set(const std::string& path) {
  const ConceptSet set = read_concept_set(path);
  std::size_t kept = 0;
  for (auto k : set.kept) kept += k;
  fmt::print("{}: concept set\n", path);
  fmt::print("  concepts          {} ({} kept)\n", set.size(), kept);
  fmt::print("  layer             {} (dim {})\n", set.layer, set.dim);
  std::map<std::string, std::size_t> per_type;
  for (const auto& type : set.types) ++per_type[type];
  for (const auto& [type, count] : per_type) fmt::print("    type {:<12} {}\n", type.empty() ? "(none)" : type, count);
  for (const auto& [name, value] : set.text_attributes) fmt::print("  {:<17} {}\n", name, value);
  double cutoff = 0.7;
  for (const auto& [name, value] : set.number_attributes) {
    fmt::print("  {:<17} {}\n", name, value);
    if (name == "min_accuracy") cutoff = value;
  }
  if (!set.skipped.empty()) fmt::print("  skipped           {} concepts (see /skipped/reasons)\n", set.skipped.size());
  if (set.metrics.empty()) {
    fmt::print("  metrics           none (CAVs learned elsewhere)\n");
    return;
  }
  std::vector<double> accuracies, aucs;
  for (const auto& metrics : set.metrics) {
    accuracies.push_back(metrics.test_balanced_accuracy);
    aucs.push_back(metrics.test_roc_auc);
  }
  std::sort(accuracies.begin(), accuracies.end());
  std::sort(aucs.begin(), aucs.end());
  fmt::print("  test balanced acc min {:.3f}, median {:.3f}, max {:.3f}\n", accuracies.front(), accuracies[accuracies.size() / 2], accuracies.back());
  fmt::print("  test ROC-AUC      min {:.3f}, median {:.3f}, max {:.3f}\n", aucs.front(), aucs[aucs.size() / 2], aucs.back());
  print_accuracy_histogram(set, cutoff);
}

void print_similarity(const std::string& path) {
  const SimilarityFileSummary s = summarize_similarity(path);
  fmt::print("{}: concept similarity ({})\n", path, s.measure);
  fmt::print("  concepts          {}\n", s.concepts);
  fmt::print("  layer             {}\n", s.layer);
  fmt::print("  off-diagonal S    min {:.3f}, mean {:.3f}, max {:.3f}; diagonal mean {:.3f}\n", s.off_diagonal_min, s.off_diagonal_mean,
             s.off_diagonal_max, s.diagonal_mean);
  fmt::print("  density           {:.1f}% of S[i][j] > 0.5; concept graph at 0.5: {} edges\n", 100.0 * s.share_above_half, s.graph_edges);
  if (s.max_support > 0) fmt::print("  test tracks       per concept: min {}, median {}, max {}\n", s.min_support, s.median_support, s.max_support);
  for (const auto& [name, value] : s.attributes) fmt::print("  {:<17} {}\n", name, value);
}

void print_hierarchy(const std::string& path) {
  const HierarchyFileSummary s = summarize_hierarchy(path);
  fmt::print("{}: concept hierarchy{}, a {}\n", path, s.method.empty() ? "" : " (" + s.method + ")", s.shape);
  fmt::print("  concepts          {}\n", s.nodes);
  fmt::print("  links             {}\n", s.links);
  fmt::print("  top level         {} concepts\n", s.top_level);
  fmt::print("  depth             {} (concepts per depth: {}){}\n", s.max_depth, join_numbers(s.nodes_per_depth, ", ", 20),
             s.unreachable > 0 ? fmt::format("; {} on cycles, below no top-level concept", s.unreachable) : "");
  fmt::print("  branching         {} concepts have children: mean {:.1f}, max {}\n", s.parents_with_children, s.mean_children, s.max_children);
  if (s.mean_support > 0) {
    fmt::print("  support           mean {:.2f} over {} runs; {} links above 50 %, {} at 95 % or more; {} alternative links\n",
               s.mean_support, s.bootstrap_runs, s.links_majority, s.links_95, s.alternatives);
  }
  if (!s.largest_top_level.empty()) {
    fmt::print("  largest top-level concepts ({}):\n", s.shape == "tree" || s.shape == "forest" ? "descendants" : "children");
    for (const auto& [label, size] : s.largest_top_level) fmt::print("    {:>6}  {}\n", size, label);
  }
}

void print_memberships(const std::string& path, const std::string& store_path) {
  BatchErrors errors(false, command_context());
  const Memberships memberships = read_memberships(path, errors);
  std::vector<std::string> known;
  if (!store_path.empty()) known = EmbeddingStore(store_path).ids();
  const auto v = validate_memberships(memberships, known);
  fmt::print("{}: concept memberships\n", path);
  fmt::print("  concepts          {}\n", v.concepts);
  for (const auto& [type, count] : v.concepts_per_type) fmt::print("    type {:<12} {}\n", type.empty() ? "(none)" : type, count);
  fmt::print("  tracks            {} distinct\n", v.distinct_tracks);
  fmt::print("  memberships       {}\n", v.memberships);
  fmt::print("  concept size      min {}, median {}, max {}{}\n", v.min_size, v.median_size, v.max_size,
             v.checked_against_store ? " (tracks in the store)" : "");
  fmt::print("  duplicates        {} repeated pairs dropped\n", v.duplicate_pairs);
  if (v.type_conflicts > 0) fmt::print("  type conflicts    {} concepts given several types (first kept)\n", v.type_conflicts);
  if (errors.count() > 0) fmt::print("  bad lines         {} skipped\n", errors.count());
  if (v.checked_against_store) {
    const std::string examples = join(v.unknown_examples, ", ");
    fmt::print("  unknown ids       {} tracks ({} memberships) not in {}{}\n", v.unknown_tracks, v.unknown_memberships,
               store_path, examples.empty() ? "" : ", e.g. " + examples);
  }
  const std::string empties = join(v.empty_concepts, ", ", 5);
  fmt::print("  empty concepts    {}{}{}\n", v.empty_concepts.size(), empties.empty() ? "" : ": ", empties);
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  auto store = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand("info", "summarise a conceptree file (embedding store, concept set, similarity, hierarchy, memberships)");
  command->add_option("file", *file, "file to summarise")->required();
  command->add_option("--embeddings", *store, "memberships: check track ids against this embedding store");
  command->callback([file, store] {
    switch (detect_file_kind(*file)) {
      case FileKind::EmbeddingStore: print_store(*file); break;
      case FileKind::ConceptSet: print_concept_set(*file); break;
      case FileKind::Similarity: print_similarity(*file); break;
      case FileKind::Hierarchy: print_hierarchy(*file); break;
      case FileKind::Memberships: print_memberships(*file, *store); break;
      case FileKind::OtherHdf5: throw InputError(*file, "an HDF5 file, but not one conceptree wrote");
      case FileKind::Unknown: throw InputError(*file, "unknown kind of file (expected a conceptree .h5 file, a hierarchy .json or .tsv/.json memberships)");
    }
  });
}

}  // namespace conceptree::cli
