#include "conceptree/similarity.hpp"

#include <cblas.h>
#include <fmt/format.h>
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <future>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>

#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"
#include "conceptree/context.hpp"
#include "conceptree/progress.hpp"
#include "conceptree/version.hpp"
#include "common/gemm.hpp"
#include "hdf5/hdf5.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Tracks scored per GEMM call: a few hundred frame rows, so one block of scores stays in L2/L3.
constexpr std::size_t kTracksPerBlock = 16;
// Concepts per GEMM: a block's scores for one slice (~500 x 512 floats) fit in L2.
constexpr std::size_t kConceptsPerSlice = 512;
// Tracks read from the store at a time: bounds the frames and track activations held in memory.
constexpr std::size_t kTracksPerWave = 2048;

struct KeptConcepts {
  std::vector<std::size_t> rows;  // rows of the concept set
  SimilarityMatrix matrix;        // names, types, layer filled; values empty
};

KeptConcepts kept_concepts(const ConceptSet& set, const std::string& measure) {
  KeptConcepts kept;
  for (std::size_t k = 0; k < set.size(); ++k) {
    if (!set.kept[k]) continue;
    kept.rows.push_back(k);
    kept.matrix.names.push_back(set.names[k]);
    kept.matrix.types.push_back(set.types[k]);
  }
  if (kept.rows.empty()) throw FatalError("the concept set has no kept concept (none passed the accuracy cut)");
  kept.matrix.measure = measure;
  kept.matrix.layer = set.layer;
  return kept;
}

// Where the test tracks' frames come from: a store on disk, or frames in memory.
struct TestFrameSource {
  std::string name;                   // in messages
  std::string layer;
  std::uint64_t dim = 0;
  std::function<std::optional<std::size_t>(const std::string&)> index_of;
  std::function<void(std::span<const std::size_t>, FrameBatch&)> read_tracks;
};

// Test tracks of each kept concept as positions in `tracks` (sorted distinct store indices).
struct TestTracks {
  std::vector<std::size_t> tracks;
  std::vector<std::vector<std::uint32_t>> positions;  // per kept concept, ascending
};

TestTracks resolve_test_tracks(const ConceptSet& set, const std::vector<std::size_t>& rows, const TestFrameSource& source,
                               BatchErrors& errors) {
  const TrackLists& test = set.splits.test_positive;
  std::vector<std::int64_t> store_index(set.splits.track_ids.size(), -2);  // -2 unresolved, -1 missing
  std::vector<std::vector<std::size_t>> per_concept(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::size_t missing = 0;
    std::string first_missing;
    for (std::uint64_t p = test.offsets[rows[r]]; p < test.offsets[rows[r] + 1]; ++p) {
      const std::uint32_t split_index = test.indices[p];
      if (store_index[split_index] == -2) {
        const auto found = source.index_of(set.splits.track_ids[split_index]);
        store_index[split_index] = found ? static_cast<std::int64_t>(*found) : -1;
      }
      if (store_index[split_index] < 0) {
        if (missing++ == 0) first_missing = set.splits.track_ids[split_index];
        continue;
      }
      per_concept[r].push_back(static_cast<std::size_t>(store_index[split_index]));
    }
    if (missing > 0) {
      errors.report(InputError(set.names[rows[r]], fmt::format("{} of {} test tracks are not in {} (first: '{}'); left out", missing,
                                                               test.offsets[rows[r] + 1] - test.offsets[rows[r]],
                                                               source.name, first_missing)));
    }
  }
  TestTracks result;
  for (const auto& list : per_concept) result.tracks.insert(result.tracks.end(), list.begin(), list.end());
  std::sort(result.tracks.begin(), result.tracks.end());
  result.tracks.erase(std::unique(result.tracks.begin(), result.tracks.end()), result.tracks.end());
  result.positions.resize(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t index : per_concept[r]) {
      const auto at = std::lower_bound(result.tracks.begin(), result.tracks.end(), index) - result.tracks.begin();
      result.positions[r].push_back(static_cast<std::uint32_t>(at));
    }
    std::sort(result.positions[r].begin(), result.positions[r].end());
  }
  return result;
}

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Who multiplies frames by CAVs: fastest_gemm() (common/gemm.hpp).
// Mean over each track's frames of sigmoid(X w_j + b_j) for every concept j: one GEMM per slice of
// concepts for a block of tracks, then the sigmoid and the per-track mean while the scores are
// still in the core's cache.
void score_tracks(Gemm gemm, const FrameBatch& frames, std::size_t first_track, std::size_t track_count, const std::vector<float>& weights,
                  const std::vector<float>& bias, RowMajor& scores, float* track_activations) {
  const std::size_t concepts = bias.size();
  const std::uint64_t first_row = frames.offsets[first_track];
  const std::uint64_t rows = frames.offsets[first_track + track_count] - first_row;
  const auto dim = static_cast<Eigen::Index>(frames.cols);
  const Eigen::Map<const RowMajor> block(frames.values.data() + first_row * frames.cols, static_cast<Eigen::Index>(rows), dim);
  for (std::size_t slice = 0; slice < concepts; slice += kConceptsPerSlice) {
    const std::size_t width = std::min(kConceptsPerSlice, concepts - slice);
    scores.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(width));
    const Eigen::Map<const RowMajor> cavs(weights.data() + slice * frames.cols, static_cast<Eigen::Index>(width), dim);
    if (gemm == Gemm::Eigen) {
      scores.noalias() = block * cavs.transpose();
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(width), static_cast<int>(dim), 1.0f,
                  block.data(), static_cast<int>(dim), cavs.data(), static_cast<int>(dim), 0.0f, scores.data(), static_cast<int>(width));
    }
    const Eigen::Map<const Eigen::RowVectorXf> slice_bias(bias.data() + slice, static_cast<Eigen::Index>(width));
    for (std::size_t t = 0; t < track_count; ++t) {
      const auto begin = static_cast<Eigen::Index>(frames.offsets[first_track + t] - first_row);
      const auto count = static_cast<Eigen::Index>(frames.offsets[first_track + t + 1] - frames.offsets[first_track + t]);
      Eigen::Map<Eigen::RowVectorXf> out(track_activations + t * concepts + slice, static_cast<Eigen::Index>(width));
      // Row by row: a column-wise sum over row-major scores would walk memory with a stride.
      out.setZero();
      for (Eigen::Index row = begin; row < begin + count; ++row) out.array() += (scores.row(row) + slice_bias).array().logistic();
      out /= static_cast<float>(count);
    }
  }
}

}  // namespace

SimilarityMatrix cosine_similarity(const ConceptSet& set) {
  KeptConcepts kept = kept_concepts(set, "cosine");
  const std::size_t k = kept.rows.size();
  const std::size_t width = set.dim + 1;
  std::vector<float> augmented(k * width);
  for (std::size_t r = 0; r < k; ++r) {
    const float* v = set.weights.data() + kept.rows[r] * set.dim;
    float* row = augmented.data() + r * width;
    std::copy(v, v + set.dim, row);
    row[set.dim] = set.bias[kept.rows[r]];
    double norm = 0;
    for (std::size_t c = 0; c < width; ++c) norm += static_cast<double>(row[c]) * row[c];
    if (norm == 0) throw InputError(set.names[kept.rows[r]], "has an all-zero CAV; its cosine with other concepts is undefined");
    const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (std::size_t c = 0; c < width; ++c) row[c] *= scale;
  }
  SimilarityMatrix& matrix = kept.matrix;
  matrix.values.resize(k * k);
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, static_cast<int>(k), static_cast<int>(width), 1.0f, augmented.data(),
              static_cast<int>(width), 0.0f, matrix.values.data(), static_cast<int>(k));
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < i; ++j) matrix.values[i * k + j] = matrix.values[j * k + i];
  }
  matrix.support.assign(k, 0);
  return std::move(kept.matrix);
}

namespace {

SimilarityMatrix similarity_from_source(const ConceptSet& set, const TestFrameSource& source, int jobs, BatchErrors& errors,
                                       ActivationStats* stats, const Context& context) {
  if (set.splits.empty()) {
    throw FatalError("the concept set has no test splits (CAVs imported without their tracks); use --measure cosine");
  }
  if (source.dim != set.dim) {
    throw FatalError(fmt::format("{}: layer '{}' has {} dimensions but the concept set's CAVs have {}", source.name, source.layer,
                                 source.dim, set.dim));
  }
  KeptConcepts kept = kept_concepts(set, "activation");
  const std::size_t k = kept.rows.size();
  const TestTracks test = resolve_test_tracks(set, kept.rows, source, errors);

  std::vector<float> weights(k * set.dim);
  std::vector<float> bias(k);
  for (std::size_t r = 0; r < k; ++r) {
    std::copy_n(set.weights.data() + kept.rows[r] * set.dim, set.dim, weights.data() + r * set.dim);
    bias[r] = set.bias[kept.rows[r]];
  }

  // Row sums accumulate in double, wave by wave in track order, so the result does not depend on
  // how blocks were shared among threads.
  std::vector<double> sums(k * k, 0.0);
  std::vector<double> base_sums(k, 0.0);
  std::vector<std::size_t> cursor(k, 0);
  // Aligned, so where Eigen peels scalar iterations off a row (its scalar and vector sigmoids
  // differ in the last bit) depends only on the row, not on where malloc put the buffer: the same
  // inputs give the same bits in every process.
  std::vector<float, Eigen::aligned_allocator<float>> track_activations;
  ActivationStats local;
  const int threads = jobs > 0 ? jobs : omp_get_max_threads();
  const SingleThreadedBlas single_threaded_blas;
  const Gemm gemm = fastest_gemm();
  local.gemm = describe(gemm);
  Progress progress(context, "score tracks", test.tracks.size());
  // The next wave's frames are read into one buffer while this one is scored from the other.
  FrameBatch buffers[2];
  const auto read_wave = [&](std::size_t wave_begin, FrameBatch& into) {
    const std::size_t wave_end = std::min(test.tracks.size(), wave_begin + kTracksPerWave);
    const auto read_start = Clock::now();
    source.read_tracks(std::span<const std::size_t>(test.tracks.data() + wave_begin, wave_end - wave_begin), into);
    return seconds_since(read_start);
  };
  std::future<double> next_wave;
  if (!test.tracks.empty()) next_wave = std::async(std::launch::async, read_wave, 0, std::ref(buffers[0]));
  for (std::size_t wave_begin = 0, wave = 0; wave_begin < test.tracks.size(); wave_begin += kTracksPerWave, ++wave) {
    const std::size_t wave_end = std::min(test.tracks.size(), wave_begin + kTracksPerWave);
    local.read_seconds += next_wave.get();
    context.throw_if_stopped();
    const FrameBatch& frames = buffers[wave % 2];
    if (wave_end < test.tracks.size()) next_wave = std::async(std::launch::async, read_wave, wave_end, std::ref(buffers[(wave + 1) % 2]));
    local.frames += frames.rows();
    const auto score_start = Clock::now();
    const std::size_t wave_tracks = wave_end - wave_begin;
    track_activations.resize(wave_tracks * k);
    const std::size_t blocks = (wave_tracks + kTracksPerBlock - 1) / kTracksPerBlock;
#pragma omp parallel num_threads(threads)
    {
      RowMajor scores;
#pragma omp for schedule(dynamic, 1)
      for (std::size_t block = 0; block < blocks; ++block) {
        const std::size_t first = block * kTracksPerBlock;
        const std::size_t count = std::min(kTracksPerBlock, wave_tracks - first);
        score_tracks(gemm, frames, first, count, weights, bias, scores, track_activations.data() + first * k);
        progress.advance(count);
      }
#pragma omp for schedule(dynamic, 16)
      for (std::size_t r = 0; r < k; ++r) {
        for (std::size_t t = 0; t < wave_tracks; ++t) base_sums[r] += track_activations[t * k + r];
        double* row = sums.data() + r * k;
        const auto& positions = test.positions[r];
        for (; cursor[r] < positions.size() && positions[cursor[r]] < wave_end; ++cursor[r]) {
          const float* activation = track_activations.data() + (positions[cursor[r]] - wave_begin) * k;
          for (std::size_t j = 0; j < k; ++j) row[j] += activation[j];
        }
      }
    }
    local.score_seconds += seconds_since(score_start);
  }
  progress.finish();

  SimilarityMatrix& matrix = kept.matrix;
  matrix.values.resize(k * k);
  matrix.support.resize(k);
  matrix.base_rate.resize(k);
  for (std::size_t r = 0; r < k; ++r) {
    matrix.base_rate[r] = test.tracks.empty() ? 0.0f : static_cast<float>(base_sums[r] / static_cast<double>(test.tracks.size()));
  }
  std::vector<std::size_t> used_rows;
  for (std::size_t r = 0; r < k; ++r) {
    const std::size_t support = test.positions[r].size();
    if (support == 0) {
      context.warning(fmt::format("concept '{}' has no test track in {}; left out of the similarity", matrix.names[r], source.name));
      ++local.excluded_concepts;
      continue;
    }
    used_rows.push_back(r);
    matrix.support[r] = support;
    for (std::size_t j = 0; j < k; ++j) matrix.values[r * k + j] = static_cast<float>(sums[r * k + j] / static_cast<double>(support));
  }
  if (used_rows.empty()) throw FatalError("no kept concept has a test track in " + source.name);
  if (used_rows.size() < k) {
    SimilarityMatrix reduced;
    reduced.measure = matrix.measure;
    reduced.layer = matrix.layer;
    for (std::size_t r : used_rows) {
      reduced.names.push_back(matrix.names[r]);
      reduced.types.push_back(matrix.types[r]);
      reduced.support.push_back(matrix.support[r]);
      reduced.base_rate.push_back(matrix.base_rate[r]);
      for (std::size_t c : used_rows) reduced.values.push_back(matrix.values[r * k + c]);
    }
    matrix = std::move(reduced);
  }
  local.tracks = test.tracks.size();
  local.gemm_flops = 2.0 * static_cast<double>(local.frames) * static_cast<double>(k) * static_cast<double>(set.dim);
  if (stats) *stats = local;
  return std::move(kept.matrix);
}

}  // namespace

SimilarityMatrix activation_similarity(const ConceptSet& set, const EmbeddingStore& store, int jobs, BatchErrors& errors,
                                       ActivationStats* stats, const Context& context) {
  const TestFrameSource source{
      .name = store.path().string(),
      .layer = store.layer().name,
      .dim = store.dim(),
      .index_of = [&store](const std::string& id) { return store.index_of(id); },
      .read_tracks = [&store](std::span<const std::size_t> indices, FrameBatch& batch) { store.read_tracks(indices, batch); }};
  return similarity_from_source(set, source, jobs, errors, stats, context);
}

SimilarityMatrix activation_similarity(const ConceptSet& set, const FrameView& frames, int jobs, BatchErrors& errors,
                                       ActivationStats* stats, const Context& context) {
  check_frame_view(frames);
  std::unordered_map<std::string_view, std::size_t> index;
  index.reserve(frames.track_count());
  for (std::size_t t = 0; t < frames.track_count(); ++t) index.emplace(frames.track_ids[t], t);
  const TestFrameSource source{
      .name = "the frames",
      .layer = frames.layer,
      .dim = frames.dim,
      .index_of = [&index](const std::string& id) -> std::optional<std::size_t> {
        const auto found = index.find(id);
        if (found == index.end()) return std::nullopt;
        return found->second;
      },
      .read_tracks = [&frames](std::span<const std::size_t> indices, FrameBatch& batch) {
        batch.cols = frames.dim;
        batch.offsets.assign(1, 0);
        for (std::size_t t : indices) batch.offsets.push_back(batch.offsets.back() + frames.offsets[t + 1] - frames.offsets[t]);
        batch.values.resize(batch.offsets.back() * frames.dim);
        for (std::size_t i = 0; i < indices.size(); ++i) {
          std::copy(frames.data + frames.offsets[indices[i]] * frames.dim, frames.data + frames.offsets[indices[i] + 1] * frames.dim,
                    batch.values.data() + batch.offsets[i] * frames.dim);
        }
      }};
  return similarity_from_source(set, source, jobs, errors, stats, context);
}

void write_similarity(const fs::path& path, const SimilarityMatrix& similarity) {
  const std::size_t k = similarity.size();
  if (similarity.types.size() != k || similarity.support.size() != k || similarity.values.size() != k * k ||
      (!similarity.base_rate.empty() && similarity.base_rate.size() != k)) {
    throw FatalError(path.string() + ": similarity arrays disagree in size");
  }
  AtomicOutput output(path);
  {
    h5::File file(output.temp_path(), h5::Mode::Create);
    const hid_t root = file.id();
    h5::set_attribute(root, "format", std::string(kSimilarityFormat));
    h5::set_attribute(root, "format_version", std::uint64_t{1});
    h5::set_attribute(root, "tool_version", fmt::format("conceptree {}", kVersion));
    h5::set_attribute(root, "measure", similarity.measure);
    h5::set_attribute(root, "layer", similarity.layer);
    for (const auto& [name, value] : similarity.text_attributes) h5::set_attribute(root, name, value);
    const std::uint64_t shape[] = {k, k};
    h5::write_floats(root, "/similarity", similarity.values, shape);
    h5::write_strings(root, "/names", similarity.names);
    h5::write_strings(root, "/types", similarity.types);
    h5::write_uint64s(root, "/support", similarity.support);
    if (!similarity.base_rate.empty()) {
      const std::uint64_t rates[] = {k};
      h5::write_floats(root, "/base_rate", similarity.base_rate, rates);
    }
    file.close();
  }
  output.commit();
}

SimilarityMatrix read_similarity(const fs::path& path) {
  const std::string name = path.string();
  h5::File file(path, h5::Mode::ReadOnly);
  const hid_t root = file.id();
  const auto format = h5::string_attribute(root, "format");
  if (!format || *format != kSimilarityFormat) throw InputError(name, "not a conceptree similarity file (format attribute missing)");
  SimilarityMatrix similarity;
  similarity.measure = h5::string_attribute(root, "measure").value_or("");
  similarity.layer = h5::string_attribute(root, "layer").value_or("");
  for (const char* attribute : {"concepts", "embeddings"}) {
    if (auto value = h5::string_attribute(root, attribute)) similarity.text_attributes.emplace_back(attribute, *value);
  }
  similarity.names = h5::read_strings(h5::open_dataset(root, "/names", name).id());
  const std::size_t k = similarity.names.size();
  similarity.types = h5::exists(root, "/types") ? h5::read_strings(h5::open_dataset(root, "/types", name).id())
                                                : std::vector<std::string>(k);
  similarity.support = h5::exists(root, "/support") ? h5::read_vector<std::uint64_t>(root, "/support", name)
                                                    : std::vector<std::uint64_t>(k, 0);
  std::vector<std::uint64_t> shape;
  similarity.values = h5::read_vector<float>(root, "/similarity", name, &shape);
  if (shape.size() != 2 || shape[0] != k || shape[1] != k) {
    throw InputError(name, fmt::format("/similarity should be {0} x {0} for {0} names", k));
  }
  if (h5::exists(root, "/base_rate")) similarity.base_rate = h5::read_vector<float>(root, "/base_rate", name);
  if (similarity.types.size() != k || similarity.support.size() != k || (!similarity.base_rate.empty() && similarity.base_rate.size() != k)) {
    throw InputError(name, "/types, /support or /base_rate disagree with /names in size");
  }
  for (std::size_t j = 0; j < similarity.base_rate.size(); ++j) {
    if (!(similarity.base_rate[j] >= 0 && similarity.base_rate[j] <= 1)) {
      throw InputError(name, fmt::format("/base_rate[{}] is {}, not an activation in [0, 1]", j, similarity.base_rate[j]));
    }
  }
  for (std::size_t p = 0; p < similarity.values.size(); ++p) {
    if (!std::isfinite(similarity.values[p])) {
      throw InputError(name, fmt::format("/similarity[{}][{}] is not finite", p / k, p % k));
    }
  }
  return similarity;
}

SimilarityComputer::SimilarityComputer(SimilarityConfig config, const Context& context) : config_(std::move(config)), context_(context) {}

void SimilarityComputer::run() {
  validate(config_);
  const auto start = Clock::now();
  refuse_to_overwrite(config_.output, config_.overwrite);
  const SimilarityMeasure measure =
      config_.measure.value_or(config_.embeddings.empty() ? SimilarityMeasure::Cosine : SimilarityMeasure::Activation);
  if (measure == SimilarityMeasure::Activation && config_.embeddings.empty()) {
    throw FatalError("--measure activation needs --embeddings (the store holding the concepts' test tracks)");
  }
  BatchErrors errors(config_.strict, context_);
  SimilarityMatrix similarity;
  try {
    const ConceptSet set = read_concept_set(config_.concepts, config_.layer);
    if (measure == SimilarityMeasure::Cosine) {
      similarity = cosine_similarity(set);
    } else {
      const EmbeddingStore store(config_.embeddings, set.layer);
      similarity = activation_similarity(set, store, config_.jobs, errors, &summary_.activation, context_);
      similarity.text_attributes.emplace_back("embeddings", fs::absolute(config_.embeddings).string());
    }
  } catch (const InputError& error) {
    throw FatalError(error.what());
  }
  similarity.text_attributes.emplace_back("concepts", fs::absolute(config_.concepts).string());
  write_similarity(config_.output, similarity);
  errors.write_report(config_.output);
  summary_.concepts = similarity.size();
  summary_.measure = choice_name(measure);
  summary_.concepts_missing_tracks = errors.count();
  summary_.seconds = seconds_since(start);
}

}  // namespace conceptree
