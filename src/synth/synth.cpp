#include "conceptree/synth.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <random>
#include <unordered_set>

#include "conceptree/atomic_file.hpp"
#include "conceptree/error.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/progress.hpp"
#include "conceptree/store.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

struct PlantedConcept {
  std::string name;
  std::string type;
  std::string family;                  // "" for a family itself
  std::vector<float> direction;        // unit length; empty for families (their tracks carry members' directions)
  std::vector<std::uint32_t> tracks;   // sorted
};

std::vector<float> random_unit(std::mt19937_64& rng, std::uint64_t dim) {
  std::normal_distribution<float> normal;
  std::vector<float> v(dim);
  double norm = 0;
  for (auto& x : v) {
    x = normal(rng);
    norm += double(x) * x;
  }
  for (auto& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

std::vector<std::uint32_t> sample_tracks(std::mt19937_64& rng, std::uint64_t population, std::uint64_t count) {
  std::unordered_set<std::uint32_t> chosen;
  std::uniform_int_distribution<std::uint64_t> pick(0, population - 1);
  while (chosen.size() < count) chosen.insert(static_cast<std::uint32_t>(pick(rng)));
  std::vector<std::uint32_t> tracks(chosen.begin(), chosen.end());
  std::sort(tracks.begin(), tracks.end());
  return tracks;
}

std::vector<PlantedConcept> plant_concepts(const SynthConfig& config, std::mt19937_64& rng) {
  std::vector<PlantedConcept> concepts;
  const std::uint64_t max_size = std::min(config.max_concept_tracks, config.tracks);
  const std::uint64_t min_size = std::min(config.min_concept_tracks, max_size);
  std::uniform_int_distribution<std::uint64_t> size(min_size, max_size);
  std::normal_distribution<float> normal;
  for (std::uint64_t g = 0; g < config.families; ++g) {
    const std::string family = fmt::format("family{:02}", g);
    const auto family_direction = random_unit(rng, config.dim);
    std::vector<std::uint32_t> family_pool;
    std::vector<PlantedConcept> members;
    for (std::uint64_t k = 0; k < config.concepts_per_family; ++k) {
      PlantedConcept member{fmt::format("{}_c{:02}", family, k), "concept", family, {}, {}};
      member.direction.resize(config.dim);
      double norm = 0;
      for (std::uint64_t d = 0; d < config.dim; ++d) {
        member.direction[d] = family_direction[d] + static_cast<float>(config.spread) * normal(rng) / std::sqrt(float(config.dim));
        norm += double(member.direction[d]) * member.direction[d];
      }
      for (auto& x : member.direction) x = static_cast<float>(x / std::sqrt(norm));
      member.tracks = sample_tracks(rng, config.tracks, size(rng));
      family_pool.insert(family_pool.end(), member.tracks.begin(), member.tracks.end());
      members.push_back(std::move(member));
    }
    std::sort(family_pool.begin(), family_pool.end());
    family_pool.erase(std::unique(family_pool.begin(), family_pool.end()), family_pool.end());
    PlantedConcept family_concept{family, "family", "", {}, {}};
    const std::uint64_t family_size = std::min<std::uint64_t>(family_pool.size(), max_size);
    std::sample(family_pool.begin(), family_pool.end(), std::back_inserter(family_concept.tracks), family_size, rng);
    concepts.push_back(std::move(family_concept));
    for (auto& member : members) concepts.push_back(std::move(member));
  }
  return concepts;
}

std::string track_id(std::uint64_t index) { return fmt::format("track{:07}", index); }

}  // namespace

SyntheticCorpus::SyntheticCorpus(SynthConfig config, const Context& context) : config_(std::move(config)), context_(context) {}

void SyntheticCorpus::run() {
  validate(config_);
  const fs::path folder(config_.output);
  summary_ = {};
  summary_.memberships = folder / "memberships.tsv";
  summary_.truth = folder / "truth.tsv";
  if (fs::exists(summary_.memberships) && !config_.overwrite) {
    throw FatalError(folder.string() + ": already holds a corpus (pass --overwrite to replace it)");
  }
  fs::create_directories(folder);

  std::mt19937_64 rng(config_.seed);
  const auto concepts = plant_concepts(config_, rng);
  std::vector<std::vector<std::uint32_t>> concepts_of_track(config_.tracks);
  for (std::uint32_t c = 0; c < concepts.size(); ++c) {
    if (concepts[c].direction.empty()) continue;
    for (auto t : concepts[c].tracks) concepts_of_track[t].push_back(c);
  }

  std::string memberships = "concept\ttrack_id\ttype\n";
  std::string truth = "child\tparent\n";
  for (const auto& planted : concepts) {
    for (auto t : planted.tracks) memberships += planted.name + "\t" + track_id(t) + "\t" + planted.type + "\n";
    summary_.memberships_count += planted.tracks.size();
    if (!planted.family.empty()) truth += planted.name + "\t" + planted.family + "\n";
  }
  summary_.concepts = concepts.size();

  const std::uint64_t dim = config_.dim;
  const std::uint64_t frames = config_.frames;
  const std::uint64_t track_values = frames * dim;
  const int threads = config_.jobs > 0 ? config_.jobs : omp_get_max_threads();
  // Each track draws from its own stream, so the corpus does not depend on the thread count.
  auto generate = [&](std::uint64_t track, float* out) {
    std::mt19937_64 track_rng(config_.seed * 0x9E3779B97F4A7C15ull + track + 1);
    std::normal_distribution<float> normal;
    std::vector<float> signal(dim, 0.0f);
    for (auto c : concepts_of_track[track])
      for (std::uint64_t d = 0; d < dim; ++d) signal[d] += static_cast<float>(config_.signal) * concepts[c].direction[d];
    for (std::uint64_t f = 0; f < frames; ++f)
      for (std::uint64_t d = 0; d < dim; ++d) out[f * dim + d] = signal[d] + normal(track_rng);
  };

  Progress progress(context_, "synth", config_.tracks);
  const std::uint64_t batch = 4096;
  std::vector<float> values(std::min(batch, config_.tracks) * track_values);
  std::optional<AtomicOutput> store_output;
  std::optional<EmbeddingStoreWriter> store;
  std::vector<float> all_values;
  if (config_.layout == SynthLayout::NpyDir) {
    summary_.embeddings = folder / "embeddings";
    fs::create_directories(summary_.embeddings);
  } else if (config_.layout == SynthLayout::Npy) {
    summary_.embeddings = folder / "embeddings.npy";
    all_values.resize(config_.tracks * track_values);
  } else {
    summary_.embeddings = folder / "store.h5";
    store_output.emplace(summary_.embeddings);
    store.emplace(EmbeddingStoreWriter::create(store_output->temp_path(), {{"embedding", dim}},
                                               {.backbone = "synthetic", .source = "synth seed " + std::to_string(config_.seed)}));
  }
  for (std::uint64_t start = 0; start < config_.tracks; start += batch) {
    const std::uint64_t end = std::min(config_.tracks, start + batch);
    float* target = config_.layout == SynthLayout::Npy ? all_values.data() + start * track_values : values.data();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::uint64_t t = start; t < end; ++t) generate(t, target + (t - start) * track_values);
    if (config_.layout == SynthLayout::NpyDir) {
      const std::uint64_t shape[] = {frames, dim};
#pragma omp parallel for num_threads(threads) schedule(static)
      for (std::uint64_t t = start; t < end; ++t) {
        write_npy(summary_.embeddings / (track_id(t) + ".npy"),
                  std::span<const float>(target + (t - start) * track_values, track_values), shape);
      }
    } else if (store) {
      for (std::uint64_t t = start; t < end; ++t)
        store->append(track_id(t), std::span<const float>(target + (t - start) * track_values, track_values), frames);
    }
    progress.advance(end - start);
  }
  progress.finish();
  if (config_.layout == SynthLayout::Npy) {
    const std::uint64_t shape[] = {config_.tracks * frames, dim};
    write_npy(summary_.embeddings, all_values, shape);
    std::vector<std::uint64_t> offsets(config_.tracks + 1);
    for (std::uint64_t t = 0; t <= config_.tracks; ++t) offsets[t] = t * frames;
    const std::uint64_t offsets_shape[] = {offsets.size()};
    summary_.offsets = folder / "offsets.npy";
    write_npy(summary_.offsets, offsets, offsets_shape);
    std::string ids;
    for (std::uint64_t t = 0; t < config_.tracks; ++t) ids += track_id(t) + "\n";
    summary_.ids = folder / "ids.txt";
    write_file_atomically(summary_.ids, ids);
  }
  if (store) {
    store->close();
    store_output->commit();
  }
  summary_.frames = config_.tracks * frames;
  write_file_atomically(summary_.truth, truth);
  // Written last: its presence marks a finished corpus.
  write_file_atomically(summary_.memberships, memberships);
}

}  // namespace conceptree
