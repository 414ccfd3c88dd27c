// Hierarchy extraction on a sparse similarity: the same methods as extract.cpp, reading S[p][n]
// from the kept entries of column n instead of a K x K matrix.

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "conceptree/error.hpp"
#include "conceptree/graph.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/sparse_similarity.hpp"
#include "hierarchy/extract_internal.hpp"

namespace conceptree {

namespace {

// The kept entries of S with the values extraction uses (raw or calibrated), by row and by column.
class KeptMatrix {
 public:
  KeptMatrix(const SparseSimilarity& similarity, std::vector<float> values)
      : size_(similarity.size()), row_offsets_(similarity.offsets), row_columns_(similarity.columns), row_values_(std::move(values)) {
    column_offsets_.assign(size_ + 1, 0);
    for (std::uint32_t column : row_columns_) ++column_offsets_[column + 1];
    for (std::size_t j = 0; j < size_; ++j) column_offsets_[j + 1] += column_offsets_[j];
    column_rows_.resize(row_columns_.size());
    column_values_.resize(row_columns_.size());
    std::vector<std::uint64_t> next(column_offsets_.begin(), column_offsets_.end() - 1);
    // Rows in ascending order, so each column's rows come out ascending too.
    for (std::uint32_t i = 0; i < size_; ++i) {
      for (std::uint64_t e = row_offsets_[i]; e < row_offsets_[i + 1]; ++e) {
        const std::uint64_t slot = next[row_columns_[e]]++;
        column_rows_[slot] = i;
        column_values_[slot] = row_values_[e];
      }
    }
  }

  std::size_t size() const { return size_; }
  std::uint64_t entry_count() const { return row_columns_.size(); }
  // Calls visit(row, value) for the kept S[row][column], rows ascending.
  template <class Visit>
  void for_column(std::uint32_t column, Visit visit) const {
    for (std::uint64_t e = column_offsets_[column]; e < column_offsets_[column + 1]; ++e) visit(column_rows_[e], column_values_[e]);
  }
  template <class Visit>
  void for_each(Visit visit) const {
    for (std::uint32_t i = 0; i < size_; ++i) {
      for (std::uint64_t e = row_offsets_[i]; e < row_offsets_[i + 1]; ++e) visit(i, row_columns_[e], row_values_[e]);
    }
  }
  // S[row][column] when kept, else -infinity (below every kept value, as a dropped one is).
  float at_or_lowest(std::uint32_t row, std::uint32_t column) const {
    const auto begin = row_columns_.begin() + static_cast<std::ptrdiff_t>(row_offsets_[row]);
    const auto end = row_columns_.begin() + static_cast<std::ptrdiff_t>(row_offsets_[row + 1]);
    const auto found = std::lower_bound(begin, end, column);
    if (found == end || *found != column) return -std::numeric_limits<float>::infinity();
    return row_values_[static_cast<std::size_t>(found - row_columns_.begin())];
  }

 private:
  std::size_t size_;
  const std::vector<std::uint64_t>& row_offsets_;
  const std::vector<std::uint32_t>& row_columns_;
  std::vector<float> row_values_;
  std::vector<std::uint64_t> column_offsets_;
  std::vector<std::uint32_t> column_rows_;
  std::vector<float> column_values_;
};

// The order extract.cpp's heymann and top1 rank candidate parents by: larger S, then lower index.
bool more_similar(float a_value, std::uint32_t a, float b_value, std::uint32_t b) {
  return a_value != b_value ? a_value > b_value : a < b;
}

std::vector<HierarchyLink> heymann_links(const KeptMatrix& s, const std::vector<double>& visit_scores, const HierarchyOptions& options) {
  const std::size_t n = s.size();
  std::vector<HierarchyLink> links;
  std::vector<std::uint64_t> children(n, 0);
  std::vector<std::uint8_t> placed(n, 0);
  struct Candidate {
    std::uint32_t parent;
    float similarity;
  };
  std::vector<Candidate> candidates;
  for (std::uint32_t node : centrality_order(visit_scores)) {
    const auto open = [&](std::uint32_t p, float value) { return placed[p] && children[p] < options.max_children && value > options.min_similarity; };
    std::int64_t best = -1;
    float best_similarity = 0;
    s.for_column(node, [&](std::uint32_t p, float value) {
      if (open(p, value) && (best < 0 || more_similar(value, p, best_similarity, static_cast<std::uint32_t>(best)))) {
        best = p;
        best_similarity = value;
      }
    });
    if (best >= 0) {
      const auto parent = static_cast<std::uint32_t>(best);
      links.push_back({parent, node, best_similarity});
      if (options.parents > 1) {
        candidates.clear();
        s.for_column(node, [&](std::uint32_t p, float value) {
          if (p != parent && open(p, value) && value >= best_similarity - options.additional_threshold) candidates.push_back({p, value});
        });
        const std::size_t extra = std::min<std::size_t>(candidates.size(), options.parents - 1);
        std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(extra), candidates.end(),
                          [](const Candidate& a, const Candidate& b) { return more_similar(a.similarity, a.parent, b.similarity, b.parent); });
        for (std::size_t c = 0; c < extra; ++c) {
          links.push_back({candidates[c].parent, node, candidates[c].similarity});
          ++children[candidates[c].parent];
        }
      }
      ++children[parent];
    }
    placed[node] = 1;
  }
  return links;
}

// Exact: every column keeps its largest value.
std::vector<HierarchyLink> top1_links(const KeptMatrix& s) {
  std::vector<HierarchyLink> links;
  for (std::uint32_t child = 0; child < s.size(); ++child) {
    std::int64_t best = -1;
    float best_similarity = 0;
    s.for_column(child, [&](std::uint32_t p, float value) {
      if (best < 0 || more_similar(value, p, best_similarity, static_cast<std::uint32_t>(best))) {
        best = p;
        best_similarity = value;
      }
    });
    if (best >= 0) links.push_back({static_cast<std::uint32_t>(best), child, best_similarity});
  }
  return links;
}

// As extract.cpp's: one link per pair above `threshold` either way, from the larger S[parent][child].
// A direction not kept lies at or below keep_above <= threshold, so it never decides.
std::vector<HierarchyLink> threshold_links(const KeptMatrix& s, double threshold) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;  // (lower, higher) index
  s.for_each([&](std::uint32_t i, std::uint32_t j, float value) {
    if (value > threshold) pairs.emplace_back(std::min(i, j), std::max(i, j));
  });
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  std::vector<HierarchyLink> links;
  links.reserve(pairs.size());
  for (const auto& [i, j] : pairs) {
    const float forward = s.at_or_lowest(i, j), backward = s.at_or_lowest(j, i);
    links.push_back(forward >= backward ? HierarchyLink{i, j, forward} : HierarchyLink{j, i, backward});
  }
  return links;
}

// Values between keep_above and a lower threshold were dropped: a graph or link set at that
// threshold would be missing pairs without saying so. Under lift the threshold t applies to
// (S-b)/(S+b), which exceeds t where S > b (1+t)/(1-t).
void require_kept(const SparseSimilarity& similarity, Calibration calibration, double threshold, const char* option) {
  const double keep_above = similarity.sparsity.keep_above;
  double lowest_raw = threshold;
  if (calibration == Calibration::Lift) {
    if (threshold >= 1) return;  // lift stays below 1: nothing passes
    const float lowest_rate = similarity.base_rate.empty() ? 0.0f : *std::min_element(similarity.base_rate.begin(), similarity.base_rate.end());
    lowest_raw = lowest_rate * (1 + threshold) / (1 - threshold);
  }
  if (lowest_raw < keep_above) {
    throw FatalError(fmt::format("--{} {} reaches below the values the sparse similarity kept (everything above {}){}; raise --{} or "
                                 "rerun 'conceptree similarity' with a lower --keep-above",
                                 option, threshold, keep_above,
                                 calibration == Calibration::Lift ? fmt::format(" under --calibration lift (raw S down to {:.3g})", lowest_raw) : "",
                                 option));
  }
}

void check_sparse_options(const SparseSimilarity& similarity, const HierarchyOptions& options) {
  if (options.method == HierarchyMethod::RandomTop || options.method == HierarchyMethod::RandomSim) {
    throw FatalError(fmt::format("--method {} weighs links with any concept pair's S, which a sparse similarity does not keep; "
                                 "compute a dense one with 'conceptree similarity --layout dense'",
                                 choice_name(options.method)));
  }
  if (options.calibration == Calibration::Lift && options.order == VisitOrder::Generality && options.method == HierarchyMethod::Heymann) {
    throw FatalError("--calibration lift with --order generality needs the mean lift of every column, and a sparse similarity keeps the "
                     "column means of raw S only; use --order betweenness, no calibration, or 'conceptree similarity --layout dense'");
  }
  require_kept(similarity, options.calibration, options.threshold, "threshold");
  if (options.method == HierarchyMethod::Matching) require_kept(similarity, options.calibration, options.matching_threshold, "matching-threshold");
}

// The kept values as calibrate() would give them.
std::vector<float> calibrated_values(const SparseSimilarity& similarity, Calibration calibration) {
  if (calibration == Calibration::None) return similarity.values;
  std::vector<float> lift(similarity.values.size());
  for (std::size_t e = 0; e < lift.size(); ++e) {
    const double s = similarity.values[e], b = similarity.base_rate[similarity.columns[e]];
    lift[e] = s + b <= 0 ? 0.0f : static_cast<float>((s - b) / (s + b));
  }
  return lift;
}

}  // namespace

Hierarchy extract_hierarchy(const SparseSimilarity& similarity, const HierarchyOptions& requested, int jobs, HierarchySummary* summary,
                            const Context& context) {
  const HierarchyOptions options = resolve_options(requested, similarity.measure, !similarity.base_rate.empty(), similarity.size());
  check_sparse_options(similarity, options);
  const std::size_t n = similarity.size();
  const KeptMatrix kept(similarity, calibrated_values(similarity, options.calibration));

  std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;
  kept.for_each([&](std::uint32_t i, std::uint32_t j, float value) {
    if (value > options.threshold) edges.emplace_back(i, j);
  });
  const ConceptGraph graph = graph_from_edges(n, edges);
  std::vector<std::pair<std::uint32_t, std::uint32_t>>().swap(edges);
  const ConceptCentrality centrality = concept_centrality(graph, options, jobs, summary, context);

  Hierarchy hierarchy;
  hierarchy.nodes = concept_nodes(similarity.names, similarity.types, centrality.scores);
  switch (options.method) {
    case HierarchyMethod::Heymann:
      hierarchy.links = heymann_links(kept, options.order == VisitOrder::Generality ? similarity.column_mean : centrality.scores, options);
      break;
    case HierarchyMethod::Top1: hierarchy.links = top1_links(kept); break;
    case HierarchyMethod::Threshold: hierarchy.links = threshold_links(kept, options.threshold); break;
    case HierarchyMethod::Matching: hierarchy.links = threshold_links(kept, options.matching_threshold); break;
    case HierarchyMethod::RandomTop:
    case HierarchyMethod::RandomSim: throw FatalError("unreachable: refused by check_sparse_options");
  }
  assign_depths(hierarchy);

  record_params(options, similarity.measure, graph.edge_count(), hierarchy);
  if (centrality.error_bound) hierarchy.params.emplace_back("centrality_error_bound", *centrality.error_bound);
  hierarchy.params.emplace_back("similarity_layout", std::string("sparse"));
  hierarchy.params.emplace_back("top_k", static_cast<double>(similarity.sparsity.top_k));
  hierarchy.params.emplace_back("keep_above", similarity.sparsity.keep_above);
  return hierarchy;
}

}  // namespace conceptree
