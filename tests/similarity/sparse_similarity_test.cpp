// The sparse similarity: which entries are kept (against a brute-force selection on the dense
// matrix), the blocked cosine against the dense one, thread-count independence, the file layout's
// round trip and the malformed files it refuses, and the CLI path similarity -> hierarchy.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "conceptree/concept_set.hpp"
#include "conceptree/error.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/sparse_similarity.hpp"
#include "hdf5/hdf5.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using conceptree::testing::input_error_from;
using conceptree::testing::quoted_args;
using conceptree::testing::read_text;
using conceptree::testing::run_cli;
using conceptree::testing::ScratchDir;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

using EntryMap = std::map<std::pair<std::uint32_t, std::uint32_t>, float>;  // (row, column) -> value

EntryMap entries_of(const SparseSimilarity& s) {
  EntryMap entries;
  for (std::uint32_t i = 0; i < s.size(); ++i) {
    for (std::uint64_t e = s.offsets[i]; e < s.offsets[i + 1]; ++e) entries[{i, s.columns[e]}] = s.values[e];
  }
  return entries;
}

// A K x K similarity with values on a coarse grid, so rows and columns hold many ties.
SimilarityMatrix random_dense(std::size_t k, std::uint64_t seed, int levels) {
  std::mt19937_64 rng(seed);
  SimilarityMatrix s;
  s.measure = "activation";
  s.layer = "emb";
  for (std::size_t i = 0; i < k; ++i) {
    s.names.push_back(fmt::format("c{}", i));
    s.types.push_back(i % 2 ? "genre" : "mood");
  }
  s.values.resize(k * k);
  for (float& value : s.values) value = static_cast<float>(rng() % static_cast<std::uint64_t>(levels)) / static_cast<float>(levels);
  s.support.assign(k, 3);
  s.base_rate.assign(k, 0.25f);
  return s;
}

// The kept set straight from its definition: for each row and each column, sort the off-diagonal
// values by (value descending, index ascending) and take the first top_k; add every value above keep_above.
std::set<std::pair<std::uint32_t, std::uint32_t>> brute_force_kept(const SimilarityMatrix& s, std::size_t top_k, double keep_above) {
  const std::size_t k = s.size();
  std::set<std::pair<std::uint32_t, std::uint32_t>> kept;
  for (std::uint32_t line = 0; line < k; ++line) {
    for (const bool by_row : {true, false}) {
      std::vector<std::pair<float, std::uint32_t>> ranked;  // (-value, other index)
      for (std::uint32_t other = 0; other < k; ++other) {
        if (other != line) ranked.emplace_back(-(by_row ? s.at(line, other) : s.at(other, line)), other);
      }
      std::sort(ranked.begin(), ranked.end());
      for (std::size_t r = 0; r < std::min(top_k, ranked.size()); ++r) {
        kept.insert(by_row ? std::pair{line, ranked[r].second} : std::pair{ranked[r].second, line});
      }
    }
  }
  for (std::uint32_t i = 0; i < k; ++i) {
    for (std::uint32_t j = 0; j < k; ++j) {
      if (i != j && s.at(i, j) > keep_above) kept.insert({i, j});
    }
  }
  return kept;
}

TEST(SparseSelection, KeptSetIsTopKOfRowsAndColumnsAndEverythingAboveTheThreshold) {
  // 300 concepts: more than one block of rows (256); 8 value levels: ties everywhere.
  for (const auto& [top_k, keep_above] : std::vector<std::pair<std::size_t, double>>{{3, 0.8}, {1, 2.0}, {40, 0.5}}) {
    const SimilarityMatrix dense = random_dense(300, top_k, 8);
    const SparseSimilarity sparse = sparsify(dense, {.top_k = top_k, .keep_above = keep_above});
    const EntryMap entries = entries_of(sparse);
    std::set<std::pair<std::uint32_t, std::uint32_t>> kept;
    for (const auto& [where, value] : entries) {
      kept.insert(where);
      ASSERT_EQ(value, dense.at(where.first, where.second));
    }
    EXPECT_EQ(kept, brute_force_kept(dense, top_k, keep_above)) << "top_k " << top_k << ", keep_above " << keep_above;
    ASSERT_EQ(sparse.column_mean.size(), dense.size());
    const std::vector<double> exact = generality(dense);
    for (std::size_t j = 0; j < dense.size(); ++j) ASSERT_EQ(sparse.column_mean[j], exact[j]) << "column " << j;
  }
}

// K concepts with random CAVs (D dimensions), all kept.
ConceptSet random_cavs(std::size_t k, std::size_t dim, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  ConceptSet set;
  set.layer = "emb";
  set.dim = dim;
  for (std::size_t i = 0; i < k; ++i) {
    set.names.push_back(fmt::format("concept{}", i));
    set.types.push_back("tag");
    set.kept.push_back(1);
    set.bias.push_back(normal(rng));
    for (std::size_t d = 0; d < dim; ++d) set.weights.push_back(normal(rng));
  }
  return set;
}

TEST(SparseCosine, BlockedCosineKeepsTheDenseCosinesKeptEntries) {
  const ConceptSet set = random_cavs(600, 12, 4);
  const SimilarityMatrix dense = cosine_similarity(set);
  const SparsityOptions sparsity{.top_k = 10, .keep_above = 0.6};
  const SparseSimilarity blocked = cosine_sparse_similarity(set, sparsity, 2);
  const EntryMap expected = entries_of(sparsify(dense, sparsity));
  const EntryMap entries = entries_of(blocked);
  ASSERT_EQ(entries.size(), expected.size());
  for (const auto& [where, value] : entries) {
    ASSERT_TRUE(expected.count(where)) << where.first << ", " << where.second << " kept by the blocked cosine only";
    EXPECT_NEAR(value, expected.at(where), 1e-6);
  }
  const std::vector<double> exact = generality(dense);
  for (std::size_t j = 0; j < dense.size(); ++j) EXPECT_NEAR(blocked.column_mean[j], exact[j], 1e-6);
  EXPECT_EQ(blocked.names, dense.names);
  EXPECT_EQ(blocked.measure, "cosine");
}

TEST(SparseCosine, OneThreadAndThreeGiveIdenticalResults) {
  const ConceptSet set = random_cavs(700, 9, 5);
  const SparsityOptions sparsity{.top_k = 7, .keep_above = 0.5};
  const SparseSimilarity one = cosine_sparse_similarity(set, sparsity, 1);
  const SparseSimilarity three = cosine_sparse_similarity(set, sparsity, 3);
  EXPECT_EQ(one.offsets, three.offsets);
  EXPECT_EQ(one.columns, three.columns);
  EXPECT_EQ(one.values, three.values);
  EXPECT_EQ(one.column_mean, three.column_mean);
}

// ---------------------------------------------------------------------------------------------
// The file

SparseSimilarity small_sparse() { return sparsify(random_dense(5, 1, 100), {.top_k = 2, .keep_above = 0.7}); }

TEST(SparseSimilarityFile, RoundTripsThroughWriteAndRead) {
  ScratchDir dir;
  SparseSimilarity written = small_sparse();
  written.text_attributes.emplace_back("concepts", "/somewhere/concepts.h5");
  write_sparse_similarity(dir / "s.h5", written);
  EXPECT_TRUE(is_sparse_similarity(dir / "s.h5"));
  const SparseSimilarity read = read_sparse_similarity(dir / "s.h5");
  EXPECT_EQ(read.measure, written.measure);
  EXPECT_EQ(read.layer, written.layer);
  EXPECT_EQ(read.names, written.names);
  EXPECT_EQ(read.types, written.types);
  EXPECT_EQ(read.offsets, written.offsets);
  EXPECT_EQ(read.columns, written.columns);
  EXPECT_EQ(read.values, written.values);
  EXPECT_EQ(read.column_mean, written.column_mean);
  EXPECT_EQ(read.support, written.support);
  EXPECT_EQ(read.base_rate, written.base_rate);
  EXPECT_EQ(read.sparsity.top_k, 2u);
  EXPECT_EQ(read.sparsity.keep_above, 0.7);
  EXPECT_EQ(read.text_attributes, written.text_attributes);

  // The dense reader names the one command that reads it.
  const auto error = input_error_from([&] { read_similarity(dir / "s.h5"); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), (dir / "s.h5").string());
  EXPECT_TRUE(contains(error->problem(), "--layout dense")) << error->problem();
}

TEST(SparseSimilarityFile, MalformedFilesAreInputErrorsNamingTheFile) {
  ScratchDir dir;
  struct Damage {
    const char* name;
    void (*apply)(SparseSimilarity&);
    const char* expected;  // part of the message
  };
  const Damage damages[] = {
      {"offsets_decrease", [](SparseSimilarity& s) { std::swap(s.offsets[1], s.offsets[2]); }, "decrease at row"},
      {"column_out_of_range", [](SparseSimilarity& s) { s.columns[0] = 5; }, "not another of the 5 concepts"},
      {"column_on_the_diagonal", [](SparseSimilarity& s) { s.columns[s.offsets[1]] = 1; }, "not another of the 5 concepts"},
      {"columns_not_ascending", [](SparseSimilarity& s) { std::swap(s.columns[0], s.columns[1]); }, "not ascending in row 0"},
      {"nan_value", [](SparseSimilarity& s) { s.values[2] = std::numeric_limits<float>::quiet_NaN(); }, "/sparse/values[2]"},
      {"infinite_mean", [](SparseSimilarity& s) { s.column_mean[3] = std::numeric_limits<double>::infinity(); }, "/column_mean[3]"},
  };
  for (const Damage& damage : damages) {
    SparseSimilarity s = small_sparse();
    ASSERT_GE(s.offsets[1], 2u) << "row 0 needs two entries for these damages";
    damage.apply(s);
    const fs::path path = dir / fmt::format("{}.h5", damage.name);
    write_sparse_similarity(path, s);
    const auto error = input_error_from([&] { read_sparse_similarity(path); });
    ASSERT_TRUE(error.has_value()) << damage.name << " was accepted";
    EXPECT_EQ(error->item(), path.string());
    EXPECT_TRUE(contains(error->problem(), damage.expected)) << damage.name << ": " << error->problem();
  }

  // Entries the offsets do not account for, written past the writer's own checks.
  const fs::path short_path = dir / "short_columns.h5";
  write_sparse_similarity(short_path, small_sparse());
  {
    h5::File file(short_path, h5::Mode::ReadWrite);
    H5Ldelete(file.id(), "/sparse/columns", H5P_DEFAULT);
    const std::vector<std::uint32_t> one_column = {1};
    h5::write_vector<std::uint32_t>(file.id(), "/sparse/columns", one_column);
    file.close();
  }
  const auto error = input_error_from([&] { read_sparse_similarity(short_path); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), short_path.string());
  EXPECT_TRUE(contains(error->problem(), "should hold the")) << error->problem();
}

// ---------------------------------------------------------------------------------------------
// The command line

TEST(SparseSimilarityCli, SparseLayoutThenHierarchyMatchesTheDenseOne) {
  ScratchDir dir;
  const ConceptSet set = random_cavs(60, 6, 8);
  write_concept_set(dir / "concepts.h5", set);
  const std::string concepts = (dir / "concepts.h5").string();
  // top-k 59 keeps every entry, so the two hierarchies must agree link for link.
  const auto sparse = run_cli(quoted_args({"similarity", "-c", concepts, "-o", (dir / "sparse.h5").string(), "--layout", "sparse", "--top-k", "59"}));
  ASSERT_EQ(sparse.exit_code, 0) << sparse.err;
  EXPECT_TRUE(contains(sparse.err + sparse.out, "sparse 60 x 60")) << sparse.err << sparse.out;
  const auto dense = run_cli(quoted_args({"similarity", "-c", concepts, "-o", (dir / "dense.h5").string()}));
  ASSERT_EQ(dense.exit_code, 0) << dense.err;
  EXPECT_FALSE(is_sparse_similarity(dir / "dense.h5")) << "auto is dense below 20,000 concepts";

  for (const char* which : {"sparse", "dense"}) {
    const auto hierarchy = run_cli(quoted_args({"hierarchy", "-s", (dir / fmt::format("{}.h5", which)).string(), "-o",
                                                (dir / fmt::format("{}.tsv", which)).string(), "--threshold", "0.6"}));
    ASSERT_EQ(hierarchy.exit_code, 0) << which << ": " << hierarchy.err;
  }
  EXPECT_EQ(read_text(dir / "sparse.tsv"), read_text(dir / "dense.tsv"));

  // Below the file's keep_above the concept graph would miss edges: refused, naming the options.
  const auto low = run_cli(quoted_args({"hierarchy", "-s", (dir / "sparse.h5").string(), "-o", (dir / "low.json").string(), "--threshold", "0.3"}));
  EXPECT_NE(low.exit_code, 0);
  EXPECT_TRUE(contains(low.err, "--keep-above")) << low.err;
  EXPECT_FALSE(fs::exists(dir / "low.json"));
  const auto random = run_cli(quoted_args({"hierarchy", "-s", (dir / "sparse.h5").string(), "-o", (dir / "random.json").string(), "--method", "random-sim"}));
  EXPECT_NE(random.exit_code, 0);
  EXPECT_TRUE(contains(random.err, "--layout dense")) << random.err;
}

}  // namespace
}  // namespace conceptree
