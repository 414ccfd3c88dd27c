// Hierarchy extraction on a sparse similarity against the dense extraction: identical when every
// entry is kept, exact where the kept entries decide (top1 with any top_k), and the options a
// sparse similarity cannot serve refused with a message naming them.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "conceptree/error.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/sparse_similarity.hpp"

namespace conceptree {
namespace {

using Link = std::tuple<std::uint32_t, std::uint32_t, float>;

std::vector<Link> links_of(const Hierarchy& hierarchy) {
  std::vector<Link> links;
  for (const auto& link : hierarchy.links) links.emplace_back(link.parent, link.child, link.weight);
  return links;
}

// An activation-like similarity: values in (0, 1) with a few broad concepts that many others look like.
SimilarityMatrix random_similarity(std::size_t k, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  SimilarityMatrix s;
  s.measure = "activation";
  for (std::size_t i = 0; i < k; ++i) {
    s.names.push_back(fmt::format("c{}", i));
    s.types.push_back("tag");
  }
  s.values.resize(k * k);
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < k; ++j) {
      const float broad = j % 7 == 0 ? 0.3f : 0.0f;
      s.values[i * k + j] = i == j ? 1.0f : std::min(0.99f, uniform(rng) * 0.7f + broad);
    }
  }
  s.support.assign(k, 5);
  s.base_rate.assign(k, 0.2f);
  for (std::size_t j = 0; j < k; j += 3) s.base_rate[j] = 0.3f;
  return s;
}

TEST(SparseHierarchy, EqualsTheDenseHierarchyWhenEveryEntryIsKept) {
  const SimilarityMatrix dense = random_similarity(70, 3);
  const SparseSimilarity sparse = sparsify(dense, {.top_k = 70, .keep_above = 0.5});
  std::vector<std::pair<std::string, HierarchyOptions>> cases;
  cases.push_back({"heymann by generality", {}});
  HierarchyOptions betweenness;
  betweenness.order = VisitOrder::Betweenness;
  betweenness.threshold = 0.6;
  cases.push_back({"heymann by betweenness", betweenness});
  HierarchyOptions dag;
  dag.parents = 3;
  dag.max_children = 4;
  dag.min_similarity = 0.3;
  cases.push_back({"heymann, 3 parents, 4 children", dag});
  HierarchyOptions lift = betweenness;
  lift.calibration = Calibration::Lift;
  lift.threshold = 0.45;  // raw S down to 0.2 x 1.45 / 0.55 = 0.53, above keep_above
  cases.push_back({"heymann on lift by betweenness", lift});
  for (const auto method : {HierarchyMethod::Top1, HierarchyMethod::Threshold, HierarchyMethod::Matching}) {
    HierarchyOptions baseline;
    baseline.method = method;
    cases.push_back({std::string(choice_name(method)), baseline});
  }
  for (const auto& [name, options] : cases) {
    const Hierarchy expected = extract_hierarchy(dense, options, 2);
    const Hierarchy got = extract_hierarchy(sparse, options, 2);
    EXPECT_EQ(links_of(got), links_of(expected)) << name;
    ASSERT_EQ(got.nodes.size(), expected.nodes.size());
    for (std::size_t i = 0; i < got.nodes.size(); ++i) {
      EXPECT_EQ(got.nodes[i].centrality, expected.nodes[i].centrality) << name << ", node " << i;
      EXPECT_EQ(got.nodes[i].depth, expected.nodes[i].depth) << name << ", node " << i;
    }
  }
}

TEST(SparseHierarchy, Top1AndTheConceptGraphAreExactWithASmallTopK) {
  const SimilarityMatrix dense = random_similarity(90, 4);
  const SparseSimilarity sparse = sparsify(dense, {.top_k = 1, .keep_above = 0.5});
  HierarchyOptions top1;
  top1.method = HierarchyMethod::Top1;
  EXPECT_EQ(links_of(extract_hierarchy(sparse, top1, 1)), links_of(extract_hierarchy(dense, top1, 1)));
  HierarchyOptions threshold;
  threshold.method = HierarchyMethod::Threshold;
  threshold.threshold = 0.55;
  HierarchySummary sparse_summary, dense_summary;
  EXPECT_EQ(links_of(extract_hierarchy(sparse, threshold, 1, &sparse_summary)), links_of(extract_hierarchy(dense, threshold, 1, &dense_summary)));
  EXPECT_EQ(sparse_summary.graph_edges, dense_summary.graph_edges);
}

std::string fatal_message(const SparseSimilarity& sparse, const HierarchyOptions& options) {
  try {
    extract_hierarchy(sparse, options, 1);
  } catch (const FatalError& error) {
    return error.what();
  }
  return "";
}

TEST(SparseHierarchy, OptionsNeedingDroppedValuesAreRefusedByName) {
  const SparseSimilarity sparse = sparsify(random_similarity(20, 5), {.top_k = 2, .keep_above = 0.5});
  HierarchyOptions low;
  low.threshold = 0.4;
  EXPECT_NE(fatal_message(sparse, low).find("--threshold 0.4"), std::string::npos) << fatal_message(sparse, low);
  HierarchyOptions matching;
  matching.method = HierarchyMethod::Matching;
  matching.matching_threshold = 0.45;
  EXPECT_NE(fatal_message(sparse, matching).find("--matching-threshold"), std::string::npos);
  HierarchyOptions random;
  random.method = HierarchyMethod::RandomTop;
  EXPECT_NE(fatal_message(sparse, random).find("--layout dense"), std::string::npos);
  HierarchyOptions lift;
  lift.calibration = Calibration::Lift;
  EXPECT_NE(fatal_message(sparse, lift).find("--order betweenness"), std::string::npos);
  HierarchyOptions lift_low;
  lift_low.calibration = Calibration::Lift;
  lift_low.order = VisitOrder::Betweenness;
  lift_low.threshold = 0.2;  // raw S down to 0.2 x 1.2 / 0.8 = 0.3 < 0.5
  EXPECT_NE(fatal_message(sparse, lift_low).find("calibration lift"), std::string::npos) << fatal_message(sparse, lift_low);
}

}  // namespace
}  // namespace conceptree
