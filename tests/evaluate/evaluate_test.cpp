// Hierarchy evaluation: truth metrics on a perfect tree and on a case worked out by hand, the
// adjusted Rand index against scikit-learn, proxy distances by hand, the paper's Table 1 on its
// published hierarchies, and every bad-input path through the CLI.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "conceptree/evaluate.hpp"
#include "conceptree/npy.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using conceptree::testing::CommandResult;
using conceptree::testing::input_error_from;
using conceptree::testing::python_with_h5py;
using conceptree::testing::quoted_args;
using conceptree::testing::run_cli;
using conceptree::testing::run_python_script;
using conceptree::testing::ScratchDir;
using conceptree::testing::write_text;

// Nodes named `ids`; links given as "parent>child" by id.
Hierarchy make_hierarchy(const std::vector<std::string>& ids, const std::vector<std::pair<std::string, std::string>>& parent_child) {
  Hierarchy h;
  for (const auto& id : ids) {
    HierarchyNode node;
    node.id = id;
    node.label = id;
    h.nodes.push_back(node);
  }
  auto index = [&](const std::string& id) {
    return static_cast<std::uint32_t>(std::find(ids.begin(), ids.end(), id) - ids.begin());
  };
  for (const auto& [parent, child] : parent_child) h.links.push_back({index(parent), index(child), 0.5F});
  return h;
}

Taxonomy two_families(const ScratchDir& dir) {
  write_text(dir / "truth.tsv", "child\tparent\na1\tA\na2\tA\nb1\tB\nb2\tB\nc\t\n");
  return read_taxonomy(dir / "truth.tsv");
}

TEST(Taxonomy, ReadsHeaderTopLevelLinesAndDropsRepeats) {
  ScratchDir dir;
  write_text(dir / "t.tsv", "child\tparent\r\nx\ty\nx\ty\n\nz\t\ny\tw\textra column\n");
  const Taxonomy taxonomy = read_taxonomy(dir / "t.tsv");
  EXPECT_EQ(taxonomy.concepts, (std::vector<std::string>{"x", "y", "z", "w"}));
  ASSERT_EQ(taxonomy.child_parent.size(), 2U);
  EXPECT_EQ(taxonomy.child_parent[1], (std::pair<std::uint32_t, std::uint32_t>{1, 3}));
}

TEST(Taxonomy, BadLinesNameTheFileAndLine) {
  ScratchDir dir;
  write_text(dir / "t.tsv", "a\tb\nno tab here\n");
  auto error = input_error_from([&] { read_taxonomy(dir / "t.tsv"); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->item(), (dir / "t.tsv").string() + ":2");
  write_text(dir / "t.tsv", "a\ta\n");
  error = input_error_from([&] { read_taxonomy(dir / "t.tsv"); });
  ASSERT_TRUE(error);
  EXPECT_NE(error->problem().find("its own parent"), std::string::npos);
  EXPECT_TRUE(input_error_from([&] { read_taxonomy(dir / "missing.tsv"); }));
  write_text(dir / "empty.tsv", "child\tparent\n");
  EXPECT_TRUE(input_error_from([&] { read_taxonomy(dir / "empty.tsv"); }));
}

TEST(TruthScores, PerfectTreeScoresOneEverywhere) {
  ScratchDir dir;
  write_text(dir / "truth.tsv", "a1\tA\na2\tA\na21\ta2\na22\ta2\nb1\tB\nb2\tB\nC\t\n");
  const Taxonomy truth = read_taxonomy(dir / "truth.tsv");
  const Hierarchy perfect = make_hierarchy({"A", "a1", "a2", "a21", "a22", "B", "b1", "b2", "C"},
                                           {{"A", "a1"}, {"A", "a2"}, {"a2", "a21"}, {"a2", "a22"}, {"B", "b1"}, {"B", "b2"}});
  const TruthScores s = score_against_truth(perfect, truth, match_nodes(perfect, truth.concepts));
  for (double value : {s.family_purity, s.ancestor_precision, s.ancestor_recall, s.ancestor_f1, s.parent_precision, s.parent_recall,
                       s.parent_f1, s.undirected_parent_precision, s.undirected_parent_recall, s.undirected_parent_f1,
                       s.adjusted_rand_index, s.cumulative_fowlkes_mallows, s.taxonomic_precision, s.taxonomic_recall, s.taxonomic_f1}) {
    EXPECT_DOUBLE_EQ(value, 1.0);
  }
}

// Truth: A -> a1, a2; B -> b1, b2 (c is absent from the hierarchy). Predicted: A -> a1, b1;
// B -> a2, b2.
TEST(TruthScores, FowlkesMallowsAndCotopyWorkedOutByHand) {
  ScratchDir dir;
  const Taxonomy truth = two_families(dir);
  const Hierarchy predicted = make_hierarchy({"A", "B", "a1", "a2", "b1", "b2"}, {{"A", "a1"}, {"A", "b1"}, {"B", "a2"}, {"B", "b2"}});
  const TruthScores s = score_against_truth(predicted, truth, match_nodes(predicted, truth.concepts));
  // Depth 1: truth {A a1 a2} {B b1 b2}, predicted {A a1 b1} {B a2 b2}: 3 + 3 pairs each, 2 shared
  // ({A a1}, {B b2}). Depth 2: single leaves on both sides, left out.
  EXPECT_DOUBLE_EQ(s.cumulative_fowlkes_mallows, 2.0 / 6.0);
  // Cotopies (predicted | truth): A {a1 b1 | a1 a2} 1/2, B {a2 b2 | b1 b2} 1/2, a1 {A | A} 1,
  // b1 {A | B} 0, a2 {B | A} 0, b2 {B | B} 1: a mean of 1/2 both ways.
  EXPECT_DOUBLE_EQ(s.taxonomic_precision, 0.5);
  EXPECT_DOUBLE_EQ(s.taxonomic_recall, 0.5);
  EXPECT_DOUBLE_EQ(s.taxonomic_f1, 0.5);

  // A flat hierarchy groups nothing: every level scores 0 against the truth's pairs, and no
  // item's relations are found.
  const Hierarchy flat = make_hierarchy({"A", "B", "a1", "a2", "b1", "b2"}, {});
  const TruthScores none = score_against_truth(flat, truth, match_nodes(flat, truth.concepts));
  EXPECT_DOUBLE_EQ(none.cumulative_fowlkes_mallows, 0.0);
  EXPECT_DOUBLE_EQ(none.taxonomic_precision, 0.0);
  EXPECT_DOUBLE_EQ(none.taxonomic_recall, 0.0);
  EXPECT_DOUBLE_EQ(none.taxonomic_f1, 0.0);
}

// Each depth's index is weighed by the depth: a hierarchy right at the top and wrong below loses
// the deeper level's larger weight.
TEST(TruthScores, CumulativeFowlkesMallowsWeighsEachDepthByItsDepth) {
  ScratchDir dir;
  write_text(dir / "truth.tsv", "A\tR\nB\tR\na1\tA\na2\tA\nb1\tB\nb2\tB\n");
  const Taxonomy truth = read_taxonomy(dir / "truth.tsv");
  // Right at depth 1 (everything under R); at depth 2, b1 and a2 swapped.
  const Hierarchy predicted = make_hierarchy({"R", "A", "B", "a1", "a2", "b1", "b2"},
                                             {{"R", "A"}, {"R", "B"}, {"A", "a1"}, {"A", "b1"}, {"B", "a2"}, {"B", "b2"}});
  const TruthScores s = score_against_truth(predicted, truth, match_nodes(predicted, truth.concepts));
  // Depth 1: one cluster of all 7 on both sides: index 1. Depth 2: as the hand case above, 1/3.
  // Depth 3: single leaves, left out. (1 * 1 + 2 * 1/3) / (1 + 2).
  EXPECT_DOUBLE_EQ(s.cumulative_fowlkes_mallows, (1.0 + 2.0 / 3.0) / 3.0);
}

// Truth: A -> a1, a2; B -> b1, b2; c alone and absent from the hierarchy.
// Predicted: A -> a1, A -> b1, b2 -> B (reversed), A -> x -> a2 (x is no truth concept).
TEST(TruthScores, SmallCaseWorkedOutByHand) {
  ScratchDir dir;
  const Taxonomy truth = two_families(dir);
  const Hierarchy predicted =
      make_hierarchy({"A", "B", "a1", "a2", "b1", "b2", "x"}, {{"A", "a1"}, {"A", "b1"}, {"b2", "B"}, {"x", "a2"}, {"A", "x"}});
  const TruthScores s = score_against_truth(predicted, truth, match_nodes(predicted, truth.concepts));
  // Links between matched concepts: A-a1 same family, A-b1 not, b2-B same.
  EXPECT_DOUBLE_EQ(s.family_purity, 2.0 / 3.0);
  // Directed: only A->a1 of {A->a1, A->b1, b2->B} is among the 4 true links.
  EXPECT_DOUBLE_EQ(s.parent_precision, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.parent_recall, 1.0 / 4.0);
  EXPECT_DOUBLE_EQ(s.parent_f1, 2.0 / 7.0);
  // Undirected: A-a1 and B-b2.
  EXPECT_DOUBLE_EQ(s.undirected_parent_precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.undirected_parent_recall, 0.5);
  EXPECT_DOUBLE_EQ(s.undirected_parent_f1, 4.0 / 7.0);
  // Predicted ancestry (A,a1) (A,b1) (b2,B) (A,a2) through x; true (A,a1) (A,a2) (B,b1) (B,b2).
  EXPECT_DOUBLE_EQ(s.ancestor_precision, 0.5);
  EXPECT_DOUBLE_EQ(s.ancestor_recall, 0.5);
  EXPECT_DOUBLE_EQ(s.ancestor_f1, 0.5);
  // Groups of A B a1 a2 b1 b2: truth A B A A B B, predicted A b2 A A A b2.
  // Pairs together in both: 3 + 1 = 4; truth 3 + 3 = 6; predicted 6 + 1 = 7; of 15.
  EXPECT_NEAR(s.adjusted_rand_index, (4 - 6.0 * 7 / 15) / ((6.0 + 7) / 2 - 6.0 * 7 / 15), 1e-12);
}

TEST(TruthScores, MatchesByIdThenLabel) {
  ScratchDir dir;
  const Taxonomy truth = two_families(dir);
  Hierarchy predicted = make_hierarchy({"1", "2", "a1"}, {{"1", "2"}});
  predicted.nodes[0].label = "A";
  predicted.nodes[1].label = "a2";
  predicted.nodes[2].label = "A";  // its id already matched; the label must not take A from node 0
  const auto matched = match_nodes(predicted, truth.concepts);
  EXPECT_EQ(matched, (std::vector<std::int64_t>{1, 2, 0}));
  const TruthScores s = score_against_truth(predicted, truth, matched);
  EXPECT_DOUBLE_EQ(s.parent_precision, 1.0);
  EXPECT_DOUBLE_EQ(s.parent_recall, 0.5);
}

TEST(TruthScores, CyclesAndNothingToCountStayFinite) {
  ScratchDir dir;
  const Taxonomy truth = two_families(dir);
  const Hierarchy cycle = make_hierarchy({"a1", "a2", "b1"}, {{"a1", "a2"}, {"a2", "a1"}, {"a2", "b1"}});
  const TruthScores s = score_against_truth(cycle, truth, match_nodes(cycle, truth.concepts));
  EXPECT_DOUBLE_EQ(s.family_purity, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.ancestor_precision, 0.0);  // (a2,a1) (a1,a2) (a1,b1) (a2,b1): none is true
  EXPECT_TRUE(std::isnan(s.ancestor_recall));   // the truth's parents A and B are not in the hierarchy
  const Hierarchy unrelated = make_hierarchy({"p", "q"}, {{"p", "q"}});
  const TruthScores none = score_against_truth(unrelated, truth, match_nodes(unrelated, truth.concepts));
  EXPECT_TRUE(std::isnan(none.family_purity));
  EXPECT_TRUE(std::isnan(none.adjusted_rand_index));
}

// Forests are scored by counting ancestor pairs, other graphs by listing them: on random forests
// both must agree. A link given twice keeps every ancestor but makes the graph no forest.
TEST(TruthScores, ForestsScoreAsTheGeneralGraphWalk) {
  std::mt19937 random(7);
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t count = 2 + random() % 40;
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < count; ++i) ids.push_back(fmt::format("n{}", i));
    // A random forest: each node after the first hangs under an earlier one, or starts a tree.
    const auto random_forest = [&](double top_share) {
      std::vector<std::pair<std::string, std::string>> links;
      for (std::size_t i = 1; i < count; ++i) {
        if (std::uniform_real_distribution<double>(0, 1)(random) < top_share) continue;
        links.emplace_back(ids[random() % i], ids[i]);
      }
      return links;
    };
    std::vector<std::string> shuffled = ids;
    std::shuffle(shuffled.begin(), shuffled.end(), random);
    const Hierarchy forest = make_hierarchy(shuffled, random_forest(0.15));
    std::vector<std::pair<std::string, std::string>> truth_pairs;
    for (const auto& [parent, child] : random_forest(0.2)) truth_pairs.emplace_back(child, parent);
    // Some concepts only one side has.
    for (std::size_t i = 0; i < count; ++i)
      if (random() % 5 == 0) truth_pairs.emplace_back(ids[i] + "-truth-only", ids[i]);
    for (const auto& id : ids) truth_pairs.emplace_back(id, "");
    const Taxonomy truth = taxonomy_from_pairs(truth_pairs, "truth");
    std::vector<std::int64_t> matched = match_nodes(forest, truth.concepts);
    for (std::int64_t& m : matched)
      if (random() % 6 == 0) m = -1;

    Hierarchy doubled = forest;
    if (!doubled.links.empty()) doubled.links.push_back(doubled.links.front());
    const TruthScores fast = score_against_truth(forest, truth, matched), general = score_against_truth(doubled, truth, matched);
    const auto same = [](double a, double b) { return (std::isnan(a) && std::isnan(b)) || std::fabs(a - b) < 1e-12; };
    SCOPED_TRACE(fmt::format("trial {}", trial));
    EXPECT_PRED2(same, fast.ancestor_precision, general.ancestor_precision);
    EXPECT_PRED2(same, fast.ancestor_recall, general.ancestor_recall);
    EXPECT_PRED2(same, fast.ancestor_f1, general.ancestor_f1);
    EXPECT_PRED2(same, fast.cumulative_fowlkes_mallows, general.cumulative_fowlkes_mallows);
    EXPECT_PRED2(same, fast.taxonomic_precision, general.taxonomic_precision);
    EXPECT_PRED2(same, fast.taxonomic_recall, general.taxonomic_recall);
    EXPECT_PRED2(same, fast.taxonomic_f1, general.taxonomic_f1);
    EXPECT_PRED2(same, fast.adjusted_rand_index, general.adjusted_rand_index);
  }
}

TEST(AdjustedRandIndex, AgreesWithScikitLearn) {
  const std::string python = python_with_h5py();
  if (python.empty()) GTEST_SKIP() << "no /usr/bin/python3 with numpy";
  std::mt19937_64 rng(7);
  std::ostringstream cases;
  std::vector<double> ours;
  for (int trial = 0; trial < 30; ++trial) {
    const std::size_t n = 1 + rng() % 40;
    const std::uint32_t classes_a = 1 + rng() % 6, classes_b = 1 + rng() % 6;
    std::vector<std::uint32_t> a(n), b(n);
    for (std::size_t i = 0; i < n; ++i) {
      a[i] = rng() % classes_a;
      b[i] = trial % 5 == 0 ? a[i] * 3 : static_cast<std::uint32_t>(rng() % classes_b);
    }
    ours.push_back(adjusted_rand_index(a, b));
    cases << fmt::format("{}\n{}\n", fmt::join(a, " "), fmt::join(b, " "));
  }
  ScratchDir dir;
  write_text(dir / "cases.txt", cases.str());
  const auto result = run_python_script(python, dir / "ari.py",
                                        "import sys\n"
                                        "try:\n    from sklearn.metrics import adjusted_rand_score\n"
                                        "except ImportError:\n    print('skip'); sys.exit(0)\n"
                                        "lines = open(sys.argv[1]).read().split('\\n')\n"
                                        "for i in range(0, len(lines) - 1, 2):\n"
                                        "    print(repr(adjusted_rand_score(lines[i].split(), lines[i + 1].split())))\n",
                                        {(dir / "cases.txt").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  if (result.out.rfind("skip", 0) == 0) GTEST_SKIP() << "python3-sklearn is not installed";
  std::istringstream theirs(result.out);
  for (double value : ours) {
    double reference = 0;
    ASSERT_TRUE(theirs >> reference);
    EXPECT_NEAR(value, reference, 1e-12);
  }
}

ProxyEmbeddings small_proxy() {
  ProxyEmbeddings proxy;
  proxy.ids = {"A", "a1", "B", "zzz"};
  proxy.dim = 2;
  proxy.vectors = {0, 0, 3, 4, 1, 0, 9, 9};
  return proxy;
}

TEST(ProxyScore, MeanAndIntervalByHandSkippingConceptsWithoutVector) {
  const ProxyEmbeddings proxy = small_proxy();
  const Hierarchy h = make_hierarchy({"A", "a1", "B", "b1"}, {{"A", "a1"}, {"A", "B"}, {"A", "b1"}});
  const ProxyScore l2 = score_proxy(h, proxy, match_nodes(h, proxy.ids), ProxyMetric::L2);
  EXPECT_EQ(l2.n, 2U);                 // A -> b1 has no vector for b1
  EXPECT_DOUBLE_EQ(l2.mean, 3.0);      // distances 5 and 1
  EXPECT_NEAR(l2.ci95, 1.96 * 2.0 / std::sqrt(2.0), 1e-12);
  const ProxyScore cosine = score_proxy(h, proxy, match_nodes(h, proxy.ids), ProxyMetric::Cosine);
  EXPECT_EQ(cosine.n, 0U);             // A is the zero vector: no cosine with it
  EXPECT_TRUE(std::isnan(cosine.mean));
}

TEST(ProxyScore, ReadsNpyAndDropsNonFiniteRows) {
  ScratchDir dir;
  const std::vector<float> rows = {1, 0, 0, 1, NAN, 0, 0.6F, 0.8F};
  const std::vector<std::uint64_t> shape = {4, 2};
  write_npy(dir / "p.npy", rows, shape);
  write_text(dir / "ids.txt", "x\ny\nbad\nz\n");
  const ProxyEmbeddings proxy = read_proxy_embeddings(dir / "p.npy", dir / "ids.txt");
  EXPECT_EQ(proxy.ids, (std::vector<std::string>{"x", "y", "z"}));
  const Hierarchy h = make_hierarchy({"x", "y", "z", "bad"}, {{"x", "y"}, {"x", "z"}, {"x", "bad"}});
  const ProxyScore cosine = score_proxy(h, proxy, match_nodes(h, proxy.ids), ProxyMetric::Cosine);
  EXPECT_EQ(cosine.n, 2U);
  EXPECT_NEAR(cosine.mean, 0.3, 1e-7);
  write_text(dir / "short.txt", "x\ny\n");
  const auto error = input_error_from([&] { read_proxy_embeddings(dir / "p.npy", dir / "short.txt"); });
  ASSERT_TRUE(error);
  EXPECT_NE(error->problem().find("2 ids for the 4 rows"), std::string::npos);
}

nlohmann::json evaluate_json(const std::string& arguments) {
  const auto result = run_cli("evaluate --json " + arguments);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return nlohmann::json::parse(result.out);
}

// The paper's Table 1, usage (CF) column: its published trees against its usage embeddings.
TEST(EvaluateCli, ReproducesThePapersTableOne) {
  CONCEPTREE_REQUIRE_SHARED(usage_embeddings, "deezer_table1/usage_embeddings.npy");
  CONCEPTREE_REQUIRE_SHARED(usage_ids, "deezer_table1/usage_ids.txt");
  CONCEPTREE_REQUIRE_SHARED(hierarchy_h, "deezer_table1/hierarchy_H.json");
  CONCEPTREE_REQUIRE_SHARED(baseline_top1, "deezer_table1/baseline_top1.json");
  const std::string proxy = quoted_args({"--proxy", usage_embeddings.string(), "--proxy-ids", usage_ids.string()});
  const auto h = evaluate_json(quoted_args({"--hierarchy", hierarchy_h.string()}) + " " + proxy + " --baselines --random-draws 3");
  EXPECT_NEAR(h["proxy"]["hierarchy"]["mean"].get<double>(), 0.83, 0.01);   // paper 0.845 ± 0.013
  EXPECT_NEAR(h["proxy"]["hierarchy"]["ci95"].get<double>(), 0.012, 0.002);
  EXPECT_GT(h["proxy"]["hierarchy"]["n"].get<int>(), 3300);
  EXPECT_NEAR(h["proxy"]["random_top"]["mean"].get<double>(), 1.10, 0.01);  // paper 1.101
  EXPECT_NEAR(h["proxy"]["random_sim"]["mean"].get<double>(), 1.10, 0.01);  // paper 1.103
  const auto top1 = evaluate_json(quoted_args({"--hierarchy", baseline_top1.string()}) + " " + proxy);
  EXPECT_NEAR(top1["proxy"]["hierarchy"]["mean"].get<double>(), 0.70, 0.01);  // paper 0.699
}

TEST(EvaluateCli, TruthTableJsonAndBaselinesFromASimilarity) {
  ScratchDir dir;
  write_text(dir / "truth.tsv", "child\tparent\na1\tA\na2\tA\nb1\tB\nb2\tB\nmissing\tB\n");
  write_text(dir / "tree.json",
             R"({"nodes": [{"id": "A"}, {"id": "B"}, {"id": "a1"}, {"id": "a2"}, {"id": "b1"}, {"id": "b2"}],
                 "links": [{"source": "A", "target": "a1"}, {"source": "A", "target": "a2"},
                           {"source": "B", "target": "b1"}, {"source": "B", "target": "b2"}]})");
  const std::string python = python_with_h5py();
  ASSERT_FALSE(python.empty());
  // A similarity whose top-1 links are a1 <-> a2 and b1 <-> b2, and A, B under a1, b1.
  const auto made = run_python_script(python, dir / "sim.py",
                                      "import h5py, numpy as np, sys\n"
                                      "names = ['A', 'B', 'a1', 'a2', 'b1', 'b2']\n"
                                      "S = np.full((6, 6), 0.1, np.float32)\n"
                                      "for p, c in [(2, 3), (3, 2), (4, 5), (5, 4), (2, 0), (4, 1)]: S[p, c] = 0.9\n"
                                      "with h5py.File(sys.argv[1], 'w') as f:\n"
                                      "    f['similarity'] = S\n"
                                      "    f['names'] = np.array(names, dtype=h5py.string_dtype())\n"
                                      "    f['types'] = np.array(['t'] * 6, dtype=h5py.string_dtype())\n"
                                      "    f['support'] = np.ones(6, np.uint64)\n"
                                      "    f.attrs['format'] = 'conceptree.similarity'\n"
                                      "    f.attrs['measure'] = 'activation'\n",
                                      {(dir / "sim.h5").string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string inputs = quoted_args({"--hierarchy", (dir / "tree.json").string(), "--truth", (dir / "truth.tsv").string(),
                                          "--similarity", (dir / "sim.h5").string()});
  const auto result = run_cli("evaluate " + inputs + " -o " + (dir / "eval.json").string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("1 of 7 truth concepts are not in"), std::string::npos) << result.err;
  EXPECT_NE(result.out.find("family purity"), std::string::npos);
  EXPECT_NE(result.out.find("random-top"), std::string::npos);
  const auto json = nlohmann::json::parse(conceptree::testing::read_text(dir / "eval.json"));
  EXPECT_EQ(json["truth"]["matched"], 6);
  EXPECT_EQ(json["truth"]["unmatched"], nlohmann::json::array({"missing"}));
  EXPECT_DOUBLE_EQ(json["truth"]["ancestor_f1"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(json["truth"]["parent_recall"].get<double>(), 1.0);
  const auto& top1 = json["truth"]["baselines"]["top1"];
  EXPECT_DOUBLE_EQ(top1["parent_precision"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(top1["undirected_parent_precision"].get<double>(), 0.5);  // A-a1 and B-b1 of 4 distinct pairs
  EXPECT_TRUE(json["truth"]["baselines"].contains("random_top"));
  EXPECT_TRUE(json["truth"]["baselines"].contains("matching"));
  // Seeded: the same command gives the same numbers.
  EXPECT_EQ(evaluate_json(inputs), evaluate_json(inputs));
}

TEST(EvaluateCli, BadInputsGetOneClearMessage) {
  ScratchDir dir;
  write_text(dir / "tree.json", R"({"nodes": [{"id": "a"}, {"id": "b"}], "links": [{"source": "a", "target": "b"}]})");
  write_text(dir / "truth.tsv", "b\ta\n");
  const std::string tree = quoted_args({"--hierarchy", (dir / "tree.json").string()});
  auto result = run_cli("evaluate " + tree);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("nothing to evaluate against"), std::string::npos) << result.err;
  result = run_cli("evaluate " + tree + " " + quoted_args({"--proxy", (dir / "p.npy").string()}));
  EXPECT_NE(result.err.find("--proxy and --proxy-ids go together"), std::string::npos) << result.err;
  result = run_cli("evaluate " + tree + " " + quoted_args({"--truth", (dir / "nope.tsv").string()}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("nope.tsv"), std::string::npos) << result.err;
  result = run_cli("evaluate " + quoted_args({"--hierarchy", (dir / "nope.json").string(), "--truth", (dir / "truth.tsv").string()}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("nope.json"), std::string::npos) << result.err;
  write_text(dir / "p.npy", "not numpy");
  write_text(dir / "ids.txt", "a\nb\n");
  result = run_cli("evaluate " + tree + " " + quoted_args({"--proxy", (dir / "p.npy").string(), "--proxy-ids", (dir / "ids.txt").string()}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("p.npy"), std::string::npos) << result.err;
  write_text(dir / "eval.json", "{}");
  result = run_cli("evaluate " + tree + " " + quoted_args({"--truth", (dir / "truth.tsv").string(), "-o", (dir / "eval.json").string()}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("--overwrite"), std::string::npos) << result.err;
  // Proxy ids that are no concept, and concepts without a vector: counted, not fatal.
  write_npy(dir / "q.npy", std::vector<float>{1, 2, 3, 4}, std::vector<std::uint64_t>{2, 2});
  write_text(dir / "qids.txt", "a\nstranger\n");
  const auto json = evaluate_json(tree + " " + quoted_args({"--proxy", (dir / "q.npy").string(), "--proxy-ids", (dir / "qids.txt").string()}));
  EXPECT_EQ(json["proxy"]["unknown_ids"], 1);
  EXPECT_EQ(json["proxy"]["concepts_with_vector"], 1);
  EXPECT_EQ(json["proxy"]["hierarchy"]["n"], 0);
  EXPECT_TRUE(json["proxy"]["hierarchy"]["mean"].is_null());
}

// A chain as deep as it is long has n²/2 ancestor pairs: listing them would not finish in the
// test's time. Against the same chain cut in two halves the scores have closed forms.
TEST(EvaluateCli, ScoresADeepChainAgainstItsTwoHalves) {
  ScratchDir dir;
  constexpr std::size_t kCount = 100000, kHalf = kCount / 2;
  std::string nodes, links, truth = "child\tparent\n";
  for (std::size_t i = 0; i < kCount; ++i) {
    nodes += fmt::format("{}{{\"id\": \"c{}\"}}", i == 0 ? "" : ",\n", i);
    if (i > 0) links += fmt::format("{}{{\"source\": \"c{}\", \"target\": \"c{}\"}}", i == 1 ? "" : ",\n", i - 1, i);
    truth += i == 0 || i == kHalf ? fmt::format("c{}\t\n", i) : fmt::format("c{}\tc{}\n", i, i - 1);
  }
  write_text(dir / "chain.json", "{\"nodes\": [\n" + nodes + "\n], \"links\": [\n" + links + "\n]}\n");
  write_text(dir / "truth.tsv", truth);
  const auto json = evaluate_json(quoted_args({"--hierarchy", (dir / "chain.json").string(), "--truth", (dir / "truth.tsv").string()}));
  const auto& scores = json["truth"];
  const double m = kHalf;
  EXPECT_EQ(json["concepts"], kCount);
  // Pairs: the chain's n(n-1)/2 = m(2m-1), the halves' 2·m(m-1)/2, all of them in the chain.
  EXPECT_NEAR(scores["ancestor_precision"].get<double>(), (m - 1) / (2 * m - 1), 1e-12);
  EXPECT_DOUBLE_EQ(scores["ancestor_recall"].get<double>(), 1.0);
  // Each concept relates to the n-1 others in the chain, to the m-1 of its half in the truth.
  EXPECT_NEAR(scores["taxonomic_precision"].get<double>(), (m - 1) / (2 * m - 1), 1e-12);
  EXPECT_DOUBLE_EQ(scores["taxonomic_recall"].get<double>(), 1.0);
  EXPECT_NEAR(scores["parent_precision"].get<double>(), (kCount - 2.0) / (kCount - 1.0), 1e-12);
  EXPECT_DOUBLE_EQ(scores["family_purity"].get<double>(), (kCount - 2.0) / (kCount - 1.0));
  // One group against two halves: nothing agrees beyond chance.
  EXPECT_NEAR(scores["adjusted_rand_index"].get<double>(), 0.0, 1e-12);

  const CommandResult info = run_cli(quoted_args({"info", (dir / "chain.json").string()}));
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("a tree"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find(fmt::format("depth             {} ", kCount - 1)), std::string::npos) << info.out;
}

}  // namespace
}  // namespace conceptree
