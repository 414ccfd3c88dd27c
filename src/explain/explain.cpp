#include "conceptree/explain.hpp"

#include <cblas.h>
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/gemm.hpp"
#include "conceptree/atomic_file.hpp"
#include "conceptree/batch_errors.hpp"
#include "conceptree/embed.hpp"
#include "conceptree/error.hpp"
#include "conceptree/log.hpp"
#include "conceptree/progress.hpp"
#include "conceptree/text_list.hpp"
#include "conceptree/version.hpp"
#include "hdf5/hdf5.hpp"

namespace conceptree {
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// The in-memory core

ConceptExplainer::ConceptExplainer(const ConceptSet& set, const Hierarchy* hierarchy, ExplainOptions options)
    : dim_(set.dim), options_(options) {
  validate(options_);
  for (std::size_t k = 0; k < set.size(); ++k) {
    if (!set.kept[k]) continue;
    rows_.push_back(k);
    names_.push_back(set.names[k]);
    weights_.insert(weights_.end(), set.weights.begin() + static_cast<std::ptrdiff_t>(k * set.dim),
                    set.weights.begin() + static_cast<std::ptrdiff_t>((k + 1) * set.dim));
    bias_.push_back(set.bias[k]);
  }
  if (rows_.empty()) throw InputError("concept set", "keeps no concept to explain with (every one is below its accuracy cut-off)");
  calibrated_ = !set.calibration.empty();
  if (calibrated_) {
    for (const std::size_t row : rows_) {
      const auto negatives = set.calibration.test_negative.of(row);
      negatives_.emplace_back(negatives.begin(), negatives.end());
    }
  }

  labels_ = names_;
  parent_.assign(rows_.size(), std::nullopt);
  if (hierarchy == nullptr) return;
  std::unordered_map<std::string, std::uint32_t> column_of;
  for (std::size_t c = 0; c < names_.size(); ++c) column_of.emplace(names_[c], static_cast<std::uint32_t>(c));
  std::vector<std::optional<std::uint32_t>> column_of_node(hierarchy->nodes.size());
  for (std::size_t n = 0; n < hierarchy->nodes.size(); ++n) {
    const auto found = column_of.find(hierarchy->nodes[n].id);
    if (found == column_of.end()) continue;
    column_of_node[n] = found->second;
    if (!hierarchy->nodes[n].label.empty()) labels_[found->second] = hierarchy->nodes[n].label;
  }
  // The first parent of each concept (a DAG's further parents do not change the path from the top).
  for (const auto& link : hierarchy->links) {
    const auto parent = column_of_node[link.parent], child = column_of_node[link.child];
    if (parent && child && !parent_[*child]) parent_[*child] = *parent;
  }
}

float ConceptExplainer::calibrated_score(std::size_t column, float activation) const {
  if (!calibrated_) return activation;
  const auto& negatives = negatives_[column];
  if (negatives.empty()) return activation;
  const auto below = std::lower_bound(negatives.begin(), negatives.end(), activation) - negatives.begin();
  const auto equal = std::upper_bound(negatives.begin(), negatives.end(), activation) - negatives.begin() - below;
  return static_cast<float>((static_cast<double>(below) + 0.5 * static_cast<double>(equal)) / static_cast<double>(negatives.size()));
}

namespace {

// Runs of true in `present` (per frame) as [first, last) frame ranges: runs shorter than
// `min_frames` dropped after gaps shorter than `min_frames` are bridged.
std::vector<std::pair<std::uint64_t, std::uint64_t>> presence_runs(const std::vector<std::uint8_t>& present, std::uint64_t min_frames) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs;
  for (std::uint64_t t = 0; t < present.size();) {
    if (!present[t]) {
      ++t;
      continue;
    }
    std::uint64_t end = t;
    while (end < present.size() && present[end]) ++end;
    if (!runs.empty() && t - runs.back().second < min_frames) {
      runs.back().second = end;
    } else {
      runs.emplace_back(t, end);
    }
    t = end;
  }
  std::erase_if(runs, [&](const auto& run) { return run.second - run.first < min_frames; });
  return runs;
}

}  // namespace

TrackExplanation ConceptExplainer::explain(const std::string& id, const FrameMatrix& frames, double frame_hop_seconds) const {
  if (frames.cols != dim_) throw InputError(id, fmt::format("frames of dimension {}; the concept set's CAVs have {}", frames.cols, dim_));
  if (frames.rows == 0) throw InputError(id, "no frames to explain");
  if (frames.values.size() != frames.rows * frames.cols) throw InputError(id, "frame matrix has the wrong number of values");
  check_finite_frames(id, frames.values, frames.cols);
  const std::size_t k = rows_.size();
  const std::uint64_t t_count = frames.rows;
  TrackExplanation e;
  e.id = id;
  e.frames = t_count;
  e.frame_seconds.resize(t_count);
  for (std::uint64_t t = 0; t < t_count; ++t) e.frame_seconds[t] = static_cast<double>(t) * frame_hop_seconds;

  // Activations: frames (T x D) times the CAVs transposed (D x K), one GEMM; then bias and sigmoid.
  e.activations.resize(t_count * k);
  std::vector<float> transposed(dim_ * k);
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t d = 0; d < dim_; ++d) transposed[d * k + c] = weights_[c * dim_ + d];
  sgemm_row_major(fastest_gemm(), t_count, k, dim_, frames.values.data(), dim_, transposed.data(), k, e.activations.data(), k);
  e.mean_activation.assign(k, 0.0f);
  std::vector<double> sums(k, 0.0);
  for (std::uint64_t t = 0; t < t_count; ++t) {
    float* row = e.activations.data() + t * k;
    for (std::size_t c = 0; c < k; ++c) {
      row[c] = 1.0f / (1.0f + std::exp(-(row[c] + bias_[c])));
      sums[c] += row[c];
    }
  }
  e.scores.resize(k);
  e.present.resize(k);
  for (std::size_t c = 0; c < k; ++c) {
    e.mean_activation[c] = static_cast<float>(sums[c] / static_cast<double>(t_count));
    e.scores[c] = calibrated_score(c, e.mean_activation[c]);
    e.present[c] = e.scores[c] >= options_.presence ? 1 : 0;
  }

  // Segments: frames whose own activation reads as present, runs of at least the minimum length
  // (or the whole track when it is shorter), of concepts present in the track.
  const double hop = frame_hop_seconds > 0 ? frame_hop_seconds : 1.0;
  const auto min_frames = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::ceil(options_.min_segment_seconds / hop)), 1, t_count);
  std::vector<std::uint8_t> frame_present(t_count);
  for (std::size_t c = 0; c < k; ++c) {
    if (!e.present[c]) continue;
    for (std::uint64_t t = 0; t < t_count; ++t) frame_present[t] = calibrated_score(c, e.activations[t * k + c]) >= options_.presence ? 1 : 0;
    for (const auto& [first, last] : presence_runs(frame_present, min_frames)) {
      double sum = 0;
      for (std::uint64_t t = first; t < last; ++t) sum += calibrated_score(c, e.activations[t * k + c]);
      e.segments.push_back({static_cast<std::uint32_t>(c), static_cast<double>(first) * hop, static_cast<double>(last) * hop,
                            static_cast<float>(sum / static_cast<double>(last - first))});
    }
  }

  // Summary: each present concept none of whose hierarchy descendants is present (the most
  // specific level still present), after its present ancestors from the top; without a hierarchy
  // every present concept stands alone.
  std::vector<std::uint8_t> has_present_descendant(k, 0);
  for (std::size_t c = 0; c < k; ++c) {
    if (!e.present[c]) continue;
    std::size_t steps = 0;
    for (auto p = parent_[c]; p && steps < k; p = parent_[*p], ++steps) has_present_descendant[*p] = 1;
  }
  for (std::size_t c = 0; c < k; ++c) {
    if (!e.present[c] || has_present_descendant[c]) continue;
    SummaryEntry entry;
    entry.path.push_back(static_cast<std::uint32_t>(c));
    std::size_t steps = 0;
    for (auto p = parent_[c]; p && steps < k; p = parent_[*p], ++steps)  // steps: a cyclic input ends
      if (e.present[*p]) entry.path.push_back(*p);
    std::reverse(entry.path.begin(), entry.path.end());
    entry.score = e.scores[c];
    entry.start = 0;
    entry.end = static_cast<double>(t_count) * hop;
    bool first = true;
    for (const auto& segment : e.segments) {
      if (segment.concept_column != c) continue;
      if (first) entry.start = segment.start;
      entry.end = segment.end;
      first = false;
    }
    e.summary.push_back(std::move(entry));
  }
  std::stable_sort(e.summary.begin(), e.summary.end(), [](const SummaryEntry& a, const SummaryEntry& b) { return a.score > b.score; });
  if (e.summary.size() > options_.max_summary) e.summary.resize(options_.max_summary);
  return e;
}

// ---------------------------------------------------------------------------------------------
// The file driver

namespace {

// A source of tracks to explain: audio files or a store's tracks, loaded in batches.
struct ExplainItem {
  std::string id;
  fs::path audio;               // empty for store tracks
  std::size_t store_index = 0;
};

// The HDF5 output, appended to track by track (layout in docs/formats.md).
class ExplanationWriter {
 public:
  ExplanationWriter(const fs::path& path, const ConceptExplainer& explainer, const ExplainConfig& config, const std::string& layer)
      : file_(path, h5::Mode::Create) {
    const hid_t root = file_.id();
    h5::set_attribute(root, "format", std::string(kExplanationsFormat));
    h5::set_attribute(root, "format_version", std::uint64_t{1});
    h5::set_attribute(root, "tool_version", std::string("conceptree ") + kVersion);
    h5::set_attribute(root, "concepts", fs::absolute(config.concepts).string());
    h5::set_attribute(root, "hierarchy", config.hierarchy.empty() ? std::string() : fs::absolute(config.hierarchy).string());
    h5::set_attribute(root, "layer", layer);
    h5::set_attribute(root, "score", std::string(explainer.calibrated() ? "share of the concept's held-out non-member tracks scoring lower"
                                                                        : "mean activation (the concept set holds no calibration)"));
    h5::set_attribute(root, "presence", config.options.presence);
    h5::set_attribute(root, "min_segment_seconds", config.options.min_segment_seconds);
    h5::write_strings(root, "/concepts/names", explainer.names());
    h5::write_strings(root, "/concepts/labels", explainer.labels());
    const std::uint64_t k = explainer.names().size();
    ids_ = h5::create_extendable_strings(root, "/tracks/ids", 1024);
    offsets_ = h5::create_extendable(root, "/tracks/offsets", H5T_STD_U64LE, 0, {.chunk_rows = 4096});
    const std::uint64_t zero = 0;
    h5::append_rows(offsets_.id(), H5T_NATIVE_UINT64, &zero, 1);
    scores_ = h5::create_extendable(root, "/tracks/scores", H5T_IEEE_F32LE, k, {.chunk_rows = chunk_rows(k)});
    mean_activation_ = h5::create_extendable(root, "/tracks/mean_activation", H5T_IEEE_F32LE, k, {.chunk_rows = chunk_rows(k)});
    present_ = h5::create_extendable(root, "/tracks/present", H5T_STD_U8LE, k, {.chunk_rows = chunk_rows(k)});
    frame_seconds_ = h5::create_extendable(root, "/frames/seconds", H5T_IEEE_F64LE, 0, {.chunk_rows = 4096});
    activations_ = h5::create_extendable(root, "/frames/activations", H5T_IEEE_F32LE, k,
                                         {.chunk_rows = chunk_rows(k), .deflate_level = 4, .shuffle = true});
    segment_track_ = h5::create_extendable(root, "/segments/track", H5T_STD_U32LE, 0, {.chunk_rows = 4096});
    segment_concept_ = h5::create_extendable(root, "/segments/concept", H5T_STD_U32LE, 0, {.chunk_rows = 4096});
    segment_start_ = h5::create_extendable(root, "/segments/start", H5T_IEEE_F64LE, 0, {.chunk_rows = 4096});
    segment_end_ = h5::create_extendable(root, "/segments/end", H5T_IEEE_F64LE, 0, {.chunk_rows = 4096});
    segment_score_ = h5::create_extendable(root, "/segments/score", H5T_IEEE_F32LE, 0, {.chunk_rows = 4096});
    summary_track_ = h5::create_extendable(root, "/summary/track", H5T_STD_U32LE, 0, {.chunk_rows = 4096});
    summary_start_ = h5::create_extendable(root, "/summary/start", H5T_IEEE_F64LE, 0, {.chunk_rows = 4096});
    summary_end_ = h5::create_extendable(root, "/summary/end", H5T_IEEE_F64LE, 0, {.chunk_rows = 4096});
    summary_score_ = h5::create_extendable(root, "/summary/score", H5T_IEEE_F32LE, 0, {.chunk_rows = 4096});
    summary_path_offsets_ = h5::create_extendable(root, "/summary/path_offsets", H5T_STD_U64LE, 0, {.chunk_rows = 4096});
    h5::append_rows(summary_path_offsets_.id(), H5T_NATIVE_UINT64, &zero, 1);
    summary_path_ = h5::create_extendable(root, "/summary/path", H5T_STD_U32LE, 0, {.chunk_rows = 4096});
  }

  void append(const TrackExplanation& e) {
    const std::string ids[] = {e.id};
    h5::append_strings(ids_.id(), ids);
    frames_ += e.frames;
    h5::append_rows(offsets_.id(), H5T_NATIVE_UINT64, &frames_, 1);
    h5::append_rows(scores_.id(), H5T_NATIVE_FLOAT, e.scores.data(), 1);
    h5::append_rows(mean_activation_.id(), H5T_NATIVE_FLOAT, e.mean_activation.data(), 1);
    h5::append_rows(present_.id(), H5T_NATIVE_UINT8, e.present.data(), 1);
    h5::append_rows(frame_seconds_.id(), H5T_NATIVE_DOUBLE, e.frame_seconds.data(), e.frames);
    h5::append_rows(activations_.id(), H5T_NATIVE_FLOAT, e.activations.data(), e.frames);
    const auto track = static_cast<std::uint32_t>(tracks_++);
    // Column by column, one HDF5 request per dataset and track.
    const std::size_t segments = e.segments.size();
    const std::vector<std::uint32_t> segment_tracks(segments, track);
    std::vector<std::uint32_t> concepts;
    std::vector<double> starts, ends;
    std::vector<float> scores;
    for (const auto& segment : e.segments) {
      concepts.push_back(segment.concept_column);
      starts.push_back(segment.start);
      ends.push_back(segment.end);
      scores.push_back(segment.score);
    }
    h5::append_rows(segment_track_.id(), H5T_NATIVE_UINT32, segment_tracks.data(), segments);
    h5::append_rows(segment_concept_.id(), H5T_NATIVE_UINT32, concepts.data(), segments);
    h5::append_rows(segment_start_.id(), H5T_NATIVE_DOUBLE, starts.data(), segments);
    h5::append_rows(segment_end_.id(), H5T_NATIVE_DOUBLE, ends.data(), segments);
    h5::append_rows(segment_score_.id(), H5T_NATIVE_FLOAT, scores.data(), segments);

    const std::size_t entries = e.summary.size();
    const std::vector<std::uint32_t> summary_tracks(entries, track);
    std::vector<std::uint32_t> paths;
    std::vector<std::uint64_t> path_ends;
    starts.clear();
    ends.clear();
    scores.clear();
    for (const auto& entry : e.summary) {
      starts.push_back(entry.start);
      ends.push_back(entry.end);
      scores.push_back(entry.score);
      paths.insert(paths.end(), entry.path.begin(), entry.path.end());
      path_end_ += entry.path.size();
      path_ends.push_back(path_end_);
    }
    h5::append_rows(summary_track_.id(), H5T_NATIVE_UINT32, summary_tracks.data(), entries);
    h5::append_rows(summary_start_.id(), H5T_NATIVE_DOUBLE, starts.data(), entries);
    h5::append_rows(summary_end_.id(), H5T_NATIVE_DOUBLE, ends.data(), entries);
    h5::append_rows(summary_score_.id(), H5T_NATIVE_FLOAT, scores.data(), entries);
    h5::append_rows(summary_path_.id(), H5T_NATIVE_UINT32, paths.data(), paths.size());
    h5::append_rows(summary_path_offsets_.id(), H5T_NATIVE_UINT64, path_ends.data(), path_ends.size());
  }

  void close() { file_.close(); }

 private:
  static std::uint64_t chunk_rows(std::uint64_t columns) { return std::max<std::uint64_t>(1, (std::uint64_t{1} << 16) / std::max<std::uint64_t>(1, columns)); }

  h5::File file_;
  h5::Handle ids_, offsets_, scores_, mean_activation_, present_, frame_seconds_, activations_;
  h5::Handle segment_track_, segment_concept_, segment_start_, segment_end_, segment_score_;
  h5::Handle summary_track_, summary_start_, summary_end_, summary_score_, summary_path_offsets_, summary_path_;
  std::uint64_t frames_ = 0, tracks_ = 0, path_end_ = 0;
};

nlohmann::json explanation_json(const TrackExplanation& e, const ConceptExplainer& explainer) {
  nlohmann::json concepts = nlohmann::json::array();
  std::vector<std::size_t> order(e.scores.size());
  for (std::size_t c = 0; c < order.size(); ++c) order[c] = c;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return e.scores[a] > e.scores[b]; });
  for (const std::size_t c : order) {
    nlohmann::json segments = nlohmann::json::array();
    for (const auto& segment : e.segments)
      if (segment.concept_column == c) segments.push_back({segment.start, segment.end, segment.score});
    concepts.push_back({{"id", explainer.names()[c]},
                        {"label", explainer.labels()[c]},
                        {"score", e.scores[c]},
                        {"mean_activation", e.mean_activation[c]},
                        {"present", e.present[c] != 0},
                        {"segments", std::move(segments)}});
  }
  nlohmann::json summary = nlohmann::json::array();
  for (const auto& entry : e.summary) {
    nlohmann::json path = nlohmann::json::array();
    for (const auto c : entry.path) path.push_back(explainer.labels()[c]);
    summary.push_back({{"path", std::move(path)}, {"start", entry.start}, {"end", entry.end}, {"score", entry.score}});
  }
  return {{"id", e.id}, {"frame_seconds", e.frame_seconds}, {"concepts", std::move(concepts)}, {"summary", std::move(summary)}};
}

}  // namespace

ExplainJob::ExplainJob(ExplainConfig config) : config_(std::move(config)) {}

void ExplainJob::run() {
  validate(config_);
  const auto started = std::chrono::steady_clock::now();
  summary_ = {};
  if (config_.inputs.empty() == config_.embeddings.empty()) throw FatalError("give audio files or folders, or --embeddings, not both");
  if (!config_.tracks.empty() && config_.embeddings.empty()) throw FatalError("--tracks picks tracks of --embeddings");
  const fs::path output(config_.output);
  refuse_to_overwrite(output, config_.overwrite);
  if (!config_.json.empty()) refuse_to_overwrite(config_.json, config_.overwrite);

  ConceptSet set;
  std::optional<Hierarchy> hierarchy;
  try {
    set = read_concept_set(config_.concepts, config_.layer);
    if (!config_.hierarchy.empty()) hierarchy = read_hierarchy_json(config_.hierarchy);
  } catch (const InputError& error) {
    throw FatalError(error.what());
  }
  std::string concept_backbone;
  for (const auto& [name, value] : set.text_attributes)
    if (name == "backbone") concept_backbone = value;
  std::optional<ConceptExplainer> explainer;
  try {
    explainer.emplace(set, hierarchy ? &*hierarchy : nullptr, config_.options);
  } catch (const InputError& error) {
    throw FatalError(config_.concepts + ": " + error.problem());
  }
  if (!explainer->calibrated()) {
    log_warning(config_.concepts + " holds no held-out scores (CAVs learned elsewhere, or an older train): scores are raw mean activations");
  }
  summary_.concepts = explainer->names().size();
  summary_.calibrated = explainer->calibrated();

  // Where the frames come from: the concept set's own backbone on audio, or a matching store.
  std::vector<ExplainItem> items;
  std::optional<EmbeddingStore> store;
  std::optional<AudioFrameEmbedder> embedder;
  BatchErrors errors(config_.strict);
  if (!config_.embeddings.empty()) {
    try {
      store.emplace(config_.embeddings, set.layer);
    } catch (const InputError& error) {
      throw FatalError(error.what());
    }
    const std::string& store_backbone = store->provenance().backbone;
    if (store->dim() != set.dim || (!concept_backbone.empty() && store_backbone != concept_backbone)) {
      throw FatalError(fmt::format("{}: layer '{}' of backbone '{}' ({} dimensions) does not match the concept set {} (layer '{}' of backbone '{}', {} dimensions)",
                                   config_.embeddings, store->layer().name, store_backbone, store->dim(), config_.concepts, set.layer,
                                   concept_backbone, set.dim));
    }
    const std::vector<std::string> ids = config_.tracks.empty() ? store->ids() : read_text_list(config_.tracks);
    for (const auto& id : ids) {
      if (const auto index = store->index_of(id)) {
        items.push_back({id, {}, *index});
      } else {
        errors.report(InputError(id, "not in " + config_.embeddings));
      }
    }
  } else {
    EmbedConfig embed;
    try {
      embed = embed_config_for_layer(set.layer);
    } catch (const InputError& error) {
      throw FatalError(config_.concepts + ": " + error.problem());
    }
    embed.weights = config_.weights;
    embedder.emplace(embed);
    for (auto& file : find_audio_files(config_.inputs, "")) items.push_back({file.id, file.path, 0});
  }
  summary_.tracks = items.size() + errors.count();
  const double store_hop = store ? store->provenance().frame_hop_seconds : 0;
  const double hop = store ? store_hop : embedder->layers().front().frame_hop_seconds;

  AtomicOutput h5_output(output, TempKind::Scratch);
  std::optional<AtomicOutput> json_output;
  std::ofstream json;
  if (!config_.json.empty()) {
    json_output.emplace(config_.json, TempKind::Scratch);
    json.open(json_output->temp_path());
    if (!json) throw FatalError(config_.json + ": cannot write");
    json << "{\"concepts\": " << nlohmann::json(explainer->names()).dump() << ", \"labels\": " << nlohmann::json(explainer->labels()).dump()
         << ", \"calibrated\": " << (explainer->calibrated() ? "true" : "false") << ", \"tracks\": [\n";
  }
  std::optional<ExplanationWriter> writer;
  writer.emplace(h5_output.temp_path(), *explainer, config_, set.layer);

  // GEMMs run inside the batch's OpenMP threads; OpenBLAS's own threads would oversubscribe.
  if (fastest_gemm() == Gemm::OpenBlas) openblas_set_num_threads(1);
  // Batches: loaded (audio in parallel, the store in order) and explained in parallel, written in
  // order; memory holds one batch whatever the number of tracks.
  const int threads = config_.jobs > 0 ? config_.jobs : omp_get_max_threads();
  constexpr std::size_t kTracksPerBatch = 32;
  Progress progress("explain", items.size());
  for (std::size_t begin = 0; begin < items.size(); begin += kTracksPerBatch) {
    const std::size_t end = std::min(items.size(), begin + kTracksPerBatch);
    std::vector<std::optional<TrackExplanation>> done(end - begin);
    std::vector<std::optional<InputError>> failures(end - begin);
    std::vector<FrameMatrix> store_frames(end - begin);
    if (store)
      for (std::size_t i = begin; i < end; ++i) store_frames[i - begin] = store->read_track(items[i].store_index);
    std::vector<std::exception_ptr> crashes(end - begin);
#pragma omp parallel for num_threads(threads) schedule(dynamic)
    for (std::size_t i = begin; i < end; ++i) {
      try {
        if (store) {
          done[i - begin] = explainer->explain(items[i].id, store_frames[i - begin], hop);
        } else {
          const std::vector<FrameMatrix> frames = embedder->embed(items[i].audio);
          done[i - begin] = explainer->explain(items[i].id, frames.front(), hop);
        }
      } catch (const InputError& error) {
        failures[i - begin] = error;
      } catch (...) {
        crashes[i - begin] = std::current_exception();
      }
      progress.advance();
    }
    for (const auto& crash : crashes)
      if (crash) std::rethrow_exception(crash);
    for (std::size_t i = begin; i < end; ++i) {
      if (failures[i - begin]) {
        errors.report(*failures[i - begin]);
        continue;
      }
      writer->append(*done[i - begin]);
      if (json.is_open()) json << (summary_.explained > 0 ? ",\n" : "") << explanation_json(*done[i - begin], *explainer).dump();
      ++summary_.explained;
    }
  }
  progress.finish();
  summary_.skipped = errors.count();
  summary_.errors_file = errors.write_report(output);
  if (summary_.explained == 0) throw FatalError(fmt::format("no track could be explained ({} bad, see {})", summary_.skipped, BatchErrors::report_path(output).string()));
  writer->close();
  writer.reset();
  if (json.is_open()) {
    json << "\n]}\n";
    json.close();
    if (!json) throw FatalError(config_.json + ": write failed");
    json_output->commit();
  }
  h5_output.commit();
  if (embedder) summary_.audio_seconds = embedder->audio_seconds();
  summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace conceptree
