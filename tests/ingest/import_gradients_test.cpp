// `conceptree import --gradient`: gradients of model outputs arrive beside the frames, row for row
// and bit for bit, from every format that can carry them; a bad gradient is its track's fault
// (npy-dir: skipped, named, counted) or the whole input's (npy, h5: the import stops); resuming keeps
// the gradients consistent; and examples/export_pytorch.py's file imports with the command it prints.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "conceptree/batch_errors.hpp"
#include "conceptree/ingest.hpp"
#include "conceptree/npy.hpp"
#include "conceptree/store.hpp"
#include "hdf5/hdf5.hpp"
#include "ingest/killed_import.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using testing::leave_killed_partial;
using conceptree::testing::CommandResult;
using conceptree::testing::quoted_args;
using conceptree::testing::read_text;
using conceptree::testing::run_cli;
using conceptree::testing::run_command;
using conceptree::testing::ScratchDir;
using conceptree::testing::shell_quote;
using conceptree::testing::write_text;

constexpr std::uint64_t kDim = 6;
// Ascending, the order the store lists them in; the options name them the other way round.
const std::vector<std::string> kOutputs = {"happy", "sad"};

// One track as the test wrote it: frames, and per output of kOutputs a gradient shaped like them.
struct Track {
  std::string id;
  FrameMatrix frames;
  std::vector<FrameMatrix> gradients;
};

FrameMatrix random_matrix(std::uint64_t rows, std::uint64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> normal;
  FrameMatrix matrix{rows, cols, std::vector<float>(rows * cols)};
  for (auto& value : matrix.values) value = normal(rng);
  return matrix;
}

// Tracks of 1 to 4 frames, so offsets are uneven, with distinct random values everywhere.
std::vector<Track> make_tracks(const std::vector<std::string>& ids, std::uint32_t seed, std::size_t outputs = kOutputs.size()) {
  std::mt19937 rng(seed);
  std::vector<Track> tracks;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    Track track{ids[i], random_matrix(1 + (i * 3) % 4, kDim, rng), {}};
    for (std::size_t g = 0; g < outputs; ++g) track.gradients.push_back(random_matrix(track.frames.rows, kDim, rng));
    tracks.push_back(std::move(track));
  }
  return tracks;
}

template <class Part>
std::vector<float> stacked(const std::vector<Track>& tracks, Part part) {
  std::vector<float> values;
  for (const auto& track : tracks) {
    const FrameMatrix& matrix = part(track);
    values.insert(values.end(), matrix.values.begin(), matrix.values.end());
  }
  return values;
}

std::vector<float> stacked_frames(const std::vector<Track>& tracks) {
  return stacked(tracks, [](const Track& track) -> const FrameMatrix& { return track.frames; });
}

std::vector<float> stacked_gradients(const std::vector<Track>& tracks, std::size_t output) {
  return stacked(tracks, [output](const Track& track) -> const FrameMatrix& { return track.gradients[output]; });
}

std::vector<std::uint64_t> offsets_of(const std::vector<Track>& tracks) {
  std::vector<std::uint64_t> offsets{0};
  for (const auto& track : tracks) offsets.push_back(offsets.back() + track.frames.rows);
  return offsets;
}

std::vector<std::string> ids_of(const std::vector<Track>& tracks) {
  std::vector<std::string> ids;
  for (const auto& track : tracks) ids.push_back(track.id);
  return ids;
}

fs::path with_suffix(const fs::path& path, const std::string& suffix) {
  fs::path result = path;
  result += suffix;
  return result;
}

void write_matrix_npy(const fs::path& path, const FrameMatrix& matrix) {
  fs::create_directories(path.parent_path());
  const std::uint64_t shape[] = {matrix.rows, matrix.cols};
  write_npy(path, matrix.values, shape);
}

// The store holds exactly `expected` in that order, its gradients too, read through the store's
// API and, as Python or any HDF5 reader would, straight from the documented datasets.
void expect_store_holds(const fs::path& store_path, const std::vector<Track>& expected, const std::vector<std::string>& outputs = kOutputs) {
  ASSERT_TRUE(fs::exists(store_path)) << store_path;
  const EmbeddingStore store(store_path);
  ASSERT_EQ(store.ids(), ids_of(expected));
  ASSERT_EQ(store.offsets(), offsets_of(expected));
  ASSERT_EQ(store.dim(), kDim);
  ASSERT_EQ(store.layer().gradients, outputs);
  const std::uint64_t rows = store.total_frames();
  std::vector<float> values(rows * kDim);
  store.read_rows(0, rows, values.data());
  EXPECT_EQ(values, stacked_frames(expected));

  h5::File file(store_path, h5::Mode::ReadOnly);
  for (std::size_t g = 0; g < outputs.size(); ++g) {
    const std::vector<float> want = stacked_gradients(expected, g);
    store.read_gradient_rows(outputs[g], 0, rows, values.data());
    EXPECT_EQ(values, want) << outputs[g];
    // One track in the middle alone: its rows are the frames' rows.
    const std::size_t middle = expected.size() / 2;
    std::vector<float> one(expected[middle].frames.rows * kDim);
    store.read_gradient_rows(outputs[g], store.offsets()[middle], expected[middle].frames.rows, one.data());
    EXPECT_EQ(one, expected[middle].gradients[g].values) << outputs[g] << " of " << expected[middle].id;

    const h5::Handle dataset = h5::open_dataset(file.id(), "/gradients/embedding/" + outputs[g], file.name());
    EXPECT_EQ(h5::dims(dataset.id()), (std::vector<std::uint64_t>{rows, kDim}));
    EXPECT_EQ(h5::storage_info(dataset.id()).type_name, "float32");
    std::vector<float> raw(rows * kDim);
    h5::read_rows(dataset.id(), H5T_NATIVE_FLOAT, 0, rows, raw.data());
    EXPECT_EQ(raw, want) << outputs[g];
  }
  if (outputs.empty()) {
    EXPECT_FALSE(h5::exists(file.id(), "/gradients"));
  }
}

// Every input format's files for the same tracks, in `scratch`:
//   npy-dir  in/<id>.npy, grads/<output>/<id>.npy
//   npy      frames.npy, ids.txt, offsets.npy, grad_<output>.npy
//   h5       features.h5: /emb, /ids, /offsets, /grad/<output>
void write_inputs(const ScratchDir& scratch, const std::vector<Track>& tracks) {
  for (const auto& track : tracks) {
    write_matrix_npy(scratch / "in" / (track.id + ".npy"), track.frames);
    for (std::size_t g = 0; g < kOutputs.size(); ++g) write_matrix_npy(scratch / "grads" / kOutputs[g] / (track.id + ".npy"), track.gradients[g]);
  }
  const std::vector<std::uint64_t> offsets = offsets_of(tracks);
  const std::uint64_t shape[] = {offsets.back(), kDim};
  const std::uint64_t offsets_shape[] = {offsets.size()};
  write_npy(scratch / "frames.npy", stacked_frames(tracks), shape);
  write_npy(scratch / "offsets.npy", offsets, offsets_shape);
  std::string ids;
  for (const auto& track : tracks) ids += track.id + "\n";
  write_text(scratch / "ids.txt", ids);
  h5::File file(scratch / "features.h5", h5::Mode::Create);
  h5::write_floats(file.id(), "/emb", stacked_frames(tracks), shape);
  h5::write_strings(file.id(), "/ids", ids_of(tracks));
  h5::write_uint64s(file.id(), "/offsets", offsets);
  for (std::size_t g = 0; g < kOutputs.size(); ++g) {
    write_npy(scratch / ("grad_" + kOutputs[g] + ".npy"), stacked_gradients(tracks, g), shape);
    h5::write_floats(file.id(), "/grad/" + kOutputs[g], stacked_gradients(tracks, g), shape);
  }
  file.close();
}

// `conceptree import` of write_inputs' files in `format` into `output`, as shell text; --gradient
// is left to the caller.
std::string import_command(const ScratchDir& scratch, const std::string& format, const fs::path& output) {
  const std::string out = output.string();
  if (format == "npy-dir" || format == "tf-tensors") return quoted_args({"import", "--format", format, (scratch / "in").string(), "-o", out});
  if (format == "npy") {
    return quoted_args({"import", "--format", "npy", (scratch / "frames.npy").string(), "--ids", (scratch / "ids.txt").string(), "--offsets",
                        (scratch / "offsets.npy").string(), "-o", out});
  }
  return quoted_args({"import", "--format", "h5", (scratch / "features.h5").string(), "--dataset", "/emb", "--ids-dataset", "/ids",
                      "--offsets-dataset", "/offsets", "-o", out});
}

// write_inputs' gradients of every output for `format`, as a --gradient value, outputs in
// descending order.
std::string gradient_option(const ScratchDir& scratch, const std::string& format) {
  std::string option;
  for (auto output = kOutputs.rbegin(); output != kOutputs.rend(); ++output) {
    std::string source = "/grad/" + *output;
    if (format == "npy-dir") source = (scratch / "grads" / *output).string();
    if (format == "npy") source = (scratch / ("grad_" + *output + ".npy")).string();
    option += (option.empty() ? "" : ",") + *output + "=" + source;
  }
  return option;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(ImportGradients, NpyDirRoundTripsEveryOutputExactly) {
  const ScratchDir scratch;
  // Sorted, as npy-dir stores them.
  const auto tracks = make_tracks({"album/a", "album/b", "album/deeper/c", "d", "e"}, 1);
  write_inputs(scratch, tracks);

  ImportConfig config;
  config.format = ImportFormat::NpyDir;
  config.input = (scratch / "in").string();
  config.output = (scratch / "store.h5").string();
  config.gradient = gradient_option(scratch, "npy-dir");
  config.jobs = 2;
  EmbeddingImporter importer(config);
  importer.run();

  expect_store_holds(scratch / "store.h5", tracks);
  EXPECT_EQ(importer.summary().imported, tracks.size());
  EXPECT_EQ(importer.summary().skipped, 0u);
}

TEST(ImportGradients, NpyArrayWithOffsetsRoundTrips) {
  const ScratchDir scratch;
  const auto tracks = make_tracks({"zeta", "alpha", "mid/dle", "beta", "gamma", "delta"}, 2);
  write_inputs(scratch, tracks);

  const CommandResult result =
      run_cli(import_command(scratch, "npy", scratch / "store.h5") + " --gradient " + shell_quote(gradient_option(scratch, "npy")));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_store_holds(scratch / "store.h5", tracks);
}

TEST(ImportGradients, Hdf5DatasetsRoundTripAndInfoListsThem) {
  const ScratchDir scratch;
  const auto tracks = make_tracks({"q", "b", "x/y", "a", "m", "c", "k"}, 3);
  write_inputs(scratch, tracks);

  const CommandResult result =
      run_cli(import_command(scratch, "h5", scratch / "store.h5") + " --gradient " + shell_quote(gradient_option(scratch, "h5")));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_store_holds(scratch / "store.h5", tracks);
  const CommandResult info = run_cli(quoted_args({"info", (scratch / "store.h5").string()}));
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_TRUE(contains(info.out, "gradients of happy, sad")) << info.out;
}

// ---------------------------------------------------------------------------------------------
// A bad gradient in a folder of files: its track is skipped, named and counted, or stops --strict

constexpr const char* kBadId = "set/t3";
const std::vector<std::string> kGoodIds = {"set/t0", "set/t1", "set/t2", "set/t4", "set/t5"};

// The bad track's gradient file of `output`, rewritten by a case from its 3 x kDim gradient.
fs::path bad_gradient_path(const ScratchDir& scratch, const std::string& output) {
  return scratch / "grads" / output / (std::string(kBadId) + ".npy");
}

void remove_file(const fs::path& path) { fs::remove(path); }

void drop_a_frame(const fs::path& path) {
  std::mt19937 rng(5);
  write_matrix_npy(path, random_matrix(2, kDim, rng));
}

void widen(const fs::path& path) {
  std::mt19937 rng(6);
  write_matrix_npy(path, random_matrix(3, kDim + 1, rng));
}

void plant_nan(const fs::path& path) {
  std::mt19937 rng(7);
  FrameMatrix gradient = random_matrix(3, kDim, rng);
  gradient.values[1 * kDim + 2] = std::numeric_limits<float>::quiet_NaN();
  write_matrix_npy(path, gradient);
}

void plant_inf(const fs::path& path) {
  std::mt19937 rng(8);
  FrameMatrix gradient = random_matrix(3, kDim, rng);
  gradient.values[2 * kDim + 4] = std::numeric_limits<float>::infinity();
  write_matrix_npy(path, gradient);
}

struct BadGradientCase {
  const char* name;
  const char* output;             // whose gradient file of the bad track is spoilt
  void (*spoil)(const fs::path&);
  const char* expected_problem;   // part of the reason the errors report gives
};

std::ostream& operator<<(std::ostream& stream, const BadGradientCase& bad) { return stream << bad.name; }

class ImportBadGradientFile : public ::testing::TestWithParam<BadGradientCase> {
 protected:
  // The good tracks, in store order, after writing them and the bad one with its spoilt gradient.
  std::vector<Track> write_input(const ScratchDir& scratch) const {
    std::vector<std::string> ids = kGoodIds;
    ids.insert(ids.begin() + 3, kBadId);
    auto tracks = make_tracks(ids, 9);
    std::mt19937 rng(10);
    tracks[3].frames = random_matrix(3, kDim, rng);
    for (auto& gradient : tracks[3].gradients) gradient = random_matrix(3, kDim, rng);
    write_inputs(scratch, tracks);
    GetParam().spoil(bad_gradient_path(scratch, GetParam().output));
    tracks.erase(tracks.begin() + 3);
    return tracks;
  }
};

TEST_P(ImportBadGradientFile, SkipsItsTrackNamedAndCountedOrStopsWithStrict) {
  const ScratchDir scratch;
  const auto good = write_input(scratch);
  const fs::path output = scratch / "store.h5";
  const std::string gradient = " --gradient " + shell_quote(gradient_option(scratch, "npy-dir"));

  const CommandResult skipping = run_cli(import_command(scratch, "npy-dir", output) + gradient + " -j 2");

  ASSERT_EQ(skipping.exit_code, 0) << skipping.err;
  EXPECT_TRUE(contains(skipping.err, kBadId)) << skipping.err;
  EXPECT_TRUE(contains(skipping.err, "1 bad tracks skipped")) << skipping.err;
  expect_store_holds(output, good);
  const auto report = split_lines(read_text(BatchErrors::report_path(output)));
  ASSERT_EQ(report.size(), 2u) << read_text(BatchErrors::report_path(output));
  const auto tab = report[1].find('\t');
  ASSERT_NE(tab, std::string::npos) << report[1];
  EXPECT_EQ(report[1].substr(0, tab), bad_gradient_path(scratch, GetParam().output).string());
  EXPECT_TRUE(contains(report[1].substr(tab + 1), std::string("gradient of '") + GetParam().output + "': " + GetParam().expected_problem))
      << report[1];

  const fs::path strict_output = scratch / "strict.h5";
  const CommandResult strict = run_cli(import_command(scratch, "npy-dir", strict_output) + gradient + " --strict");

  EXPECT_EQ(strict.exit_code, 1) << strict.err;
  EXPECT_TRUE(contains(strict.err, bad_gradient_path(scratch, GetParam().output).string())) << strict.err;
  EXPECT_TRUE(contains(strict.err, GetParam().expected_problem)) << strict.err;
  EXPECT_FALSE(fs::exists(strict_output));
  EXPECT_FALSE(fs::exists(with_suffix(strict_output, ".partial")));
}

INSTANTIATE_TEST_SUITE_P(
    EachKindOfBadGradient, ImportBadGradientFile,
    ::testing::Values(BadGradientCase{"missing", "happy", remove_file, "cannot open"},
                      BadGradientCase{"fewer_frames", "sad", drop_a_frame, "shape 2 x 6, the frames' is 3 x 6"},
                      BadGradientCase{"other_dimension", "happy", widen, "shape 3 x 7, the frames' is 3 x 6"},
                      BadGradientCase{"nan", "sad", plant_nan, "NaN at frame 1, column 2"},
                      BadGradientCase{"inf", "happy", plant_inf, "Inf at frame 2, column 4"}),
    [](const ::testing::TestParamInfo<BadGradientCase>& info) { return std::string(info.param.name); });

// A non-finite value in one track's rows of a whole gradient array spoils that track alone.
TEST(ImportGradients, NonFiniteRowsOfAGradientArraySkipTheirTrackNamingTheArray) {
  const ScratchDir scratch;
  auto tracks = make_tracks({"a", "b", "c", "d"}, 11);
  const std::uint64_t first_row_of_c = offsets_of(tracks)[2];
  write_inputs(scratch, tracks);
  std::vector<float> happy = stacked_gradients(tracks, 0);
  happy[(first_row_of_c + 1) * kDim + 3] = -std::numeric_limits<float>::infinity();
  const std::uint64_t shape[] = {offsets_of(tracks).back(), kDim};
  write_npy(scratch / "grad_happy.npy", happy, shape);
  const fs::path output = scratch / "store.h5";

  const CommandResult result = run_cli(import_command(scratch, "npy", output) + " --gradient " + shell_quote(gradient_option(scratch, "npy")));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  tracks.erase(tracks.begin() + 2);
  expect_store_holds(output, tracks);
  const std::string report = read_text(BatchErrors::report_path(output));
  EXPECT_TRUE(contains(report, "c (" + (scratch / "grad_happy.npy").string() + ")\tgradient of 'happy': Inf at frame 1, column 3")) << report;
}

// ---------------------------------------------------------------------------------------------
// Options and whole inputs that cannot work stop the import before it writes anything

struct RefusedCase {
  const char* name;
  const char* format;
  const char* gradient;  // --gradient; {scratch} is the scratch folder
  const char* expected;  // part of the error message; {rows} is the frame count
};

std::ostream& operator<<(std::ostream& stream, const RefusedCase& refused) { return stream << refused.name; }

class ImportRefusedGradient : public ::testing::TestWithParam<RefusedCase> {};

TEST_P(ImportRefusedGradient, StopsWithAMessageNamingTheProblem) {
  const ScratchDir scratch;
  const auto tracks = make_tracks({"a", "b", "c"}, 12);
  write_inputs(scratch, tracks);
  std::mt19937 rng(13);
  const FrameMatrix wide = random_matrix(offsets_of(tracks).back(), kDim + 1, rng);
  write_matrix_npy(scratch / "grad_wide.npy", wide);
  {
    h5::File file(scratch / "features.h5", h5::Mode::ReadWrite);
    const std::uint64_t shape[] = {wide.rows, wide.cols};
    h5::write_floats(file.id(), "/grad/wide", wide.values, shape);
    file.close();
  }
  const fs::path output = scratch / "store.h5";
  const auto placeholders = [&](const char* text) {
    return fmt::format(fmt::runtime(text), fmt::arg("scratch", scratch.path().string()), fmt::arg("rows", wide.rows));
  };
  const std::string gradient = placeholders(GetParam().gradient);
  const std::string expected = placeholders(GetParam().expected);

  const CommandResult result = run_cli(import_command(scratch, GetParam().format, output) + " --gradient " + shell_quote(gradient));

  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(contains(result.err, expected)) << result.err;
  EXPECT_FALSE(fs::exists(output));
  EXPECT_FALSE(fs::exists(with_suffix(output, ".partial")));
}

INSTANTIATE_TEST_SUITE_P(
    EachRefusal, ImportRefusedGradient,
    ::testing::Values(
        RefusedCase{"npy_shape_differs", "npy", "happy={scratch}/grad_wide.npy",
                    "{scratch}/grad_wide.npy (gradient of 'happy'): shape ({rows}, 7), but {scratch}/frames.npy is ({rows}, 6)"},
        RefusedCase{"npy_missing", "npy", "happy={scratch}/grad_none.npy", "{scratch}/grad_none.npy: cannot open"},
        RefusedCase{"h5_shape_differs", "h5", "happy=/grad/wide", "{scratch}/features.h5:/grad/wide (gradient of 'happy'): shape ({rows}, 7), but /emb is ({rows}, 6)"},
        RefusedCase{"h5_missing", "h5", "happy=/grad/none", "no dataset /grad/none"},
        RefusedCase{"npy_dir_not_a_folder", "npy-dir", "happy={scratch}/grad_happy.npy", "{scratch}/grad_happy.npy: not a folder"},
        RefusedCase{"tf_tensors", "tf-tensors", "happy={scratch}/grads/happy", "tf-tensors inputs hold activations only"},
        RefusedCase{"no_equals", "h5", "happy", "--gradient 'happy': expected OUTPUT=SOURCE"},
        RefusedCase{"slash_in_output", "h5", "mood/happy=/grad/happy", "the output 'mood/happy' names a dataset"},
        RefusedCase{"empty_output", "h5", "=/grad/happy", "the output '' names a dataset"},
        RefusedCase{"no_source", "h5", "happy=", "no SOURCE"},
        RefusedCase{"output_twice", "h5", "happy=/grad/happy,happy=/grad/sad", "names the output 'happy' twice"}),
    [](const ::testing::TestParamInfo<RefusedCase>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Resuming

// The npy-dir import of scratch/in with the gradients of `outputs` (names of kOutputs).
ImportConfig npy_dir_import(const ScratchDir& scratch, const fs::path& output, const std::vector<std::string>& outputs) {
  ImportConfig config;
  config.format = ImportFormat::NpyDir;
  config.input = (scratch / "in").string();
  config.output = output.string();
  for (const auto& name : outputs) config.gradient += (config.gradient.empty() ? "" : ",") + name + "=" + (scratch / "grads" / name).string();
  return config;
}

TEST(ImportGradientsResume, KilledRunResumesAndEveryTrackKeepsItsOwnGradients) {
  const ScratchDir scratch;
  const auto tracks = make_tracks({"t00", "t01", "t02", "t03", "t04", "t05", "t06", "t07"}, 14);
  constexpr std::size_t kCommitted = 3;
  write_inputs(scratch, {tracks.begin(), tracks.begin() + kCommitted});
  const fs::path output = scratch / "store.h5";
  leave_killed_partial(npy_dir_import(scratch, output, kOutputs));
  write_inputs(scratch, tracks);

  EmbeddingImporter importer(npy_dir_import(scratch, output, kOutputs));
  importer.run();

  expect_store_holds(output, tracks);
  EXPECT_EQ(importer.summary().already_present, kCommitted);
  EXPECT_EQ(importer.summary().imported, tracks.size() - kCommitted);
  EXPECT_FALSE(fs::exists(with_suffix(output, ".partial")));
}

// A partial store with gradients of other outputs than asked for cannot be completed consistently:
// it is started over.
void expect_partial_with_other_gradients_is_started_over(const std::vector<std::string>& partial_outputs, bool import_gradients) {
  const ScratchDir scratch;
  const auto tracks = make_tracks({"t00", "t01", "t02", "t03", "t04"}, 15, 3);
  write_inputs(scratch, {tracks.begin(), tracks.begin() + 2});
  const fs::path output = scratch / "store.h5";
  leave_killed_partial(npy_dir_import(scratch, output, partial_outputs));
  write_inputs(scratch, tracks);

  EmbeddingImporter importer(npy_dir_import(scratch, output, import_gradients ? kOutputs : std::vector<std::string>{}));
  importer.run();

  expect_store_holds(output, tracks, import_gradients ? kOutputs : std::vector<std::string>{});
  EXPECT_EQ(importer.summary().already_present, 0u);
  EXPECT_EQ(importer.summary().imported, tracks.size());
}

TEST(ImportGradientsResume, PartialWithoutGradientsIsStartedOver) { expect_partial_with_other_gradients_is_started_over({}, true); }

TEST(ImportGradientsResume, PartialWithFewerOutputsIsStartedOver) { expect_partial_with_other_gradients_is_started_over({"happy"}, true); }

TEST(ImportGradientsResume, PartialWithGradientsIsStartedOverByAnImportWithout) {
  expect_partial_with_other_gradients_is_started_over(kOutputs, false);
}

// ---------------------------------------------------------------------------------------------
// examples/export_pytorch.py

// Checks, in float64 on the example's own network, the layout the example documents: frame row t,
// column c*F + f is the activation at channel c, time t, frequency f; and the gradient rows are
// laid out the same way, since the directional derivative of the logit along any direction V
// (finite differences, V put back into the activation's shape) equals the dot product of V with
// the gradient rows.
constexpr const char* kCheckExampleLayout = R"(
import sys
import numpy as np
import torch
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, sys.argv[1])
import export_pytorch as example

torch.manual_seed(3)
model = example.TinyCnn().double().eval()
x = example.random_log_mel(37).double()
captured = []
hook = model.block2.register_forward_hook(lambda module, inputs, output: captured.append(output.detach()))
frames, (gradient,) = example.activations_and_gradients(model, model.block2, x, [1])
hook.remove()
activation = captured[0][0].numpy()
channels, steps, bands = activation.shape
assert frames.shape == gradient.shape == (steps, channels * bands), (frames.shape, gradient.shape, activation.shape)
by_time_step = np.stack([activation[:, t, :].reshape(-1) for t in range(steps)]).astype(np.float32)
assert np.array_equal(frames, by_time_step)

def logit_shifted_by(direction, eps):
    shift = torch.from_numpy(direction).reshape(steps, channels, bands).permute(1, 0, 2)[None]
    hook = model.block2.register_forward_hook(lambda module, inputs, output: output + eps * shift)
    try:
        with torch.no_grad():
            return model(x)[0, 1].item()
    finally:
        hook.remove()

rng = np.random.default_rng(0)
for _ in range(3):
    direction = rng.standard_normal(frames.shape)
    eps = 1e-6
    numeric = (logit_shifted_by(direction, eps) - logit_shifted_by(direction, -eps)) / (2 * eps)
    analytic = float((gradient.astype(np.float64) * direction).sum())
    assert abs(numeric - analytic) <= 1e-7 + 1e-4 * abs(analytic), (numeric, analytic)
print("layout checked")
)";

TEST(ImportGradientsExample, ExportPytorchFileImportsWithThePrintedCommand) {
  const std::string python = "/usr/bin/python3";
  if (std::system((python + " -c 'import torch, h5py, numpy' >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << "/usr/bin/python3 cannot import torch, h5py and numpy (Debian python3-torch, python3-h5py)";
  const ScratchDir scratch;
  const fs::path examples = fs::path(CONCEPTREE_SOURCE_DIR) / "examples";
  const fs::path exported = scratch / "exported.h5";
  const fs::path store_path = scratch / "store.h5";

  const CommandResult exporting = run_command(shell_quote(python) + " " +
                                              quoted_args({(examples / "export_pytorch.py").string(), "-o", exported.string(), "--tracks",
                                                           "5", "--outputs", "sad,happy", "--store", store_path.string()}));
  ASSERT_EQ(exporting.exit_code, 0) << exporting.out << exporting.err;
  const std::string program = "conceptree ";
  std::string printed;
  for (const auto& line : split_lines(exporting.out))
    if (line.rfind(program + "import ", 0) == 0) printed = line;
  ASSERT_FALSE(printed.empty()) << "no conceptree import command in:\n" << exporting.out;
  const CommandResult imported = run_command(shell_quote(CONCEPTREE_CLI) + " " + printed.substr(program.size()));
  ASSERT_EQ(imported.exit_code, 0) << printed << "\n" << imported.err;

  h5::File file(exported, h5::Mode::ReadOnly);
  const EmbeddingStore store(store_path);
  EXPECT_EQ(store.ids(), h5::read_strings(h5::open_dataset(file.id(), "/ids", file.name()).id()));
  EXPECT_EQ(store.offsets(), h5::read_vector<std::uint64_t>(file.id(), "/offsets", file.name()));
  std::vector<std::uint64_t> shape;
  const auto embeddings = h5::read_vector<float>(file.id(), "/embeddings", file.name(), &shape);
  ASSERT_EQ(shape.size(), 2u);
  ASSERT_EQ(store.total_frames(), shape[0]);
  ASSERT_EQ(store.dim(), shape[1]);
  std::vector<float> values(embeddings.size());
  store.read_rows(0, shape[0], values.data());
  EXPECT_EQ(values, embeddings);
  EXPECT_EQ(store.layer().name, "block2");
  const h5::Handle gradients = h5::open_group(file.id(), "/gradients", file.name());
  const std::vector<std::string> written = h5::member_names(gradients.id());
  EXPECT_EQ(store.layer().gradients, (std::vector<std::string>{"happy", "sad"}));
  EXPECT_EQ(written, store.layer().gradients);
  for (const auto& output : written) {
    const auto expected = h5::read_vector<float>(file.id(), "/gradients/" + output, file.name());
    store.read_gradient_rows(output, 0, shape[0], values.data());
    EXPECT_EQ(values, expected) << output;
  }

  write_text(scratch / "check_layout.py", kCheckExampleLayout);
  const CommandResult layout = run_command(shell_quote(python) + " " + quoted_args({(scratch / "check_layout.py").string(), examples.string()}));
  EXPECT_EQ(layout.exit_code, 0) << layout.out << layout.err;
  EXPECT_TRUE(contains(layout.out, "layout checked")) << layout.out;
}

}  // namespace
}  // namespace conceptree
