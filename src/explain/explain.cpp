#include "conceptree/explain.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "common/gemm.hpp"
#include "conceptree/atomic_file.hpp"
#include "conceptree/audio.hpp"
#include "conceptree/batch_errors.hpp"
#include "conceptree/embed.hpp"
#include "conceptree/error.hpp"
#include "conceptree/names.hpp"
#include "conceptree/explain_page.hpp"
#include "conceptree/context.hpp"
#include "conceptree/journal.hpp"
#include "conceptree/logmel.hpp"
#include "conceptree/progress.hpp"
#include "conceptree/text_list.hpp"
#include "conceptree/version.hpp"
#include "hdf5/hdf5.hpp"
#include "report/html_page.hpp"

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
// Reading explanations back

struct ExplanationReader::State {
  std::unique_ptr<h5::File> file;
  std::vector<std::string> names, labels, ids;
  bool calibrated = false;
  std::uint64_t concepts = 0;
  std::vector<std::uint64_t> offsets, path_offsets;
  std::vector<std::uint32_t> segment_track, segment_concept, summary_track, path;
  std::vector<double> segment_start, segment_end, summary_start, summary_end;
  std::vector<float> segment_score, summary_score;
  h5::Handle scores, mean_activation, present, frame_seconds, activations;
};

ExplanationReader::ExplanationReader(const fs::path& path) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.file = std::make_unique<h5::File>(path, h5::Mode::ReadOnly);
  const hid_t root = s.file->id();
  const std::string& name = s.file->name();
  if (h5::string_attribute(root, "format").value_or("") != kExplanationsFormat) throw InputError(name, "not a conceptree explanations file");
  s.calibrated = h5::string_attribute(root, "score").value_or("").starts_with("share");
  s.names = h5::read_strings(h5::open_dataset(root, "/concepts/names", name).id());
  s.labels = h5::read_strings(h5::open_dataset(root, "/concepts/labels", name).id());
  s.ids = h5::read_strings(h5::open_dataset(root, "/tracks/ids", name).id());
  s.concepts = s.names.size();
  s.offsets = h5::read_vector<std::uint64_t>(root, "/tracks/offsets", name);
  s.path_offsets = h5::read_vector<std::uint64_t>(root, "/summary/path_offsets", name);
  s.segment_track = h5::read_vector<std::uint32_t>(root, "/segments/track", name);
  s.segment_concept = h5::read_vector<std::uint32_t>(root, "/segments/concept", name);
  s.segment_start = h5::read_vector<double>(root, "/segments/start", name);
  s.segment_end = h5::read_vector<double>(root, "/segments/end", name);
  s.segment_score = h5::read_vector<float>(root, "/segments/score", name);
  s.summary_track = h5::read_vector<std::uint32_t>(root, "/summary/track", name);
  s.summary_start = h5::read_vector<double>(root, "/summary/start", name);
  s.summary_end = h5::read_vector<double>(root, "/summary/end", name);
  s.summary_score = h5::read_vector<float>(root, "/summary/score", name);
  s.path = h5::read_vector<std::uint32_t>(root, "/summary/path", name);
  const std::size_t segments = s.segment_track.size(), entries = s.summary_track.size();
  if (s.labels.size() != s.concepts || s.offsets.size() != s.ids.size() + 1 || !std::is_sorted(s.offsets.begin(), s.offsets.end()) ||
      s.segment_concept.size() != segments || s.segment_start.size() != segments || s.segment_end.size() != segments ||
      s.segment_score.size() != segments || s.summary_start.size() != entries || s.summary_end.size() != entries ||
      s.summary_score.size() != entries || s.path_offsets.size() != entries + 1 || s.path_offsets.back() != s.path.size() ||
      !std::is_sorted(s.path_offsets.begin(), s.path_offsets.end())) {
    throw InputError(name, "explanations are inconsistent (dataset lengths disagree)");
  }
  if (!std::is_sorted(s.segment_track.begin(), s.segment_track.end()) || !std::is_sorted(s.summary_track.begin(), s.summary_track.end()))
    throw InputError(name, "segments or summary entries are not in track order");
  for (const auto concept_column : s.segment_concept)
    if (concept_column >= s.concepts) throw InputError(name, "a segment names a concept column past /concepts/names");
  for (const auto concept_column : s.path)
    if (concept_column >= s.concepts) throw InputError(name, "a summary path names a concept column past /concepts/names");
  s.scores = h5::open_dataset(root, "/tracks/scores", name);
  s.mean_activation = h5::open_dataset(root, "/tracks/mean_activation", name);
  s.present = h5::open_dataset(root, "/tracks/present", name);
  s.frame_seconds = h5::open_dataset(root, "/frames/seconds", name);
  s.activations = h5::open_dataset(root, "/frames/activations", name);
  for (const auto* dataset : {&s.scores, &s.mean_activation, &s.present})
    if (h5::dims(dataset->id()) != std::vector<std::uint64_t>{s.ids.size(), s.concepts}) throw InputError(name, "per-track datasets are not tracks x concepts");
  if (h5::dims(s.activations.id()) != std::vector<std::uint64_t>{s.offsets.back(), s.concepts} || h5::dims(s.frame_seconds.id())[0] != s.offsets.back())
    throw InputError(name, "per-frame datasets do not match /tracks/offsets");
}

ExplanationReader::ExplanationReader(ExplanationReader&&) noexcept = default;
ExplanationReader::~ExplanationReader() = default;
const std::vector<std::string>& ExplanationReader::names() const { return state_->names; }
const std::vector<std::string>& ExplanationReader::labels() const { return state_->labels; }
const std::vector<std::string>& ExplanationReader::ids() const { return state_->ids; }
bool ExplanationReader::calibrated() const { return state_->calibrated; }

TrackExplanation ExplanationReader::read(std::size_t track) const {
  const State& s = *state_;
  if (track >= s.ids.size()) throw InputError(s.file->name(), fmt::format("track {} of {}", track, s.ids.size()));
  TrackExplanation e;
  e.id = s.ids[track];
  const std::uint64_t first = s.offsets[track];
  e.frames = s.offsets[track + 1] - first;
  e.frame_seconds.resize(e.frames);
  h5::read_rows(s.frame_seconds.id(), H5T_NATIVE_DOUBLE, first, e.frames, e.frame_seconds.data());
  e.activations.resize(e.frames * s.concepts);
  h5::read_rows(s.activations.id(), H5T_NATIVE_FLOAT, first, e.frames, e.activations.data());
  e.scores.resize(s.concepts);
  e.mean_activation.resize(s.concepts);
  e.present.resize(s.concepts);
  h5::read_rows(s.scores.id(), H5T_NATIVE_FLOAT, track, 1, e.scores.data());
  h5::read_rows(s.mean_activation.id(), H5T_NATIVE_FLOAT, track, 1, e.mean_activation.data());
  h5::read_rows(s.present.id(), H5T_NATIVE_UINT8, track, 1, e.present.data());
  // Segments and summary entries are written in track order, so each track's are one run.
  const auto own = [&](const std::vector<std::uint32_t>& tracks) {
    const auto [begin, end] = std::equal_range(tracks.begin(), tracks.end(), static_cast<std::uint32_t>(track));
    return std::pair{static_cast<std::size_t>(begin - tracks.begin()), static_cast<std::size_t>(end - tracks.begin())};
  };
  const auto [segments_begin, segments_end] = own(s.segment_track);
  for (std::size_t i = segments_begin; i < segments_end; ++i)
    e.segments.push_back({s.segment_concept[i], s.segment_start[i], s.segment_end[i], s.segment_score[i]});
  const auto [summary_begin, summary_end] = own(s.summary_track);
  for (std::size_t i = summary_begin; i < summary_end; ++i) {
    e.summary.push_back({{s.path.begin() + static_cast<std::ptrdiff_t>(s.path_offsets[i]), s.path.begin() + static_cast<std::ptrdiff_t>(s.path_offsets[i + 1])},
                         s.summary_start[i], s.summary_end[i], s.summary_score[i]});
  }
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

// The HDF5 output, written in one pass from the journal of explained tracks (layout in
// docs/formats.md), so it is the same file however many runs it took.
class ExplanationWriter {
 public:
  // A new file, with what the explanations were made with in `settings`.
  ExplanationWriter(const fs::path& path, const ConceptExplainer& explainer, const ExplainConfig& config, const std::string& layer,
                    const std::string& settings)
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
    h5::set_attribute(root, kSettingsAttribute, settings);
    h5::write_strings(root, "/concepts/names", explainer.names());
    h5::write_strings(root, "/concepts/labels", explainer.labels());
    const std::uint64_t k = explainer.names().size();
    ids_ = h5::create_extendable_strings(root, "/tracks/ids", 1024);
    for (Column& column : columns_) {
      const std::uint64_t width = column.concept_wide ? k : 0;
      const std::uint64_t chunk = width > 0 ? std::max<std::uint64_t>(1, (std::uint64_t{1} << 16) / width) : 4096;
      column.handle = h5::create_extendable(root, column.path, column.file_type, width,
                                            {.chunk_rows = chunk, .deflate_level = column.compressed ? 4 : 0, .shuffle = column.compressed});
    }
    const std::uint64_t zero = 0;
    h5::append_rows(column(kTrackOffsets).id(), H5T_NATIVE_UINT64, &zero, 1);
    h5::append_rows(column(kPathOffsets).id(), H5T_NATIVE_UINT64, &zero, 1);
  }

  void append(const TrackExplanation& e) {
    const std::string ids[] = {e.id};
    h5::append_strings(ids_.id(), ids);
    frames_ += e.frames;
    h5::append_rows(column(kTrackOffsets).id(), H5T_NATIVE_UINT64, &frames_, 1);
    h5::append_rows(column(kScores).id(), H5T_NATIVE_FLOAT, e.scores.data(), 1);
    h5::append_rows(column(kMeanActivation).id(), H5T_NATIVE_FLOAT, e.mean_activation.data(), 1);
    h5::append_rows(column(kPresent).id(), H5T_NATIVE_UINT8, e.present.data(), 1);
    h5::append_rows(column(kFrameSeconds).id(), H5T_NATIVE_DOUBLE, e.frame_seconds.data(), e.frames);
    h5::append_rows(column(kActivations).id(), H5T_NATIVE_FLOAT, e.activations.data(), e.frames);
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
    h5::append_rows(column(kSegmentTrack).id(), H5T_NATIVE_UINT32, segment_tracks.data(), segments);
    h5::append_rows(column(kSegmentConcept).id(), H5T_NATIVE_UINT32, concepts.data(), segments);
    h5::append_rows(column(kSegmentStart).id(), H5T_NATIVE_DOUBLE, starts.data(), segments);
    h5::append_rows(column(kSegmentEnd).id(), H5T_NATIVE_DOUBLE, ends.data(), segments);
    h5::append_rows(column(kSegmentScore).id(), H5T_NATIVE_FLOAT, scores.data(), segments);

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
    h5::append_rows(column(kSummaryTrack).id(), H5T_NATIVE_UINT32, summary_tracks.data(), entries);
    h5::append_rows(column(kSummaryStart).id(), H5T_NATIVE_DOUBLE, starts.data(), entries);
    h5::append_rows(column(kSummaryEnd).id(), H5T_NATIVE_DOUBLE, ends.data(), entries);
    h5::append_rows(column(kSummaryScore).id(), H5T_NATIVE_FLOAT, scores.data(), entries);
    h5::append_rows(column(kPath).id(), H5T_NATIVE_UINT32, paths.data(), paths.size());
    h5::append_rows(column(kPathOffsets).id(), H5T_NATIVE_UINT64, path_ends.data(), path_ends.size());
  }

  void close() { file_.close(); }

 private:
  static constexpr const char* kSettingsAttribute = "settings";
  struct Column {
    const char* path;
    hid_t file_type;
    bool concept_wide = false;  // one value per concept in each row
    bool compressed = false;
    h5::Handle handle{};
  };
  enum ColumnIndex {
    kTrackOffsets, kScores, kMeanActivation, kPresent, kFrameSeconds, kActivations, kSegmentTrack, kSegmentConcept, kSegmentStart,
    kSegmentEnd, kSegmentScore, kSummaryTrack, kSummaryStart, kSummaryEnd, kSummaryScore, kPathOffsets, kPath
  };
  const h5::Handle& column(ColumnIndex index) const { return columns_[index].handle; }

  h5::File file_;
  h5::Handle ids_;
  Column columns_[17] = {
      {"/tracks/offsets", H5T_STD_U64LE},         {"/tracks/scores", H5T_IEEE_F32LE, true},
      {"/tracks/mean_activation", H5T_IEEE_F32LE, true}, {"/tracks/present", H5T_STD_U8LE, true},
      {"/frames/seconds", H5T_IEEE_F64LE},        {"/frames/activations", H5T_IEEE_F32LE, true, true},
      {"/segments/track", H5T_STD_U32LE},         {"/segments/concept", H5T_STD_U32LE},
      {"/segments/start", H5T_IEEE_F64LE},        {"/segments/end", H5T_IEEE_F64LE},
      {"/segments/score", H5T_IEEE_F32LE},        {"/summary/track", H5T_STD_U32LE},
      {"/summary/start", H5T_IEEE_F64LE},         {"/summary/end", H5T_IEEE_F64LE},
      {"/summary/score", H5T_IEEE_F32LE},         {"/summary/path_offsets", H5T_STD_U64LE},
      {"/summary/path", H5T_STD_U32LE},
  };
  std::uint64_t frames_ = 0, tracks_ = 0, path_end_ = 0;
};

// A journal record of one explained track.
std::string encode_explanation(const TrackExplanation& e) {
  RecordWriter writer;
  writer.put_string(e.id);
  writer.put(e.frames);
  writer.put_vector(e.frame_seconds);
  writer.put_vector(e.activations);
  writer.put_vector(e.mean_activation);
  writer.put_vector(e.scores);
  writer.put_vector(e.present);
  writer.put<std::uint64_t>(e.segments.size());
  for (const auto& segment : e.segments) {
    writer.put(segment.concept_column);
    writer.put(segment.start);
    writer.put(segment.end);
    writer.put(segment.score);
  }
  writer.put<std::uint64_t>(e.summary.size());
  for (const auto& entry : e.summary) {
    writer.put_vector(entry.path);
    writer.put(entry.start);
    writer.put(entry.end);
    writer.put(entry.score);
  }
  return writer.bytes();
}

// Throws std::runtime_error for a record that is not an explanation over `concepts` columns.
TrackExplanation decode_explanation(std::string_view record, std::size_t concepts) {
  RecordReader reader(record);
  TrackExplanation e;
  e.id = reader.get_string();
  e.frames = reader.get<std::uint64_t>();
  e.frame_seconds = reader.get_vector<double>();
  e.activations = reader.get_vector<float>();
  e.mean_activation = reader.get_vector<float>();
  e.scores = reader.get_vector<float>();
  e.present = reader.get_vector<std::uint8_t>();
  const auto segments = reader.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < segments; ++i) {
    ConceptSegment segment;
    segment.concept_column = reader.get<std::uint32_t>();
    segment.start = reader.get<double>();
    segment.end = reader.get<double>();
    segment.score = reader.get<float>();
    e.segments.push_back(segment);
  }
  const auto entries = reader.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < entries; ++i) {
    SummaryEntry entry;
    entry.path = reader.get_vector<std::uint32_t>();
    entry.start = reader.get<double>();
    entry.end = reader.get<double>();
    entry.score = reader.get<float>();
    e.summary.push_back(std::move(entry));
  }
  const bool columns_fit = std::all_of(e.segments.begin(), e.segments.end(), [&](const ConceptSegment& s) { return s.concept_column < concepts; }) &&
                           std::all_of(e.summary.begin(), e.summary.end(), [&](const SummaryEntry& entry) {
                             return std::all_of(entry.path.begin(), entry.path.end(), [&](std::uint32_t c) { return c < concepts; });
                           });
  if (!reader.at_end() || e.id.empty() || e.frame_seconds.size() != e.frames || e.activations.size() != e.frames * concepts ||
      e.mean_activation.size() != concepts || e.scores.size() != concepts || e.present.size() != concepts || !columns_fit) {
    throw std::runtime_error("a record that is not an explanation over " + std::to_string(concepts) + " concepts");
  }
  return e;
}

// Size and modification time: a resumed run must explain with the very files it started with.
std::string file_identity(const std::string& path) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  const auto modified = fs::last_write_time(path, error);
  return error ? "unreadable" : fmt::format("{} bytes, modified {}", size, modified.time_since_epoch().count());
}

nlohmann::json explanation_json(const TrackExplanation& e, const std::vector<std::string>& names, const std::vector<std::string>& labels) {
  nlohmann::json concepts = nlohmann::json::array();
  std::vector<std::size_t> order(e.scores.size());
  for (std::size_t c = 0; c < order.size(); ++c) order[c] = c;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return e.scores[a] > e.scores[b]; });
  for (const std::size_t c : order) {
    nlohmann::json segments = nlohmann::json::array();
    for (const auto& segment : e.segments)
      if (segment.concept_column == c) segments.push_back({segment.start, segment.end, segment.score});
    concepts.push_back({{"id", names[c]},
                        {"label", labels[c]},
                        {"score", e.scores[c]},
                        {"mean_activation", e.mean_activation[c]},
                        {"present", e.present[c] != 0},
                        {"segments", std::move(segments)}});
  }
  nlohmann::json summary = nlohmann::json::array();
  for (const auto& entry : e.summary) {
    nlohmann::json path = nlohmann::json::array();
    for (const auto c : entry.path) path.push_back(labels[c]);
    summary.push_back({{"path", std::move(path)}, {"start", entry.start}, {"end", entry.end}, {"score", entry.score}});
  }
  return {{"id", e.id}, {"frame_seconds", e.frame_seconds}, {"concepts", std::move(concepts)}, {"summary", std::move(summary)}};
}

}  // namespace

ExplainJob::ExplainJob(ExplainConfig config, const Context& context) : config_(std::move(config)), context_(context) {}

void ExplainJob::run() {
  validate(config_);
  const auto started = std::chrono::steady_clock::now();
  summary_ = {};
  if (config_.inputs.empty() == config_.embeddings.empty()) throw FatalError("give audio files or folders, or --embeddings, not both");
  if (!config_.tracks.empty() && config_.embeddings.empty()) throw FatalError("--tracks picks tracks of --embeddings");
  const fs::path output(config_.output);
  refuse_to_overwrite(output, config_.overwrite);
  // OUTPUT is moved into place last: a run killed after --json or --html but before it left them
  // beside its journal, and its rerun replaces them.
  const bool resuming = fs::exists(partial_path(output));
  if (!config_.json.empty()) refuse_to_overwrite(config_.json, config_.overwrite || resuming);
  if (!config_.html.empty()) refuse_to_overwrite(config_.html, config_.overwrite || resuming);

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
    context_.warning(config_.concepts + " holds no held-out scores (CAVs learned elsewhere, or an older train): scores are raw mean activations");
  }
  summary_.concepts = explainer->names().size();
  summary_.calibrated = explainer->calibrated();

  // Where the frames come from: the concept set's own backbone on audio, or a matching store.
  std::vector<ExplainItem> items;
  std::optional<EmbeddingStore> store;
  std::optional<AudioFrameEmbedder> embedder;
  BatchErrors errors(config_.strict, context_);
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
        errors.report(InputError(printable_name(id), "not in " + config_.embeddings));
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
    for (auto& file : find_audio_files(config_.inputs, "")) {
      try {
        check_name(file.id, printable_name(file.id), "track id");
        items.push_back({file.id, file.path, 0});
      } catch (const InputError& error) {
        errors.report(error);
      }
    }
  }
  summary_.tracks = items.size() + errors.count();
  const double store_hop = store ? store->provenance().frame_hop_seconds : 0;
  const double hop = store ? store_hop : embedder->layers().front().frame_hop_seconds;

  // A killed run resumes from OUTPUT.partial when it was made from the same inputs and settings.
  const std::string settings = fmt::format("concepts={} ({}) layer={} hierarchy={} ({}) frames={} presence={} min_segment={} max_summary={}",
                                           fs::absolute(config_.concepts).string(), file_identity(config_.concepts), set.layer,
                                           config_.hierarchy.empty() ? "" : fs::absolute(config_.hierarchy).string(),
                                           config_.hierarchy.empty() ? "" : file_identity(config_.hierarchy),
                                           store ? fs::absolute(config_.embeddings).string() + " (" + file_identity(config_.embeddings) + ")"
                                                 : fmt::format("audio, weights {}", config_.weights),
                                           config_.options.presence, config_.options.min_segment_seconds, config_.options.max_summary);
  Journal journal(partial_path(output), settings, context_);
  const std::size_t concepts = explainer->names().size();
  std::unordered_set<std::string> done;
  if (journal.size() > 0) {
    try {
      journal.for_each([&](std::string_view record) {
        const TrackExplanation e = decode_explanation(record, concepts);
        if (!done.insert(e.id).second) throw std::runtime_error("track '" + e.id + "' recorded twice");
      });
      context_.info(fmt::format("resuming from {}: {} tracks already explained", journal.path().string(), done.size()));
    } catch (const std::exception& error) {
      context_.warning(fmt::format("{}: damaged ({}); starting over", journal.path().string(), error.what()));
      journal.clear();
      done.clear();
    }
  }
  const std::vector<ExplainItem> all_items = items;
  std::erase_if(items, [&](const ExplainItem& item) { return done.contains(item.id); });
  summary_.explained = done.size();

  const SingleThreadedBlas single_threaded_blas;
  // Batches: loaded (audio in parallel, the store in order) and explained in parallel, journalled
  // in order; memory holds one batch whatever the number of tracks.
  const int threads = config_.jobs > 0 ? config_.jobs : omp_get_max_threads();
  constexpr std::size_t kTracksPerBatch = 32;
  Progress progress(context_, "explain", all_items.size(), all_items.size() - items.size());
  for (std::size_t begin = 0; begin < items.size(); begin += kTracksPerBatch) {
    const std::size_t end = std::min(items.size(), begin + kTracksPerBatch);
    std::vector<std::optional<TrackExplanation>> explained(end - begin);
    std::vector<std::optional<InputError>> failures(end - begin);
    std::vector<FrameMatrix> store_frames(end - begin);
    if (store)
      for (std::size_t i = begin; i < end; ++i) store_frames[i - begin] = store->read_track(items[i].store_index);
    std::vector<std::exception_ptr> crashes(end - begin);
#pragma omp parallel for num_threads(threads) schedule(dynamic)
    for (std::size_t i = begin; i < end; ++i) {
      try {
        if (store) {
          explained[i - begin] = explainer->explain(items[i].id, store_frames[i - begin], hop);
        } else {
          const std::vector<FrameMatrix> frames = embedder->embed(items[i].audio);
          explained[i - begin] = explainer->explain(items[i].id, frames.front(), hop);
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
      journal.append(encode_explanation(*explained[i - begin]));
      ++summary_.explained;
    }
  }
  progress.finish();
  summary_.skipped = errors.count();
  summary_.errors_file = errors.write_report(output);
  if (journal.size() == 0) {
    journal.remove();
    throw FatalError(fmt::format("no track could be explained ({} bad, see {})", summary_.skipped, BatchErrors::report_path(output).string()));
  }
  AtomicOutput h5_output(output);
  {
    ExplanationWriter writer(h5_output.temp_path(), *explainer, config_, set.layer, settings);
    journal.for_each([&](std::string_view record) { writer.append(decode_explanation(record, concepts)); });
    writer.close();
  }

  // JSON and the page are made from the finished file, so a resumed run gives them whole.
  const ExplanationReader reader(h5_output.temp_path());
  if (!config_.json.empty()) {
    AtomicOutput json_output(config_.json);
    std::ofstream json(json_output.temp_path());
    json << "{\"concepts\": " << nlohmann::json(reader.names()).dump() << ", \"labels\": " << nlohmann::json(reader.labels()).dump()
         << ", \"calibrated\": " << (reader.calibrated() ? "true" : "false") << ", \"tracks\": [\n";
    for (std::size_t t = 0; t < reader.ids().size(); ++t) {
      json << (t > 0 ? ",\n" : "") << explanation_json(reader.read(t), reader.names(), reader.labels()).dump();
    }
    json << "\n]}\n";
    json.close();
    if (!json) throw FatalError(config_.json + ": write failed");
    json_output.commit();
  }
  if (!config_.html.empty()) {
    std::unordered_map<std::string, fs::path> audio_of;
    for (const auto& item : all_items)
      if (!item.audio.empty()) audio_of.emplace(item.id, item.audio);
    const LogMel logmel;
    std::vector<ExplainPageTrack> page_tracks;
    for (std::size_t t = 0; t < reader.ids().size() && t < config_.html_tracks; ++t) {
      ExplainPageTrack page_track{reader.read(t), {}, kLogMelHop / kLogMelSampleRate, {}};
      if (const auto audio = audio_of.find(page_track.explanation.id); audio != audio_of.end()) {
        page_track.logmel = logmel.compute(read_audio(audio->second, kLogMelSampleRate));
        page_track.audio = html_page::path_from_page(audio->second, config_.html);
      }
      page_tracks.push_back(std::move(page_track));
    }
    write_file_atomically(config_.html, explain_page_html(*explainer, hierarchy ? &*hierarchy : nullptr, page_tracks));
  }
  h5_output.commit();
  journal.remove();
  if (embedder) summary_.audio_seconds = embedder->audio_seconds();
  summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace conceptree
