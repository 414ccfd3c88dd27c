// End-to-end tests of `conceptree import`: every input format round-trips into an embedding store
// exactly, bad tracks are skipped or stop the run, and interrupted runs resume.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "conceptree/batch_errors.hpp"
#include "conceptree/context.hpp"
#include "conceptree/error.hpp"
#include "conceptree/ingest.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/store.hpp"
#include "conceptree/tensor_proto.hpp"
#include "hdf5/hdf5.hpp"
#include "ingest/killed_import.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using testing::leave_killed_partial;
using conceptree::testing::CommandResult;
using conceptree::testing::python_with_h5py;
using conceptree::testing::read_text;
using conceptree::testing::run_cli;
using conceptree::testing::run_command;
using conceptree::testing::ScratchDir;
using conceptree::testing::quoted_args;
using conceptree::testing::shell_quote;
using conceptree::testing::write_text;

constexpr std::uint64_t kDim = 8;

// One track as the test wrote it: `frames` x `dim` values, row-major.
struct Track {
  std::string id;
  std::uint64_t frames = 0;
  std::uint64_t dim = 0;
  std::vector<float> values;
};

// Tracks with 1 to 5 frames of random values, so offsets are uneven and values distinct.
std::vector<Track> make_tracks(const std::vector<std::string>& ids, std::uint64_t dim, std::uint32_t seed,
                               std::uint64_t fixed_frames = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<Track> tracks;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    Track track;
    track.id = ids[i];
    track.frames = fixed_frames > 0 ? fixed_frames : 1 + (i * 3) % 5;
    track.dim = dim;
    track.values.resize(track.frames * dim);
    for (auto& value : track.values) value = normal(rng);
    tracks.push_back(std::move(track));
  }
  return tracks;
}

std::vector<std::string> numbered_ids(const std::string& prefix, std::size_t count) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < count; ++i) ids.push_back(fmt::format("{}{:03}", prefix, i));
  return ids;
}

std::vector<Track> sorted_by_id(std::vector<Track> tracks) {
  std::sort(tracks.begin(), tracks.end(), [](const Track& a, const Track& b) { return a.id < b.id; });
  return tracks;
}

fs::path with_suffix(const fs::path& path, const std::string& suffix) {
  fs::path result = path;
  result += suffix;
  return result;
}

// A single-frame track goes to disk as a (D,) vector when `as_vector`, else as (T, D).
void write_track_npy(const fs::path& path, const Track& track, bool as_vector) {
  fs::create_directories(path.parent_path());
  std::vector<std::uint64_t> shape = {track.frames, track.dim};
  if (as_vector) shape = {track.dim};
  write_npy(path, track.values, shape);
}

// Even-numbered single-frame tracks are written as (D,) vectors, the rest as (T, D).
void write_npy_dir(const fs::path& root, const std::vector<Track>& tracks) {
  for (std::size_t i = 0; i < tracks.size(); ++i) {
    const Track& track = tracks[i];
    write_track_npy(root / (track.id + ".npy"), track, track.frames == 1 && i % 2 == 0);
  }
}

void write_tensor(const fs::path& path, const FloatTensor& tensor) {
  fs::create_directories(path.parent_path());
  write_text(path, serialize_tensor_proto(tensor));
}

// Single-frame tracks become (D) tensors, every third track a (1, T, D) tensor as TensorFlow
// batches of one come out, the rest (T, D).
void write_tensor_dir(const fs::path& root, const std::vector<Track>& tracks) {
  for (std::size_t i = 0; i < tracks.size(); ++i) {
    const Track& track = tracks[i];
    FloatTensor tensor{{track.frames, track.dim}, track.values};
    if (track.frames == 1) tensor.shape = {track.dim};
    else if (i % 3 == 0) tensor.shape = {1, track.frames, track.dim};
    write_tensor(root / (track.id + ".tensor"), tensor);
  }
}

std::vector<float> concatenated_values(const std::vector<Track>& tracks) {
  std::vector<float> values;
  for (const auto& track : tracks) values.insert(values.end(), track.values.begin(), track.values.end());
  return values;
}

std::vector<std::uint64_t> offsets_of(const std::vector<Track>& tracks) {
  std::vector<std::uint64_t> offsets{0};
  for (const auto& track : tracks) offsets.push_back(offsets.back() + track.frames);
  return offsets;
}

std::string lines_of(const std::vector<std::string>& entries) {
  std::string text;
  for (const auto& entry : entries) text += entry + "\n";
  return text;
}

std::vector<std::string> ids_of(const std::vector<Track>& tracks) {
  std::vector<std::string> ids;
  for (const auto& track : tracks) ids.push_back(track.id);
  return ids;
}

// The store holds exactly `expected`, in that order, with bit-identical frames.
void expect_store_holds(const fs::path& store_path, const std::vector<Track>& expected) {
  ASSERT_TRUE(fs::exists(store_path)) << store_path;
  const EmbeddingStore store(store_path);
  ASSERT_EQ(store.ids(), ids_of(expected));
  ASSERT_EQ(store.offsets(), offsets_of(expected));
  ASSERT_EQ(store.dim(), expected.front().dim);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const FrameMatrix frames = store.read_track(i);
    EXPECT_EQ(frames.rows, expected[i].frames) << expected[i].id;
    EXPECT_EQ(frames.values, expected[i].values) << expected[i].id;
  }
}

ImportConfig import_config(const std::string& format, const fs::path& input, const fs::path& output) {
  ImportConfig config;
  config.format = parse_choice<ImportFormat>(format).value();
  config.input = input.string();
  config.output = output.string();
  config.jobs = 2;
  return config;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  std::string line;
  while (std::getline(stream, line)) lines.push_back(line);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(ImportNpyDir, NestedFoldersRoundTripWithRelativePathIds) {
  const ScratchDir scratch;
  std::vector<std::string> ids = numbered_ids("rock/artist_a/", 5);
  for (const auto& id : numbered_ids("jazz/", 4)) ids.push_back(id);
  for (const auto& id : numbered_ids("top_level_", 3)) ids.push_back(id);
  const auto tracks = make_tracks(ids, kDim, 11);
  write_npy_dir(scratch / "emb", tracks);
  // Files that are not .npy are not tracks.
  write_text(scratch / "emb" / "README.txt", "not an embedding");

  EmbeddingImporter importer(import_config("npy-dir", scratch / "emb", scratch / "store.h5"));
  importer.run();

  expect_store_holds(scratch / "store.h5", sorted_by_id(tracks));
  EXPECT_EQ(importer.summary().imported, tracks.size());
  EXPECT_EQ(importer.summary().skipped, 0u);
  EXPECT_EQ(importer.summary().dim, kDim);
  EXPECT_TRUE(importer.summary().errors_file.empty());
  EXPECT_FALSE(fs::exists(scratch / "store.h5.partial"));
  EXPECT_FALSE(fs::exists(scratch / "store.h5.errors.tsv"));
}

TEST(ImportNpyDir, VectorFilesBecomeOneFrameAndLayerAndProvenanceAreRecorded) {
  const ScratchDir scratch;
  const auto tracks = make_tracks({"a", "b", "c"}, 16, 12, 1);
  for (const auto& track : tracks) write_track_npy(scratch / "emb" / (track.id + ".npy"), track, true);

  ImportConfig config = import_config("npy-dir", scratch / "emb", scratch / "store.h5");
  config.layer = "pool5";
  config.backbone = "musicnn-MSD_vgg";
  config.frame_hop_seconds = 1.5;
  EmbeddingImporter importer(config);
  importer.run();

  expect_store_holds(scratch / "store.h5", tracks);
  const EmbeddingStore store(scratch / "store.h5");
  ASSERT_EQ(store.layers().size(), 1u);
  EXPECT_EQ(store.layer().name, "pool5");
  EXPECT_EQ(store.provenance().backbone, "musicnn-MSD_vgg");
  EXPECT_EQ(store.provenance().frame_hop_seconds, 1.5);
}

TEST(ImportNpyArray, OneFramePerRowWithIdsFile) {
  const ScratchDir scratch;
  // Not sorted: the array's order is the store's order.
  const auto tracks = make_tracks({"zeta", "alpha", "mid/dle", "beta"}, kDim, 21, 1);
  const std::uint64_t shape[] = {tracks.size(), kDim};
  write_npy(scratch / "all.npy", concatenated_values(tracks), shape);
  write_text(scratch / "ids.txt", lines_of(ids_of(tracks)));

  const CommandResult result = run_cli(quoted_args({"import", "--format", "npy", (scratch / "all.npy").string(), "--ids",
                                             (scratch / "ids.txt").string(), "-o", (scratch / "store.h5").string()}));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_store_holds(scratch / "store.h5", tracks);
}

TEST(ImportNpyArray, TracksByFramesByDimArray) {
  const ScratchDir scratch;
  const auto tracks = make_tracks({"t2", "t0", "t1", "t3", "t4"}, kDim, 22, 3);
  const std::uint64_t shape[] = {tracks.size(), 3, kDim};
  write_npy(scratch / "all.npy", concatenated_values(tracks), shape);
  write_text(scratch / "ids.txt", lines_of(ids_of(tracks)));

  const CommandResult result = run_cli(quoted_args({"import", "--format", "npy", (scratch / "all.npy").string(), "--ids",
                                             (scratch / "ids.txt").string(), "-o", (scratch / "store.h5").string()}));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_store_holds(scratch / "store.h5", tracks);
}

TEST(ImportNpyArray, RaggedFramesWithNpyOffsets) {
  const ScratchDir scratch;
  const auto tracks = make_tracks(numbered_ids("track", 9), kDim, 23);
  const auto values = concatenated_values(tracks);
  const auto offsets = offsets_of(tracks);
  const std::uint64_t shape[] = {offsets.back(), kDim};
  write_npy(scratch / "frames.npy", values, shape);
  const std::uint64_t offsets_shape[] = {offsets.size()};
  write_npy(scratch / "offsets.npy", offsets, offsets_shape);
  write_text(scratch / "ids.txt", lines_of(ids_of(tracks)));

  const CommandResult result =
      run_cli(quoted_args({"import", "--format", "npy", (scratch / "frames.npy").string(), "--ids", (scratch / "ids.txt").string(),
                    "--offsets", (scratch / "offsets.npy").string(), "-o", (scratch / "store.h5").string()}));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_store_holds(scratch / "store.h5", tracks);
}

TEST(ImportNpyArray, RaggedFramesWithTextOffsets) {
  const ScratchDir scratch;
  const auto tracks = make_tracks(numbered_ids("song-", 7), kDim, 24);
  const auto offsets = offsets_of(tracks);
  const std::uint64_t shape[] = {offsets.back(), kDim};
  write_npy(scratch / "frames.npy", concatenated_values(tracks), shape);
  std::vector<std::string> offset_lines;
  for (auto offset : offsets) offset_lines.push_back(std::to_string(offset));
  write_text(scratch / "offsets.txt", lines_of(offset_lines));
  write_text(scratch / "ids.txt", lines_of(ids_of(tracks)));

  const CommandResult result =
      run_cli(quoted_args({"import", "--format", "npy", (scratch / "frames.npy").string(), "--ids", (scratch / "ids.txt").string(),
                    "--offsets", (scratch / "offsets.txt").string(), "-o", (scratch / "store.h5").string()}));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_store_holds(scratch / "store.h5", tracks);
}

TEST(ImportHdf5, RaggedDatasetWithIdsAndOffsetsDatasets) {
  const ScratchDir scratch;
  const auto tracks = make_tracks({"q", "b", "x/y", "a", "m", "c"}, kDim, 31);
  const auto offsets = offsets_of(tracks);
  {
    h5::File file(scratch / "features.h5", h5::Mode::Create);
    const std::uint64_t shape[] = {offsets.back(), kDim};
    h5::write_floats(file.id(), "/features/pool5", concatenated_values(tracks), shape);
    h5::write_strings(file.id(), "/meta/track_ids", ids_of(tracks));
    h5::write_uint64s(file.id(), "/meta/offsets", offsets);
    file.close();
  }

  const CommandResult result = run_cli(quoted_args({"import", "--format", "h5", (scratch / "features.h5").string(), "--dataset",
                                             "/features/pool5", "--ids-dataset", "/meta/track_ids", "--offsets-dataset",
                                             "/meta/offsets", "-o", (scratch / "store.h5").string()}));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_store_holds(scratch / "store.h5", tracks);
}

TEST(ImportHdf5, RaggedDatasetWithIdsTextFileAndOffsetsDataset) {
  const ScratchDir scratch;
  const auto tracks = make_tracks(numbered_ids("clip", 8), kDim, 32);
  const auto offsets = offsets_of(tracks);
  {
    h5::File file(scratch / "features.h5", h5::Mode::Create);
    const std::uint64_t shape[] = {offsets.back(), kDim};
    h5::write_floats(file.id(), "/emb", concatenated_values(tracks), shape);
    h5::write_uint64s(file.id(), "/offsets", offsets);
    file.close();
  }
  write_text(scratch / "ids.txt", lines_of(ids_of(tracks)));

  const CommandResult result =
      run_cli(quoted_args({"import", "--format", "h5", (scratch / "features.h5").string(), "--dataset", "/emb", "--ids",
                    (scratch / "ids.txt").string(), "--offsets-dataset", "/offsets", "-o", (scratch / "store.h5").string()}));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_store_holds(scratch / "store.h5", tracks);
}

TEST(ImportHdf5, TracksByFramesByDimDatasetWithIntegerIds) {
  const ScratchDir scratch;
  const std::vector<std::uint64_t> numeric_ids = {1007, 42, 90001, 5};
  const auto tracks = make_tracks({"1007", "42", "90001", "5"}, kDim, 33, 2);
  {
    h5::File file(scratch / "features.h5", h5::Mode::Create);
    const std::uint64_t shape[] = {tracks.size(), 2, kDim};
    h5::write_floats(file.id(), "/emb", concatenated_values(tracks), shape);
    h5::write_uint64s(file.id(), "/ids", numeric_ids);
    file.close();
  }

  const CommandResult result = run_cli(quoted_args({"import", "--format", "h5", (scratch / "features.h5").string(), "--dataset",
                                             "/emb", "--ids-dataset", "/ids", "-o", (scratch / "store.h5").string()}));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_store_holds(scratch / "store.h5", tracks);
}

TEST(ImportTfTensors, NestedTensorFilesRoundTrip) {
  const ScratchDir scratch;
  std::vector<std::string> ids = numbered_ids("MSD/A/", 4);
  for (const auto& id : numbered_ids("MSD/B/deep/", 4)) ids.push_back(id);
  for (const auto& id : numbered_ids("loose", 3)) ids.push_back(id);
  const auto tracks = make_tracks(ids, kDim, 41);
  write_tensor_dir(scratch / "released", tracks);

  ImportConfig config = import_config("tf-tensors", scratch / "released", scratch / "store.h5");
  config.layer = "pool5";
  EmbeddingImporter importer(config);
  importer.run();

  expect_store_holds(scratch / "store.h5", sorted_by_id(tracks));
  EXPECT_EQ(importer.summary().imported, tracks.size());
  EXPECT_EQ(EmbeddingStore(scratch / "store.h5").layer().name, "pool5");
}

// ---------------------------------------------------------------------------------------------
// Bad tracks

// The bad item sits among good ones in a nested folder, sorted between them, so that the
// dimension is already fixed by a good track when the bad one is read.
const std::vector<std::string> kGoodIds = {"set/t0", "set/t1", "set/t2", "set/t4", "set/t5", "set/t6"};
constexpr const char* kBadId = "set/t3";

void write_valid_npy(const fs::path& path, std::uint64_t dim = kDim) {
  const auto track = make_tracks({"x"}, dim, 99, 3).front();
  write_track_npy(path, track, false);
}

void plant_nan(const fs::path& path) {
  auto track = make_tracks({"x"}, kDim, 98, 3).front();
  track.values[1 * kDim + 2] = std::numeric_limits<float>::quiet_NaN();
  write_track_npy(path, track, false);
}

void plant_inf(const fs::path& path) {
  auto track = make_tracks({"x"}, kDim, 97, 3).front();
  track.values[2 * kDim + 5] = -std::numeric_limits<float>::infinity();
  write_track_npy(path, track, false);
}

void plant_wrong_dimension(const fs::path& path) { write_valid_npy(path, kDim - 1); }

void plant_truncated_npy(const fs::path& path) {
  write_valid_npy(path);
  fs::resize_file(path, fs::file_size(path) - 13);
}

void plant_unreadable_npy(const fs::path& path) {
  write_valid_npy(path);
  fs::permissions(path, fs::perms::none);
  std::ifstream probe(path, std::ios::binary);
  if (!probe.is_open()) return;
  // Root reads files whatever their mode bits; a link to nothing is unreadable for anyone.
  probe.close();
  fs::remove(path);
  fs::create_symlink("no-such-target", path);
}

// A .npy of 64-bit integers, as np.save(np.arange(...)) writes.
void plant_integer_npy(const fs::path& path) {
  std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 8), }";
  const std::size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(dict.size() & 0xff);
  bytes += static_cast<char>(dict.size() >> 8);
  bytes += dict;
  for (std::int64_t i = 0; i < 24; ++i) bytes.append(reinterpret_cast<const char*>(&i), sizeof(i));
  fs::create_directories(path.parent_path());
  write_text(path, bytes);
}

void plant_truncated_tensor(const fs::path& path) {
  const auto track = make_tracks({"x"}, kDim, 96, 3).front();
  std::string bytes = serialize_tensor_proto({{track.frames, track.dim}, track.values});
  bytes.resize(bytes.size() - 10);
  fs::create_directories(path.parent_path());
  write_text(path, bytes);
}

void plant_int32_tensor(const fs::path& path) {
  const auto track = make_tracks({"x"}, kDim, 95, 3).front();
  std::string bytes = serialize_tensor_proto({{track.frames, track.dim}, track.values});
  // Byte 0 is the dtype field's key, byte 1 its value: 1 = DT_FLOAT becomes 3 = DT_INT32.
  ASSERT_EQ(bytes[0], '\x08');
  ASSERT_EQ(bytes[1], '\x01');
  bytes[1] = '\x03';
  fs::create_directories(path.parent_path());
  write_text(path, bytes);
}

struct BadInputCase {
  const char* name;
  const char* format;            // npy-dir or tf-tensors
  void (*plant)(const fs::path&);
  const char* expected_problem;  // part of the reason given in the errors report
};

std::ostream& operator<<(std::ostream& stream, const BadInputCase& bad) { return stream << bad.name; }

class ImportBadTrack : public ::testing::TestWithParam<BadInputCase> {
 protected:
  // Writes the good tracks and the bad item; returns the good tracks in store order.
  std::vector<Track> write_input(const fs::path& root) const {
    const BadInputCase& bad = GetParam();
    const auto good = make_tracks(kGoodIds, kDim, 51);
    const bool tensors = std::string(bad.format) == "tf-tensors";
    if (tensors) write_tensor_dir(root, good);
    else write_npy_dir(root, good);
    bad.plant(root / (std::string(kBadId) + (tensors ? ".tensor" : ".npy")));
    return good;
  }

  // The errors report is a header line and one `item<TAB>problem` line for the bad item.
  void expect_report_lists_the_bad_item(const fs::path& report_path) const {
    const auto report = split_lines(read_text(report_path));
    ASSERT_EQ(report.size(), 2u) << report_path << ":\n" << read_text(report_path);
    EXPECT_EQ(report[0], "item\tproblem");
    const auto tab = report[1].find('\t');
    ASSERT_NE(tab, std::string::npos) << report[1];
    EXPECT_NE(report[1].substr(0, tab).find(kBadId), std::string::npos) << report[1];
    EXPECT_NE(report[1].substr(tab + 1).find(GetParam().expected_problem), std::string::npos) << report[1];
  }
};

// One test per kind runs both policies, each on a fresh copy of the input.
TEST_P(ImportBadTrack, IsSkippedNamedAndListedWithoutStrictAndStopsTheRunWithStrict) {
  const ScratchDir scratch;
  const auto good = write_input(scratch / "in");
  const fs::path output = scratch / "store.h5";

  const CommandResult skipping =
      run_cli(quoted_args({"import", "--format", GetParam().format, (scratch / "in").string(), "-o", output.string(), "-j", "2"}));

  ASSERT_EQ(skipping.exit_code, 0) << skipping.err;
  EXPECT_NE(skipping.err.find(kBadId), std::string::npos) << skipping.err;
  expect_store_holds(output, good);
  expect_report_lists_the_bad_item(BatchErrors::report_path(output));

  const fs::path strict_output = scratch / "strict.h5";
  const CommandResult strict = run_cli(
      quoted_args({"import", "--format", GetParam().format, (scratch / "in").string(), "-o", strict_output.string(), "--strict"}));

  EXPECT_EQ(strict.exit_code, 1) << strict.err;
  EXPECT_NE(strict.err.find(kBadId), std::string::npos) << strict.err;
  EXPECT_FALSE(fs::exists(strict_output));
  EXPECT_FALSE(fs::exists(with_suffix(strict_output, ".partial")));
}

INSTANTIATE_TEST_SUITE_P(
    EachKindOfBadInput, ImportBadTrack,
    ::testing::Values(BadInputCase{"nan", "npy-dir", plant_nan, "NaN at frame 1, column 2"},
                      BadInputCase{"inf", "npy-dir", plant_inf, "Inf at frame 2, column 5"},
                      BadInputCase{"wrong_dimension", "npy-dir", plant_wrong_dimension, "dimension 7, expected 8"},
                      BadInputCase{"truncated_npy", "npy-dir", plant_truncated_npy, "truncated"},
                      BadInputCase{"unreadable_npy", "npy-dir", plant_unreadable_npy, "cannot open"},
                      BadInputCase{"integer_npy", "npy-dir", plant_integer_npy, "not a float"},
                      BadInputCase{"truncated_tensor", "tf-tensors", plant_truncated_tensor, "truncated"},
                      BadInputCase{"int32_tensor", "tf-tensors", plant_int32_tensor, "dtype 3"}),
    [](const ::testing::TestParamInfo<BadInputCase>& info) { return std::string(info.param.name); });

TEST(ImportBadTracks, NoImportableTrackIsAnErrorAndWritesNoStore) {
  const ScratchDir scratch;
  plant_nan(scratch / "in" / "a.npy");
  plant_truncated_npy(scratch / "in" / "b.npy");
  const fs::path output = scratch / "store.h5";

  const CommandResult result =
      run_cli(quoted_args({"import", "--format", "npy-dir", (scratch / "in").string(), "-o", output.string()}));

  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("no track could be imported"), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(output));
  EXPECT_FALSE(fs::exists(with_suffix(output, ".partial")));
}

// The dimension comes from the first good track: a bad first track must not impose its own.
TEST(ImportBadTracks, SkippedFirstTrackDoesNotFixTheDimension) {
  const ScratchDir scratch;
  const auto good = make_tracks({"b", "c", "d"}, kDim, 53);
  write_npy_dir(scratch / "in", good);
  auto first = make_tracks({"a"}, kDim - 1, 54, 2).front();
  first.values[3] = std::numeric_limits<float>::quiet_NaN();
  write_track_npy(scratch / "in" / "a.npy", first, false);

  EmbeddingImporter importer(import_config("npy-dir", scratch / "in", scratch / "store.h5"));
  importer.run();

  EXPECT_EQ(importer.summary().skipped, 1u);
  EXPECT_EQ(importer.summary().dim, kDim);
  expect_store_holds(scratch / "store.h5", good);
}

TEST(ImportBadTracks, FolderWithoutTrackFilesIsAnErrorAndWritesNoStore) {
  const ScratchDir scratch;
  fs::create_directories(scratch / "in" / "sub");
  write_text(scratch / "in" / "sub" / "notes.txt", "no embeddings here");
  const fs::path output = scratch / "store.h5";

  const CommandResult result =
      run_cli(quoted_args({"import", "--format", "npy-dir", (scratch / "in").string(), "-o", output.string()}));

  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("no tracks found"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find((scratch / "in").string()), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(output));
  EXPECT_FALSE(fs::exists(with_suffix(output, ".partial")));
}

TEST(ImportBadTracks, StaleErrorsReportIsRemovedWhenARerunSkipsNothing) {
  const ScratchDir scratch;
  const auto good = make_tracks({"a", "b", "c"}, kDim, 52);
  write_npy_dir(scratch / "in", good);
  plant_nan(scratch / "in" / "d.npy");
  const fs::path output = scratch / "store.h5";
  const std::string command = quoted_args({"import", "--format", "npy-dir", (scratch / "in").string(), "-o", output.string()});
  ASSERT_EQ(run_cli(command).exit_code, 0);
  ASSERT_TRUE(fs::exists(BatchErrors::report_path(output)));

  fs::remove(scratch / "in" / "d.npy");
  const CommandResult rerun = run_cli(command + " --overwrite");

  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_FALSE(fs::exists(BatchErrors::report_path(output)));
  expect_store_holds(output, good);
}

// ---------------------------------------------------------------------------------------------
// Existing output, resuming, determinism

TEST(ImportOutput, ExistingOutputIsKeptUnlessOverwrite) {
  const ScratchDir scratch;
  const auto tracks = make_tracks({"a", "b", "c", "d"}, kDim, 61);
  write_npy_dir(scratch / "in", tracks);
  const fs::path output = scratch / "store.h5";
  write_text(output, "precious results");
  const std::string command = quoted_args({"import", "--format", "npy-dir", (scratch / "in").string(), "-o", output.string()});

  const CommandResult refused = run_cli(command);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("already exists"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find(output.string()), std::string::npos) << refused.err;
  EXPECT_EQ(read_text(output), "precious results");

  const CommandResult replaced = run_cli(command + " --overwrite");
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  expect_store_holds(output, tracks);
}

TEST(ImportResume, KilledRunResumesFromPartialAndImportsEachTrackOnce) {
  const ScratchDir scratch;
  const auto tracks = make_tracks(numbered_ids("album/track", 12), kDim, 71);
  constexpr std::size_t kCommitted = 5;
  write_npy_dir(scratch / "in", {tracks.begin(), tracks.begin() + kCommitted});
  const fs::path output = scratch / "store.h5";
  leave_killed_partial(import_config("npy-dir", scratch / "in", output));
  write_npy_dir(scratch / "in", tracks);

  EmbeddingImporter importer(import_config("npy-dir", scratch / "in", output));
  importer.run();

  expect_store_holds(output, tracks);
  EXPECT_FALSE(fs::exists(with_suffix(output, ".partial")));
  EXPECT_EQ(importer.summary().already_present, kCommitted);
  EXPECT_EQ(importer.summary().imported, tracks.size() - kCommitted);
  EXPECT_EQ(importer.summary().store_tracks, tracks.size());
}

// A partial store left by an import with other settings is not this command's to resume.
void expect_stale_partial_is_replaced(const std::function<void(ImportConfig&)>& other_settings) {
  const ScratchDir scratch;
  const auto tracks = make_tracks(numbered_ids("t", 6), kDim, 72);
  write_npy_dir(scratch / "in", tracks);
  const fs::path output = scratch / "store.h5";
  ImportConfig stale = import_config("npy-dir", scratch / "in", output);
  other_settings(stale);
  leave_killed_partial(stale);

  std::vector<std::string> messages;
  Context context;
  context.messages = [&](MessageLevel, std::string_view text) { messages.emplace_back(text); };
  EmbeddingImporter importer(import_config("npy-dir", scratch / "in", output), context);
  importer.run();

  expect_store_holds(output, tracks);
  EXPECT_EQ(importer.summary().already_present, 0u);
  EXPECT_EQ(importer.summary().imported, tracks.size());
  EXPECT_FALSE(fs::exists(with_suffix(output, ".partial")));
  const std::string expected = with_suffix(output, ".partial").string() + ": left by a run with other inputs or settings; starting over";
  EXPECT_NE(std::find(messages.begin(), messages.end(), expected), messages.end());
}

TEST(ImportResume, PartialOfAnotherDimensionThanDimIsDiscarded) {
  expect_stale_partial_is_replaced([](ImportConfig& config) { config.dim = kDim; });
}

TEST(ImportResume, PartialOfAnotherLayerIsDiscarded) {
  expect_stale_partial_is_replaced([](ImportConfig& config) { config.layer = "pool3"; });
}

struct StoreContents {
  std::vector<std::string> ids;
  std::vector<std::uint64_t> offsets;
  std::vector<float> frames;
};

StoreContents read_everything(const fs::path& path) {
  const EmbeddingStore store(path);
  StoreContents contents{store.ids(), store.offsets(), std::vector<float>(store.total_frames() * store.dim())};
  store.read_rows(0, store.total_frames(), contents.frames.data());
  return contents;
}

TEST(ImportDeterminism, StoreDoesNotDependOnThreadCount) {
  const ScratchDir scratch;
  std::vector<std::string> ids = numbered_ids("a/", 20);
  for (const auto& id : numbered_ids("b/c/", 20)) ids.push_back(id);
  const auto tracks = make_tracks(ids, 12, 81);
  write_npy_dir(scratch / "in", tracks);

  ImportConfig one_thread = import_config("npy-dir", scratch / "in", scratch / "one.h5");
  one_thread.jobs = 1;
  EmbeddingImporter(one_thread).run();
  ImportConfig two_threads = import_config("npy-dir", scratch / "in", scratch / "two.h5");
  two_threads.jobs = 2;
  EmbeddingImporter(two_threads).run();

  const StoreContents one = read_everything(scratch / "one.h5");
  const StoreContents two = read_everything(scratch / "two.h5");
  EXPECT_EQ(one.ids, two.ids);
  EXPECT_EQ(one.offsets, two.offsets);
  EXPECT_EQ(one.frames, two.frames);
  EXPECT_EQ(one.ids, ids_of(sorted_by_id(tracks)));
  EXPECT_EQ(one.frames, concatenated_values(sorted_by_id(tracks)));
}

// ---------------------------------------------------------------------------------------------
// The store as Python sees it

// Writes .npy files with numpy itself into nested folders: float32 arrays of 1 to 6 frames,
// and one (D,) vector.
constexpr const char* kWriteNumpyTracks = R"(
import os, sys
import numpy as np
root = sys.argv[1]
rng = np.random.default_rng(2022)
for i in range(14):
    folder = os.path.join(root, "artist%d" % (i % 3), "album%d" % (i % 2))
    os.makedirs(folder, exist_ok=True)
    frames = rng.standard_normal((1 + i % 6, 12)).astype(np.float32)
    np.save(os.path.join(folder, "track%02d.npy" % i), frames[0] if i == 4 else frames)
)";

// Reads the store with h5py alone and compares it with np.load of every source file.
constexpr const char* kCheckStoreWithH5py = R"(
import os, sys
import h5py
import numpy as np
store, root = sys.argv[1], sys.argv[2]
expected_ids = sorted(
    os.path.relpath(os.path.join(folder, name), root)[:-len(".npy")]
    for folder, _, names in os.walk(root) for name in names if name.endswith(".npy"))
with h5py.File(store, "r") as f:
    ids = list(f["tracks/ids"].asstr()[:])
    offsets = f["tracks/offsets"][:]
    frames = f["frames/embedding"]
    assert ids == expected_ids, (ids, expected_ids)
    assert offsets.dtype == np.uint64, offsets.dtype
    assert offsets.shape == (len(ids) + 1,), offsets.shape
    assert offsets[0] == 0 and offsets[-1] == frames.shape[0], (offsets, frames.shape)
    assert frames.dtype == np.float32, frames.dtype
    for i, track_id in enumerate(ids):
        source = np.load(os.path.join(root, track_id + ".npy"))
        source = source.reshape(-1, source.shape[-1]).astype(np.float32)
        stored = frames[offsets[i]:offsets[i + 1]]
        assert np.array_equal(stored, source), (track_id, stored, source)
print("checked", len(ids), "tracks")
)";

// Writes tracks with numpy (the `writer` script) into scratch/in and imports them as npy-dir.
void import_numpy_written_tracks(const std::string& python, const ScratchDir& scratch, const char* writer) {
  write_text(scratch / "write.py", writer);
  const CommandResult written =
      run_command(shell_quote(python) + " " + quoted_args({(scratch / "write.py").string(), (scratch / "in").string()}));
  ASSERT_EQ(written.exit_code, 0) << written.err;
  const CommandResult imported =
      run_cli(quoted_args({"import", "--format", "npy-dir", (scratch / "in").string(), "-o", (scratch / "store.h5").string()}));
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
}

// Compares scratch/store.h5 with the numpy files in scratch/in, through h5py.
CommandResult check_store_with_h5py(const std::string& python, const ScratchDir& scratch) {
  write_text(scratch / "check.py", kCheckStoreWithH5py);
  return run_command(shell_quote(python) + " " +
                     quoted_args({(scratch / "check.py").string(), (scratch / "store.h5").string(), (scratch / "in").string()}));
}

TEST(ImportPythonView, H5pyReadsWhatNumpyWrote) {
  const std::string python = python_with_h5py();
  if (python.empty()) GTEST_SKIP() << "no /usr/bin/python3 with numpy and h5py";
  const ScratchDir scratch;
  ASSERT_NO_FATAL_FAILURE(import_numpy_written_tracks(python, scratch, kWriteNumpyTracks));
  const CommandResult checked = check_store_with_h5py(python, scratch);
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  EXPECT_NE(checked.out.find("checked 14 tracks"), std::string::npos) << checked.out;
}

// numpy's other float layouts: float64, float16, big-endian and Fortran order all arrive as the
// same float32 values numpy's astype(float32) gives.
constexpr const char* kWriteNumpyLayouts = R"(
import os, sys
import numpy as np
root = sys.argv[1]
os.makedirs(root, exist_ok=True)
rng = np.random.default_rng(7)
base = rng.standard_normal((5, 10))
np.save(os.path.join(root, "f64.npy"), base.astype(np.float64))
np.save(os.path.join(root, "f16.npy"), base.astype(np.float16))
np.save(os.path.join(root, "big_endian.npy"), base.astype(">f4"))
np.save(os.path.join(root, "fortran.npy"), np.asfortranarray(base.astype(np.float32)))
np.save(os.path.join(root, "batch_of_one.npy"), base.astype(np.float32)[None, :, :])
)";

TEST(ImportPythonView, NumpyFloatLayoutsConvertToFloat32) {
  const std::string python = python_with_h5py();
  if (python.empty()) GTEST_SKIP() << "no /usr/bin/python3 with numpy and h5py";
  const ScratchDir scratch;
  ASSERT_NO_FATAL_FAILURE(import_numpy_written_tracks(python, scratch, kWriteNumpyLayouts));
  EXPECT_EQ(EmbeddingStore(scratch / "store.h5").track_count(), 5u);
  const CommandResult checked = check_store_with_h5py(python, scratch);
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
}

}  // namespace
}  // namespace conceptree
