#pragma once
// A concept similarity kept sparse, for concept counts whose K x K matrix does not fit in memory
// (100,000 concepts: 40 GB dense). Only the entries the hierarchy needs are kept:
//   - each row i's top_k largest S[i][j], j != i (i's most similar concepts),
//   - each column j's top_k largest S[i][j], i != j (j's best candidate parents: Heymann hangs j
//     under the placed p with the largest S[p][j]),
//   - every S[i][j] > keep_above, i != j (so the concept graph at thresholds >= keep_above is exact).
// Ties are broken by the lower index, so the kept set is a function of S alone. The diagonal is
// never kept. Besides the entries, each column's exact mean over the other rows (computed before
// anything is dropped) keeps the default visit order, generality, exact.
//
// On disk (HDF5), the similarity file format with root attribute layout = "sparse":
//   /sparse/offsets   K+1 uint64: row i's entries are [offsets[i], offsets[i+1]) (CSR)
//   /sparse/columns   uint32: column of each entry, ascending within a row
//   /sparse/values    float32: S[i][column]
//   /column_mean      K float64: mean over i != j of S[i][j], all K-1 values (double, as the dense
//                     generality() is: float32 would merge near-ties and reorder the visits)
//   /names, /types, /support, /base_rate   as in the dense layout (similarity.hpp)
//   attributes format=conceptree.similarity, layout=sparse, top_k, keep_above, measure, layer, ...
// In Python: scipy.sparse.csr_matrix((values, columns, offsets), shape=(K, K)); absent entries
// are unknown, not zero.
//
//   SparseSimilarity s = cosine_sparse_similarity(set, {.top_k = 32, .keep_above = 0.5}, jobs);
//   write_sparse_similarity(path, s);
//   Hierarchy h = extract_hierarchy(s, options, jobs);

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "conceptree/concept_set.hpp"
#include "conceptree/context.hpp"
#include "conceptree/similarity.hpp"

namespace conceptree {

struct SparsityOptions {
  std::uint64_t top_k = 32;   // per row and per column
  double keep_above = 0.5;    // every value above it is kept
};

struct SparseSimilarity {
  std::string measure;
  std::string layer;
  std::vector<std::string> names;
  std::vector<std::string> types;
  std::vector<std::uint64_t> offsets{0};  // K+1, compressed rows
  std::vector<std::uint32_t> columns;     // ascending within a row
  std::vector<float> values;
  std::vector<double> column_mean;        // K
  std::vector<std::uint64_t> support;     // K
  std::vector<float> base_rate;           // K, or empty
  SparsityOptions sparsity;
  std::vector<std::pair<std::string, std::string>> text_attributes;  // provenance

  std::size_t size() const { return names.size(); }
};

// The kept entries of a dense similarity (activation at a size where K x K fits).
SparseSimilarity sparsify(const SimilarityMatrix& dense, const SparsityOptions& sparsity);
// The cosine measure of cosine_similarity() computed in blocks of rows against every concept, so
// memory stays O(K x (block + top_k)) whatever K is. The same result for any `jobs`.
SparseSimilarity cosine_sparse_similarity(const ConceptSet& set, const SparsityOptions& sparsity, int jobs,
                                          const Context& context = default_context());

// Writes through a temporary file and a rename.
void write_sparse_similarity(const std::filesystem::path& path, const SparseSimilarity& similarity);
// Throws InputError naming the file for anything that is not a well-formed sparse similarity
// (offsets not monotone, a column out of range or out of order, NaN/Inf values, sizes that disagree).
SparseSimilarity read_sparse_similarity(const std::filesystem::path& path);
// True when the file at `path` is a similarity file with layout = "sparse".
bool is_sparse_similarity(const std::filesystem::path& path);

// Concept counts above which `similarity --layout auto` writes the sparse layout: a dense
// 20,000 x 20,000 file is 1.6 GB, and the hierarchy of it holds a second copy when calibrated.
inline constexpr std::size_t kSparseLayoutAbove = 20000;

}  // namespace conceptree
