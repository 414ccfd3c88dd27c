// Times conceptree's betweenness on a graph given as an edge list, for graphs whose dense
// similarity would not fit in memory (100,000 concepts: 40 GB), so `conceptree hierarchy` cannot
// read them. Compiled and run by bench/betweenness_sampling.py:
//   betweenness_timing EDGES NODES SOURCES SEED JOBS [SCORES]
// EDGES: little-endian uint32 pairs (a, b), one per undirected edge; SOURCES 0 is exact. Prints
// one JSON line: nodes, edges, sources searched, seconds, error bound; writes the scores to SCORES
// (float64, node order) when given.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "conceptree/graph.hpp"

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: %s EDGES NODES SOURCES SEED JOBS [SCORES]\n", argv[0]);
    return 2;
  }
  std::ifstream input(argv[1], std::ios::binary);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;
  std::uint32_t pair[2];
  while (input.read(reinterpret_cast<char*>(pair), sizeof pair)) edges.emplace_back(pair[0], pair[1]);
  const conceptree::ConceptGraph graph = conceptree::graph_from_edges(std::stoull(argv[2]), edges);
  conceptree::BetweennessCentrality centrality(graph, std::stoi(argv[5]), conceptree::default_context(),
                                               {.sources = std::stoull(argv[3]), .seed = std::stoull(argv[4])});
  const auto start = std::chrono::steady_clock::now();
  centrality.run();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"nodes\": %zu, \"edges\": %llu, \"sources\": %llu, \"seconds\": %.3f, \"error_bound\": %.6g}\n", graph.node_count(),
              static_cast<unsigned long long>(graph.edge_count()), static_cast<unsigned long long>(centrality.sources_searched()), seconds,
              centrality.error_bound());
  if (argc == 7) {
    std::ofstream output(argv[6], std::ios::binary);
    output.write(reinterpret_cast<const char*>(centrality.scores().data()),
                 static_cast<std::streamsize>(centrality.scores().size() * sizeof(double)));
  }
  return 0;
}
