#include "conceptree/info.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "conceptree/concept_set.hpp"
#include "conceptree/error.hpp"
#include "conceptree/graph.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/hierarchy_graph.hpp"
#include "conceptree/similarity.hpp"
#include "hdf5/hdf5.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

// Reads just far enough into a JSON file to tell a hierarchy ({"nodes": [{...}, ...], ...}) from
// memberships ({"concept": ["track", ...]}), so a large memberships file is not parsed twice.
class HierarchySniffer : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool is_hierarchy = false;
  bool null() override { return false; }
  bool boolean(bool) override { return false; }
  bool number_integer(number_integer_t) override { return false; }
  bool number_unsigned(number_unsigned_t) override { return false; }
  bool number_float(number_float_t, const string_t&) override { return false; }
  bool string(string_t&) override { return false; }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override {
    if (state_ == State::Start) {
      state_ = State::FirstKey;
      return true;
    }
    is_hierarchy = state_ == State::FirstElement;
    return false;
  }
  bool key(string_t& value) override {
    if (state_ != State::FirstKey || (value != "nodes" && value != "links")) return false;
    state_ = State::Array;
    return true;
  }
  bool end_object() override { return false; }
  bool start_array(std::size_t) override {
    if (state_ != State::Array) return false;
    state_ = State::FirstElement;
    return true;
  }
  bool end_array() override {
    is_hierarchy = state_ == State::FirstElement;  // an empty hierarchy
    return false;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  enum class State { Start, FirstKey, Array, FirstElement };
  State state_ = State::Start;
};

bool is_hierarchy_json(const fs::path& path) {
  std::ifstream in(path);
  HierarchySniffer sniffer;
  nlohmann::json::sax_parse(in, &sniffer, nlohmann::json::input_format_t::json, false);
  return sniffer.is_hierarchy;
}

}  // namespace

FileKind detect_file_kind(const fs::path& path) {
  if (!fs::exists(path)) throw InputError(path.string(), "no such file");
  if (h5::is_hdf5(path)) {
    h5::File file(path, h5::Mode::ReadOnly);
    const auto format = h5::string_attribute(file.id(), "format");
    if (format && *format == kStoreFormat) return FileKind::EmbeddingStore;
    if (format && *format == kConceptSetFormat) return FileKind::ConceptSet;
    if (format && *format == kSimilarityFormat) return FileKind::Similarity;
    return FileKind::OtherHdf5;
  }
  const auto extension = path.extension();
  if (extension == ".json" && is_hierarchy_json(path)) return FileKind::Hierarchy;
  if (extension == ".tsv" || extension == ".json" || extension == ".txt") return FileKind::Memberships;
  return FileKind::Unknown;
}

StoreSummary summarize_store(const fs::path& path) {
  const EmbeddingStore store(path);
  StoreSummary summary;
  summary.tracks = store.track_count();
  summary.total_frames = store.total_frames();
  const auto& offsets = store.offsets();
  std::vector<std::uint64_t> lengths(store.track_count());
  for (std::size_t i = 0; i < lengths.size(); ++i) lengths[i] = offsets[i + 1] - offsets[i];
  if (!lengths.empty()) {
    std::sort(lengths.begin(), lengths.end());
    summary.min_frames = lengths.front();
    summary.median_frames = lengths[lengths.size() / 2];
    summary.max_frames = lengths.back();
  }
  summary.file_bytes = fs::file_size(path);

  h5::File file(path, h5::Mode::ReadOnly);
  for (const auto& name : h5::attribute_names(file.id())) {
    summary.attributes.emplace_back(name, h5::attribute_as_text(file.id(), name));
  }
  for (const auto& layer : store.layers()) {
    h5::Handle dataset = h5::open_dataset(file.id(), "/frames/" + layer.name, file.name());
    const auto storage = h5::storage_info(dataset.id());
    summary.layers.push_back({layer, h5::dims(dataset.id())[0], storage.type_name, storage.chunk_dims, storage.filters, storage.stored_bytes});
  }
  return summary;
}

SimilarityFileSummary summarize_similarity(const fs::path& path) {
  const SimilarityMatrix similarity = read_similarity(path);
  SimilarityFileSummary summary;
  const std::size_t k = similarity.size();
  summary.concepts = k;
  summary.measure = similarity.measure;
  summary.layer = similarity.layer;
  summary.attributes = similarity.text_attributes;
  double sum = 0, diagonal = 0;
  std::uint64_t above = 0;
  summary.off_diagonal_min = k > 1 ? 1e300 : 0;
  summary.off_diagonal_max = k > 1 ? -1e300 : 0;
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < k; ++j) {
      const double value = similarity.at(i, j);
      if (i == j) {
        diagonal += value;
        continue;
      }
      sum += value;
      above += value > 0.5;
      summary.off_diagonal_min = std::min(summary.off_diagonal_min, value);
      summary.off_diagonal_max = std::max(summary.off_diagonal_max, value);
    }
  }
  const double pairs = static_cast<double>(k) * static_cast<double>(k > 0 ? k - 1 : 0);
  summary.off_diagonal_mean = pairs > 0 ? sum / pairs : 0;
  summary.share_above_half = pairs > 0 ? static_cast<double>(above) / pairs : 0;
  summary.diagonal_mean = k > 0 ? diagonal / static_cast<double>(k) : 0;
  summary.graph_edges = threshold_graph(similarity.values, k, 0.5).edge_count();
  std::vector<std::uint64_t> support = similarity.support;
  std::sort(support.begin(), support.end());
  if (!support.empty()) {
    summary.min_support = support.front();
    summary.median_support = support[support.size() / 2];
    summary.max_support = support.back();
  }
  return summary;
}

HierarchyFileSummary summarize_hierarchy(const fs::path& path) {
  const Hierarchy h = read_hierarchy_json(path);
  HierarchyFileSummary summary;
  summary.nodes = h.nodes.size();
  summary.links = h.links.size();
  for (const auto& [name, value] : h.params) {
    if (name == "method" && std::holds_alternative<std::string>(value)) summary.method = std::get<std::string>(value);
    if (name == "bootstrap_runs" && std::holds_alternative<double>(value)) summary.bootstrap_runs = static_cast<std::uint64_t>(std::get<double>(value));
  }
  if (h.has_support()) {
    for (const auto& link : h.links) {
      summary.mean_support += link.support / static_cast<double>(h.links.size());
      summary.links_majority += link.support > 0.5;
      summary.links_95 += link.support >= 0.95;
    }
    summary.alternatives = h.alternatives.size();
  }
  const HierarchyGraph graph(h);
  const auto top = graph.top_level();
  summary.top_level = top.size();
  for (const auto& node : h.nodes) {
    if (node.depth < 0) {
      ++summary.unreachable;
      continue;
    }
    summary.max_depth = std::max(summary.max_depth, node.depth);
    if (summary.nodes_per_depth.size() <= static_cast<std::size_t>(node.depth)) summary.nodes_per_depth.resize(static_cast<std::size_t>(node.depth) + 1);
    ++summary.nodes_per_depth[static_cast<std::size_t>(node.depth)];
  }
  std::uint64_t child_links = 0;
  for (std::uint32_t node = 0; node < graph.node_count(); ++node) {
    const std::size_t children = graph.children(node).size();
    if (children == 0) continue;
    ++summary.parents_with_children;
    child_links += children;
    summary.max_children = std::max<std::uint64_t>(summary.max_children, children);
  }
  summary.mean_children = summary.parents_with_children > 0 ? static_cast<double>(child_links) / static_cast<double>(summary.parents_with_children) : 0;
  const bool forest = summary.unreachable == 0 && graph.max_parents() <= 1;
  summary.shape = summary.unreachable > 0 ? "graph with cycles" : !forest ? "DAG" : top.size() == 1 ? "tree" : "forest";

  std::vector<std::uint64_t> size(h.nodes.size(), 0);
  if (forest) {
    // Children before their parents (the breadth-first order backwards): each adds itself and its subtree to its parent.
    const auto order = graph.breadth_first_order();
    for (auto node = order.rbegin(); node != order.rend(); ++node) {
      for (std::uint32_t parent : graph.parents(*node)) size[parent] += size[*node] + 1;
    }
  } else {
    for (std::uint32_t node = 0; node < graph.node_count(); ++node) size[node] = graph.children(node).size();
  }
  std::vector<std::uint32_t> ranked = top;
  std::stable_sort(ranked.begin(), ranked.end(), [&](std::uint32_t a, std::uint32_t b) { return size[a] > size[b]; });
  for (std::size_t i = 0; i < ranked.size() && i < 10; ++i) summary.largest_top_level.emplace_back(h.nodes[ranked[i]].label, size[ranked[i]]);
  return summary;
}

}  // namespace conceptree
