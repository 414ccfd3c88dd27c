#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <unordered_map>

#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"
#include "conceptree/names.hpp"
#include "conceptree/graph.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/hierarchy_graph.hpp"
#include "conceptree/context.hpp"
#include "conceptree/settings_record.hpp"
#include "conceptree/sparse_similarity.hpp"
#include "conceptree/text_list.hpp"
#include "hierarchy/extract_internal.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

std::vector<std::uint32_t> centrality_order(const std::vector<double>& centrality) {
  std::vector<std::uint32_t> order(centrality.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return centrality[a] > centrality[b]; });
  return order;
}

namespace {

std::vector<HierarchyLink> heymann_links(const SimilarityMatrix& s, const std::vector<double>& centrality, const HierarchyOptions& options) {
  const std::size_t n = s.size();
  std::vector<HierarchyLink> links;
  std::vector<std::uint64_t> children(n, 0);
  std::vector<std::uint32_t> placed;
  placed.reserve(n);
  std::vector<std::uint32_t> candidates;
  const auto more_similar = [&](std::uint32_t node) {
    return [&s, node](std::uint32_t a, std::uint32_t b) {
      const float sa = s.at(a, node), sb = s.at(b, node);
      return sa != sb ? sa > sb : a < b;
    };
  };
  for (std::uint32_t node : centrality_order(centrality)) {
    const auto open = [&](std::uint32_t p) { return children[p] < options.max_children && s.at(p, node) > options.min_similarity; };
    std::int64_t best = -1;
    for (std::uint32_t p : placed) {
      if (open(p) && (best < 0 || more_similar(node)(p, static_cast<std::uint32_t>(best)))) best = p;
    }
    if (best >= 0) {
      const auto parent = static_cast<std::uint32_t>(best);
      const float best_similarity = s.at(parent, node);
      links.push_back({parent, node, best_similarity});
      if (options.parents > 1) {
        candidates.clear();
        for (std::uint32_t p : placed) {
          if (p != parent && open(p) && s.at(p, node) >= best_similarity - options.additional_threshold) candidates.push_back(p);
        }
        const std::size_t extra = std::min<std::size_t>(candidates.size(), options.parents - 1);
        std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(extra), candidates.end(), more_similar(node));
        for (std::size_t c = 0; c < extra; ++c) {
          links.push_back({candidates[c], node, s.at(candidates[c], node)});
          ++children[candidates[c]];
        }
      }
      ++children[parent];
    }
    placed.push_back(node);
  }
  return links;
}

// Each concept n under the p maximising S[p][n], p != n, ties by index.
std::vector<HierarchyLink> top1_links(const SimilarityMatrix& s) {
  const std::size_t n = s.size();
  std::vector<HierarchyLink> links;
  if (n < 2) return links;
  for (std::uint32_t child = 0; child < n; ++child) {
    std::uint32_t best = child == 0 ? 1 : 0;
    for (std::uint32_t p = 0; p < n; ++p) {
      if (p != child && s.at(p, child) > s.at(best, child)) best = p;
    }
    links.push_back({best, child, s.at(best, child)});
  }
  return links;
}

// One link per concept pair whose similarity exceeds `threshold` either way, from the concept
// whose members look more like the other (larger S[parent][child]; ties: lower index is parent).
std::vector<HierarchyLink> threshold_links(const SimilarityMatrix& s, double threshold) {
  const std::size_t n = s.size();
  std::vector<HierarchyLink> links;
  for (std::uint32_t i = 0; i < n; ++i) {
    for (std::uint32_t j = i + 1; j < n; ++j) {
      const float forward = s.at(i, j), backward = s.at(j, i);
      if (forward <= threshold && backward <= threshold) continue;
      links.push_back(forward >= backward ? HierarchyLink{i, j, forward} : HierarchyLink{j, i, backward});
    }
  }
  return links;
}

// The standard engine's raw 64-bit draws are the same everywhere, unlike std's distributions.
double uniform_unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

std::vector<HierarchyLink> random_top_links(const SimilarityMatrix& s, std::uint64_t seed) {
  const std::size_t n = s.size();
  std::vector<HierarchyLink> links;
  if (n < 2) return links;
  std::mt19937_64 rng(seed);
  for (std::uint32_t child = 0; child < n; ++child) {
    auto parent = static_cast<std::uint32_t>(uniform_unit(rng) * static_cast<double>(n - 1));
    if (parent >= child) ++parent;
    links.push_back({parent, child, s.at(parent, child)});
  }
  return links;
}

std::vector<HierarchyLink> random_sim_links(const SimilarityMatrix& s, double density, std::uint64_t seed) {
  const std::size_t n = s.size();
  std::vector<HierarchyLink> links;
  std::mt19937_64 rng(seed);
  for (std::uint32_t i = 0; i < n; ++i) {
    for (std::uint32_t j = i + 1; j < n; ++j) {
      if (uniform_unit(rng) >= density) continue;
      const bool i_is_parent = (rng() & 1) == 0;
      links.push_back(i_is_parent ? HierarchyLink{i, j, s.at(i, j)} : HierarchyLink{j, i, s.at(j, i)});
    }
  }
  return links;
}

}  // namespace

std::unordered_map<std::string, std::string> read_labels(const std::string& path) {
  std::unordered_map<std::string, std::string> labels;
  for_each_tsv_line(path, [&](const TsvLine& line) {
    if (line.fields.size() < 2) throw InputError(line.where(), "expected id<TAB>label");
    const std::string label = line.text_from(1);
    check_name(line.fields[0], line.where(), "concept id");
    check_name(label, line.where(), "label");
    labels[line.fields[0]] = label;
  });
  return labels;
}

std::size_t apply_labels(Hierarchy& hierarchy, const std::unordered_map<std::string, std::string>& labels) {
  std::size_t labelled = 0;
  for (HierarchyNode& node : hierarchy.nodes) {
    const auto label = labels.find(node.id);
    if (label == labels.end()) continue;
    node.label = label->second;
    ++labelled;
  }
  return labelled;
}

std::vector<double> generality(const SimilarityMatrix& similarity) {
  const std::size_t n = similarity.size();
  std::vector<double> scores(n, 0.0);
  if (n < 2) return scores;
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < n; ++i) {
      if (i != j) scores[i] += similarity.at(j, i);
    }
  }
  for (double& score : scores) score /= static_cast<double>(n - 1);
  return scores;
}

std::vector<HierarchyLink> extract_links(const SimilarityMatrix& similarity, const std::vector<double>& centrality,
                                         const HierarchyOptions& options) {
  switch (options.method) {
    case HierarchyMethod::Heymann: return heymann_links(similarity, centrality, options);
    case HierarchyMethod::Top1: return top1_links(similarity);
    case HierarchyMethod::Threshold: return threshold_links(similarity, options.threshold);
    case HierarchyMethod::Matching: return threshold_links(similarity, options.matching_threshold);
    case HierarchyMethod::RandomTop: return random_top_links(similarity, options.seed);
    case HierarchyMethod::RandomSim: return random_sim_links(similarity, options.random_density, options.seed);
  }
  throw FatalError("unknown hierarchy method");
}

void assign_depths(Hierarchy& hierarchy) {
  const std::vector<std::int64_t> depth = HierarchyGraph(hierarchy).depths();
  for (std::size_t i = 0; i < hierarchy.nodes.size(); ++i) hierarchy.nodes[i].depth = depth[i];
}

std::size_t Hierarchy::max_parents() const { return HierarchyGraph(*this).max_parents(); }

std::vector<std::uint32_t> Hierarchy::top_level() const { return HierarchyGraph(*this).top_level(); }

void record_params(const HierarchyOptions& options, const std::string& measure, std::uint64_t graph_edges, Hierarchy& hierarchy) {
  const bool heymann = options.method == HierarchyMethod::Heymann;
  const bool random = options.method == HierarchyMethod::RandomTop || options.method == HierarchyMethod::RandomSim;
  const auto applies = [&](std::string_view name) {
    if (name == "paper") return false;
    if (name == "order" || name == "min-sim" || name == "max-children" || name == "parents" || name == "additional-threshold") return heymann;
    if (name == "matching-threshold") return options.method == HierarchyMethod::Matching;
    if (name == "random-density") return options.method == HierarchyMethod::RandomSim;
    if (name == "seed") return random || options.centrality_sources > 0;
    if (name == "centrality-sources") return options.centrality_sources > 0;
    if (name == "exact-centrality-limit") return false;  // resolved into centrality-sources
    return true;
  };
  HierarchyOptions recorded = options;
  const nlohmann::ordered_json settings = record_settings([&](auto&& visitor) {
    recorded.visit([&](auto& value, const ParamSpec& spec) {
      if (applies(spec.name)) visitor(value, spec);
    });
  });
  auto& params = hierarchy.params;
  params.emplace_back("method", std::string(choice_name(options.method)));
  params.emplace_back("measure", measure);
  for (const auto& [name, value] : settings.items()) {
    if (name == "method") continue;
    if (value.is_string()) {
      params.emplace_back(name, value.get<std::string>());
    } else {
      params.emplace_back(name, value.get<double>());
    }
  }
  params.emplace_back("graph_edges", static_cast<double>(graph_edges));
}

HierarchyOptions resolve_options(const HierarchyOptions& options, const SimilarityMatrix& similarity) {
  return resolve_options(options, similarity.measure, !similarity.base_rate.empty(), similarity.size());
}

HierarchyOptions resolve_options(const HierarchyOptions& options, const std::string& measure, bool has_base_rates, std::size_t concepts) {
  HierarchyOptions resolved = options;
  if (options.paper) {
    if (options.calibration != Calibration::None || options.order || options.min_similarity != HierarchyOptions{}.min_similarity) {
      throw FatalError("--paper fixes --order betweenness, --min-sim 0.2 and raw S; leave --order, --min-sim and --calibration out with it");
    }
    resolved.order = VisitOrder::Betweenness;
    resolved.min_similarity = 0.2;
  }
  if (!resolved.order) resolved.order = VisitOrder::Generality;
  if (resolved.centrality_sources == 0 && concepts > resolved.exact_centrality_limit) {
    resolved.centrality_sources = std::max<std::uint64_t>(kSampledCentralitySources, concepts / kConceptsPerSampledSource);
  }
  if (resolved.calibration == Calibration::Lift && !has_base_rates) {
    throw FatalError(fmt::format("--calibration lift needs the concepts' base rates, which a {} similarity file does not hold{}",
                                 measure,
                                 measure == "activation" ? " (made before they were kept: rerun 'conceptree similarity')" : ""));
  }
  return resolved;
}

std::vector<HierarchyNode> concept_nodes(const std::vector<std::string>& names, const std::vector<std::string>& types,
                                         const std::vector<double>& centrality) {
  std::vector<HierarchyNode> nodes(names.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].id = names[i];
    nodes[i].label = names[i];
    nodes[i].type = types[i];
    nodes[i].centrality = centrality[i];
  }
  return nodes;
}

ConceptCentrality concept_centrality(const ConceptGraph& graph, const HierarchyOptions& options, int jobs, HierarchySummary* summary,
                                     const Context& context) {
  const auto started = Clock::now();
  BetweennessCentrality centrality(graph, jobs, context, {.sources = options.centrality_sources, .seed = options.seed});
  centrality.run();
  ConceptCentrality result{.scores = centrality.scores(), .error_bound = std::nullopt};
  if (centrality.sampled()) {
    result.error_bound = centrality.error_bound();
    context.info(fmt::format("betweenness estimated from {} of {} concepts as sources: every score within {:.2g} of the exact one with 95 % "
                             "probability (--centrality-sources)",
                             centrality.sources_searched(), graph.node_count(), *result.error_bound));
  }
  if (summary) {
    summary->centrality_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    summary->edges_traversed = centrality.edges_traversed();
    summary->graph_edges = graph.edge_count();
  }
  return result;
}

SimilarityMatrix calibrate(const SimilarityMatrix& similarity, Calibration calibration) {
  if (calibration == Calibration::None) return similarity;
  SimilarityMatrix lift = similarity;
  const std::size_t n = similarity.size();
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      // (L - 1) / (L + 1) of the lift L = S / b: bounded, and 0 at independence whatever b is.
      const double s = similarity.at(i, j), b = similarity.base_rate[j];
      lift.values[i * n + j] = i == j || s + b <= 0 ? 0.0f : static_cast<float>((s - b) / (s + b));
    }
  }
  return lift;
}

Hierarchy extract_hierarchy(const SimilarityMatrix& raw, const HierarchyOptions& requested, int jobs, HierarchySummary* summary, const Context& context) {
  const HierarchyOptions options = resolve_options(requested, raw);
  const SimilarityMatrix similarity = calibrate(raw, options.calibration);
  const std::size_t n = similarity.size();
  const ConceptGraph graph = threshold_graph(similarity.values, n, options.threshold);
  const ConceptCentrality centrality = concept_centrality(graph, options, jobs, summary, context);
  Hierarchy hierarchy;
  hierarchy.nodes = concept_nodes(similarity.names, similarity.types, centrality.scores);
  const std::vector<double> visit_order = options.order == VisitOrder::Generality ? generality(similarity) : centrality.scores;
  hierarchy.links = extract_links(similarity, visit_order, options);
  assign_depths(hierarchy);

  record_params(options, similarity.measure, graph.edge_count(), hierarchy);
  if (centrality.error_bound) hierarchy.params.emplace_back("centrality_error_bound", *centrality.error_bound);
  return hierarchy;
}

HierarchyExtractor::HierarchyExtractor(HierarchyConfig config, const Context& context) : config_(std::move(config)), context_(context) {}

void HierarchyExtractor::run() {
  validate(config_);
  const auto start = Clock::now();
  refuse_to_overwrite(config_.output, config_.overwrite);
  const HierarchyFormat format = config_.format.value_or(hierarchy_format_for(config_.output));
  summary_ = HierarchySummary{};
  try {
    if (is_sparse_similarity(config_.similarity)) {
      hierarchy_ = extract_hierarchy(read_sparse_similarity(config_.similarity), config_.options, config_.jobs, &summary_, context_);
    } else {
      hierarchy_ = extract_hierarchy(read_similarity(config_.similarity), config_.options, config_.jobs, &summary_, context_);
    }
    hierarchy_.params.insert(hierarchy_.params.begin() + 1, {"similarity", fs::absolute(config_.similarity).string()});
    if (!config_.labels.empty()) {
      const auto labels = read_labels(config_.labels);
      const std::size_t labelled = apply_labels(hierarchy_, labels);
      if (labelled < labels.size()) {
        context_.warning(fmt::format("{}: {} of {} labelled ids are not concepts of {}", config_.labels, labels.size() - labelled, labels.size(),
                                config_.similarity));
      }
    }
  } catch (const InputError& error) {
    throw FatalError(error.what());
  }
  write_hierarchy(config_.output, hierarchy_, format);

  summary_.concepts = hierarchy_.nodes.size();
  summary_.links = hierarchy_.links.size();
  summary_.top_level = hierarchy_.top_level().size();
  summary_.max_depth = 0;
  for (const auto& node : hierarchy_.nodes) summary_.max_depth = std::max(summary_.max_depth, node.depth);
  summary_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace conceptree
