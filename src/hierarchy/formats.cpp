#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"
#include "conceptree/names.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/hierarchy_graph.hpp"
#include "common/json_input.hpp"

namespace conceptree {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

// A float as the shortest decimal that reads back to it (0.62, not 0.6200000047683716).
double shortest(float value) { return std::stod(fmt::format("{}", value)); }

std::string param_text(const HierarchyParam& value) {
  return std::holds_alternative<std::string>(value) ? std::get<std::string>(value) : fmt::format("{}", std::get<double>(value));
}

std::string to_json(const Hierarchy& h) {
  Json nodes = Json::array();
  for (const auto& node : h.nodes) {
    nodes.push_back({{"id", node.id},
                     {"label", node.label},
                     {"type", node.type},
                     {"centrality", node.centrality},
                     {"depth", node.depth >= 0 ? Json(node.depth) : Json(nullptr)}});
  }
  const auto links_of = [&h](const std::vector<HierarchyLink>& list) {
    Json links = Json::array();
    for (const auto& link : list) {
      Json entry = {{"source", h.nodes[link.parent].id}, {"target", h.nodes[link.child].id}, {"weight", shortest(link.weight)}};
      if (link.support >= 0) entry["support"] = shortest(link.support);
      links.push_back(std::move(entry));
    }
    return links;
  };
  Json links = links_of(h.links);
  Json params = Json::object();
  for (const auto& [name, value] : h.params) {
    if (std::holds_alternative<std::string>(value)) {
      params[name] = std::get<std::string>(value);
    } else {
      const double number = std::get<double>(value);
      const bool whole = number == std::floor(number) && std::fabs(number) < 0x1.0p53;
      params[name] = whole ? Json(static_cast<std::int64_t>(number)) : Json(number);
    }
  }
  Json document = {{"nodes", std::move(nodes)}, {"links", std::move(links)}, {"params", std::move(params)}};
  if (!h.alternatives.empty()) document["alternative_links"] = links_of(h.alternatives);
  return document.dump(1) + "\n";
}

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string to_graphml(const Hierarchy& h) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n"
      "  <key id=\"label\" for=\"node\" attr.name=\"label\" attr.type=\"string\"/>\n"
      "  <key id=\"type\" for=\"node\" attr.name=\"type\" attr.type=\"string\"/>\n"
      "  <key id=\"centrality\" for=\"node\" attr.name=\"centrality\" attr.type=\"double\"/>\n"
      "  <key id=\"depth\" for=\"node\" attr.name=\"depth\" attr.type=\"long\"/>\n"
      "  <key id=\"weight\" for=\"edge\" attr.name=\"weight\" attr.type=\"double\"/>\n";
  if (h.has_support()) out += "  <key id=\"support\" for=\"edge\" attr.name=\"support\" attr.type=\"double\"/>\n";
  for (std::size_t p = 0; p < h.params.size(); ++p) {
    const bool text = std::holds_alternative<std::string>(h.params[p].second);
    out += fmt::format("  <key id=\"param{}\" for=\"graph\" attr.name=\"{}\" attr.type=\"{}\"/>\n", p, xml_escape(h.params[p].first),
                       text ? "string" : "double");
  }
  out += "  <graph id=\"hierarchy\" edgedefault=\"directed\">\n";
  for (std::size_t p = 0; p < h.params.size(); ++p) {
    out += fmt::format("    <data key=\"param{}\">{}</data>\n", p, xml_escape(param_text(h.params[p].second)));
  }
  for (const auto& node : h.nodes) {
    out += fmt::format("    <node id=\"{}\"><data key=\"label\">{}</data><data key=\"type\">{}</data><data key=\"centrality\">{}</data>",
                       xml_escape(node.id), xml_escape(node.label), xml_escape(node.type), node.centrality);
    out += fmt::format("<data key=\"depth\">{}</data></node>\n", node.depth);
  }
  for (const auto& link : h.links) {
    out += fmt::format("    <edge source=\"{}\" target=\"{}\"><data key=\"weight\">{}</data>", xml_escape(h.nodes[link.parent].id),
                       xml_escape(h.nodes[link.child].id), link.weight);
    if (link.support >= 0) out += fmt::format("<data key=\"support\">{}</data>", link.support);
    out += "</edge>\n";
  }
  out += "  </graph>\n</graphml>\n";
  return out;
}

std::string dot_quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string to_dot(const Hierarchy& h) {
  std::string out = "digraph hierarchy {\n  rankdir=LR;\n  node [shape=box];\n";
  for (const auto& node : h.nodes) {
    // Numbers are quoted: DOT's own numerals have no exponent, and 1e-05 is a common centrality.
    out += fmt::format("  {} [label={}, type={}, centrality=\"{}\"];\n", dot_quote(node.id), dot_quote(node.label), dot_quote(node.type),
                       node.centrality);
  }
  // The similarity is not Graphviz's `weight`, which dot wants as an integer layout cost.
  // Support also draws: a link every run has is 4 points wide, one in a tenth of them 1.3.
  for (const auto& link : h.links) {
    out += fmt::format("  {} -> {} [similarity=\"{}\"", dot_quote(h.nodes[link.parent].id), dot_quote(h.nodes[link.child].id), link.weight);
    if (link.support >= 0) out += fmt::format(", support=\"{}\", penwidth=\"{:.2f}\"", link.support, 1.0 + 3.0 * link.support);
    out += "];\n";
  }
  return out + "}\n";
}

// Newick names are quoted when they hold anything a reader would parse (underscores included,
// which unquoted mean spaces); a quote inside is doubled.
std::string newick_name(const std::string& name) {
  if (!name.empty() && name.find_first_of(" \t\r\n()[]':;,_") == std::string::npos) return name;
  std::string out = "'";
  for (char c : name) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string to_newick(const Hierarchy& h) {
  const HierarchyGraph graph(h);
  if (graph.max_parents() > 1) throw FatalError("newick holds trees only, and this hierarchy gives some concepts several parents (use --parents 1)");
  // With one parent each, a node no top-level concept reaches sits on a cycle.
  const std::vector<std::int64_t> depth = graph.depths();
  for (std::size_t i = 0; i < h.nodes.size(); ++i) {
    if (depth[i] < 0) throw FatalError("newick holds trees only, and this hierarchy has a cycle through '" + h.nodes[i].id + "'");
  }
  std::string out;
  // Iterative, so a deep chain cannot exhaust the stack.
  const auto emit = [&](std::uint32_t root) {
    std::vector<std::pair<std::uint32_t, std::size_t>> stack{{root, 0}};
    while (!stack.empty()) {
      const auto [node, next_child] = stack.back();
      const auto kids = graph.children(node);
      if (next_child < kids.size()) {
        out += next_child == 0 ? '(' : ',';
        ++stack.back().second;
        stack.emplace_back(kids[next_child], 0);
        continue;
      }
      if (!kids.empty()) out += ')';
      out += newick_name(h.nodes[node].id);
      // The support of the branch above a node, as an NHX comment (ete3 reads it as node.support).
      const auto link_above = graph.parent_edges(node);
      if (!link_above.empty() && h.links[link_above.front()].support >= 0) {
        out += fmt::format("[&&NHX:support={}]", h.links[link_above.front()].support);
      }
      stack.pop_back();
    }
  };
  const auto top = graph.top_level();
  if (top.size() == 1) {
    emit(top.front());
  } else {
    out += '(';
    for (std::size_t i = 0; i < top.size(); ++i) {
      if (i > 0) out += ',';
      emit(top[i]);
    }
    out += ')';
  }
  return out + ";\n";
}

std::string to_tsv(const Hierarchy& h) {
  const bool supported = h.has_support();
  std::string out = supported ? "child\tparent\tsupport\n" : "child\tparent\n";
  for (const auto& link : h.links) {
    out += h.nodes[link.child].id + "\t" + h.nodes[link.parent].id;
    out += supported ? fmt::format("\t{}\n", link.support) : "\n";
  }
  for (std::uint32_t node : h.top_level()) out += h.nodes[node].id + (supported ? "\t\t\n" : "\t\n");
  return out;
}

std::string json_id(const Json& value, const std::string& file, const std::string& where) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  throw InputError(file, where + " is neither a string nor an integer");
}

}  // namespace

std::string format_hierarchy(const Hierarchy& hierarchy, HierarchyFormat format) {
  switch (format) {
    case HierarchyFormat::Json: return to_json(hierarchy);
    case HierarchyFormat::Graphml: return to_graphml(hierarchy);
    case HierarchyFormat::Dot: return to_dot(hierarchy);
    case HierarchyFormat::Newick: return to_newick(hierarchy);
    case HierarchyFormat::Tsv: return to_tsv(hierarchy);
  }
  throw FatalError("unknown hierarchy format");
}

void write_hierarchy(const fs::path& path, const Hierarchy& hierarchy, HierarchyFormat format) {
  write_file_atomically(path, format_hierarchy(hierarchy, format));
}

HierarchyFormat hierarchy_format_for(const fs::path& path) {
  const std::string extension = path.extension().string();
  if (extension == ".graphml") return HierarchyFormat::Graphml;
  if (extension == ".dot" || extension == ".gv") return HierarchyFormat::Dot;
  if (extension == ".nwk" || extension == ".newick") return HierarchyFormat::Newick;
  if (extension == ".tsv") return HierarchyFormat::Tsv;
  return HierarchyFormat::Json;
}

Hierarchy read_hierarchy_json(const fs::path& path) {
  const std::string name = path.string();
  std::ifstream in(path);
  if (!in) throw InputError(name, "cannot open");
  Json document = parse_json_input<Json>(in, name);
  if (!document.is_object() || !document.contains("nodes") || !document["nodes"].is_array() || !document.contains("links") ||
      !document["links"].is_array()) {
    throw InputError(name, "expected an object with 'nodes' and 'links' arrays");
  }
  Hierarchy h;
  std::unordered_map<std::string, std::uint32_t> index;
  for (std::size_t i = 0; i < document["nodes"].size(); ++i) {
    const Json& entry = document["nodes"][i];
    const std::string where = fmt::format("nodes[{}]", i);
    if (!entry.is_object() || !entry.contains("id")) throw InputError(name, where + " has no 'id'");
    HierarchyNode node;
    node.id = json_id(entry["id"], name, where + ".id");
    node.label = entry.contains("label") && entry["label"].is_string() ? entry["label"].get<std::string>() : node.id;
    node.type = entry.contains("type") && entry["type"].is_string() ? entry["type"].get<std::string>() : "";
    check_name(node.id, name, where + ".id: concept id");
    check_name(node.label, name, where + ".label: label");
    check_name(node.type, name, where + ".type: concept type");
    node.centrality = entry.contains("centrality") && entry["centrality"].is_number() ? entry["centrality"].get<double>() : 0.0;
    if (!index.emplace(node.id, static_cast<std::uint32_t>(h.nodes.size())).second) {
      throw InputError(name, fmt::format("{}: duplicate id '{}'", where, node.id));
    }
    h.nodes.push_back(std::move(node));
  }
  const auto read_link = [&](const Json& entry, const std::string& where) {
    if (!entry.is_object() || !entry.contains("source") || !entry.contains("target")) throw InputError(name, where + " needs 'source' and 'target'");
    HierarchyLink link;
    for (const auto& [key, member] : {std::pair{"source", &HierarchyLink::parent}, std::pair{"target", &HierarchyLink::child}}) {
      const std::string id = json_id(entry[key], name, where + "." + key);
      const auto found = index.find(id);
      if (found == index.end()) throw InputError(name, fmt::format("{}.{} names unknown node '{}'", where, key, id));
      link.*member = found->second;
    }
    link.weight = entry.contains("weight") && entry["weight"].is_number() ? entry["weight"].get<float>() : 0.0f;
    if (entry.contains("support") && entry["support"].is_number()) {
      link.support = entry["support"].get<float>();
      if (!(link.support >= 0 && link.support <= 1)) throw InputError(name, where + ".support is not a share in [0, 1]");
    }
    return link;
  };
  for (std::size_t i = 0; i < document["links"].size(); ++i) h.links.push_back(read_link(document["links"][i], fmt::format("links[{}]", i)));
  if (document.contains("alternative_links") && document["alternative_links"].is_array()) {
    for (std::size_t i = 0; i < document["alternative_links"].size(); ++i) {
      h.alternatives.push_back(read_link(document["alternative_links"][i], fmt::format("alternative_links[{}]", i)));
    }
  }
  if (document.contains("params") && document["params"].is_object()) {
    for (const auto& [key, value] : document["params"].items()) {
      if (value.is_number()) h.params.emplace_back(key, value.get<double>());
      else if (value.is_string()) h.params.emplace_back(key, value.get<std::string>());
    }
  }
  assign_depths(h);
  return h;
}

}  // namespace conceptree
