#include "conceptree/concepts.hpp"

#include <omp.h>
#include <sys/mman.h>

#include <cstdlib>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <functional>
#include <numeric>
#include <fmt/format.h>
#include <optional>
#include <random>
#include <tuple>
#include <unordered_set>

#include "concepts/logistic.hpp"
#include "concepts/sampling.hpp"
#include "conceptree/batch_errors.hpp"
#include "conceptree/concept_set.hpp"
#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"
#include "conceptree/journal.hpp"
#include "conceptree/ranks.hpp"
#include "conceptree/context.hpp"
#include "conceptree/memberships.hpp"
#include "conceptree/progress.hpp"
#include "conceptree/settings_record.hpp"
#include "conceptree/store.hpp"
#include "conceptree/strings.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

using TrackList = std::vector<std::uint32_t>;

struct Split {
  TrackList train, val, test;
};

struct ConceptResult {
  std::vector<float> weights;  // raw embedding space
  float bias = 0;
  ConceptMetrics metrics;
  Split positive, negative;
  std::vector<float> test_positive_scores, test_negative_scores;  // per test track, ascending

  std::string encode(std::uint64_t ordinal) const {
    RecordWriter writer;
    writer.put(ordinal);
    writer.put_vector(weights);
    writer.put(bias);
    writer.put(metrics);
    for (const Split* split : {&positive, &negative}) {
      writer.put_vector(split->train);
      writer.put_vector(split->val);
      writer.put_vector(split->test);
    }
    writer.put_vector(test_positive_scores);
    writer.put_vector(test_negative_scores);
    return writer.bytes();
  }

  static ConceptResult decode(std::string_view bytes, std::uint64_t& ordinal) {
    RecordReader reader(bytes);
    ConceptResult result;
    ordinal = reader.get<std::uint64_t>();
    result.weights = reader.get_vector<float>();
    result.bias = reader.get<float>();
    result.metrics = reader.get<ConceptMetrics>();
    for (Split* split : {&result.positive, &result.negative}) {
      split->train = reader.get_vector<std::uint32_t>();
      split->val = reader.get_vector<std::uint32_t>();
      split->test = reader.get_vector<std::uint32_t>();
    }
    result.test_positive_scores = reader.get_vector<float>();
    result.test_negative_scores = reader.get_vector<float>();
    if (!reader.at_end()) throw std::runtime_error("journal record too long");
    return result;
  }
};

// Shuffled, then cut into train/val/test by track; each part sorted for sequential reads.
Split split_tracks(TrackList tracks, double val_fraction, double test_fraction, std::mt19937_64& rng) {
  std::shuffle(tracks.begin(), tracks.end(), rng);
  const std::size_t n = tracks.size();
  const std::size_t n_test = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(test_fraction * double(n))));
  const std::size_t n_val = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(val_fraction * double(n))));
  Split split;
  split.test.assign(tracks.begin(), tracks.begin() + static_cast<std::ptrdiff_t>(n_test));
  split.val.assign(tracks.begin() + static_cast<std::ptrdiff_t>(n_test), tracks.begin() + static_cast<std::ptrdiff_t>(n_test + n_val));
  split.train.assign(tracks.begin() + static_cast<std::ptrdiff_t>(n_test + n_val), tracks.end());
  for (TrackList* part : {&split.train, &split.val, &split.test}) std::sort(part->begin(), part->end());
  return split;
}

// `count` distinct tracks of [0, population) outside the sorted `excluded`.
// Frames of a split's positive then negative tracks, with labels.
struct LabelledFrames {
  std::vector<float> values;
  std::vector<std::uint8_t> labels;
  std::size_t rows() const { return labels.size(); }
};

class FrameTable {
 public:
  explicit FrameTable(const FrameView& frames) : frames_(frames.data), offsets_(frames.offsets), dim_(frames.dim) {}

  void gather(const TrackList& positives, const TrackList& negatives, LabelledFrames& out) const {
    out.values.clear();
    out.labels.clear();
    for (const TrackList* tracks : {&positives, &negatives}) {
      const std::uint8_t label = tracks == &positives ? 1 : 0;
      for (auto t : *tracks) {
        out.values.insert(out.values.end(), frames_ + offsets_[t] * dim_, frames_ + offsets_[t + 1] * dim_);
        out.labels.insert(out.labels.end(), offsets_[t + 1] - offsets_[t], label);
      }
    }
  }
  std::size_t dim() const { return dim_; }
  std::uint64_t frame_count(std::uint32_t track) const { return offsets_[track + 1] - offsets_[track]; }

 private:
  const float* frames_;
  std::span<const std::uint64_t> offsets_;
  std::size_t dim_;
};

struct Workspace {
  LabelledFrames train, val, test;
  std::vector<float> scores;
};

double score_balanced_accuracy(const LabelledFrames& frames, std::span<const float> weights, float bias, Workspace& work,
                               std::size_t dim, double* auc = nullptr) {
  work.scores.resize(frames.rows());
  logistic::decision_function(frames.values.data(), frames.rows(), dim, weights, bias, work.scores);
  if (auc) *auc = logistic::roc_auc(work.scores, frames.labels);
  return logistic::balanced_accuracy(work.scores, frames.labels);
}

// Train, validation and test each need at least one negative track.
constexpr std::size_t kMinNegativeTracks = 3;

ConceptResult train_concept(const ResolvedConcept& concept_entry, const TrainConfig& config, const FrameTable& table,
                            std::size_t track_count, Workspace& work) {
  std::mt19937_64 rng(stable_hash(concept_entry.name, config.seed));
  const std::size_t dim = table.dim();
  ConceptResult result;
  TrackList positives = concept_entry.tracks;
  if (positives.size() > config.max_tracks) {
    // A seeded sample of a large concept; every one of its tracks still stays out of the negatives.
    std::shuffle(positives.begin(), positives.end(), rng);
    positives.resize(config.max_tracks);
    std::sort(positives.begin(), positives.end());
  }
  const std::size_t negative_count = std::max<std::size_t>(static_cast<std::size_t>(std::lround(config.negative_ratio * double(positives.size()))),
                                                           config.min_negatives);
  TrackList negatives = sample_tracks_outside(track_count, concept_entry.tracks, std::max(kMinNegativeTracks, negative_count), rng);
  result.positive = split_tracks(std::move(positives), config.val_fraction, config.test_fraction, rng);
  result.negative = split_tracks(std::move(negatives), config.val_fraction, config.test_fraction, rng);

  table.gather(result.positive.train, result.negative.train, work.train);
  table.gather(result.positive.val, result.negative.val, work.val);
  table.gather(result.positive.test, result.negative.test, work.test);
  const logistic::Standardizer standardizer(work.train.values.data(), work.train.rows(), dim);
  for (LabelledFrames* frames : {&work.train, &work.val, &work.test}) standardizer.apply(frames->values.data(), frames->rows());

  const std::vector<float> row_weights = logistic::balanced_row_weights(work.train.labels);
  const logistic::Problem problem{work.train.values.data(), work.train.rows(), dim, work.train.labels, row_weights};
  const logistic::SolverOptions options{config.max_iterations, config.tolerance};
  std::vector<double> strengths = config.regularization;
  std::sort(strengths.begin(), strengths.end(), std::greater<>());  // strong to weak, each warm-starting the next

  logistic::Model model, best;
  double best_accuracy = -1, best_strength = strengths.front();
  std::vector<float> weights(dim);
  for (double strength : strengths) {
    model = logistic::fit(problem, strength, model, options);
    result.metrics.solver_evaluations += static_cast<std::uint64_t>(model.evaluations);
    std::copy(model.weights.begin(), model.weights.end(), weights.begin());
    const double accuracy = score_balanced_accuracy(work.val, weights, static_cast<float>(model.bias), work, dim);
    if (accuracy > best_accuracy) {
      best_accuracy = accuracy;
      best = model;
      best_strength = strength;
    }
  }
  std::copy(best.weights.begin(), best.weights.end(), weights.begin());
  const auto bias = static_cast<float>(best.bias);
  result.metrics.n_tracks = concept_entry.tracks.size();
  result.metrics.n_train_frames = work.train.rows();
  result.metrics.regularization = best_strength;
  result.metrics.train_balanced_accuracy = score_balanced_accuracy(work.train, weights, bias, work, dim);
  result.metrics.val_balanced_accuracy = best_accuracy;
  result.metrics.test_balanced_accuracy = score_balanced_accuracy(work.test, weights, bias, work, dim, &result.metrics.test_roc_auc);
  // work.scores now holds the test frames' decision values, positives' tracks then negatives'.
  std::size_t row = 0;
  for (auto [tracks, scores] : {std::pair{&result.positive.test, &result.test_positive_scores}, std::pair{&result.negative.test, &result.test_negative_scores}}) {
    for (const std::uint32_t track : *tracks) {
      const std::uint64_t frames = table.frame_count(track);
      double sum = 0;
      for (std::uint64_t f = 0; f < frames; ++f, ++row) sum += 1.0 / (1.0 + std::exp(-static_cast<double>(work.scores[row])));
      scores->push_back(static_cast<float>(sum / static_cast<double>(std::max<std::uint64_t>(frames, 1))));
    }
    std::sort(scores->begin(), scores->end());
  }

  std::tie(result.weights, result.bias) = standardizer.raw_direction(best);
  return result;
}

std::string file_digest(const fs::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return "unreadable";
  std::uint64_t hash = 0;
  char buffer[1 << 16];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0) hash = stable_hash({buffer, got}, hash);
  std::fclose(file);
  return std::to_string(hash);
}

// Everything that changes the results; a journal left by a run with another fingerprint is discarded.
std::string fingerprint(const TrainConfig& config, const EmbeddingStore& store) {
  // The journal's record layout: a journal written by another layout is discarded, not misread.
  constexpr int kRecordSchema = 3;
  const nlohmann::ordered_json print = {{"schema", kRecordSchema},
                                        {"store", fs::absolute(store.path()).string()},
                                        {"tracks", store.track_count()},
                                        {"frames", store.total_frames()},
                                        {"layer", store.layer().name},
                                        {"dim", store.dim()},
                                        {"memberships", file_digest(config.memberships)},
                                        {"settings", recorded_train_settings(config)}};
  return print.dump();
}

// The concepts train fits (within --min-tracks/--max-tracks/--large) and the ones it skips.
struct ConceptSelection {
  std::vector<const ResolvedConcept*> to_train;
  std::vector<SkippedConcept> skipped;
};

ConceptSelection select_concepts(const ResolvedMemberships& resolved, const TrainConfig& config, std::size_t track_count, TrainSummary& summary) {
  if (config.min_tracks > config.max_tracks) throw FatalError("--min-tracks is larger than --max-tracks");
  if (config.val_fraction + config.test_fraction >= 0.8) throw FatalError("--val-fraction + --test-fraction leave too little to train on");
  ConceptSelection selection;
  summary.concepts_in_file = resolved.concepts.size();
  summary.unknown_memberships = resolved.unknown_memberships;
  for (const auto& concept_entry : resolved.concepts) {
    const std::uint64_t size = concept_entry.tracks.size();
    if (size > config.max_tracks && config.large == LargeConcepts::Sample) ++summary.sampled_large;
    if (size < config.min_tracks || (size > config.max_tracks && config.large == LargeConcepts::Skip)) {
      const bool small = size < config.min_tracks;
      (small ? summary.skipped_small : summary.skipped_large)++;
      selection.skipped.push_back({concept_entry.name, size,
                                   size == 0 ? "no tracks in the store"
                                             : fmt::format("{} tracks, outside [{}, {}]", size, config.min_tracks, config.max_tracks)});
      continue;
    }
    // A concept holding (nearly) every track has nothing to be told apart from.
    if (track_count - std::min<std::size_t>(track_count, size) < kMinNegativeTracks) {
      ++summary.skipped_small;
      selection.skipped.push_back({concept_entry.name, size, fmt::format("only {} of the {} tracks are outside it: nothing to learn against",
                                                                         track_count - std::min<std::size_t>(track_count, size), track_count)});
      continue;
    }
    selection.to_train.push_back(&concept_entry);
  }
  if (selection.to_train.empty()) {
    throw FatalError(config.memberships + ": no concept has " +
                     (config.large == LargeConcepts::Skip ? fmt::format("between {} and {}", config.min_tracks, config.max_tracks)
                                             : fmt::format("at least {}", config.min_tracks)) +
                     " tracks in the store");
  }
  return selection;
}

int training_threads(const TrainConfig& config) { return config.jobs > 0 ? config.jobs : omp_get_max_threads(); }

// Fits the concepts at `pending` (ordinals into selection.to_train) on both cores, with one
// workspace per thread (kept by the caller: their buffers grow once, not once per call); `on_fitted`
// sees each result as it is made (under a lock), before it is stored in `results`.
void fit_concepts(const ConceptSelection& selection, const std::vector<std::size_t>& pending, const TrainConfig& config,
                  const FrameTable& table, std::uint64_t track_count, std::vector<std::optional<ConceptResult>>& results,
                  const std::function<void(std::size_t, const ConceptResult&)>& on_fitted, std::vector<Workspace>& workspaces, Progress& progress,
                  const Context& context) {
  std::vector<std::exception_ptr> failures(pending.size());
#pragma omp parallel num_threads(static_cast<int>(workspaces.size()))
  {
    Workspace& work = workspaces[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 1)
    for (std::size_t k = 0; k < pending.size(); ++k) {
      if (context.stop_requested()) continue;
      try {
        const std::size_t ordinal = pending[k];
        ConceptResult result = train_concept(*selection.to_train[ordinal], config, table, track_count, work);
        if (on_fitted) {
#pragma omp critical(conceptree_fitted)
          on_fitted(ordinal, result);
        }
        results[ordinal] = std::move(result);
        progress.advance();
      } catch (...) {
        failures[k] = std::current_exception();
      }
    }
  }
  for (const auto& failure : failures)
    if (failure) std::rethrow_exception(failure);
  context.throw_if_stopped();
}

// Under MPI: the pending concepts go in rounds, each rank fitting its share of a round (round robin
// over the list), and rank 0 journals every result as its round ends, so a killed job loses at most
// the last round. Only rank 0's `results` end up complete.
void fit_concepts_over_ranks(const ConceptSelection& selection, const std::vector<std::size_t>& pending, const TrainConfig& config,
                             const FrameTable& table, std::uint64_t track_count, std::vector<std::optional<ConceptResult>>& results,
                             Journal* journal, Progress& progress, const Context& context) {
  const Ranks& ranks = context.job_ranks();
  std::vector<Workspace> workspaces(static_cast<std::size_t>(training_threads(config)));
  const std::size_t round = 32 * workspaces.size() * static_cast<std::size_t>(ranks.size());
  for (std::size_t round_start = 0; round_start < pending.size(); round_start += round) {
    std::vector<std::size_t> mine;
    for (std::size_t p = round_start; p < std::min(pending.size(), round_start + round); ++p)
      if (ranks.owns(p)) mine.push_back(pending[p]);
    fit_concepts(selection, mine, config, table, track_count, results, {}, workspaces, progress, context);
    RecordWriter writer;
    writer.put<std::uint64_t>(mine.size());
    for (std::size_t ordinal : mine) writer.put_string(results[ordinal]->encode(ordinal));
    const std::vector<std::string> parts = ranks.gather(writer.bytes());
    for (std::size_t from = 0; from < parts.size(); ++from) {
      RecordReader reader(parts[from]);
      for (auto count = reader.get<std::uint64_t>(); count > 0; --count) {
        const std::string record = reader.get_string();
        std::uint64_t ordinal = 0;
        ConceptResult result = ConceptResult::decode(record, ordinal);
        if (from > 0) progress.advance();
        journal->append(record);
        results[ordinal] = std::move(result);
      }
    }
  }
}

ConceptSet assemble_concept_set(const ConceptSelection& selection, const std::vector<std::optional<ConceptResult>>& results,
                                const TrainConfig& config, const std::string& layer, std::size_t dim,
                                std::span<const std::string> track_ids, TrainSummary& summary) {
  ConceptSet set;
  set.skipped = selection.skipped;
  set.layer = layer;
  set.dim = dim;
  set.splits.track_ids.assign(track_ids.begin(), track_ids.end());
  double accuracy_sum = 0;
  for (std::size_t i = 0; i < selection.to_train.size(); ++i) {
    const ConceptResult& result = *results[i];
    set.names.push_back(selection.to_train[i]->name);
    set.types.push_back(selection.to_train[i]->type);
    const bool kept = result.metrics.test_balanced_accuracy > config.min_accuracy;
    set.kept.push_back(kept ? 1 : 0);
    summary.kept += kept;
    set.weights.insert(set.weights.end(), result.weights.begin(), result.weights.end());
    set.bias.push_back(result.bias);
    set.metrics.push_back(result.metrics);
    accuracy_sum += result.metrics.test_balanced_accuracy;
    set.splits.train_positive.add(result.positive.train);
    set.splits.val_positive.add(result.positive.val);
    set.splits.test_positive.add(result.positive.test);
    set.splits.train_negative.add(result.negative.train);
    set.splits.val_negative.add(result.negative.val);
    set.splits.test_negative.add(result.negative.test);
    set.calibration.test_positive.add(result.test_positive_scores);
    set.calibration.test_negative.add(result.test_negative_scores);
  }
  set.text_attributes = {{"source", "train"}};
  const nlohmann::ordered_json settings = recorded_train_settings(config);
  for (const auto& [name, value] : settings.items()) {
    if (value.is_number()) {
      set.number_attributes.emplace_back(name, value.get<double>());
    } else if (value.is_string()) {
      set.text_attributes.emplace_back(name, value.get<std::string>());
    } else {
      set.text_attributes.emplace_back(name, value.dump());
    }
  }
  summary.trained = selection.to_train.size();
  summary.mean_test_balanced_accuracy = accuracy_sum / double(selection.to_train.size());
  return set;
}

}  // namespace

nlohmann::ordered_json recorded_train_settings(const TrainConfig& config) {
  TrainConfig recorded = config;
  return record_settings(
      [&](auto&& visitor) { visit_except(recorded, {"embeddings", "memberships", "output", "layer", "jobs", "strict", "overwrite"}, visitor); });
}

StoreFrames::StoreFrames(const EmbeddingStore& store, const Context& context)
    : count_(store.total_frames() * store.dim()), offsets_(store.offsets()), track_ids_(store.ids()), layer_(store.layer().name),
      source_(store.path().string()), dim_(store.dim()) {
  constexpr std::size_t kHugePage = 2u << 20;
  const std::size_t bytes = (std::max<std::size_t>(count_, 1) * sizeof(float) + kHugePage - 1) / kHugePage * kHugePage;
  data_ = static_cast<float*>(std::aligned_alloc(kHugePage, bytes));
  if (!data_) throw FatalError("cannot allocate " + std::to_string(bytes >> 20) + " MiB for the frames of " + store.path().string());
  ::madvise(data_, bytes, MADV_HUGEPAGE);
  const auto started = std::chrono::steady_clock::now();
  const std::uint64_t block = std::max<std::uint64_t>(1, (64u << 20) / (store.dim() * sizeof(float)));
  Progress loading(context, "load frames", store.total_frames());
  for (std::uint64_t row = 0; row < store.total_frames(); row += block) {
    context.throw_if_stopped();
    const std::uint64_t count = std::min(block, store.total_frames() - row);
    store.read_rows(row, count, data_ + row * store.dim());
    loading.advance(count);
  }
  loading.finish();
  load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

StoreFrames::~StoreFrames() { std::free(data_); }

ResolvedMemberships read_training_memberships(const std::string& path, const EmbeddingStore& store, bool strict, const Context& context) {
  BatchErrors membership_errors(strict, context);
  ResolvedMemberships resolved = resolve_memberships(read_memberships(path, membership_errors), store.ids());
  if (resolved.unknown_memberships > 0) {
    const std::string message = fmt::format("{}: {} memberships name tracks not in {} (e.g. {})", path, resolved.unknown_memberships,
                                            store.path().string(), join(resolved.unknown_examples, ", "));
    if (strict) throw FatalError(message + " (stopped by --strict)");
    context.warning(message + "; they are ignored");
  }
  return resolved;
}

ConceptSet learn_concepts(const FrameView& frames, const ResolvedMemberships& memberships, const TrainConfig& config, TrainSummary* summary,
                          const Context& context) {
  check_frame_view(frames);
  for (const auto& concept_entry : memberships.concepts) {
    for (std::uint32_t track : concept_entry.tracks) {
      if (track >= frames.track_count()) {
        throw InputError(concept_entry.name, fmt::format("track index {} is outside the {} tracks of the frames", track, frames.track_count()));
      }
    }
  }
  TrainConfig checked = config;
  visit_except(checked, {"embeddings", "memberships", "output"}, ParamValidator{});
  TrainSummary local;
  const auto started = std::chrono::steady_clock::now();
  const ConceptSelection selection = select_concepts(memberships, config, frames.track_count(), local);
  std::vector<std::optional<ConceptResult>> results(selection.to_train.size());
  std::vector<std::size_t> all(results.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  Progress progress(context, "train", results.size());
  std::vector<Workspace> workspaces(static_cast<std::size_t>(training_threads(config)));
  fit_concepts(selection, all, config, FrameTable(frames), frames.track_count(), results, {}, workspaces, progress, context);
  progress.finish();
  // A progress observer may ask to stop from its last update.
  context.throw_if_stopped();
  local.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ConceptSet set = assemble_concept_set(selection, results, config, frames.layer, frames.dim, frames.track_ids, local);
  local.trained_this_run = local.trained;
  local.seconds = local.train_seconds;
  if (summary) *summary = local;
  return set;
}

ConceptTrainer::ConceptTrainer(TrainConfig config, const Context& context) : config_(std::move(config)), context_(context) {}

void ConceptTrainer::run() {
  validate(config_);
  const auto started = std::chrono::steady_clock::now();
  summary_ = {};
  const fs::path output_path(config_.output);
  refuse_to_overwrite(output_path, config_.overwrite);

  const EmbeddingStore store(config_.embeddings, config_.layer);
  const ResolvedMemberships resolved = read_training_memberships(config_.memberships, store, config_.strict, context_);
  const ConceptSelection selection = select_concepts(resolved, config_, store.track_count(), summary_);
  if (summary_.sampled_large > 0) {
    context_.info(fmt::format("{} concepts have more than {} tracks: each is trained on a seeded sample of {} (--large sample)",
                         summary_.sampled_large, config_.max_tracks, config_.max_tracks));
  }
  if (!selection.skipped.empty()) {
    context_.info(fmt::format("{} concepts skipped for size ({} too small, {} too large)", selection.skipped.size(), summary_.skipped_small,
                         summary_.skipped_large));
  }

  // Under MPI rank 0 alone keeps the journal and writes; the other ranks send it what they fit.
  const Ranks& ranks = context_.job_ranks();
  std::optional<Journal> journal;
  std::vector<std::optional<ConceptResult>> results(selection.to_train.size());
  if (ranks.is_root()) {
    fs::path journal_path = output_path;
    journal_path += ".partial";
    journal.emplace(journal_path, fingerprint(config_, store), context_);
    try {
      journal->for_each([&results](std::string_view record) {
        std::uint64_t ordinal = 0;
        ConceptResult result = ConceptResult::decode(record, ordinal);
        if (ordinal >= results.size()) throw std::runtime_error(fmt::format("a record of concept {} of {}", ordinal, results.size()));
        results[ordinal] = std::move(result);
      });
    } catch (const std::exception& error) {
      // Whole records that do not decode: a journal that only looks like this run's.
      context_.warning(fmt::format("{}: damaged ({}); starting over", journal->path().string(), error.what()));
      journal->clear();
      std::fill(results.begin(), results.end(), std::nullopt);
    }
  }
  std::vector<std::uint64_t> pending;
  for (std::size_t i = 0; i < results.size(); ++i)
    if (!results[i]) pending.push_back(i);
  if (ranks.distributed()) {
    RecordWriter writer;
    writer.put_vector(pending);
    pending = RecordReader(ranks.broadcast(writer.bytes())).get_vector<std::uint64_t>();
  }
  if (pending.size() < results.size()) context_.info(fmt::format("resuming: {} of {} concepts already trained", results.size() - pending.size(), results.size()));

  std::optional<StoreFrames> frames;
  if (!pending.empty()) {
    frames.emplace(store, context_);
    summary_.load_seconds = frames->load_seconds();
    const auto training_started = std::chrono::steady_clock::now();
    const std::vector<std::size_t> pending_ordinals(pending.begin(), pending.end());
    const FrameTable table(frames->view());
    Progress progress(context_, "train", results.size(), results.size() - pending.size());
    if (ranks.distributed()) {
      fit_concepts_over_ranks(selection, pending_ordinals, config_, table, store.track_count(), results, ranks.is_root() ? &*journal : nullptr,
                              progress, context_);
    } else {
      std::vector<Workspace> workspaces(static_cast<std::size_t>(training_threads(config_)));
      fit_concepts(selection, pending_ordinals, config_, table, store.track_count(), results,
                   [&journal](std::size_t ordinal, const ConceptResult& result) { journal->append(result.encode(ordinal)); }, workspaces,
                   progress, context_);
    }
    progress.finish();
    context_.throw_if_stopped();
    summary_.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - training_started).count();
  }
  if (!ranks.is_root()) return;

  ConceptSet set = assemble_concept_set(selection, results, config_, store.layer().name, store.dim(), store.ids(), summary_);
  set.text_attributes.insert(set.text_attributes.begin() + 1, {{"store", fs::absolute(config_.embeddings).string()},
                                                               {"memberships", fs::absolute(config_.memberships).string()},
                                                               {"backbone", store.provenance().backbone}});
  write_concept_set(output_path, set);
  journal->remove();

  summary_.trained_this_run = pending.size();
  summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace conceptree
