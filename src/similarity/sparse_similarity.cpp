#include "conceptree/sparse_similarity.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"
#include "conceptree/progress.hpp"
#include "conceptree/version.hpp"
#include "common/gemm.hpp"
#include "hdf5/hdf5.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

// Rows of S computed and scanned together: a block is kRowsPerBlock x K floats (100 MB at
// K = 100,000). Its GEMM is cut into slices of a fixed width of columns, so which kernel computes
// an entry, and so its bits, does not depend on the thread count. Slices of columns rather than
// of rows: each GEMM call packs its right-hand factor, and slicing rows would pack all K
// concepts once per slice (half the run time, measured at 30,000 concepts).
constexpr std::size_t kRowsPerBlock = 256;
constexpr std::size_t kColumnsPerSlice = 2048;
// Columns one thread updates at a time: their heaps and sums stay in its cache across the block's rows.
constexpr std::size_t kColumnsPerChunk = 2048;

struct Entry {
  std::uint32_t index;  // the column (in a row's list) or the row (in a column's list)
  float value;
};

// The total order every selection uses: larger value first, then lower index.
bool better(const Entry& a, const Entry& b) { return a.value != b.value ? a.value > b.value : a.index < b.index; }

// The `capacity` best entries seen, as a heap whose front is the worst of them.
class TopEntries {
 public:
  void offer(Entry entry, std::size_t capacity) {
    if (heap_.size() < capacity) {
      heap_.push_back(entry);
      std::push_heap(heap_.begin(), heap_.end(), better);
    } else if (capacity > 0 && better(entry, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), better);
      heap_.back() = entry;
      std::push_heap(heap_.begin(), heap_.end(), better);
    }
  }
  // Values below this cannot enter (equal ones are left to offer(), which knows the index): a
  // plain float to compare with in the scans, where reaching into the heap for it would cost a
  // cache miss per value.
  float floor(std::size_t capacity) const {
    return heap_.size() < capacity ? -std::numeric_limits<float>::infinity() : heap_.front().value;
  }
  const std::vector<Entry>& entries() const { return heap_; }

 private:
  std::vector<Entry> heap_;
};

// Takes S a block of rows at a time, in row order, and keeps each row's and each column's top_k
// and everything above keep_above, plus every column's sum; memory O(K x top_k + kept entries).
class KeptEntries {
 public:
  KeptEntries(std::size_t concepts, const SparsityOptions& sparsity)
      : concepts_(concepts),
        sparsity_(sparsity),
        rows_(concepts),
        columns_(concepts),
        column_floors_(concepts, TopEntries{}.floor(sparsity.top_k)),
        column_sums_(concepts, 0.0) {}

  // Rows [first, first + count) of S, row-major, K wide. Called with first ascending.
  void add_rows(std::size_t first, std::size_t count, const float* block, int threads) {
    const std::size_t capacity = sparsity_.top_k;
    const auto above = static_cast<float>(sparsity_.keep_above);
    const std::size_t chunks = (concepts_ + kColumnsPerChunk - 1) / kColumnsPerChunk;
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(dynamic, 4) nowait
      for (std::size_t r = 0; r < count; ++r) {
        const std::size_t row = first + r;
        const float* values = block + r * concepts_;
        TopEntries top;
        float floor = top.floor(capacity);
        std::vector<Entry>& kept = rows_[row];
        // The diagonal is left out by scanning the columns on either side of it.
        const auto scan = [&](std::size_t begin, std::size_t end) {
          for (std::size_t j = begin; j < end; ++j) {
            const float value = values[j];
            if (value > above) kept.push_back({static_cast<std::uint32_t>(j), value});
            if (value >= floor) {
              top.offer({static_cast<std::uint32_t>(j), value}, capacity);
              floor = top.floor(capacity);
            }
          }
        };
        scan(0, row);
        scan(row + 1, concepts_);
        kept.insert(kept.end(), top.entries().begin(), top.entries().end());
      }
#pragma omp for schedule(dynamic, 1)
      for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
        const std::size_t begin = chunk * kColumnsPerChunk, end = std::min(concepts_, begin + kColumnsPerChunk);
        for (std::size_t r = 0; r < count; ++r) {
          const std::size_t row = first + r;
          const float* values = block + r * concepts_;
          const auto scan = [&](std::size_t from, std::size_t to) {
            for (std::size_t j = from; j < to; ++j) {
              const float value = values[j];
              column_sums_[j] += value;
              if (value >= column_floors_[j]) {
                columns_[j].offer({static_cast<std::uint32_t>(row), value}, capacity);
                column_floors_[j] = columns_[j].floor(capacity);
              }
            }
          };
          if (row >= begin && row < end) {
            scan(begin, row);
            scan(row + 1, end);
          } else {
            scan(begin, end);
          }
        }
      }
    }
  }

  // The kept entries in compressed rows, and the column means, into `out`.
  void finish(SparseSimilarity& out) {
    for (std::size_t j = 0; j < concepts_; ++j) {
      for (const Entry& entry : columns_[j].entries()) rows_[entry.index].push_back({static_cast<std::uint32_t>(j), entry.value});
      columns_[j] = TopEntries{};
    }
    out.offsets.assign(1, 0);
    out.columns.clear();
    out.values.clear();
    for (auto& row : rows_) {
      std::sort(row.begin(), row.end(), [](const Entry& a, const Entry& b) { return a.index < b.index; });
      row.erase(std::unique(row.begin(), row.end(), [](const Entry& a, const Entry& b) { return a.index == b.index; }), row.end());
      for (const Entry& entry : row) {
        out.columns.push_back(entry.index);
        out.values.push_back(entry.value);
      }
      out.offsets.push_back(out.columns.size());
      std::vector<Entry>().swap(row);
    }
    out.column_mean.assign(concepts_, 0.0);
    if (concepts_ > 1) {
      for (std::size_t j = 0; j < concepts_; ++j) out.column_mean[j] = column_sums_[j] / static_cast<double>(concepts_ - 1);
    }
    out.sparsity = sparsity_;
  }

 private:
  std::size_t concepts_;
  SparsityOptions sparsity_;
  std::vector<std::vector<Entry>> rows_;
  std::vector<TopEntries> columns_;
  std::vector<float> column_floors_;  // columns_[j].floor(), beside each other for the scans
  std::vector<double> column_sums_;
};

int thread_count(int jobs) { return jobs > 0 ? jobs : omp_get_max_threads(); }

void check_sparsity(const SparsityOptions& sparsity) {
  if (sparsity.top_k < 1) throw FatalError("--top-k must be at least 1: a concept's best parent must be kept");
  if (!std::isfinite(sparsity.keep_above)) throw FatalError("--keep-above must be a finite number");
}

}  // namespace

SparseSimilarity sparsify(const SimilarityMatrix& dense, const SparsityOptions& sparsity) {
  check_sparsity(sparsity);
  const std::size_t k = dense.size();
  if (dense.values.size() != k * k) throw FatalError("similarity arrays disagree in size");
  SparseSimilarity sparse;
  KeptEntries kept(k, sparsity);
  for (std::size_t first = 0; first < k; first += kRowsPerBlock) {
    kept.add_rows(first, std::min(kRowsPerBlock, k - first), dense.values.data() + first * k, 1);
  }
  kept.finish(sparse);
  sparse.measure = dense.measure;
  sparse.layer = dense.layer;
  sparse.names = dense.names;
  sparse.types = dense.types;
  sparse.support = dense.support;
  sparse.base_rate = dense.base_rate;
  sparse.text_attributes = dense.text_attributes;
  return sparse;
}

SparseSimilarity cosine_sparse_similarity(const ConceptSet& set, const SparsityOptions& sparsity, int jobs, const Context& context) {
  check_sparsity(sparsity);
  SparseSimilarity sparse;
  std::vector<std::size_t> rows;
  for (std::size_t r = 0; r < set.size(); ++r) {
    if (!set.kept[r]) continue;
    rows.push_back(r);
    sparse.names.push_back(set.names[r]);
    sparse.types.push_back(set.types[r]);
  }
  if (rows.empty()) throw FatalError("the concept set has no kept concept (none passed the accuracy cut)");
  if (rows.size() > std::numeric_limits<std::uint32_t>::max()) throw FatalError(fmt::format("{} concepts are too many", rows.size()));
  const std::size_t k = rows.size();
  const std::size_t width = set.dim + 1;
  // [v; b] / |[v; b]| as rows (the left factor) and as columns (the right factor).
  std::vector<float> unit(k * width), unit_transposed(width * k);
  for (std::size_t r = 0; r < k; ++r) {
    const float* v = set.weights.data() + rows[r] * set.dim;
    float* row = unit.data() + r * width;
    std::copy(v, v + set.dim, row);
    row[set.dim] = set.bias[rows[r]];
    double norm = 0;
    for (std::size_t c = 0; c < width; ++c) norm += static_cast<double>(row[c]) * row[c];
    if (norm == 0) throw InputError(set.names[rows[r]], "has an all-zero CAV; its cosine with other concepts is undefined");
    const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (std::size_t c = 0; c < width; ++c) {
      row[c] *= scale;
      unit_transposed[c * k + r] = row[c];
    }
  }

  const int threads = thread_count(jobs);
  const SingleThreadedBlas single_threaded_blas;
  const Gemm gemm = fastest_gemm();
  KeptEntries kept(k, sparsity);
  std::vector<float> block(std::min(kRowsPerBlock, k) * k);
  Progress progress(context, "cosine similarity", k);
  for (std::size_t first = 0; first < k; first += kRowsPerBlock) {
    context.throw_if_stopped();
    const std::size_t count = std::min(kRowsPerBlock, k - first);
    const std::size_t slices = (k + kColumnsPerSlice - 1) / kColumnsPerSlice;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (std::size_t slice = 0; slice < slices; ++slice) {
      const std::size_t slice_first = slice * kColumnsPerSlice;
      const std::size_t slice_width = std::min(kColumnsPerSlice, k - slice_first);
      sgemm_row_major(gemm, count, slice_width, width, unit.data() + first * width, width, unit_transposed.data() + slice_first, k,
                      block.data() + slice_first, k);
    }
    kept.add_rows(first, count, block.data(), threads);
    progress.advance(count);
  }
  progress.finish();
  kept.finish(sparse);
  sparse.measure = "cosine";
  sparse.layer = set.layer;
  sparse.support.assign(k, 0);
  return sparse;
}

void write_sparse_similarity(const fs::path& path, const SparseSimilarity& similarity) {
  const std::size_t k = similarity.size();
  if (similarity.types.size() != k || similarity.support.size() != k || similarity.column_mean.size() != k ||
      similarity.offsets.size() != k + 1 || similarity.columns.size() != similarity.offsets.back() ||
      similarity.values.size() != similarity.columns.size() || (!similarity.base_rate.empty() && similarity.base_rate.size() != k)) {
    throw FatalError(path.string() + ": sparse similarity arrays disagree in size");
  }
  AtomicOutput output(path);
  {
    h5::File file(output.temp_path(), h5::Mode::Create);
    const hid_t root = file.id();
    h5::set_attribute(root, "format", std::string(kSimilarityFormat));
    h5::set_attribute(root, "format_version", std::uint64_t{1});
    h5::set_attribute(root, "layout", std::string("sparse"));
    h5::set_attribute(root, "top_k", similarity.sparsity.top_k);
    h5::set_attribute(root, "keep_above", similarity.sparsity.keep_above);
    h5::set_attribute(root, "tool_version", fmt::format("conceptree {}", kVersion));
    h5::set_attribute(root, "measure", similarity.measure);
    h5::set_attribute(root, "layer", similarity.layer);
    for (const auto& [name, value] : similarity.text_attributes) h5::set_attribute(root, name, value);
    h5::create_group(root, "/sparse");
    h5::write_vector<std::uint64_t>(root, "/sparse/offsets", similarity.offsets);
    h5::write_vector<std::uint32_t>(root, "/sparse/columns", similarity.columns);
    h5::write_vector<float>(root, "/sparse/values", similarity.values);
    h5::write_vector<double>(root, "/column_mean", similarity.column_mean);
    h5::write_strings(root, "/names", similarity.names);
    h5::write_strings(root, "/types", similarity.types);
    h5::write_uint64s(root, "/support", similarity.support);
    if (!similarity.base_rate.empty()) h5::write_vector<float>(root, "/base_rate", similarity.base_rate);
    file.close();
  }
  output.commit();
}

bool is_sparse_similarity(const fs::path& path) {
  h5::File file(path, h5::Mode::ReadOnly);
  return h5::string_attribute(file.id(), "layout").value_or("dense") == "sparse";
}

SparseSimilarity read_sparse_similarity(const fs::path& path) {
  const std::string name = path.string();
  h5::File file(path, h5::Mode::ReadOnly);
  const hid_t root = file.id();
  const auto format = h5::string_attribute(root, "format");
  if (!format || *format != kSimilarityFormat) throw InputError(name, "not a conceptree similarity file (format attribute missing)");
  if (h5::string_attribute(root, "layout").value_or("dense") != "sparse") throw InputError(name, "not a sparse similarity (layout attribute is not 'sparse')");
  SparseSimilarity similarity;
  similarity.measure = h5::string_attribute(root, "measure").value_or("");
  similarity.layer = h5::string_attribute(root, "layer").value_or("");
  for (const char* attribute : {"concepts", "embeddings"}) {
    if (auto value = h5::string_attribute(root, attribute)) similarity.text_attributes.emplace_back(attribute, *value);
  }
  const auto top_k = h5::uint64_attribute(root, "top_k");
  const auto keep_above = h5::double_attribute(root, "keep_above");
  if (!top_k || !keep_above || !std::isfinite(*keep_above)) throw InputError(name, "a sparse similarity needs the attributes top_k and keep_above (finite)");
  similarity.sparsity = {.top_k = *top_k, .keep_above = *keep_above};

  similarity.names = h5::read_strings(h5::open_dataset(root, "/names", name).id());
  const std::size_t k = similarity.names.size();
  if (k > std::numeric_limits<std::uint32_t>::max()) throw InputError(name, fmt::format("{} concepts are too many", k));
  similarity.types = h5::exists(root, "/types") ? h5::read_strings(h5::open_dataset(root, "/types", name).id()) : std::vector<std::string>(k);
  similarity.support = h5::exists(root, "/support") ? h5::read_vector<std::uint64_t>(root, "/support", name) : std::vector<std::uint64_t>(k, 0);
  if (h5::exists(root, "/base_rate")) similarity.base_rate = h5::read_vector<float>(root, "/base_rate", name);
  similarity.column_mean = h5::read_vector<double>(root, "/column_mean", name);
  if (similarity.types.size() != k || similarity.support.size() != k || similarity.column_mean.size() != k ||
      (!similarity.base_rate.empty() && similarity.base_rate.size() != k)) {
    throw InputError(name, "/types, /support, /column_mean or /base_rate disagree with /names in size");
  }
  for (std::size_t j = 0; j < k; ++j) {
    if (!std::isfinite(similarity.column_mean[j])) throw InputError(name, fmt::format("/column_mean[{}] is not finite", j));
  }
  for (std::size_t j = 0; j < similarity.base_rate.size(); ++j) {
    if (!(similarity.base_rate[j] >= 0 && similarity.base_rate[j] <= 1)) {
      throw InputError(name, fmt::format("/base_rate[{}] is {}, not an activation in [0, 1]", j, similarity.base_rate[j]));
    }
  }

  similarity.offsets = h5::read_vector<std::uint64_t>(root, "/sparse/offsets", name);
  if (similarity.offsets.size() != k + 1 || similarity.offsets.front() != 0) {
    throw InputError(name, fmt::format("/sparse/offsets should hold {} row starts beginning at 0 for {} names", k + 1, k));
  }
  for (std::size_t i = 0; i < k; ++i) {
    if (similarity.offsets[i + 1] < similarity.offsets[i]) throw InputError(name, fmt::format("/sparse/offsets decrease at row {}", i));
  }
  similarity.columns = h5::read_vector<std::uint32_t>(root, "/sparse/columns", name);
  similarity.values = h5::read_vector<float>(root, "/sparse/values", name);
  if (similarity.columns.size() != similarity.offsets.back() || similarity.values.size() != similarity.offsets.back()) {
    throw InputError(name, fmt::format("/sparse/columns and /sparse/values should hold the {} entries /sparse/offsets ends at",
                                       similarity.offsets.back()));
  }
  for (std::size_t i = 0; i < k; ++i) {
    for (std::uint64_t e = similarity.offsets[i]; e < similarity.offsets[i + 1]; ++e) {
      const std::uint32_t column = similarity.columns[e];
      if (column >= k || column == i) throw InputError(name, fmt::format("/sparse/columns[{}] = {} in row {} is not another of the {} concepts", e, column, i, k));
      if (e > similarity.offsets[i] && column <= similarity.columns[e - 1]) {
        throw InputError(name, fmt::format("/sparse/columns are not ascending in row {}", i));
      }
      if (!std::isfinite(similarity.values[e])) throw InputError(name, fmt::format("/sparse/values[{}] (row {}, column {}) is not finite", e, i, column));
    }
  }
  return similarity;
}

}  // namespace conceptree
