#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "conceptree/error.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/store.hpp"
#include "hdf5/hdf5.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

using conceptree::testing::input_error_from;

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ScratchDir;

// ---------------------------------------------------------------------------------------------
// Test data: frames drawn from all finite float bit patterns (subnormals, -0, huge values), so
// any conversion or byte shuffling on the way through HDF5 shows up as a bit difference.

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::vector<float> random_frames(std::uint64_t seed, std::uint64_t frame_count, std::uint64_t dim) {
  std::vector<float> values(frame_count * dim);
  for (std::size_t i = 0; i < values.size(); ++i) {
    auto bits = static_cast<std::uint32_t>(splitmix(seed * 1000003 + i));
    if ((bits & 0x7f800000u) == 0x7f800000u) bits &= ~0x00800000u;  // NaN/Inf exponent: make it finite
    values[i] = std::bit_cast<float>(bits);
  }
  return values;
}

std::vector<std::uint32_t> bits_of(std::span<const float> values) {
  std::vector<std::uint32_t> bits;
  bits.reserve(values.size());
  for (float value : values) bits.push_back(std::bit_cast<std::uint32_t>(value));
  return bits;
}

// What a store should hold: the reference the tests compare the real store against.
struct ExpectedStore {
  std::vector<StoreLayer> layers;
  std::vector<std::string> ids;
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::vector<float>> frames;  // per layer, all tracks back to back

  explicit ExpectedStore(std::vector<StoreLayer> store_layers)
      : layers(std::move(store_layers)), frames(layers.size()) {}

  // Frames derived from the id alone, so a reference can be rebuilt without a writer.
  std::vector<std::vector<float>> frames_for(const std::string& id, std::uint64_t frame_count) const {
    const std::uint64_t seed = std::hash<std::string>{}(id);
    std::vector<std::vector<float>> per_layer;
    for (std::size_t l = 0; l < layers.size(); ++l) per_layer.push_back(random_frames(seed + l, frame_count, layers[l].dim));
    return per_layer;
  }

  // Records a track in the reference only.
  void add(const std::string& id, std::uint64_t frame_count) {
    const auto per_layer = frames_for(id, frame_count);
    for (std::size_t l = 0; l < layers.size(); ++l) frames[l].insert(frames[l].end(), per_layer[l].begin(), per_layer[l].end());
    ids.push_back(id);
    offsets.push_back(offsets.back() + frame_count);
  }

  // Appends a track to the writer and, once the writer has accepted it, to the reference.
  void append(EmbeddingStoreWriter& writer, const std::string& id, std::uint64_t frame_count) {
    std::vector<FrameMatrix> per_layer;
    for (std::size_t l = 0; l < layers.size(); ++l) per_layer.push_back({frame_count, layers[l].dim, {}});
    const auto values = frames_for(id, frame_count);
    for (std::size_t l = 0; l < layers.size(); ++l) per_layer[l].values = values[l];
    writer.append(id, per_layer);
    add(id, frame_count);
  }

  std::span<const float> track(std::size_t layer, std::size_t index) const {
    const std::uint64_t dim = layers[layer].dim;
    return std::span<const float>(frames[layer]).subspan(offsets[index] * dim, (offsets[index + 1] - offsets[index]) * dim);
  }
};

StoreProvenance test_provenance() {
  StoreProvenance provenance;
  provenance.backbone = "musicnn-MSD_vgg";
  provenance.source = "store_test";
  provenance.sample_rate = 16000;
  provenance.frame_hop_seconds = 0.5;
  return provenance;
}

// Checks every track and every frame row of one layer against the reference.
void expect_store_holds(const EmbeddingStore& store, const ExpectedStore& expected, std::size_t layer) {
  ASSERT_EQ(store.ids(), expected.ids);
  ASSERT_EQ(store.offsets(), expected.offsets);
  EXPECT_EQ(store.track_count(), expected.ids.size());
  EXPECT_EQ(store.total_frames(), expected.offsets.back());
  EXPECT_EQ(store.dim(), expected.layers[layer].dim);
  for (std::size_t i = 0; i < expected.ids.size(); ++i) {
    const FrameMatrix matrix = store.read_track(i);
    EXPECT_EQ(matrix.cols, expected.layers[layer].dim);
    EXPECT_EQ(matrix.rows, expected.offsets[i + 1] - expected.offsets[i]);
    EXPECT_EQ(bits_of(matrix.values), bits_of(expected.track(layer, i))) << "track " << expected.ids[i];
  }
  std::vector<float> all(expected.frames[layer].size());
  store.read_rows(0, store.total_frames(), all.data());
  EXPECT_EQ(bits_of(all), bits_of(expected.frames[layer]));
}

// Row counts of the datasets as stored, including rows no committed track vouches for.
struct RawExtents {
  std::uint64_t ids = 0;
  std::uint64_t offsets = 0;
  std::uint64_t frames = 0;
};

RawExtents raw_extents(const fs::path& path, const std::string& layer) {
  const h5::File file(path, h5::Mode::ReadOnly);
  RawExtents extents;
  extents.ids = h5::dims(h5::open_dataset(file.id(), "/tracks/ids", file.name()).id())[0];
  extents.offsets = h5::dims(h5::open_dataset(file.id(), "/tracks/offsets", file.name()).id())[0];
  extents.frames = h5::dims(h5::open_dataset(file.id(), "/frames/" + layer, file.name()).id())[0];
  return extents;
}

const std::vector<StoreLayer> kOneLayer = {{"embedding", 3}};

// ---------------------------------------------------------------------------------------------
// Writing and reading back

TEST(StoreRoundTrip, SingleLayerTracksOffsetsAndFrames) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  ExpectedStore expected(kOneLayer);
  {
    auto writer = EmbeddingStoreWriter::create(path, kOneLayer, test_provenance());
    for (const auto& [id, frames] : std::vector<std::pair<std::string, std::uint64_t>>{
             {"a", 2}, {"b", 5}, {"c", 1}, {"d", 3}, {"e", 4}}) {
      expected.append(writer, id, frames);
    }
    EXPECT_EQ(writer.track_count(), 5u);
    EXPECT_TRUE(writer.contains("c"));
    EXPECT_FALSE(writer.contains("z"));
    writer.close();
  }
  const EmbeddingStore store(path);
  EXPECT_EQ(store.offsets(), (std::vector<std::uint64_t>{0, 2, 7, 8, 11, 15}));
  EXPECT_EQ(store.layer().name, "embedding");
  EXPECT_EQ(store.provenance().backbone, "musicnn-MSD_vgg");
  EXPECT_EQ(store.provenance().source, "store_test");
  EXPECT_EQ(store.provenance().sample_rate, 16000);
  EXPECT_EQ(store.provenance().frame_hop_seconds, 0.5);
  expect_store_holds(store, expected, 0);

  EXPECT_EQ(store.index_of("a"), 0u);
  EXPECT_EQ(store.index_of("d"), 3u);
  EXPECT_EQ(store.index_of("e"), 4u);
  EXPECT_FALSE(store.index_of("A").has_value());
  EXPECT_FALSE(store.index_of("").has_value());
}

TEST(StoreRoundTrip, ReadTracksInRequestedOrderWithAndWithoutContiguousRuns) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  ExpectedStore expected(kOneLayer);
  {
    auto writer = EmbeddingStoreWriter::create(path, kOneLayer, test_provenance());
    for (int i = 0; i < 8; ++i) expected.append(writer, "t" + std::to_string(i), 1 + (i * 5) % 4);
    writer.close();
  }
  const EmbeddingStore store(path);
  const std::vector<std::vector<std::size_t>> requests = {
      {3, 0, 6},        // scattered, out of order
      {2, 3, 4, 5},     // one contiguous run
      {7, 1, 2, 3, 0},  // a run in the middle
      {4, 4},           // a repeat is not a run
      {0, 1, 2, 3, 4, 5, 6, 7},
      {},
  };
  for (const auto& indices : requests) {
    const FrameBatch batch = store.read_tracks(indices);
    ASSERT_EQ(batch.track_count(), indices.size());
    EXPECT_EQ(batch.cols, 3u);
    std::vector<float> concatenated;
    std::vector<std::uint64_t> offsets{0};
    for (std::size_t index : indices) {
      const auto track = expected.track(0, index);
      concatenated.insert(concatenated.end(), track.begin(), track.end());
      offsets.push_back(offsets.back() + track.size() / 3);
    }
    EXPECT_EQ(batch.offsets, offsets) << ::testing::PrintToString(indices);
    EXPECT_EQ(bits_of(batch.values), bits_of(concatenated)) << ::testing::PrintToString(indices);
  }
  const std::vector<std::size_t> out_of_range = {1, 8};
  EXPECT_THROW(store.read_tracks(out_of_range), InputError);
  EXPECT_THROW(store.read_track(8), InputError);
}

TEST(StoreRoundTrip, ReadRowsAcrossTrackBoundariesAndRejectsRowsPastTheEnd) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  ExpectedStore expected(kOneLayer);
  {
    auto writer = EmbeddingStoreWriter::create(path, kOneLayer, test_provenance());
    expected.append(writer, "x", 3);
    expected.append(writer, "y", 4);
    writer.close();
  }
  const EmbeddingStore store(path);
  std::vector<float> rows(4 * 3);
  store.read_rows(1, 4, rows.data());
  const std::span<const float> reference(expected.frames[0]);
  EXPECT_EQ(bits_of(rows), bits_of(reference.subspan(3, 12)));

  const auto error = input_error_from([&] { store.read_rows(5, 3, rows.data()); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), path.string());
}

TEST(StoreRoundTrip, CompressedSmallChunksReadBackExactly) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  const std::vector<StoreLayer> layers = {{"embedding", 5}};
  ExpectedStore expected(layers);
  {
    StoreLayout layout;
    layout.deflate_level = 6;
    layout.chunk_bytes = 16 * 5 * sizeof(float);  // 16-row chunks: most tracks straddle two
    auto writer = EmbeddingStoreWriter::create(path, layers, test_provenance(), layout);
    for (int i = 0; i < 20; ++i) expected.append(writer, "track-" + std::to_string(i), 1 + (i * 7) % 11);
    writer.close();
  }
  expect_store_holds(EmbeddingStore(path), expected, 0);
}

TEST(StoreRoundTrip, EmptyStoreHasOneOffsetAndNoFrames) {
  const ScratchDir scratch;
  const fs::path path = scratch / "empty.h5";
  EmbeddingStoreWriter::create(path, kOneLayer, test_provenance()).close();
  const EmbeddingStore store(path);
  EXPECT_EQ(store.track_count(), 0u);
  EXPECT_EQ(store.offsets(), std::vector<std::uint64_t>{0});
  EXPECT_EQ(store.total_frames(), 0u);
  EXPECT_EQ(store.read_tracks(std::vector<std::size_t>{}).track_count(), 0u);
  EXPECT_THROW(store.read_track(0), InputError);
}

TEST(StoreLayers, TwoLayersShareOffsetsAndAreSelectedByName) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  // Not in alphabetical order: the default layer is the first one created.
  const std::vector<StoreLayer> layers = {{"pool5", 4}, {"penultimate", 2}};
  ExpectedStore expected(layers);
  {
    auto writer = EmbeddingStoreWriter::create(path, layers, test_provenance());
    ASSERT_EQ(writer.layers().size(), 2u);
    expected.append(writer, "first", 3);
    expected.append(writer, "second", 1);
    expected.append(writer, "third", 6);
    writer.close();
  }
  const EmbeddingStore by_default(path);
  ASSERT_EQ(by_default.layers().size(), 2u);
  EXPECT_EQ(by_default.layers()[0].name, "pool5");
  EXPECT_EQ(by_default.layers()[0].dim, 4u);
  EXPECT_EQ(by_default.layers()[1].name, "penultimate");
  EXPECT_EQ(by_default.layers()[1].dim, 2u);
  EXPECT_EQ(by_default.layer().name, "pool5");
  expect_store_holds(by_default, expected, 0);

  const EmbeddingStore pool5(path, "pool5");
  expect_store_holds(pool5, expected, 0);

  const EmbeddingStore penultimate(path, "penultimate");
  EXPECT_EQ(penultimate.layer().name, "penultimate");
  expect_store_holds(penultimate, expected, 1);
}

// Layers at two frame rates (musicnn-vgg pool5 every 1.024 s beside pool3 every 0.128 s): each
// keeps its own offsets, and resuming drops what no commit vouched for in both.
TEST(StoreLayers, LayersAtAnotherFrameRateHaveTheirOwnOffsets) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  const std::vector<StoreLayer> layers = {{"pool5", 4, 0.5}, {"pool3", 3, 0.0625}};
  std::vector<std::string> ids;
  std::vector<std::uint64_t> slow_offsets{0}, fast_offsets{0};
  std::vector<float> slow_frames, fast_frames;
  const auto append = [&](EmbeddingStoreWriter& writer, const std::string& id, std::uint64_t slow_rows, bool record) {
    const FrameMatrix frames[] = {{slow_rows, 4, random_frames(ids.size() * 2 + 1, slow_rows, 4)},
                                  {slow_rows * 8 + 3, 3, random_frames(ids.size() * 2 + 2, slow_rows * 8 + 3, 3)}};
    writer.append(id, frames);
    if (!record) return;
    ids.push_back(id);
    slow_offsets.push_back(slow_offsets.back() + frames[0].rows);
    fast_offsets.push_back(fast_offsets.back() + frames[1].rows);
    slow_frames.insert(slow_frames.end(), frames[0].values.begin(), frames[0].values.end());
    fast_frames.insert(fast_frames.end(), frames[1].values.begin(), frames[1].values.end());
  };
  {
    auto writer = EmbeddingStoreWriter::create(path, layers, test_provenance());
    append(writer, "a", 2, true);
    append(writer, "b", 1, true);
    writer.commit();
    // Past the write batch, so these rows reach the file with no commit vouching for them.
    for (int i = 0; i < 1030; ++i) append(writer, "lost-" + std::to_string(i), 1, false);
  }
  {
    auto writer = EmbeddingStoreWriter::open_for_append(path);
    EXPECT_EQ(writer.track_count(), 2u);
    append(writer, "c", 3, true);
    writer.close();
  }
  const EmbeddingStore slow(path);
  EXPECT_EQ(slow.layer().name, "pool5");
  EXPECT_EQ(slow.layer().frame_hop_seconds, 0.5);
  EXPECT_EQ(slow.provenance().frame_hop_seconds, 0.5);
  EXPECT_EQ(slow.ids(), ids);
  EXPECT_EQ(slow.offsets(), slow_offsets);
  std::vector<float> read(slow_frames.size());
  slow.read_rows(0, slow.total_frames(), read.data());
  EXPECT_EQ(bits_of(read), bits_of(slow_frames));

  const EmbeddingStore fast(path, "pool3");
  EXPECT_EQ(fast.layer().frame_hop_seconds, 0.0625);
  EXPECT_EQ(fast.provenance().frame_hop_seconds, 0.0625);
  EXPECT_EQ(fast.ids(), ids);
  EXPECT_EQ(fast.offsets(), fast_offsets);
  EXPECT_EQ(fast.read_track(2).rows, 27u);
  read.resize(fast_frames.size());
  fast.read_rows(0, fast.total_frames(), read.data());
  EXPECT_EQ(bits_of(read), bits_of(fast_frames));

  // On disk: the first layer shares /tracks/offsets, the other has /offsets/pool3, none stale.
  const h5::File file(path, h5::Mode::ReadOnly);
  EXPECT_FALSE(h5::exists(file.id(), "/offsets/pool5"));
  EXPECT_EQ(h5::dims(h5::open_dataset(file.id(), "/offsets/pool3", file.name()).id())[0], 4u);
  EXPECT_EQ(h5::dims(h5::open_dataset(file.id(), "/frames/pool3", file.name()).id())[0], fast_offsets.back());
  EXPECT_EQ(h5::dims(h5::open_dataset(file.id(), "/frames/pool5", file.name()).id())[0], slow_offsets.back());
}

TEST(StoreLayers, TheFirstLayerComesAtTheStoresOwnFrameRate) {
  const ScratchDir scratch;
  StoreProvenance provenance = test_provenance();
  provenance.frame_hop_seconds = 1.0;
  EXPECT_THROW(EmbeddingStoreWriter::create(scratch / "store.h5", {{"pool3", 3, 0.125}, {"pool5", 4, 1.0}}, provenance), FatalError);
}

TEST(StoreLayers, UnknownLayerIsAnInputErrorListingTheAvailableOnes) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  const std::vector<StoreLayer> layers = {{"pool5", 4}, {"penultimate", 2}};
  EmbeddingStoreWriter::create(path, layers, test_provenance()).close();
  const auto error = input_error_from([&] { EmbeddingStore store(path, "pool6"); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->item(), path.string());
  EXPECT_THAT(error->problem(), HasSubstr("pool6"));
  EXPECT_THAT(error->problem(), HasSubstr("pool5, penultimate"));
}

TEST(StoreLayers, InvalidLayerDefinitionsAreRejectedAtCreation) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  EXPECT_THROW(EmbeddingStoreWriter::create(path, {}, test_provenance()), FatalError);
  EXPECT_THROW(EmbeddingStoreWriter::create(path, {{"a/b", 3}}, test_provenance()), FatalError);
  EXPECT_THROW(EmbeddingStoreWriter::create(path, {{"", 3}}, test_provenance()), FatalError);
  EXPECT_THROW(EmbeddingStoreWriter::create(path, {{"zero", 0}}, test_provenance()), FatalError);
}

// ---------------------------------------------------------------------------------------------
// Rejected appends leave the writer as it was

TEST(StoreAppend, BadTracksThrowInputErrorAndAreNotStored) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  ExpectedStore expected(kOneLayer);
  {
    auto writer = EmbeddingStoreWriter::create(path, kOneLayer, test_provenance());
    expected.append(writer, "committed", 2);
    writer.commit();
    expected.append(writer, "pending", 1);

    const std::vector<float> six(6, 0.25f);
    auto expect_rejected = [&](const std::string& id, std::span<const float> frames, std::uint64_t frame_count,
                               const std::string& problem) {
      const auto error = input_error_from([&] { writer.append(id, frames, frame_count); });
      ASSERT_TRUE(error.has_value()) << problem;
      EXPECT_THAT(error->problem(), HasSubstr(problem));
      if (!id.empty()) {
        EXPECT_EQ(error->item(), id);
      }
    };
    expect_rejected("committed", six, 2, "duplicate");
    expect_rejected("pending", six, 2, "duplicate");
    expect_rejected("no-frames", {}, 0, "no frames");
    expect_rejected("too-few-values", std::span<const float>(six).first(5), 2, "5 values");
    expect_rejected("too-many-values", six, 1, "6 values");
    expect_rejected("", six, 2, "empty");

    std::vector<float> with_nan = six;
    with_nan[4] = std::numeric_limits<float>::quiet_NaN();
    expect_rejected("nan", with_nan, 2, "NaN at frame 1, column 1");
    std::vector<float> with_inf = six;
    with_inf[2] = -std::numeric_limits<float>::infinity();
    expect_rejected("inf", with_inf, 2, "Inf at frame 0, column 2");

    EXPECT_EQ(writer.track_count(), 2u);
    for (const char* rejected : {"no-frames", "too-few-values", "too-many-values", "nan", "inf"}) {
      EXPECT_FALSE(writer.contains(rejected)) << rejected;
    }
    // A rejected id is still free, and the writer still works.
    expected.append(writer, "nan", 2);
    writer.close();
  }
  expect_store_holds(EmbeddingStore(path), expected, 0);
}

TEST(StoreAppend, LayerCountMustMatchTheStore) {
  const ScratchDir scratch;
  const std::vector<StoreLayer> layers = {{"pool5", 2}, {"penultimate", 2}};
  auto writer = EmbeddingStoreWriter::create(scratch / "store.h5", layers, test_provenance());
  const std::vector<float> frames(2, 1.0f);
  EXPECT_THROW(writer.append("single", frames, 1), InputError);
  const FrameMatrix one{1, 2, frames};
  const FrameMatrix three[] = {one, one, one};
  EXPECT_THROW(writer.append("three", three), InputError);
  const FrameMatrix second_wrong[] = {one, {1, 3, std::vector<float>(3, 1.0f)}};
  EXPECT_THROW(writer.append("second-wrong", second_wrong), InputError);
  // Layers at one frame rate share offsets: their frame counts must agree.
  const FrameMatrix counts_differ[] = {one, {2, 2, std::vector<float>(4, 1.0f)}};
  EXPECT_THROW(writer.append("counts-differ", counts_differ), InputError);
  EXPECT_EQ(writer.track_count(), 0u);
  writer.close();
  EXPECT_EQ(EmbeddingStore(scratch / "store.h5").track_count(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Batches, commits and resuming after a killed run

TEST(StoreBatches, MoreTracksThanOneWriteBatchWithCommitsInBetween) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  const std::vector<StoreLayer> layers = {{"embedding", 2}, {"other", 1}};
  ExpectedStore expected(layers);
  {
    auto writer = EmbeddingStoreWriter::create(path, layers, test_provenance());
    for (int i = 0; i < 2500; ++i) {
      expected.append(writer, "track-" + std::to_string(i), 1 + i % 3);
      if (i == 1100) writer.commit();
    }
    EXPECT_EQ(writer.track_count(), 2500u);
    writer.close();
  }
  const EmbeddingStore store(path);
  expect_store_holds(store, expected, 0);
  expect_store_holds(EmbeddingStore(path, "other"), expected, 1);
  EXPECT_EQ(store.index_of("track-1023"), 1023u);
  EXPECT_EQ(store.index_of("track-1024"), 1024u);
  EXPECT_EQ(store.index_of("track-2499"), 2499u);

  // A read spanning the first write batch's end and the commit.
  std::vector<std::size_t> across;
  for (std::size_t i = 1020; i < 1105; ++i) across.push_back(i);
  const FrameBatch batch = store.read_tracks(across);
  std::vector<float> reference;
  for (std::size_t i : across) {
    const auto track = expected.track(0, i);
    reference.insert(reference.end(), track.begin(), track.end());
  }
  EXPECT_EQ(bits_of(batch.values), bits_of(reference));
}

TEST(StoreResume, TracksNeverCommittedAreDroppedWhenTheWriterIsDestroyed) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  ExpectedStore committed(kOneLayer);
  {
    auto writer = EmbeddingStoreWriter::create(path, kOneLayer, test_provenance());
    committed.append(writer, "kept-1", 2);
    committed.append(writer, "kept-2", 3);
    writer.commit();
    ExpectedStore lost(kOneLayer);
    lost.append(writer, "lost-1", 4);
    lost.append(writer, "lost-2", 1);
    EXPECT_EQ(writer.track_count(), 4u);
  }  // destroyed without close(), as when a run dies
  expect_store_holds(EmbeddingStore(path), committed, 0);

  {
    auto writer = EmbeddingStoreWriter::open_for_append(path);
    EXPECT_EQ(writer.track_count(), 2u);
    EXPECT_TRUE(writer.contains("kept-2"));
    EXPECT_FALSE(writer.contains("lost-1"));
    ASSERT_EQ(writer.layers().size(), 1u);
    EXPECT_EQ(writer.layers()[0].name, "embedding");
    EXPECT_EQ(writer.layers()[0].dim, 3u);
    EXPECT_THROW(committed.append(writer, "kept-1", 1), InputError);
    committed.append(writer, "lost-1", 5);
    committed.append(writer, "resumed", 2);
    writer.close();
  }
  const EmbeddingStore store(path);
  expect_store_holds(store, committed, 0);
  EXPECT_EQ(store.provenance().backbone, "musicnn-MSD_vgg");
}

TEST(StoreResume, UncommittedRowsAlreadyInTheFileAreDroppedOnReopen) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  const std::vector<StoreLayer> layers = {{"embedding", 3}, {"second", 2}};
  ExpectedStore committed(layers);
  {
    auto writer = EmbeddingStoreWriter::create(path, layers, test_provenance());
    for (int i = 0; i < 3; ++i) committed.append(writer, "kept-" + std::to_string(i), 2 + i);
    writer.commit();
    // Past the write batch size, so these rows reach the file without a commit vouching for them.
    ExpectedStore lost(layers);
    for (int i = 0; i < 1030; ++i) lost.append(writer, "lost-" + std::to_string(i), 1);
  }
  const RawExtents before = raw_extents(path, "embedding");
  ASSERT_EQ(before.ids, 3u + 1024u) << "the test needs uncommitted rows in the file";
  expect_store_holds(EmbeddingStore(path), committed, 0);
  expect_store_holds(EmbeddingStore(path, "second"), committed, 1);

  {
    auto writer = EmbeddingStoreWriter::open_for_append(path);
    EXPECT_EQ(writer.track_count(), 3u);
    EXPECT_FALSE(writer.contains("lost-0"));
    committed.append(writer, "lost-0", 2);
    committed.append(writer, "new", 1);
    writer.close();
  }
  expect_store_holds(EmbeddingStore(path), committed, 0);
  expect_store_holds(EmbeddingStore(path, "second"), committed, 1);
  // Readers that bypass conceptree (h5py) see the datasets whole: no stale rows may remain.
  const RawExtents after = raw_extents(path, "embedding");
  EXPECT_EQ(after.ids, 5u);
  EXPECT_EQ(after.offsets, 6u);
  EXPECT_EQ(after.frames, committed.offsets.back());
  EXPECT_EQ(raw_extents(path, "second").frames, committed.offsets.back());
}

TEST(StoreResume, ResumesAfterTheProcessIsKilledWithoutClosingTheFile) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // No gtest assertions here: the child only writes and then dies like a killed import.
    try {
      ExpectedStore written(kOneLayer);
      auto writer = EmbeddingStoreWriter::create(path, kOneLayer, test_provenance());
      for (int i = 0; i < 40; ++i) written.append(writer, "kept-" + std::to_string(i), 1 + i % 4);
      writer.commit();
      for (int i = 0; i < 1100; ++i) written.append(writer, "lost-" + std::to_string(i), 2);
      ::kill(::getpid(), SIGKILL);
    } catch (...) {
    }
    ::_exit(3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writing child failed before it was killed, status " << status;

  ExpectedStore committed(kOneLayer);
  for (int i = 0; i < 40; ++i) committed.add("kept-" + std::to_string(i), 1 + i % 4);
  expect_store_holds(EmbeddingStore(path), committed, 0);
  {
    auto writer = EmbeddingStoreWriter::open_for_append(path);
    EXPECT_EQ(writer.track_count(), 40u);
    committed.append(writer, "lost-0", 3);
    writer.close();
  }
  expect_store_holds(EmbeddingStore(path), committed, 0);
  EXPECT_EQ(raw_extents(path, "embedding").frames, committed.offsets.back());
}

// ---------------------------------------------------------------------------------------------
// Files that are not stores: InputError naming the file, never a crash

TEST(StoreErrors, MissingFileAndNonHdf5Files) {
  const ScratchDir scratch;
  const fs::path missing = scratch / "missing.h5";
  const fs::path text = scratch / "text.h5";
  const fs::path empty = scratch / "empty.h5";
  testing::write_text(text, "id\tframes\nnot an HDF5 file at all\n");
  testing::write_text(empty, "");
  for (const fs::path& path : {missing, text, empty}) {
    const auto error = input_error_from([&] { EmbeddingStore store(path); });
    ASSERT_TRUE(error.has_value()) << path;
    EXPECT_EQ(error->item(), path.string());
    EXPECT_TRUE(input_error_from([&] { EmbeddingStoreWriter::open_for_append(path); }).has_value()) << path;
  }
}

TEST(StoreErrors, Hdf5FilesThatAreNotStores) {
  const ScratchDir scratch;
  const fs::path plain = scratch / "plain.h5";
  {
    const h5::File file(plain, h5::Mode::Create);
    const std::vector<float> values = {1, 2, 3, 4};
    h5::write_floats(file.id(), "/features", values, std::vector<std::uint64_t>{2, 2});
  }
  // Says it is a store but has no frames group.
  const fs::path no_frames = scratch / "no_frames.h5";
  {
    const h5::File file(no_frames, h5::Mode::Create);
    h5::set_attribute(file.id(), "format", std::string(kStoreFormat));
  }
  // Has frames but no /tracks datasets.
  const fs::path no_tracks = scratch / "no_tracks.h5";
  {
    const h5::File file(no_tracks, h5::Mode::Create);
    h5::set_attribute(file.id(), "format", std::string(kStoreFormat));
    const std::vector<float> values = {1, 2, 3, 4};
    h5::write_floats(file.id(), "/frames/embedding", values, std::vector<std::uint64_t>{2, 2});
  }
  // A 1-D frames dataset.
  const fs::path flat_frames = scratch / "flat_frames.h5";
  {
    const h5::File file(flat_frames, h5::Mode::Create);
    h5::set_attribute(file.id(), "format", std::string(kStoreFormat));
    const std::vector<float> values = {1, 2, 3, 4};
    h5::write_floats(file.id(), "/frames/embedding", values, std::vector<std::uint64_t>{4});
  }
  for (const fs::path& path : {plain, no_frames, no_tracks, flat_frames}) {
    const auto error = input_error_from([&] { EmbeddingStore store(path); });
    ASSERT_TRUE(error.has_value()) << path;
    EXPECT_EQ(error->item(), path.string());
    EXPECT_TRUE(input_error_from([&] { EmbeddingStoreWriter::open_for_append(path); }).has_value()) << path;
  }
  const auto error = input_error_from([&] { EmbeddingStore store(plain); });
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(error->problem(), HasSubstr("not a conceptree embedding store"));
}

TEST(StoreErrors, InconsistentCommittedCountOrOffsets) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  ExpectedStore expected(kOneLayer);
  {
    auto writer = EmbeddingStoreWriter::create(path, kOneLayer, test_provenance());
    expected.append(writer, "a", 2);
    expected.append(writer, "b", 2);
    writer.close();
  }
  const fs::path overcounted = scratch / "overcounted.h5";
  fs::copy_file(path, overcounted);
  {
    const h5::File file(overcounted, h5::Mode::ReadWrite);
    h5::set_attribute(file.id(), "committed_tracks", std::uint64_t{3});
  }
  const fs::path unsorted = scratch / "unsorted.h5";
  fs::copy_file(path, unsorted);
  {
    const h5::File file(unsorted, h5::Mode::ReadWrite);
    const h5::Handle offsets = h5::open_dataset(file.id(), "/tracks/offsets", file.name());
    const std::uint64_t decreasing[] = {0, 3, 1};
    ASSERT_GE(H5Dwrite(offsets.id(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, decreasing), 0);
  }
  const fs::path beyond_frames = scratch / "beyond_frames.h5";
  fs::copy_file(path, beyond_frames);
  {
    const h5::File file(beyond_frames, h5::Mode::ReadWrite);
    const h5::Handle offsets = h5::open_dataset(file.id(), "/tracks/offsets", file.name());
    const std::uint64_t past_the_frames[] = {0, 2, 9};
    ASSERT_GE(H5Dwrite(offsets.id(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, past_the_frames), 0);
  }
  for (const fs::path& broken : {overcounted, unsorted, beyond_frames}) {
    const auto error = input_error_from([&] { EmbeddingStore store(broken); });
    ASSERT_TRUE(error.has_value()) << broken;
    EXPECT_EQ(error->item(), broken.string());
    EXPECT_THAT(error->problem(), HasSubstr("inconsistent")) << broken;
  }
  EXPECT_TRUE(input_error_from([&] { EmbeddingStoreWriter::open_for_append(overcounted); }).has_value());
  EXPECT_TRUE(input_error_from([&] { EmbeddingStoreWriter::open_for_append(beyond_frames); }).has_value());
}

TEST(StoreErrors, TruncatedStoreFiles) {
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  {
    ExpectedStore expected(kOneLayer);
    auto writer = EmbeddingStoreWriter::create(path, kOneLayer, test_provenance());
    for (int i = 0; i < 30; ++i) expected.append(writer, "track-" + std::to_string(i), 4);
    writer.close();
  }
  const std::string bytes = testing::read_text(path);
  ASSERT_GT(bytes.size(), 2048u);
  for (std::size_t length : {std::size_t{8}, std::size_t{100}, std::size_t{1000}, bytes.size() / 3, bytes.size() / 2,
                             bytes.size() - 100, bytes.size() - 1}) {
    const fs::path cut = scratch / "cut.h5";
    testing::write_text(cut, bytes.substr(0, length));
    const auto error = input_error_from([&] { EmbeddingStore store(cut); });
    ASSERT_TRUE(error.has_value()) << "store cut to " << length << " of " << bytes.size() << " bytes opened";
    EXPECT_EQ(error->item(), cut.string());
    EXPECT_TRUE(input_error_from([&] { EmbeddingStoreWriter::open_for_append(cut); }).has_value()) << length;
  }
}

// ---------------------------------------------------------------------------------------------
// The store as Python sees it, with h5py and numpy alone (the README's promise)

constexpr const char* kPythonCheck = R"(import sys
import h5py
import numpy as np

store, folder, layers = sys.argv[1], sys.argv[2], sys.argv[3:]
problems = []
with open(folder + "/ids.txt", encoding="utf-8") as f:
    expected_ids = f.read().split("\n")[:-1]
expected_offsets = np.load(folder + "/offsets.npy")
with h5py.File(store, "r") as f:
    ids = list(f["tracks/ids"].asstr()[:])
    if ids != expected_ids:
        problems.append("%d ids %r != %d expected %r" % (len(ids), ids[:5], len(expected_ids), expected_ids[:5]))
    offsets = f["tracks/offsets"][:]
    if offsets.dtype != np.uint64:
        problems.append("offsets dtype %s" % offsets.dtype)
    if offsets.shape != (len(expected_ids) + 1,):
        problems.append("offsets shape %s for %d ids" % (offsets.shape, len(expected_ids)))
    if not np.array_equal(offsets, expected_offsets):
        problems.append("offsets differ")
    for layer in layers:
        frames = f["frames/" + layer][:]
        expected = np.load(folder + "/frames_" + layer + ".npy")
        if frames.dtype != np.float32:
            problems.append("%s dtype %s" % (layer, frames.dtype))
        if frames.shape != expected.shape:
            problems.append("%s shape %s != %s" % (layer, frames.shape, expected.shape))
        elif not np.array_equal(frames, expected) or not np.array_equal(frames.view(np.uint32), expected.view(np.uint32)):
            problems.append("%s frames differ" % layer)
        elif not np.array_equal(frames[offsets[1]:offsets[2]], expected[expected_offsets[1]:expected_offsets[2]]):
            problems.append("%s: slicing by offsets differs" % layer)
print("\n".join(problems))
sys.exit(1 if problems else 0)
)";

// Writes the reference as .npy and text, then has h5py compare the store against it.
testing::CommandResult check_with_h5py(const std::string& python, const ScratchDir& scratch, const fs::path& store,
                                       const ExpectedStore& expected) {
  std::string ids_text;
  for (const auto& id : expected.ids) ids_text += id + "\n";
  testing::write_text(scratch / "ids.txt", ids_text);
  const std::vector<std::uint64_t> offsets_shape = {expected.offsets.size()};
  write_npy(scratch / "offsets.npy", expected.offsets, offsets_shape);
  std::string layer_arguments;
  for (std::size_t l = 0; l < expected.layers.size(); ++l) {
    const std::vector<std::uint64_t> shape = {expected.offsets.back(), expected.layers[l].dim};
    write_npy(scratch / ("frames_" + expected.layers[l].name + ".npy"), expected.frames[l], shape);
    layer_arguments += " " + testing::shell_quote(expected.layers[l].name);
  }
  testing::write_text(scratch / "check_store.py", kPythonCheck);
  return testing::run_command(python + " " + testing::shell_quote((scratch / "check_store.py").string()) + " " +
                              testing::shell_quote(store.string()) + " " + testing::shell_quote(scratch.path().string()) +
                              layer_arguments);
}

TEST(StorePythonView, H5pyReadsIdsOffsetsAndFramesExactly) {
  const std::string python = testing::python_with_h5py();
  if (python.empty()) GTEST_SKIP() << "/usr/bin/python3 with numpy and h5py not found";
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  const std::vector<StoreLayer> layers = {{"embedding", 3}, {"pool5", 2}};
  ExpectedStore expected(layers);
  {
    auto writer = EmbeddingStoreWriter::create(path, layers, test_provenance());
    // UTF-8, spaces and slashes: ids are relative paths and titles from real catalogues.
    for (const std::string id : {"Bj\xc3\xb6rk/J\xc3\xb3ga", "plain", "with space", "a/b/c", "\xe6\x9d\xb1\xe4\xba\xac"}) {
      expected.append(writer, id, 1 + id.size() % 4);
    }
    writer.close();
  }
  const auto result = check_with_h5py(python, scratch, path, expected);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

TEST(StorePythonView, H5pySeesNoStaleRowsAfterAResumedRun) {
  const std::string python = testing::python_with_h5py();
  if (python.empty()) GTEST_SKIP() << "/usr/bin/python3 with numpy and h5py not found";
  const ScratchDir scratch;
  const fs::path path = scratch / "store.h5";
  ExpectedStore committed(kOneLayer);
  {
    auto writer = EmbeddingStoreWriter::create(path, kOneLayer, test_provenance());
    for (int i = 0; i < 5; ++i) committed.append(writer, "kept-" + std::to_string(i), 2);
    writer.commit();
    ExpectedStore lost(kOneLayer);
    for (int i = 0; i < 1025; ++i) lost.append(writer, "lost-" + std::to_string(i), 1);
  }
  {
    auto writer = EmbeddingStoreWriter::open_for_append(path);
    committed.append(writer, "resumed", 3);
    writer.close();
  }
  const auto result = check_with_h5py(python, scratch, path, committed);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

}  // namespace
}  // namespace conceptree
