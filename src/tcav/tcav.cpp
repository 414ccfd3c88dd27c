#include "conceptree/tcav.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <omp.h>

#include <boost/math/distributions/students_t.hpp>
#include <span>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>

#include "concepts/logistic.hpp"
#include "concepts/sampling.hpp"
#include "conceptree/atomic_file.hpp"
#include "conceptree/concept_set.hpp"
#include "conceptree/error.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/hierarchy_graph.hpp"
#include "conceptree/journal.hpp"
#include "conceptree/context.hpp"
#include "conceptree/progress.hpp"
#include "conceptree/ranks.hpp"
#include "conceptree/tcav_page.hpp"
#include "conceptree/text_list.hpp"
#include "conceptree/version.hpp"
#include "tcav/statistics.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

TcavRuns summarise(std::vector<double> runs) {
  TcavRuns summary;
  double sum = 0;
  for (const double value : runs) sum += value;
  summary.mean = runs.empty() ? 0 : sum / static_cast<double>(runs.size());
  double squares = 0;
  for (const double value : runs) squares += (value - summary.mean) * (value - summary.mean);
  summary.std = runs.size() > 1 ? std::sqrt(squares / static_cast<double>(runs.size() - 1)) : 0;
  summary.runs = std::move(runs);
  return summary;
}

// Each track's frames summed, and how many there are: a pattern direction is then a sum over
// tracks, not over frames.
struct TrackSums {
  std::vector<double> sums;  // track-major, frames.cols per track
  std::vector<std::uint64_t> rows;

  explicit TrackSums(const FrameBatch& frames) : sums(frames.track_count() * frames.cols, 0.0), rows(frames.track_count()) {
    const std::size_t dim = frames.cols;
    for (std::size_t track = 0; track < rows.size(); ++track) {
      rows[track] = frames.offsets[track + 1] - frames.offsets[track];
      double* sum = sums.data() + track * dim;
      for (std::uint64_t row = frames.offsets[track]; row < frames.offsets[track + 1]; ++row) {
        const float* x = frames.values.data() + row * dim;
        for (std::size_t d = 0; d < dim; ++d) sum[d] += x[d];
      }
    }
  }
};

// The direction of `positives` against `negatives` in the raw activation space the gradients live
// in. "pattern": the difference of the two sets' mean frames, the direction along which the
// concept's frames actually differ (Pahde et al. 2022: less pulled by distractor features than a
// classifier's weights); "classifier": the weights of an L2 logistic regression, as tf/tcav.
std::vector<float> concept_direction(const FrameBatch& frames, const TrackSums& track_sums, const std::vector<std::uint32_t>& positives,
                                     const std::vector<std::uint32_t>& negatives, const TcavOptions& options) {
  const std::size_t dim = frames.cols;
  if (options.cav == CavKind::Pattern) {
    std::vector<double> difference(dim, 0.0), sum(dim);
    for (const auto& [tracks, sign] : {std::pair{&positives, 1.0}, std::pair{&negatives, -1.0}}) {
      std::uint64_t rows = 0;
      std::fill(sum.begin(), sum.end(), 0.0);
      for (const std::uint32_t track : *tracks) {
        rows += track_sums.rows[track];
        const double* track_sum = track_sums.sums.data() + track * dim;
        for (std::size_t d = 0; d < dim; ++d) sum[d] += track_sum[d];
      }
      for (std::size_t d = 0; d < dim; ++d) difference[d] += sign * sum[d] / static_cast<double>(std::max<std::uint64_t>(rows, 1));
    }
    return {difference.begin(), difference.end()};
  }
  std::vector<float> rows;
  std::vector<std::uint8_t> labels;
  for (const auto* tracks : {&positives, &negatives}) {
    for (const std::uint32_t track : *tracks) {
      const std::uint64_t first = frames.offsets[track], last = frames.offsets[track + 1];
      rows.insert(rows.end(), frames.values.begin() + static_cast<std::ptrdiff_t>(first * dim),
                  frames.values.begin() + static_cast<std::ptrdiff_t>(last * dim));
      labels.insert(labels.end(), last - first, tracks == &positives ? 1 : 0);
    }
  }
  const logistic::Standardizer standardizer(rows.data(), labels.size(), dim);
  standardizer.apply(rows.data(), labels.size());
  const std::vector<float> row_weights = logistic::balanced_row_weights(labels);
  const logistic::Problem problem{rows.data(), labels.size(), dim, labels, row_weights};
  const logistic::Model model = logistic::fit(problem, options.regularization, {}, {options.max_iterations, options.tolerance});
  return standardizer.raw_direction(model).first;
}

struct RunStatistics {
  double score = 0, magnitude = 0, sensitivity = 0;
};

// The statistics of one direction over the inputs; `mean_gradient_norm` puts the sensitivity in
// units of the gradients' own size.
RunStatistics run_statistics(const FrameMatrix& gradients, const std::vector<float>& direction, double mean_gradient_norm) {
  double direction_norm = 0;
  for (const float value : direction) direction_norm += static_cast<double>(value) * value;
  direction_norm = std::sqrt(direction_norm);
  std::uint64_t positive = 0;
  double positive_sum = 0, absolute_sum = 0, sum = 0;
  const float* v = direction.data();
  for (std::uint64_t row = 0; row < gradients.rows; ++row) {
    const float* g = gradients.values.data() + row * gradients.cols;
    // Float lanes: the hot loop of tcav, and exact enough for a sign and a mean.
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (std::uint64_t d = 0; d < gradients.cols; ++d) dot += g[d] * v[d];
    const double derivative = dot;
    if (derivative > 0) {
      ++positive;
      positive_sum += derivative;
    }
    absolute_sum += std::fabs(derivative);
    sum += derivative;
  }
  const auto inputs = static_cast<double>(gradients.rows);
  RunStatistics statistics;
  statistics.score = static_cast<double>(positive) / inputs;
  statistics.magnitude = absolute_sum > 0 ? positive_sum / absolute_sum : 0.5;
  statistics.sensitivity = direction_norm > 0 && mean_gradient_norm > 0 ? sum / inputs / direction_norm / mean_gradient_norm : 0;
  return statistics;
}

// Two-sided test of one value against a sample it would be exchangeable with under the null: the
// prediction t = (x - mean) / (s · sqrt(1 + 1/n)), Student's t with n - 1 degrees of freedom.
tcav_stats::WelchTest one_against_sample_t_test(double value, std::span<const double> sample) {
  const auto n = static_cast<double>(sample.size());
  double mean = 0, squares = 0;
  for (const double x : sample) mean += x / n;
  for (const double x : sample) squares += (x - mean) * (x - mean);
  const double spread = std::sqrt(squares / (n - 1)) * std::sqrt(1 + 1 / n);
  if (spread == 0) return {value == mean ? 0 : std::copysign(INFINITY, value - mean), n - 1, value == mean ? 1.0 : 0.0};
  const double t = (value - mean) / spread;
  const boost::math::students_t distribution(n - 1);
  return {t, n - 1, std::min(1.0, 2 * boost::math::cdf(boost::math::complement(distribution, std::fabs(t))))};
}

// Monte Carlo rank test: (1 + the sample values at least as far from the sample's mean as
// `value`) / (1 + n). Exact under exchangeability; with n random concepts it cannot go below 1/(n+1).
double rank_test(double value, std::span<const double> sample) {
  double mean = 0;
  for (const double x : sample) mean += x / static_cast<double>(sample.size());
  const double distance = std::fabs(value - mean) * (1 - 1e-12);
  std::size_t as_far = 0;
  for (const double x : sample) as_far += std::fabs(x - mean) >= distance ? 1 : 0;
  return static_cast<double>(1 + as_far) / static_cast<double>(1 + sample.size());
}

// The size of the random concepts standing for a concept of `size` tracks: the largest grid value
// ceil((1 + step)^i) not above it, so a concept's null is never made of larger (tighter) sets.
std::size_t null_size(std::size_t size, double step) {
  if (step <= 0 || size < 2) return size;
  const double exponent = std::floor(std::log(static_cast<double>(size)) / std::log1p(step));
  return std::clamp<std::size_t>(static_cast<std::size_t>(std::ceil(std::pow(1 + step, exponent))), 2, size);
}

std::mt19937_64 run_rng(std::uint64_t seed, const std::string& what, std::uint64_t run) {
  return std::mt19937_64(stable_hash(fmt::format("{}#{}", what, run), seed));
}

}  // namespace

TcavAnalysis::TcavAnalysis(const FrameBatch& frames, const FrameMatrix& gradients, std::vector<TcavConcept> concepts, TcavOptions options,
                           int jobs, const Context& context)
    : frames_(frames), gradients_(gradients), context_(context), concepts_(std::move(concepts)), options_(options), jobs_(jobs) {
  if (gradients_.cols != frames_.cols)
    throw InputError("gradients", fmt::format("{} wide; the frames are {} wide", gradients_.cols, frames_.cols));
  if (gradients_.rows == 0) throw InputError("gradients", "no input to score");
  check_finite_frames("gradients", gradients_.values, gradients_.cols);
  const std::size_t tracks = frames_.track_count();
  for (auto& concept_entry : concepts_) {
    std::sort(concept_entry.tracks.begin(), concept_entry.tracks.end());
    concept_entry.tracks.erase(std::unique(concept_entry.tracks.begin(), concept_entry.tracks.end()), concept_entry.tracks.end());
    if (concept_entry.tracks.size() < 2) throw InputError(concept_entry.id, "fewer than 2 member tracks");
    if (concept_entry.tracks.back() >= tracks) throw InputError(concept_entry.id, "a member track index is past the frames' tracks");
    if (concept_entry.tracks.size() >= tracks) throw InputError(concept_entry.id, "every track is a member: no negatives to train on");
  }
}

void TcavAnalysis::run() {
  const std::size_t population = frames_.track_count();
  const std::size_t runs = options_.runs, random_runs = options_.random_runs;
  // Random concepts depend only on their size: concepts of one null size share one null.
  std::map<std::size_t, std::size_t> null_of_size;
  for (const auto& concept_entry : concepts_) null_of_size.emplace(null_size(concept_entry.tracks.size(), options_.null_size_step), 0);
  std::vector<std::size_t> sizes;
  for (auto& [size, index] : null_of_size) {
    index = sizes.size();
    sizes.push_back(size);
  }
  const auto negatives_for = [&](std::size_t positives) {
    return std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(options_.negative_ratio * static_cast<double>(positives))));
  };

  // Under the null hypothesis a concept is a random set of tracks, and its runs share that one
  // set: the unit of replication is the concept, not the run. So each random concept of the null
  // is scored exactly as a concept is (one random track set, `runs` CAVs on other negatives), and
  // the concept's mean score is compared with the random concepts' mean scores. (Comparing runs
  // with runs, as tf/tcav does, declared 58 of 100 random concepts significant in our test.)
  // Every CAV is one task with its own seed, and writes its own slot: results do not depend on the
  // thread count or the order tasks finish in.
  const std::size_t concept_tasks = concepts_.size() * runs, null_tasks = sizes.size() * random_runs * runs;
  const std::size_t tasks = concept_tasks + null_tasks;
  std::vector<RunStatistics> concept_runs(concept_tasks), null_runs(null_tasks);
  double mean_gradient_norm = 0;
  for (std::uint64_t row = 0; row < gradients_.rows; ++row) {
    double squares = 0;
    for (std::uint64_t d = 0; d < gradients_.cols; ++d) {
      const double g = gradients_.values[row * gradients_.cols + d];
      squares += g * g;
    }
    mean_gradient_norm += std::sqrt(squares) / static_cast<double>(gradients_.rows);
  }
  const TrackSums track_sums(frames_);
  // Under MPI each rank makes every N-th CAV; rank 0 gathers the statistics and alone goes on.
  const Ranks& ranks = context_.job_ranks();
  Progress progress(context_, "tcav", tasks);
  const int threads = jobs_ > 0 ? jobs_ : omp_get_max_threads();
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (std::int64_t task = 0; task < static_cast<std::int64_t>(tasks); ++task) {
    const auto t = static_cast<std::size_t>(task);
    if (context_.stop_requested() || !ranks.owns(t)) continue;
    if (t < concept_tasks) {
      const TcavConcept& concept_entry = concepts_[t / runs];
      auto rng = run_rng(options_.seed, "concept " + concept_entry.id, t % runs);
      const auto negatives = sample_tracks_outside(population, concept_entry.tracks, negatives_for(concept_entry.tracks.size()), rng);
      concept_runs[t] = run_statistics(gradients_, concept_direction(frames_, track_sums, concept_entry.tracks, negatives, options_), mean_gradient_norm);
    } else {
      const std::size_t slot = t - concept_tasks, random_concept = slot / runs, size = sizes[random_concept / random_runs];
      auto members_rng = run_rng(options_.seed, fmt::format("random {} members", size), random_concept % random_runs);
      std::vector<std::uint32_t> positives = sample_tracks_outside(population, {}, size, members_rng);
      std::sort(positives.begin(), positives.end());
      auto rng = run_rng(options_.seed, fmt::format("random {} concept {}", size, random_concept % random_runs), slot % runs);
      const auto negatives = sample_tracks_outside(population, positives, negatives_for(size), rng);
      null_runs[slot] = run_statistics(gradients_, concept_direction(frames_, track_sums, positives, negatives, options_), mean_gradient_norm);
    }
    progress.advance();
  }
  context_.throw_if_stopped();
  if (ranks.distributed()) {
    RecordWriter writer;
    for (std::size_t t = 0; t < tasks; ++t)
      if (ranks.owns(t)) writer.put(t < concept_tasks ? concept_runs[t] : null_runs[t - concept_tasks]);
    const std::vector<std::string> parts = ranks.gather(writer.bytes());
    if (!ranks.is_root()) return;
    for (std::size_t from = 1; from < parts.size(); ++from) {
      RecordReader reader(parts[from]);
      for (std::size_t t = from; t < tasks; t += parts.size()) {
        (t < concept_tasks ? concept_runs[t] : null_runs[t - concept_tasks]) = reader.get<RunStatistics>();
        progress.advance();
      }
    }
  }
  progress.finish();

  const auto runs_of = [](const std::vector<RunStatistics>& all, std::size_t first, std::size_t count, double RunStatistics::*statistic) {
    std::vector<double> values(count);
    for (std::size_t r = 0; r < count; ++r) values[r] = all[first + r].*statistic;
    return values;
  };
  // The concept's mean against the random concepts' means, of one statistic; q-values come later.
  const auto test_of = [&](const TcavRuns& concept_runs_summary, std::size_t null_first, double RunStatistics::*statistic) {
    TcavTest test;
    std::vector<double> null_means(random_runs);
    for (std::size_t j = 0; j < random_runs; ++j) null_means[j] = summarise(runs_of(null_runs, null_first + j * runs, runs, statistic)).mean;
    test.random = summarise(std::move(null_means));
    const auto t_test = one_against_sample_t_test(concept_runs_summary.mean, test.random.runs);
    test.t = t_test.t;
    test.df = t_test.df;
    test.p_t = t_test.p;
    test.p_rank = rank_test(concept_runs_summary.mean, test.random.runs);
    return test;
  };

  results_.assign(concepts_.size(), {});
  for (std::size_t k = 0; k < concepts_.size(); ++k) {
    TcavResult& result = results_[k];
    result.score = summarise(runs_of(concept_runs, k * runs, runs, &RunStatistics::score));
    result.magnitude = summarise(runs_of(concept_runs, k * runs, runs, &RunStatistics::magnitude));
    result.sensitivity = summarise(runs_of(concept_runs, k * runs, runs, &RunStatistics::sensitivity));
    result.null_size = null_size(concepts_[k].tracks.size(), options_.null_size_step);
    const std::size_t null_first = null_of_size.at(result.null_size) * random_runs * runs;
    result.score_test = test_of(result.score, null_first, &RunStatistics::score);
    result.sensitivity_test = test_of(result.sensitivity, null_first, &RunStatistics::sensitivity);

    TcavRunsTest& runs_test = result.runs_test;
    std::vector<double> first_runs(random_runs);
    for (std::size_t j = 0; j < random_runs; ++j) first_runs[j] = null_runs[null_first + j * runs].score;
    runs_test.random = summarise(std::move(first_runs));
    const auto welch = tcav_stats::welch_t_test(result.score.runs, runs_test.random.runs);
    runs_test.t = welch.t;
    runs_test.df = welch.df;
    runs_test.p_welch = welch.p;
    runs_test.p_permutation = tcav_stats::permutation_test(result.score.runs, runs_test.random.runs, options_.permutations,
                                                           stable_hash("permutation " + concepts_[k].id, options_.seed));
  }

  // Benjamini-Hochberg over the concepts, for each p-value of each test.
  const auto adjust = [&](auto&& p_of, auto&& q_of) {
    std::vector<double> p(results_.size());
    for (std::size_t k = 0; k < results_.size(); ++k) p[k] = p_of(results_[k]);
    const std::vector<double> q = tcav_stats::benjamini_hochberg(p);
    for (std::size_t k = 0; k < results_.size(); ++k) q_of(results_[k]) = q[k];
  };
  for (TcavTest TcavResult::*test : {&TcavResult::score_test, &TcavResult::sensitivity_test}) {
    adjust([&](const TcavResult& r) { return (r.*test).p_t; }, [&](TcavResult& r) -> double& { return (r.*test).q_t; });
    adjust([&](const TcavResult& r) { return (r.*test).p_rank; }, [&](TcavResult& r) -> double& { return (r.*test).q_rank; });
  }
  adjust([](const TcavResult& r) { return r.runs_test.p_welch; }, [](TcavResult& r) -> double& { return r.runs_test.q_welch; });
  adjust([](const TcavResult& r) { return r.runs_test.p_permutation; }, [](TcavResult& r) -> double& { return r.runs_test.q_permutation; });
  for (TcavResult& result : results_) {
    const TcavTest& verdict = options_.test == TcavStatistic::Score ? result.score_test : result.sensitivity_test;
    const double mean = options_.test == TcavStatistic::Score ? result.score.mean : result.sensitivity.mean;
    result.significant = verdict.q_t < options_.alpha;
    result.direction = !result.significant ? 0 : mean > verdict.random.mean ? 1 : -1;
  }
}

// ---------------------------------------------------------------------------------------------
// The file driver

namespace {

nlohmann::ordered_json runs_json(const TcavRuns& runs) { return {{"mean", runs.mean}, {"std", runs.std}, {"runs", runs.runs}}; }

// NaN (a p-value of a degenerate test) has no JSON spelling: null.
nlohmann::ordered_json number_or_null(double value) { return std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json(); }

nlohmann::ordered_json test_json(const TcavTest& test) {
  return {{"t", number_or_null(test.t)},        {"df", number_or_null(test.df)},          {"p_t", number_or_null(test.p_t)},
          {"p_rank", number_or_null(test.p_rank)}, {"q_t", number_or_null(test.q_t)}, {"q_rank", number_or_null(test.q_rank)}};
}

// The direction a concept's subtree agrees on: its own, when it and every concept below it are
// significant that way, else 0; a cycle agrees with nothing. Depth first on a stack of its own,
// since the hierarchy comes from a file and may be as deep as it is long; each subtree's answer
// is kept for the roots asked later.
class SubtreeAgreement {
 public:
  // `graph` and `results` (one per node) must outlive the object.
  SubtreeAgreement(const HierarchyGraph& graph, const std::vector<TcavResult>& results)
      : graph_(graph), results_(results), known_(graph.node_count(), kNotKnown), on_path_(graph.node_count(), 0) {}

  int direction(HierarchyGraph::Node root) {
    if (known_[root] != kNotKnown) return known_[root];
    on_path_[root] = 1;
    stack_.push_back({root, 0, results_[root].direction});
    int finished = 0;
    while (!stack_.empty()) {
      Visit& visit = stack_.back();
      const auto children = graph_.children(visit.node);
      if (visit.next_child < children.size()) {
        const HierarchyGraph::Node child = children[visit.next_child++];
        if (known_[child] == kNotKnown && !on_path_[child]) {
          on_path_[child] = 1;
          stack_.push_back({child, 0, results_[child].direction});
        } else if ((known_[child] == kNotKnown ? 0 : known_[child]) != visit.direction) {
          visit.direction = 0;
        }
        continue;
      }
      finished = known_[visit.node] = visit.direction;
      on_path_[visit.node] = 0;
      stack_.pop_back();
      if (!stack_.empty() && finished != stack_.back().direction) stack_.back().direction = 0;
    }
    return finished;
  }

 private:
  static constexpr int kNotKnown = 2;  // directions are -1, 0 and 1
  struct Visit {
    HierarchyGraph::Node node;
    std::size_t next_child;
    int direction;                     // so far: the node's own, or 0 once a child disagrees
  };

  const HierarchyGraph& graph_;
  const std::vector<TcavResult>& results_;
  std::vector<int> known_;
  std::vector<std::uint8_t> on_path_;
  std::vector<Visit> stack_;
};

}  // namespace

TcavJob::TcavJob(TcavConfig config, const Context& context) : config_(std::move(config)), context_(context) {}

void TcavJob::run() {
  validate(config_);
  const auto started = std::chrono::steady_clock::now();
  summary_ = {};
  refuse_to_overwrite(config_.output, config_.overwrite);
  if (!config_.html.empty()) refuse_to_overwrite(config_.html, config_.overwrite);

  ConceptSet set;
  std::optional<EmbeddingStore> store;
  std::optional<Hierarchy> hierarchy;
  try {
    set = read_concept_set(config_.concepts, config_.layer);
    store.emplace(config_.embeddings, set.layer);
    if (!config_.hierarchy.empty()) hierarchy = read_hierarchy_json(config_.hierarchy);
  } catch (const InputError& error) {
    throw FatalError(error.what());
  }
  if (store->dim() != set.dim)
    throw FatalError(fmt::format("{}: layer {} is {} wide; the concept set's CAVs are {} wide", config_.embeddings, set.layer, store->dim(), set.dim));
  const auto& available = store->layer().gradients;
  if (std::find(available.begin(), available.end(), config_.target) == available.end()) {
    throw FatalError(fmt::format("{}: no gradient of '{}' at layer {} ({})", config_.embeddings, config_.target, set.layer,
                                 available.empty() ? "it holds none: embed --gradients or import --gradient writes them"
                                                   : fmt::format("it holds {}", fmt::join(available, ", "))));
  }
  if (set.splits.empty())
    throw FatalError(config_.concepts + ": holds no member tracks (CAVs learned elsewhere); tcav retrains CAVs, so it needs a set from conceptree train");

  // Member tracks of each kept concept, found in the store by id.
  std::vector<std::uint32_t> store_index(set.splits.track_ids.size(), UINT32_MAX);
  for (std::size_t i = 0; i < set.splits.track_ids.size(); ++i)
    if (const auto found = store->index_of(set.splits.track_ids[i])) store_index[i] = static_cast<std::uint32_t>(*found);
  std::vector<TcavConcept> concepts;
  std::vector<std::size_t> rows;
  for (std::size_t k = 0; k < set.size(); ++k) {
    if (!set.kept.empty() && !set.kept[k]) continue;
    TcavConcept concept_entry{set.names[k], {}};
    for (const TrackLists* lists : {&set.splits.train_positive, &set.splits.val_positive, &set.splits.test_positive}) {
      for (std::uint64_t i = lists->offsets[k]; i < lists->offsets[k + 1]; ++i) {
        const std::uint32_t split_track = lists->indices[i];
        if (split_track < store_index.size() && store_index[split_track] != UINT32_MAX) concept_entry.tracks.push_back(store_index[split_track]);
      }
    }
    if (concept_entry.tracks.size() < 2 || concept_entry.tracks.size() >= store->track_count()) {
      context_.warning(fmt::format("{}: {} of its tracks are in {}; skipped", set.names[k], concept_entry.tracks.size(), config_.embeddings));
      ++summary_.skipped_concepts;
      continue;
    }
    concepts.push_back(std::move(concept_entry));
    rows.push_back(k);
  }
  if (concepts.empty()) throw FatalError(config_.concepts + ": no kept concept has member tracks in " + config_.embeddings);

  // The inputs scored: every gradient row of the chosen tracks.
  std::vector<std::size_t> scored;
  if (config_.tracks.empty()) {
    for (std::size_t i = 0; i < store->track_count(); ++i) scored.push_back(i);
  } else {
    try {
      for (const auto& id : read_text_list(config_.tracks)) {
        const auto found = store->index_of(id);
        if (!found) throw InputError(config_.tracks, fmt::format("track '{}' is not in {}", id, config_.embeddings));
        scored.push_back(*found);
      }
    } catch (const InputError& error) {
      throw FatalError(error.what());
    }
    if (scored.empty()) throw FatalError(config_.tracks + ": names no track");
  }
  std::vector<std::size_t> all(store->track_count());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  FrameBatch frames;
  FrameMatrix gradients{0, store->dim(), {}};
  try {
    store->read_tracks(all, frames);
    for (const std::size_t track : scored) {
      const std::uint64_t first = store->offsets()[track], count = store->offsets()[track + 1] - first;
      gradients.values.resize((gradients.rows + count) * gradients.cols);
      store->read_gradient_rows(config_.target, first, count, gradients.values.data() + gradients.rows * gradients.cols);
      gradients.rows += count;
    }
    check_finite_frames(config_.embeddings + " (gradient of " + config_.target + ")", gradients.values, gradients.cols);
  } catch (const InputError& error) {
    throw FatalError(error.what());
  }

  TcavAnalysis analysis(frames, gradients, concepts, config_.options, config_.jobs, context_);
  analysis.run();
  if (!context_.job_ranks().is_root()) return;
  const auto& results = analysis.results();

  // Labels, parents and children from the hierarchy, among the concepts tested.
  std::unordered_map<std::string, std::size_t> tested;
  for (std::size_t i = 0; i < concepts.size(); ++i) tested.emplace(concepts[i].id, i);
  std::vector<std::string> labels(concepts.size());
  std::vector<HierarchyGraph::Edge> tested_links;
  for (std::size_t i = 0; i < concepts.size(); ++i) labels[i] = concepts[i].id;
  if (hierarchy) {
    std::vector<std::optional<std::size_t>> node_concept(hierarchy->nodes.size());
    for (std::size_t n = 0; n < hierarchy->nodes.size(); ++n) {
      const auto found = tested.find(hierarchy->nodes[n].id);
      if (found == tested.end()) continue;
      node_concept[n] = found->second;
      if (!hierarchy->nodes[n].label.empty()) labels[found->second] = hierarchy->nodes[n].label;
    }
    for (const auto& link : hierarchy->links) {
      if (link.parent >= node_concept.size() || link.child >= node_concept.size()) continue;
      const auto parent = node_concept[link.parent], child = node_concept[link.child];
      if (!parent || !child) continue;
      tested_links.push_back({static_cast<HierarchyGraph::Node>(*parent), static_cast<HierarchyGraph::Node>(*child)});
    }
  }
  const HierarchyGraph tested_graph(concepts.size(), tested_links);
  SubtreeAgreement agreement(tested_graph, results);

  nlohmann::ordered_json json_concepts = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < concepts.size(); ++i) {
    const TcavResult& r = results[i];
    nlohmann::ordered_json entry = {{"id", concepts[i].id},
                                    {"label", labels[i]},
                                    {"type", set.types.empty() ? "" : set.types[rows[i]]},
                                    {"n_tracks", concepts[i].tracks.size()},
                                    {"null_size", r.null_size},
                                    {"score", runs_json(r.score)},
                                    {"magnitude", runs_json(r.magnitude)},
                                    {"sensitivity", runs_json(r.sensitivity)},
                                    {"random", runs_json(r.score_test.random)},
                                    {"random_sensitivity", runs_json(r.sensitivity_test.random)},
                                    {"tests", {{"score", test_json(r.score_test)}, {"sensitivity", test_json(r.sensitivity_test)}}},
                                    {"significant", r.significant},
                                    {"direction", r.direction},
                                    {"runs_test",
                                     {{"random", runs_json(r.runs_test.random)},
                                      {"t", number_or_null(r.runs_test.t)},
                                      {"df", number_or_null(r.runs_test.df)},
                                      {"p_welch", number_or_null(r.runs_test.p_welch)},
                                      {"p_permutation", number_or_null(r.runs_test.p_permutation)},
                                      {"q_welch", number_or_null(r.runs_test.q_welch)},
                                      {"q_permutation", number_or_null(r.runs_test.q_permutation)}}}};
    nlohmann::ordered_json parent_ids = nlohmann::ordered_json::array(), child_ids = nlohmann::ordered_json::array();
    const auto node = static_cast<HierarchyGraph::Node>(i);
    for (const HierarchyGraph::Node p : tested_graph.parents(node)) parent_ids.push_back(concepts[p].id);
    for (const HierarchyGraph::Node c : tested_graph.children(node)) child_ids.push_back(concepts[c].id);
    entry["parents"] = std::move(parent_ids);
    entry["children"] = std::move(child_ids);
    if (hierarchy && !tested_graph.children(node).empty()) {
      entry["subtree_agrees"] = agreement.direction(node) != 0;
    } else {
      entry["subtree_agrees"] = nullptr;
    }
    json_concepts.push_back(std::move(entry));
    summary_.significant += r.significant ? 1 : 0;
  }
  const TcavOptions& o = config_.options;
  nlohmann::ordered_json json = {
      {"format", kTcavFormat},
      {"format_version", 1},
      {"tool_version", std::string("conceptree ") + kVersion},
      {"target", config_.target},
      {"layer", set.layer},
      {"inputs", gradients.rows},
      {"tracks", scored.size()},
      {"cav", choice_name(o.cav)},
      {"test", choice_name(o.test)},
      {"runs", o.runs},
      {"random_runs", o.random_runs},
      {"null_size_step", o.null_size_step},
      {"permutations", o.permutations},
      {"alpha", o.alpha},
      {"seed", o.seed},
      {"negative_ratio", o.negative_ratio},
      {"regularization", o.regularization},
      {"method", "per run, a CAV (" + std::string(choice_name(o.cav)) + ") of the concept's tracks against a new sample of negatives; TCAV score: share of "
                 "inputs whose directional derivative along it is positive; sensitivity: mean derivative along the unit CAV over the mean "
                 "gradient norm; null: random track sets of the concept's size, each scored like a concept; verdict (" + std::string(choice_name(o.test)) + "): the "
                 "concept's mean against the random concepts' means, two-sided prediction t-test, Benjamini-Hochberg q-values over the "
                 "concepts tested, significant when q < alpha; beside it a Monte Carlo rank test (p >= 1/(random concepts + 1)); "
                 "runs_test: tf/tcav's Welch t-test and permutation test of the score runs against single random runs, for comparison only"},
      {"embeddings", fs::absolute(config_.embeddings).string()},
      {"concept_set", fs::absolute(config_.concepts).string()},
      {"hierarchy", hierarchy.has_value()},
      {"concepts", std::move(json_concepts)}};
  write_file_atomically(config_.output, json.dump(1) + "\n");
  if (!config_.html.empty()) write_file_atomically(config_.html, tcav_page_html(json));

  summary_.concepts = concepts.size();
  summary_.inputs = gradients.rows;
  summary_.tracks = scored.size();
  summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace conceptree
