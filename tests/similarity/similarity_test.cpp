// Concept similarity end to end through the command line (synth -> train -> similarity ->
// hierarchy), checked against an independent numpy computation, plus the similarity file's
// reader and the errors a user can run into.

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "conceptree/batch_errors.hpp"
#include "conceptree/concept_set.hpp"
#include "conceptree/error.hpp"
#include "conceptree/hierarchy.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/similarity.hpp"
#include "conceptree/sparse_similarity.hpp"
#include "conceptree/store.hpp"
#include "hdf5/hdf5.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using conceptree::testing::input_error_from;
using conceptree::testing::python_with_h5py;
using conceptree::testing::quoted_args;
using conceptree::testing::read_text;
using conceptree::testing::run_cli;
using conceptree::testing::run_python_script;
using conceptree::testing::ScratchDir;
using conceptree::testing::shell_quote;
using conceptree::testing::write_text;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A synthetic corpus (3 families of 4 concepts, 600 tracks) and the concept set trained on it:
// DIR/corpus/store.h5, DIR/corpus/memberships.tsv, DIR/concepts.h5.
void make_trained_concepts(const ScratchDir& dir) {
  const auto synth = run_cli(quoted_args({"synth", "-o", (dir / "corpus").string(), "--layout", "store", "--tracks", "600", "--families", "3",
                                          "--concepts-per-family", "4", "--min-concept-tracks", "39", "--max-concept-tracks", "120"}));
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  const auto train = run_cli(quoted_args({"train", "-e", (dir / "corpus" / "store.h5").string(), "-m",
                                          (dir / "corpus" / "memberships.tsv").string(), "-o", (dir / "concepts.h5").string()}));
  ASSERT_EQ(train.exit_code, 0) << train.err;
}

// `conceptree similarity` on DIR/concepts.h5 (and the corpus store when `with_store`) into `output`.
testing::CommandResult similarity_cli(const ScratchDir& dir, const fs::path& output, bool with_store, const std::string& extra = "") {
  std::string arguments = quoted_args({"similarity", "-c", (dir / "concepts.h5").string(), "-o", output.string()});
  if (with_store) arguments += " " + quoted_args({"-e", (dir / "corpus" / "store.h5").string()});
  return run_cli(arguments + " " + extra);
}

// Recomputes a similarity file from the concept set (and store) with numpy in float64, straight
// from the documented layouts, and compares: names, support, every value and (activation) the base
// rates to 1e-5.
//   check_similarity.py activation STORE CONCEPTS SIMILARITY
//   check_similarity.py cosine CONCEPTS SIMILARITY
constexpr const char* kCheckSimilarity = R"(
import sys
import h5py
import numpy as np

measure = sys.argv[1]
concepts_path = sys.argv[-2]
similarity_path = sys.argv[-1]

with h5py.File(concepts_path, "r") as f:
    names = list(f["concepts/names"].asstr()[:])
    kept = np.flatnonzero(f["concepts/kept"][:])
    layer = list(f["cav"].keys())[0]
    weights = f[f"cav/{layer}/weights"][:].astype(np.float64)[kept]
    bias = f[f"cav/{layer}/bias"][:].astype(np.float64)[kept]
    if measure == "activation":
        split_ids = list(f["splits/track_ids"].asstr()[:])
        test_offsets = f["splits/test/positive/offsets"][:]
        test_indices = f["splits/test/positive/indices"][:]

if measure == "activation":
    with h5py.File(sys.argv[2], "r") as f:
        row_of = {track: i for i, track in enumerate(f["tracks/ids"].asstr()[:])}
        offsets = f["tracks/offsets"][:]
        frames = f[f"frames/{layer}"][:].astype(np.float64)
    expected = np.zeros((len(kept), len(kept)))
    expected_support = []
    activation_of = {}
    for r, k in enumerate(kept):
        tracks = test_indices[test_offsets[k]:test_offsets[k + 1]]
        assert len(tracks) > 0, names[k]
        per_track = []
        for t in tracks:
            i = row_of[split_ids[t]]
            x = frames[offsets[i]:offsets[i + 1]]
            per_track.append((1.0 / (1.0 + np.exp(-(x @ weights.T + bias)))).mean(axis=0))
            activation_of[i] = per_track[-1]
        expected[r] = np.mean(per_track, axis=0)
        expected_support.append(len(tracks))
else:
    augmented = np.hstack([weights, bias[:, None]])
    augmented /= np.linalg.norm(augmented, axis=1, keepdims=True)
    expected = augmented @ augmented.T
    expected_support = [0] * len(kept)

with h5py.File(similarity_path, "r") as f:
    actual = f["similarity"][:]
    actual_names = list(f["names"].asstr()[:])
    actual_support = list(f["support"][:])
    actual_base_rate = f["base_rate"][:] if "base_rate" in f else None
    actual_measure = f.attrs["measure"]
    if isinstance(actual_measure, bytes):
        actual_measure = actual_measure.decode()

problems = []
if actual_measure != measure:
    problems.append(f"measure {actual_measure!r}, expected {measure!r}")
if actual_names != [names[k] for k in kept]:
    problems.append(f"names {actual_names}, expected the kept concepts {[names[k] for k in kept]}")
if actual_support != expected_support:
    problems.append(f"support {actual_support}, expected {expected_support}")
if actual.dtype != np.float32 or actual.shape != expected.shape:
    problems.append(f"similarity {actual.dtype} {actual.shape}, expected float32 {expected.shape}")
else:
    difference = np.abs(actual.astype(np.float64) - expected).max()
    print(f"largest difference {difference:.3g} over {expected.size} values")
    if difference > 1e-5:
        problems.append(f"largest difference {difference}")
if measure == "activation":
    expected_base_rate = np.mean(list(activation_of.values()), axis=0)
    if actual_base_rate is None:
        problems.append("no /base_rate")
    elif np.abs(actual_base_rate - expected_base_rate).max() > 1e-5:
        problems.append(f"base rates {actual_base_rate}, expected the mean over the distinct test tracks {expected_base_rate}")
elif actual_base_rate is not None:
    problems.append("a cosine similarity with base rates")
if problems:
    sys.exit("; ".join(problems))
)";

TEST(SimilarityCli, ActivationMatchesAnIndependentNumpyComputation) {
  ScratchDir dir;
  ASSERT_NO_FATAL_FAILURE(make_trained_concepts(dir));
  const auto computed = similarity_cli(dir, dir / "sim.h5", true);
  ASSERT_EQ(computed.exit_code, 0) << computed.err;

  const ConceptSet set = read_concept_set(dir / "concepts.h5");
  std::vector<std::string> kept_names;
  for (std::size_t k = 0; k < set.size(); ++k) {
    if (set.kept[k]) kept_names.push_back(set.names[k]);
  }
  EXPECT_LT(kept_names.size(), set.size()) << "some concept should miss the accuracy cut, so leaving it out is tested";
  const SimilarityMatrix s = read_similarity(dir / "sim.h5");
  EXPECT_EQ(s.measure, "activation");
  EXPECT_EQ(s.names, kept_names);
  bool asymmetric = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    EXPECT_GT(s.support[i], 0u) << s.names[i];
    for (std::size_t j = 0; j < s.size(); ++j) {
      EXPECT_GT(s.at(i, j), 0.0f);
      EXPECT_LT(s.at(i, j), 1.0f);
      asymmetric |= s.at(i, j) != s.at(j, i);
    }
  }
  EXPECT_TRUE(asymmetric) << "activation similarity is not symmetric in general";

  const std::string python = python_with_h5py();
  if (python.empty()) GTEST_SKIP() << "no /usr/bin/python3 with numpy and h5py for the independent check";
  const auto checked = run_python_script(python, dir / "check_similarity.py", kCheckSimilarity,
                                         {"activation", (dir / "corpus" / "store.h5").string(), (dir / "concepts.h5").string(),
                                          (dir / "sim.h5").string()});
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
}

TEST(SimilarityCli, BothGemmPathsMatchNumpy) {
  // OpenBLAS held to its AVX2 kernels makes an AVX-512 build use Eigen's GEMM; its AVX-512 kernels
  // make it use OpenBLAS. Both must give the same similarity.
  ScratchDir dir;
  ASSERT_NO_FATAL_FAILURE(make_trained_concepts(dir));
  std::vector<std::string> cores = {"Haswell"};
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd")) {
    cores.push_back("SkylakeX");
  }
  const std::string python = python_with_h5py();
  for (const auto& core : cores) {
    const fs::path output = dir / ("sim_" + core + ".h5");
    const auto computed = conceptree::testing::run_command(
        fmt::format("OPENBLAS_CORETYPE={} {} {}", core, shell_quote(CONCEPTREE_CLI),
                    quoted_args({"similarity", "-c", (dir / "concepts.h5").string(), "-e", (dir / "corpus" / "store.h5").string(), "-o",
                                 output.string()})));
    ASSERT_EQ(computed.exit_code, 0) << core << ": " << computed.err;
    EXPECT_TRUE(contains(computed.err, "GFLOP/s, ")) << computed.err;
    if (python.empty()) continue;
    const auto checked = run_python_script(python, dir / "check_similarity.py", kCheckSimilarity,
                                           {"activation", (dir / "corpus" / "store.h5").string(), (dir / "concepts.h5").string(), output.string()});
    EXPECT_EQ(checked.exit_code, 0) << core << ": " << checked.out << checked.err;
  }
}

TEST(SimilarityCli, WithoutEmbeddingsItIsTheCosineOfWeightsAndBias) {
  ScratchDir dir;
  ASSERT_NO_FATAL_FAILURE(make_trained_concepts(dir));
  const auto computed = similarity_cli(dir, dir / "cos.h5", false);
  ASSERT_EQ(computed.exit_code, 0) << computed.err;

  const SimilarityMatrix s = read_similarity(dir / "cos.h5");
  EXPECT_EQ(s.measure, "cosine");
  ASSERT_GT(s.size(), 1u);
  for (std::size_t i = 0; i < s.size(); ++i) {
    EXPECT_NEAR(s.at(i, i), 1.0f, 1e-6f) << s.names[i];
    EXPECT_EQ(s.support[i], 0u);
    for (std::size_t j = 0; j < s.size(); ++j) EXPECT_EQ(s.at(i, j), s.at(j, i)) << i << ", " << j;
  }

  const std::string python = python_with_h5py();
  if (python.empty()) GTEST_SKIP() << "no /usr/bin/python3 with numpy and h5py for the independent check";
  const auto checked = run_python_script(python, dir / "check_similarity.py", kCheckSimilarity,
                                         {"cosine", (dir / "concepts.h5").string(), (dir / "cos.h5").string()});
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
}

TEST(SimilarityCli, OneAndTwoThreadsWriteByteIdenticalFiles) {
  ScratchDir dir;
  ASSERT_NO_FATAL_FAILURE(make_trained_concepts(dir));
  const auto one = similarity_cli(dir, dir / "one.h5", true, "--jobs 1");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto two = similarity_cli(dir, dir / "two.h5", true, "--jobs 2");
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const std::string one_bytes = read_text(dir / "one.h5");
  EXPECT_FALSE(one_bytes.empty());
  EXPECT_TRUE(one_bytes == read_text(dir / "two.h5")) << "the files differ";
}

TEST(SimilarityCli, ActivationInTheSparseLayoutKeepsTheDenseValuesAndBaseRates) {
  ScratchDir dir;
  ASSERT_NO_FATAL_FAILURE(make_trained_concepts(dir));
  const auto dense_run = similarity_cli(dir, dir / "dense.h5", true);
  ASSERT_EQ(dense_run.exit_code, 0) << dense_run.err;
  // --top-k 1 and --keep-above 0.3: row and column maxima plus everything above 0.3.
  const auto sparse_run = similarity_cli(dir, dir / "sparse.h5", true, "--layout sparse --top-k 1 --keep-above 0.3");
  ASSERT_EQ(sparse_run.exit_code, 0) << sparse_run.err;
  const SimilarityMatrix dense = read_similarity(dir / "dense.h5");
  const SparseSimilarity sparse = read_sparse_similarity(dir / "sparse.h5");
  EXPECT_EQ(sparse.names, dense.names);
  EXPECT_EQ(sparse.support, dense.support);
  EXPECT_EQ(sparse.base_rate, dense.base_rate);
  EXPECT_EQ(sparse.sparsity.top_k, 1u);
  EXPECT_EQ(sparse.sparsity.keep_above, 0.3);
  const SparseSimilarity expected = sparsify(dense, sparse.sparsity);
  EXPECT_EQ(sparse.offsets, expected.offsets);
  EXPECT_EQ(sparse.columns, expected.columns);
  EXPECT_EQ(sparse.values, expected.values);
  EXPECT_EQ(sparse.column_mean, generality(dense));

  // The calibrated hierarchy the dense file gives, where the kept entries decide it (top1 keeps
  // each column's maximum, which lift does not reorder).
  for (const char* file : {"dense", "sparse"}) {
    const auto hierarchy = run_cli(quoted_args({"hierarchy", "-s", (dir / fmt::format("{}.h5", file)).string(), "-o",
                                                (dir / fmt::format("{}.tsv", file)).string(), "--method", "top1", "--calibration", "lift",
                                                "--threshold", "0.99"}));
    ASSERT_EQ(hierarchy.exit_code, 0) << file << ": " << hierarchy.err;
  }
  EXPECT_EQ(read_text(dir / "sparse.tsv"), read_text(dir / "dense.tsv"));
}

TEST(SimilarityCli, ActivationWithoutEmbeddingsIsAClearError) {
  ScratchDir dir;
  ASSERT_NO_FATAL_FAILURE(make_trained_concepts(dir));
  const auto result = similarity_cli(dir, dir / "sim.h5", false, "--measure activation");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(contains(result.err, "--embeddings")) << result.err;
  EXPECT_FALSE(fs::exists(dir / "sim.h5"));
}

TEST(SimilarityCli, AnExistingOutputIsKeptUnlessOverwriteIsGiven) {
  ScratchDir dir;
  ASSERT_NO_FATAL_FAILURE(make_trained_concepts(dir));
  write_text(dir / "sim.h5", "precious");
  const auto refused = similarity_cli(dir, dir / "sim.h5", true);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.err, "already exists")) << refused.err;
  EXPECT_EQ(read_text(dir / "sim.h5"), "precious");

  const auto replaced = similarity_cli(dir, dir / "sim.h5", true, "--overwrite");
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  EXPECT_EQ(read_similarity(dir / "sim.h5").measure, "activation");
}

TEST(SimilarityCli, ImportedCavsHaveNoTestTracksSoActivationPointsToCosine) {
  ScratchDir dir;
  // Three 4-dimensional CAVs learned elsewhere, and a store of the same layer to score them on.
  const std::vector<float> weights = {1, 0, 0, 0, 0, 1, 0, 0, 0.5f, 0.5f, 0, 1};
  const std::vector<float> bias = {0.1f, -0.2f, 0.3f};
  const std::uint64_t weights_shape[] = {3, 4};
  const std::uint64_t bias_shape[] = {3};
  write_npy(dir / "weights.npy", weights, weights_shape);
  write_npy(dir / "bias.npy", bias, bias_shape);
  write_text(dir / "names.txt", "jazz\nrock\nchill\n");
  {
    auto store = EmbeddingStoreWriter::create(dir / "store.h5", {{"pool5", 4}}, StoreProvenance{});
    const std::vector<float> frames = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
    store.append("track", frames, 2);
    store.close();
  }
  const auto imported = run_cli(quoted_args({"cavs", "import", "--weights", (dir / "weights.npy").string(), "--bias",
                                             (dir / "bias.npy").string(), "--names", (dir / "names.txt").string(), "--layer", "pool5",
                                             "-o", (dir / "cavs.h5").string()}));
  ASSERT_EQ(imported.exit_code, 0) << imported.err;

  const auto activation = run_cli(quoted_args({"similarity", "-c", (dir / "cavs.h5").string(), "-e", (dir / "store.h5").string(), "-o",
                                               (dir / "activation.h5").string()}));
  EXPECT_NE(activation.exit_code, 0);
  EXPECT_TRUE(contains(activation.err, "cosine")) << activation.err;
  EXPECT_FALSE(fs::exists(dir / "activation.h5"));

  const auto cosine = run_cli(quoted_args({"similarity", "-c", (dir / "cavs.h5").string(), "-o", (dir / "cosine.h5").string()}));
  ASSERT_EQ(cosine.exit_code, 0) << cosine.err;
  const SimilarityMatrix s = read_similarity(dir / "cosine.h5");
  EXPECT_EQ(s.names, (std::vector<std::string>{"jazz", "rock", "chill"}));
  // [1 0 0 0 0.1] . [0 1 0 0 -0.2] / (|.| |.|)
  EXPECT_NEAR(s.at(0, 1), -0.02 / std::sqrt(1.01 * 1.04), 1e-6);
}

TEST(SimilarityCli, HierarchyFromTheSimilarityInEveryFormat) {
  ScratchDir dir;
  ASSERT_NO_FATAL_FAILURE(make_trained_concepts(dir));
  const auto computed = similarity_cli(dir, dir / "sim.h5", true);
  ASSERT_EQ(computed.exit_code, 0) << computed.err;
  const SimilarityMatrix s = read_similarity(dir / "sim.h5");

  const auto extracted = run_cli(quoted_args({"hierarchy", "-s", (dir / "sim.h5").string(), "-o", (dir / "tree.json").string()}));
  ASSERT_EQ(extracted.exit_code, 0) << extracted.err;
  const Hierarchy tree = read_hierarchy_json(dir / "tree.json");
  ASSERT_EQ(tree.nodes.size(), s.size());
  for (std::size_t i = 0; i < s.size(); ++i) EXPECT_EQ(tree.nodes[i].id, s.names[i]);
  EXPECT_FALSE(tree.links.empty());
  EXPECT_EQ(tree.max_parents(), 1u);
  for (const auto& link : tree.links) {
    EXPECT_EQ(link.weight, s.at(link.parent, link.child)) << tree.nodes[link.parent].id << " -> " << tree.nodes[link.child].id;
  }
  // Calibrated, the links weigh S against the base rates the similarity file keeps.
  ASSERT_EQ(s.base_rate.size(), s.size());
  const auto lifted = run_cli(quoted_args({"hierarchy", "-s", (dir / "sim.h5").string(), "-o", (dir / "lift.json").string(), "--calibration", "lift"}));
  ASSERT_EQ(lifted.exit_code, 0) << lifted.err;
  const SimilarityMatrix lift = calibrate(s, Calibration::Lift);
  for (const auto& link : read_hierarchy_json(dir / "lift.json").links) {
    EXPECT_EQ(link.weight, lift.at(link.parent, link.child));
    EXPECT_GT(link.weight, 0.0F) << "above the base rate";
  }
  const auto paper = run_cli(quoted_args({"hierarchy", "-s", (dir / "sim.h5").string(), "-o", (dir / "paper.json").string(), "--paper"}));
  ASSERT_EQ(paper.exit_code, 0) << paper.err;
  for (const auto& link : read_hierarchy_json(dir / "paper.json").links) EXPECT_GT(link.weight, 0.2F) << "the paper's --min-sim";
  const auto mixed = run_cli(quoted_args({"hierarchy", "-s", (dir / "sim.h5").string(), "-o", (dir / "mixed.json").string(), "--paper", "--order", "generality"}));
  EXPECT_NE(mixed.exit_code, 0);
  EXPECT_NE(mixed.err.find("--paper fixes"), std::string::npos) << mixed.err;
  const auto method = std::find_if(tree.params.begin(), tree.params.end(), [](const auto& param) { return param.first == "method"; });
  ASSERT_NE(method, tree.params.end());
  EXPECT_EQ(method->second, HierarchyParam(std::string("heymann")));

  // --format wins over the output's extension.
  struct Case {
    std::string format;
    std::string starts_with;
  };
  for (const Case& c : {Case{"graphml", "<?xml"}, Case{"dot", "digraph"}, Case{"newick", ""}, Case{"tsv", "child\tparent\n"}}) {
    const fs::path output = dir / fmt::format("tree_{}.txt", c.format);
    const auto written = run_cli(quoted_args({"hierarchy", "-s", (dir / "sim.h5").string(), "-o", output.string(), "--format", c.format}));
    ASSERT_EQ(written.exit_code, 0) << c.format << ": " << written.err;
    const std::string text = read_text(output);
    EXPECT_TRUE(text.starts_with(c.starts_with)) << c.format << ":\n" << text;
    EXPECT_EQ(text, format_hierarchy(tree, *parse_choice<HierarchyFormat>(c.format))) << c.format << ": the file should match the JSON's hierarchy";
  }
}

// ---------------------------------------------------------------------------------------------
// Activation similarity in memory, at sizes the command-line corpus does not reach

// `count` draws from a normal distribution of mean 0 and standard deviation `scale`.
std::vector<float> normal_values(std::mt19937_64& rng, std::size_t count, float scale) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> values(count);
  for (float& value : values) value = normal(rng);
  return values;
}

TEST(SimilarityActivation, ManyConceptsAndTestTracksMatchAPlainComputation) {
  // More kept concepts than one GEMM slice (512) and more test tracks than one read wave (2048),
  // with 1-3 frames per track; split ids in a different order from the store's; every 7th
  // concept below the accuracy cut; concept 3 with one test track missing from the store and
  // concept 5 with nothing but that track.
  ScratchDir dir;
  const std::size_t tracks = 2600;
  const std::size_t dim = 5;
  const std::size_t concepts = 600;
  const std::size_t tracks_per_concept = 10;
  std::mt19937_64 rng(9);
  std::vector<std::vector<float>> frames(tracks);
  {
    auto writer = EmbeddingStoreWriter::create(dir / "store.h5", {{"emb", dim}}, StoreProvenance{});
    for (std::size_t t = 0; t < tracks; ++t) {
      const std::size_t count = 1 + t % 3;
      frames[t] = normal_values(rng, count * dim, 1.0f);
      writer.append(fmt::format("track{}", t), frames[t], count);
    }
    writer.close();
  }
  const EmbeddingStore store(dir / "store.h5");

  ConceptSet set;
  set.layer = "emb";
  set.dim = dim;
  set.weights = normal_values(rng, concepts * dim, 0.7f);
  set.bias = normal_values(rng, concepts, 0.5f);
  for (std::size_t k = 0; k < concepts; ++k) {
    set.names.push_back(fmt::format("concept{}", k));
    set.types.push_back("concept");
    set.kept.push_back(k % 7 == 6 ? 0 : 1);
  }
  // Split index s names store track (tracks - 1 - s); the last split id is not in the store.
  for (std::size_t s = 0; s < tracks; ++s) set.splits.track_ids.push_back(fmt::format("track{}", tracks - 1 - s));
  const auto missing = static_cast<std::uint32_t>(tracks);
  set.splits.track_ids.push_back("not_in_the_store");
  std::vector<std::vector<std::size_t>> store_tracks(concepts);  // test tracks the store holds, per concept
  for (std::size_t k = 0; k < concepts; ++k) {
    std::vector<std::uint32_t> test;
    if (k != 5) {
      for (std::size_t m = 0; m < tracks_per_concept; ++m) {
        const auto split_index = static_cast<std::uint32_t>((k * 5 + m) % tracks);
        test.push_back(split_index);
        store_tracks[k].push_back(tracks - 1 - split_index);
      }
    }
    if (k == 3 || k == 5) test.push_back(missing);
    set.splits.test_positive.add(test);
    for (TrackLists* part : {&set.splits.train_positive, &set.splits.train_negative, &set.splits.val_positive,
                             &set.splits.val_negative, &set.splits.test_negative}) {
      part->add({});
    }
  }

  std::vector<std::size_t> expected_rows;  // kept concepts with a test track in the store
  for (std::size_t k = 0; k < concepts; ++k) {
    if (set.kept[k] && !store_tracks[k].empty()) expected_rows.push_back(k);
  }
  ASSERT_GT(expected_rows.size(), 512u);

  BatchErrors errors(false, default_context());
  ActivationStats stats;
  const SimilarityMatrix s = activation_similarity(set, store, 2, errors, &stats);
  EXPECT_GT(stats.tracks, 2048u);
  EXPECT_EQ(stats.excluded_concepts, 1u);
  EXPECT_EQ(errors.count(), 2u) << "concepts 3 and 5 each reported once";
  ASSERT_EQ(s.size(), expected_rows.size());
  for (std::size_t r = 0; r < expected_rows.size(); ++r) {
    ASSERT_EQ(s.names[r], set.names[expected_rows[r]]);
    EXPECT_EQ(s.support[r], store_tracks[expected_rows[r]].size());
  }

  // S[i][j], straight from the definition, in double.
  double largest_difference = 0;
  std::size_t worst = 0;
  for (std::size_t r = 0; r < expected_rows.size(); ++r) {
    const auto& members = store_tracks[expected_rows[r]];
    for (std::size_t c = 0; c < expected_rows.size(); ++c) {
      const std::size_t j = expected_rows[c];
      double sum = 0;
      for (std::size_t t : members) {
        const std::size_t count = frames[t].size() / dim;
        double track_sum = 0;
        for (std::size_t f = 0; f < count; ++f) {
          double score = set.bias[j];
          for (std::size_t d = 0; d < dim; ++d) score += static_cast<double>(set.weights[j * dim + d]) * frames[t][f * dim + d];
          track_sum += 1.0 / (1.0 + std::exp(-score));
        }
        sum += track_sum / static_cast<double>(count);
      }
      const double difference = std::fabs(sum / static_cast<double>(members.size()) - s.at(r, c));
      if (difference > largest_difference) {
        largest_difference = difference;
        worst = r * s.size() + c;
      }
    }
  }
  EXPECT_LT(largest_difference, 1e-5) << "at row " << worst / s.size() << ", column " << worst % s.size();

  BatchErrors quiet(false, default_context());
  EXPECT_EQ(activation_similarity(set, store, 1, quiet).values, s.values) << "one thread and two give the same values";
}

// ---------------------------------------------------------------------------------------------
// The similarity file

SimilarityMatrix small_similarity() {
  SimilarityMatrix s;
  s.measure = "activation";
  s.layer = "pool5";
  s.names = {"a", "b", "c"};
  s.types = {"genre", "genre", "mood"};
  s.values = {1.0f, 0.25f, 0.5f, 0.125f, 1.0f, 0.75f, 0.0f, 0.5f, 1.0f};
  s.support = {3, 4, 5};
  s.base_rate = {0.5f, 0.25f, 0.125f};
  return s;
}

TEST(SimilarityFile, RoundTripsThroughWriteAndRead) {
  ScratchDir dir;
  const SimilarityMatrix written = small_similarity();
  write_similarity(dir / "s.h5", written);
  const SimilarityMatrix read = read_similarity(dir / "s.h5");
  EXPECT_EQ(read.measure, written.measure);
  EXPECT_EQ(read.layer, written.layer);
  EXPECT_EQ(read.names, written.names);
  EXPECT_EQ(read.base_rate, written.base_rate);
  EXPECT_EQ(read.types, written.types);
  EXPECT_EQ(read.values, written.values);
  EXPECT_EQ(read.support, written.support);
}

TEST(SimilarityFile, NonFiniteValuesAreInputErrorsNamingTheFile) {
  ScratchDir dir;
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    SimilarityMatrix s = small_similarity();
    s.values[5] = bad;  // row 1, column 2
    const fs::path path = dir / "bad.h5";
    write_similarity(path, s);
    const auto error = input_error_from([&] { read_similarity(path); });
    ASSERT_TRUE(error.has_value()) << bad << " was accepted";
    EXPECT_EQ(error->item(), path.string());
    EXPECT_TRUE(contains(error->problem(), "[1][2]")) << error->problem();

    // The hierarchy command reports it as the user's file at fault.
    const auto hierarchy = run_cli(quoted_args({"hierarchy", "-s", path.string(), "-o", (dir / "tree.json").string()}));
    EXPECT_NE(hierarchy.exit_code, 0);
    EXPECT_TRUE(contains(hierarchy.err, path.string())) << hierarchy.err;
    EXPECT_FALSE(fs::exists(dir / "tree.json"));
  }
}

// A similarity file with `names` and a /similarity of the given shape, bypassing the writer's checks.
void write_raw_similarity(const fs::path& path, const std::vector<std::string>& names, const std::vector<std::uint64_t>& shape) {
  std::uint64_t count = 1;
  for (auto extent : shape) count *= extent;
  const std::vector<float> values(count, 0.5f);
  h5::File file(path, h5::Mode::Create);
  h5::set_attribute(file.id(), "format", std::string(kSimilarityFormat));
  h5::set_attribute(file.id(), "measure", std::string("activation"));
  h5::write_strings(file.id(), "/names", names);
  h5::write_floats(file.id(), "/similarity", values, shape);
  file.close();
}

TEST(SimilarityFile, AMatrixOfTheWrongShapeIsAnInputErrorNamingTheFile) {
  ScratchDir dir;
  const std::vector<std::string> three = {"a", "b", "c"};
  const std::vector<std::vector<std::uint64_t>> shapes = {{3, 2}, {2, 3}, {4, 4}, {9}, {3, 3, 1}};
  for (const auto& shape : shapes) {
    const fs::path path = dir / fmt::format("shape_{}.h5", fmt::join(shape, "x"));
    write_raw_similarity(path, three, shape);
    const auto error = input_error_from([&] { read_similarity(path); });
    ASSERT_TRUE(error.has_value()) << path << " was accepted";
    EXPECT_EQ(error->item(), path.string());
    EXPECT_TRUE(contains(error->problem(), "3 x 3")) << error->problem();
  }
  // The same writer with the right shape makes a readable file, so the shape was the only fault.
  write_raw_similarity(dir / "right.h5", three, {3, 3});
  EXPECT_EQ(read_similarity(dir / "right.h5").size(), 3u);
}

}  // namespace
}  // namespace conceptree
