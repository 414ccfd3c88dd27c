#include "conceptree/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "conceptree/atomic_file.hpp"
#include "conceptree/concept_set.hpp"
#include "conceptree/error.hpp"
#include "conceptree/evaluate.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/hierarchy_graph.hpp"
#include "conceptree/context.hpp"
#include "conceptree/similarity.hpp"
#include "conceptree/version.hpp"
#include "common/json_input.hpp"
#include "report/assets.hpp"
#include "report/cav_map.hpp"
#include "report/html_page.hpp"

namespace conceptree {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

using Clock = std::chrono::steady_clock;

// Three or four decimals are all a reader sees, and they keep the data of 3,500 concepts small.
double rounded(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

Json read_evaluation(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path, "cannot open");
  Json document = parse_json_input<Json>(in, path);
  if (!document.is_object() || (!document.contains("truth") && !document.contains("proxy"))) {
    throw InputError(path, "expected the object 'conceptree evaluate --json' writes, with 'truth' or 'proxy' results");
  }
  // The page draws one column (truth) or row (proxy) per method: gather evaluate's layout, where the
  // hierarchy's truth scores sit at the top of "truth" beside "baselines" and each proxy method is
  // an object of "proxy", under "methods".
  if (document.contains("truth")) {
    Json& truth = document["truth"];
    if (!truth.is_object()) throw InputError(path, "'truth' is not an object");
    Json methods = Json::object(), scores = Json::object();
    for (const auto& [key, value] : truth.items()) {
      if ((value.is_number() || value.is_null()) && key != "truth_concepts" && key != "matched") scores[key] = value;
    }
    methods["hierarchy"] = scores;
    if (truth.contains("baselines")) {
      if (!truth["baselines"].is_object()) throw InputError(path, "truth.baselines is not an object");
      for (const auto& [method, values] : truth["baselines"].items()) {
        if (!values.is_object()) throw InputError(path, fmt::format("truth.baselines.{} is not an object", method));
        methods[method] = values;
      }
    }
    truth["methods"] = methods;
  }
  if (document.contains("proxy")) {
    Json& proxy = document["proxy"];
    if (!proxy.is_object()) throw InputError(path, "'proxy' is not an object");
    Json methods = Json::object();
    for (const auto& [method, values] : proxy.items()) {
      if (values.is_object()) methods[method] = values;
    }
    proxy["methods"] = methods;
  }
  return document;
}

// A concept's family: its top-level ancestor in a known taxonomy.
class TruthFamilies {
 public:
  explicit TruthFamilies(const std::string& path) : taxonomy_(read_taxonomy(path)), tops_(top_level_ancestor(taxonomy_)) {
    for (std::uint32_t i = 0; i < taxonomy_.concepts.size(); ++i) index_.emplace(taxonomy_.concepts[i], i);
  }

  // nullopt for a concept the taxonomy does not know.
  std::optional<std::string> family(const std::string& id) const {
    const auto found = index_.find(id);
    if (found == index_.end()) return std::nullopt;
    return taxonomy_.concepts[tops_[found->second]];
  }

 private:
  Taxonomy taxonomy_;
  std::vector<std::uint32_t> tops_;
  std::unordered_map<std::string, std::uint32_t> index_;
};

// One concept of the report, wherever it was found: the concept set, the similarity, the hierarchy.
struct ReportConcept {
  std::string id;
  std::optional<std::size_t> in_set, in_similarity, in_hierarchy;
};

// Concept-set order first, then concepts only the hierarchy or the similarity names.
class ConceptIndex {
 public:
  std::size_t add(const std::string& id) {
    const auto [found, added] = rows_.emplace(id, concepts_.size());
    if (added) concepts_.push_back({id, {}, {}, {}});
    return found->second;
  }
  ReportConcept& operator[](std::size_t row) { return concepts_[row]; }
  const std::vector<ReportConcept>& concepts() const { return concepts_; }

 private:
  std::unordered_map<std::string, std::size_t> rows_;
  std::vector<ReportConcept> concepts_;
};

// Up to `count` other concepts with the largest S[i][j] (`row` true) or S[j][i], largest first, ties by index.
std::vector<std::size_t> most_similar(const SimilarityMatrix& s, std::size_t i, bool row, std::size_t count) {
  const auto value = [&](std::size_t j) { return row ? s.at(i, j) : s.at(j, i); };
  std::vector<std::size_t> others;
  others.reserve(s.size());
  for (std::size_t j = 0; j < s.size(); ++j) {
    if (j != i) others.push_back(j);
  }
  const std::size_t kept = std::min(count, others.size());
  std::partial_sort(others.begin(), others.begin() + static_cast<std::ptrdiff_t>(kept), others.end(), [&](std::size_t a, std::size_t b) {
    return value(a) != value(b) ? value(a) > value(b) : a < b;
  });
  others.resize(kept);
  return others;
}

std::string listed(const std::vector<std::string>& ids, std::size_t shown) {
  std::string text;
  for (std::size_t i = 0; i < ids.size() && i < shown; ++i) text += fmt::format("{}'{}'", i ? ", " : "", ids[i]);
  return ids.size() > shown ? fmt::format("{} and {} more", text, ids.size() - shown) : text;
}

}  // namespace

ReportWriter::ReportWriter(ReportConfig config, const Context& context) : config_(std::move(config)), context_(context) {}

void ReportWriter::run() {
  validate(config_);
  const auto start = Clock::now();
  refuse_to_overwrite(config_.output, config_.overwrite);

  const ConceptSet set = read_concept_set(config_.concepts, config_.layer);
  const SimilarityMatrix similarity = read_similarity(config_.similarity);
  const Hierarchy hierarchy = read_hierarchy_json(config_.hierarchy);
  const Json evaluation = config_.evaluation.empty() ? Json() : read_evaluation(config_.evaluation);
  const std::optional<TruthFamilies> truth = config_.truth.empty() ? std::nullopt : std::optional<TruthFamilies>(TruthFamilies(config_.truth));
  const auto labels = config_.labels.empty() ? std::unordered_map<std::string, std::string>{} : read_labels(config_.labels);

  ConceptIndex index;
  for (std::size_t i = 0; i < set.size(); ++i) index[index.add(set.names[i])].in_set = i;
  for (std::size_t i = 0; i < hierarchy.nodes.size(); ++i) index[index.add(hierarchy.nodes[i].id)].in_hierarchy = i;
  for (std::size_t i = 0; i < similarity.size(); ++i) index[index.add(similarity.names[i])].in_similarity = i;
  const auto& concepts = index.concepts();

  std::vector<std::string> warnings;
  // Hierarchy concepts by the inputs they are missing from, so each kind of gap is reported once.
  std::vector<std::string> in_neither, not_in_set, not_in_similarity;
  for (const auto& node : hierarchy.nodes) {
    const ReportConcept& entry = concepts[index.add(node.id)];
    if (!entry.in_set && !entry.in_similarity) in_neither.push_back(node.id);
    else if (!entry.in_set) not_in_set.push_back(node.id);
    else if (!entry.in_similarity) not_in_similarity.push_back(node.id);
    if (!entry.in_set || !entry.in_similarity) summary_.unknown_ids.push_back(node.id);
  }
  const auto warn_missing = [&](const std::vector<std::string>& ids, const std::string& files, const char* consequence) {
    if (ids.empty()) return;
    warnings.push_back(fmt::format("{}: {} of {} concepts are not in {} ({}); they are shown without {}", config_.hierarchy, ids.size(),
                                   hierarchy.nodes.size(), files, listed(ids, 5), consequence));
  };
  warn_missing(in_neither, fmt::format("{} nor {}", config_.concepts, config_.similarity), "size, accuracy or similar concepts");
  warn_missing(not_in_set, config_.concepts, "size or accuracy");
  warn_missing(not_in_similarity, config_.similarity, "similar concepts");
  // Files from different runs are the likely cause of a similarity naming concepts the set lacks.
  std::vector<std::string> similarity_only;
  for (const auto& name : similarity.names) {
    if (!concepts[index.add(name)].in_set) similarity_only.push_back(name);
  }
  if (!similarity_only.empty()) {
    warnings.push_back(fmt::format("{}: {} of {} concepts are not in {} ({}); are both from the same run?", config_.similarity,
                                   similarity_only.size(), similarity.size(), config_.concepts, listed(similarity_only, 5)));
  }
  if (!config_.explanations.empty() && !fs::exists(config_.explanations)) {
    warnings.push_back(fmt::format("{} does not exist (yet): the report links to it all the same", config_.explanations));
  }
  if (evaluation.contains("hierarchy") && evaluation["hierarchy"].is_string() &&
      fs::path(evaluation["hierarchy"].get<std::string>()).filename() != fs::path(config_.hierarchy).filename()) {
    warnings.push_back(fmt::format("{} evaluates {}, not {}", config_.evaluation, evaluation["hierarchy"].get<std::string>(), config_.hierarchy));
  }

  std::vector<bool> kept(set.size());
  for (std::size_t i = 0; i < set.size(); ++i) kept[i] = set.kept[i] != 0;
  summary_.concepts_trained = set.size();
  summary_.concepts_kept = static_cast<std::uint64_t>(std::count(kept.begin(), kept.end(), true));
  if (summary_.concepts_kept == 0) warnings.push_back(fmt::format("{}: no concept passed the accuracy cut", config_.concepts));
  // Discarded CAVs are mostly noise: the axes come from the kept ones, the rest are only placed on them.
  const CavMap map = pca_map(set.weights, set.size(), set.dim, kept);

  std::vector<std::size_t> similarity_row_to_concept(similarity.size());
  for (std::size_t i = 0; i < similarity.size(); ++i) similarity_row_to_concept[i] = index.add(similarity.names[i]);
  const HierarchyGraph graph(hierarchy);
  std::vector<std::size_t> node_row(hierarchy.nodes.size());
  for (std::size_t node = 0; node < hierarchy.nodes.size(); ++node) node_row[node] = index.add(hierarchy.nodes[node].id);

  const bool has_metrics = !set.metrics.empty();
  Json concept_entries = Json::array();
  for (std::size_t row = 0; row < concepts.size(); ++row) {
    const ReportConcept& entry = concepts[row];
    const HierarchyNode* node = entry.in_hierarchy ? &hierarchy.nodes[*entry.in_hierarchy] : nullptr;
    const auto label = labels.find(entry.id);
    std::string type = entry.in_set ? set.types[*entry.in_set] : node ? node->type : similarity.types[*entry.in_similarity];
    Json item = {{"id", entry.id},
                 {"label", label != labels.end() ? label->second : node ? node->label : entry.id},
                 {"type", std::move(type)},
                 {"kept", entry.in_set ? Json(kept[*entry.in_set]) : Json(nullptr)},
                 {"n_tracks", nullptr},
                 {"test_balanced_accuracy", nullptr},
                 {"test_balanced_accuracy_ci95", nullptr},
                 {"weak", nullptr},
                 {"test_roc_auc", nullptr}};
    if (entry.in_set && has_metrics) {
      const std::size_t k = *entry.in_set;
      const ConceptMetrics& metrics = set.metrics[k];
      item["n_tracks"] = metrics.n_tracks;
      item["test_balanced_accuracy"] = rounded(metrics.test_balanced_accuracy, 4);
      item["test_roc_auc"] = rounded(metrics.test_roc_auc, 4);
      // Reliability: a concept whose interval reaches chance may be a weak classifier that fires
      // everywhere, the kind that turns into a false hub.
      if (!set.splits.empty()) {
        const auto count = [k](const TrackLists& lists) { return lists.offsets[k + 1] - lists.offsets[k]; };
        const auto [low, high] = balanced_accuracy_interval(metrics.test_balanced_accuracy, count(set.splits.test_positive),
                                                            count(set.splits.test_negative));
        item["test_balanced_accuracy_ci95"] = {rounded(low, 4), rounded(high, 4)};
        item["weak"] = low <= 0.5;
      }
    }
    item["in_hierarchy"] = node != nullptr;
    item["centrality"] = node ? Json(node->centrality) : Json(nullptr);
    item["depth"] = node && node->depth >= 0 ? Json(node->depth) : Json(nullptr);
    Json parents = Json::array(), children = Json::array(), parent_support = Json::array();
    if (entry.in_hierarchy) {
      const auto node_index = static_cast<HierarchyGraph::Node>(*entry.in_hierarchy);
      for (HierarchyGraph::Node parent : graph.parents(node_index)) parents.push_back(node_row[parent]);
      for (HierarchyGraph::Node child : graph.children(node_index)) children.push_back(node_row[child]);
      for (std::size_t link : graph.parent_edges(node_index)) parent_support.push_back(rounded(hierarchy.links[link].support, 3));
    }
    item["parents"] = std::move(parents);
    item["children"] = std::move(children);
    if (hierarchy.has_support()) item["parent_support"] = std::move(parent_support);
    Json similar_to = Json::array(), similar_from = Json::array();
    if (entry.in_similarity) {
      const std::size_t i = *entry.in_similarity;
      for (std::size_t j : most_similar(similarity, i, true, config_.top_similar)) {
        similar_to.push_back({similarity_row_to_concept[j], rounded(similarity.at(i, j), 3)});
      }
      for (std::size_t j : most_similar(similarity, i, false, config_.top_similar)) {
        similar_from.push_back({similarity_row_to_concept[j], rounded(similarity.at(j, i), 3)});
      }
    }
    item["similar_to"] = std::move(similar_to);
    item["similar_from"] = std::move(similar_from);
    item["map"] = entry.in_set ? Json::array({rounded(map.points[*entry.in_set][0], 4), rounded(map.points[*entry.in_set][1], 4)}) : Json(nullptr);
    if (truth) {
      const auto family = truth->family(entry.id);
      item["family"] = family ? Json(*family) : Json(nullptr);
    }
    concept_entries.push_back(std::move(item));
  }

  summary_.hierarchy_nodes = hierarchy.nodes.size();
  summary_.links = hierarchy.links.size();
  summary_.top_level = graph.top_level().size();
  summary_.max_depth = 0;
  for (const auto& node : hierarchy.nodes) summary_.max_depth = std::max(summary_.max_depth, node.depth);

  Json hierarchy_params = Json::object();
  for (const auto& [name, value] : hierarchy.params) {
    hierarchy_params[name] = std::holds_alternative<std::string>(value) ? Json(std::get<std::string>(value)) : Json(std::get<double>(value));
  }
  Json set_settings = Json::object();
  for (const auto& [name, value] : set.number_attributes) set_settings[name] = value;
  const auto min_accuracy = std::find_if(set.number_attributes.begin(), set.number_attributes.end(),
                                         [](const auto& attribute) { return attribute.first == "min_accuracy"; });

  Json files = {{"concepts", config_.concepts}, {"similarity", config_.similarity}, {"hierarchy", config_.hierarchy}};
  for (const auto& [name, path] : {std::pair{"evaluation", &config_.evaluation}, std::pair{"truth", &config_.truth}, std::pair{"labels", &config_.labels}}) {
    if (!path->empty()) files[name] = *path;
  }
  Json data = {
      {"tool_version", fmt::format("conceptree {}", kVersion)},
      {"files", std::move(files)},
      {"layer", set.layer},
      {"measure", similarity.measure},
      {"min_accuracy", min_accuracy != set.number_attributes.end() ? Json(min_accuracy->second) : Json(nullptr)},
      {"has_metrics", has_metrics},
      {"has_support", hierarchy.has_support()},
      {"concept_set_settings", std::move(set_settings)},
      {"hierarchy_params", std::move(hierarchy_params)},
      {"map", {{"explained_variance", {rounded(map.explained_variance[0], 4), rounded(map.explained_variance[1], 4)}},
               {"fitted_rows", map.fitted_rows},
               {"fitted_on", summary_.concepts_kept >= 2 ? "kept" : "all"}}},
      {"top_similar", config_.top_similar},
      {"counts", {{"trained", summary_.concepts_trained},
                  {"kept", summary_.concepts_kept},
                  {"skipped", set.skipped.size()},
                  {"similarity", similarity.size()},
                  {"hierarchy_nodes", summary_.hierarchy_nodes},
                  {"links", summary_.links},
                  {"top_level", summary_.top_level},
                  {"max_depth", summary_.max_depth}}},
      {"warnings", warnings},
      {"concepts", std::move(concept_entries)},
      {"evaluation", evaluation},
      {"explanations", config_.explanations.empty() ? Json(nullptr) : Json(html_page::path_from_page(config_.explanations, config_.output))},
  };
  for (const auto& warning : warnings) context_.warning(warning);

  const std::string page = html_page::fill_template(report_assets::report_html(),
                                         {{"<!-- conceptree:style -->", fmt::format("<style>\n{}\n</style>", report_assets::report_css())},
                                          {"<!-- conceptree:data -->", fmt::format("<script>\nconst REPORT_DATA = {};\n</script>", html_page::script_safe_json(data))},
                                          {"<!-- conceptree:d3 -->", html_page::inline_script("d3.min.js", report_assets::d3_js())},
                                          {"<!-- conceptree:script -->", html_page::inline_script("report.js", report_assets::report_js())}});
  write_file_atomically(config_.output, page);
  summary_.bytes = page.size();
  summary_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace conceptree
