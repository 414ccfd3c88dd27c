// End-to-end tests of the `conceptree` command line: help, version, usage errors, `info` and
// `synth`, run as a user would run them.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "conceptree/npy.hpp"
#include "conceptree/store.hpp"
#include "conceptree/version.hpp"
#include "support/test_support.hpp"

namespace conceptree {
namespace {

namespace fs = std::filesystem;
using conceptree::testing::CommandResult;
using conceptree::testing::read_text;
using conceptree::testing::run_cli;
using conceptree::testing::ScratchDir;
using conceptree::testing::quoted_args;
using conceptree::testing::shell_quote;
using conceptree::testing::write_text;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  std::string line;
  while (std::getline(stream, line)) lines.push_back(line);
  return lines;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The first output line that starts with `label` once indentation is dropped and runs of
// whitespace are collapsed to one space, so assertions do not depend on column alignment.
std::string field_line(const std::string& output, const std::string& label) {
  for (const auto& line : split_lines(output)) {
    std::istringstream words(line);
    std::string word;
    std::string normalised;
    while (words >> word) normalised += (normalised.empty() ? std::string() : std::string(" ")) + word;
    if (normalised == label || normalised.starts_with(label + " ")) return normalised;
  }
  return fmt::format("(no line starting with '{}')", label);
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// ---------------------------------------------------------------------------------------------
// Help, version, usage errors

// `  name   description` entries of the "Subcommands:" section of `conceptree --help`; a line of
// any other shape (a wrapped description, a stray entry) is kept with an empty description.
std::map<std::string, std::string> listed_subcommands(const std::string& help) {
  const auto lines = split_lines(help);
  auto line = std::find_if(lines.begin(), lines.end(),
                           [](const std::string& text) { return lowercase(text) == "subcommands:"; });
  std::map<std::string, std::string> listed;
  if (line == lines.end()) return listed;
  for (++line; line != lines.end() && !line->empty(); ++line) {
    const std::string& text = *line;
    const auto name_end = text.find(' ', 2);
    const bool entry = text.starts_with("  ") && text.size() > 2 && std::islower(static_cast<unsigned char>(text[2])) &&
                       name_end != std::string::npos && text.compare(name_end, 2, "  ") == 0;
    const auto description_start = entry ? text.find_first_not_of(' ', name_end) : std::string::npos;
    if (description_start != std::string::npos) listed[text.substr(2, name_end - 2)] = text.substr(description_start);
    else listed[text] = "";
  }
  return listed;
}

// The README's command table: rows "| `conceptree NAME ...` | description |".
std::vector<std::string> documented_subcommands() {
  std::vector<std::string> names;
  for (const auto& line : split_lines(read_text(fs::path(CONCEPTREE_SOURCE_DIR) / "README.md"))) {
    const std::string marker = "| `conceptree ";
    if (!line.starts_with(marker)) continue;
    const auto end = line.find_first_of(" `", marker.size());
    names.push_back(line.substr(marker.size(), end - marker.size()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(CliHelp, ListsExactlyTheDocumentedSubcommandsEachWithAOneLineDescription) {
  const CommandResult result = run_cli("--help");
  ASSERT_EQ(result.exit_code, 0) << result.err;

  const auto listed = listed_subcommands(result.out);
  std::vector<std::string> names;
  for (const auto& [name, description] : listed) names.push_back(name);
  const auto documented = documented_subcommands();
  ASSERT_GE(documented.size(), 3u) << "README.md command table not found";
  for (const std::string core : {"import", "info", "synth"}) {
    EXPECT_TRUE(std::find(names.begin(), names.end(), core) != names.end()) << core << " missing from:\n" << result.out;
  }
  EXPECT_EQ(names, documented) << "conceptree --help and the README's command table disagree:\n" << result.out;
  for (const auto& [name, description] : listed) EXPECT_GE(description.size(), 10u) << "no one-line description: " << name;
}

TEST(CliHelp, EverySubcommandHasHelp) {
  const auto listed = listed_subcommands(run_cli("--help").out);
  ASSERT_FALSE(listed.empty());
  for (const auto& [command, description] : listed) {
    const CommandResult result = run_cli(quoted_args({command, "--help"}));
    EXPECT_EQ(result.exit_code, 0) << command << ": " << result.err;
    EXPECT_TRUE(contains(result.out, fmt::format("conceptree {}", command))) << result.out;
    EXPECT_TRUE(contains(result.out, "--help")) << result.out;
  }
}

TEST(CliHelp, ImportHelpShowsDefaultsAndRanges) {
  const CommandResult result = run_cli(quoted_args({"import", "--help"}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "--layer TEXT=embedding")) << result.out;
  EXPECT_TRUE(contains(result.out, "--jobs")) << result.out;
  EXPECT_TRUE(contains(result.out, "[0 - 1024]=0")) << result.out;
  for (const std::string format : {"npy-dir", "npy", "h5", "tf-tensors"}) EXPECT_TRUE(contains(result.out, format));
}

TEST(CliVersion, PrintsTheProjectVersion) {
  const CommandResult result = run_cli("--version");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, fmt::format("conceptree {}\n", kVersion));
}

TEST(CliUsage, UnknownSubcommandIsAUsageErrorNamingIt) {
  const CommandResult result = run_cli("frobnicate");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(result.out.empty()) << result.out;
  EXPECT_TRUE(contains(result.err, "frobnicate")) << "the message should name the word it did not understand:\n"
                                                  << result.err;
}

TEST(CliUsage, NoSubcommandIsAUsageError) {
  const CommandResult result = run_cli("");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(contains(lowercase(result.err), "subcommand")) << result.err;
}

TEST(CliUsage, MissingRequiredOptionsAreUsageErrorsNamingTheOption) {
  const ScratchDir scratch;
  const std::string input = scratch.path().string();
  struct Case {
    std::string arguments;
    std::string missing;
  };
  const std::vector<Case> cases = {
      {quoted_args({"import", input}), "--format"},
      {quoted_args({"import", "--format", "npy-dir", input}), "--output"},
      {quoted_args({"import", "--format", "npy-dir", "-o", (scratch / "s.h5").string()}), "input"},
      {quoted_args({"info"}), "file"},
      {quoted_args({"synth"}), "--output"},
  };
  for (const auto& c : cases) {
    const CommandResult result = run_cli(c.arguments);
    EXPECT_EQ(result.exit_code, 2) << c.arguments;
    EXPECT_TRUE(contains(result.err, c.missing)) << c.arguments << ": " << result.err;
  }
  EXPECT_TRUE(fs::is_empty(scratch.path()));
}

TEST(CliUsage, OutOfRangeAndUnknownChoiceValuesAreUsageErrors) {
  const ScratchDir scratch;
  const CommandResult bad_jobs = run_cli(quoted_args({"synth", "-o", (scratch / "c").string(), "--jobs", "5000"}));
  EXPECT_EQ(bad_jobs.exit_code, 2);
  EXPECT_TRUE(contains(bad_jobs.err, "--jobs")) << bad_jobs.err;
  const CommandResult bad_layout = run_cli(quoted_args({"synth", "-o", (scratch / "c").string(), "--layout", "csv"}));
  EXPECT_EQ(bad_layout.exit_code, 2);
  EXPECT_TRUE(contains(bad_layout.err, "csv")) << bad_layout.err;
  EXPECT_FALSE(fs::exists(scratch / "c"));
}

// ---------------------------------------------------------------------------------------------
// info

// A store of three tracks with 2, 5 and 9 frames of dimension 12.
void write_small_store(const fs::path& path, const std::vector<std::string>& ids = {"a", "b", "c"}) {
  auto writer = EmbeddingStoreWriter::create(path, {{"embedding", 12}}, StoreProvenance{});
  const std::uint64_t frames[] = {2, 5, 9};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::uint64_t count = frames[i % 3];
    const std::vector<float> values(count * 12, static_cast<float>(i) + 0.25f);
    writer.append(ids[i], values, count);
  }
  writer.close();
}

TEST(CliInfo, StoreSummaryGivesTrackAndFrameCountsAndLayerDimension) {
  const ScratchDir scratch;
  const fs::path store = scratch / "store.h5";
  write_small_store(store);

  const CommandResult result = run_cli(quoted_args({"info", store.string()}));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, store.string())) << result.out;
  EXPECT_EQ(field_line(result.out, "tracks"), "tracks 3") << result.out;
  EXPECT_EQ(field_line(result.out, "frames"), "frames 16 (per track: min 2, median 5, max 9)") << result.out;
  EXPECT_TRUE(field_line(result.out, "layer").starts_with("layer embedding dim 12,")) << result.out;
  EXPECT_EQ(field_line(result.out, "format"), "format conceptree.embeddings") << result.out;
}

TEST(CliInfo, MembershipsCheckedAgainstAStoreReportUnknownIdsAndEmptyConcepts) {
  const ScratchDir scratch;
  const fs::path store = scratch / "store.h5";
  write_small_store(store);
  // ghost_1 is in two concepts: three unknown tracks make four unknown memberships. jazz holds only
  // unknown tracks and silence is declared without any, so both are empty.
  write_text(scratch / "memberships.tsv",
             "concept\ttrack_id\ttype\n"
             "rock\ta\tgenre\n"
             "rock\tb\tgenre\n"
             "rock\tghost_1\tgenre\n"
             "jazz\tghost_1\tgenre\n"
             "jazz\tghost_2\tgenre\n"
             "jazz\tghost_3\tgenre\n"
             "calm\tc\tmood\n"
             "silence\t\tmood\n");

  const CommandResult result = run_cli(quoted_args({"info", (scratch / "memberships.tsv").string(), "--embeddings", store.string()}));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(field_line(result.out, "concepts"), "concepts 4") << result.out;
  EXPECT_TRUE(field_line(result.out, "unknown ids").starts_with("unknown ids 3 tracks (4 memberships)")) << result.out;
  for (const std::string ghost : {"ghost_1", "ghost_2", "ghost_3"}) EXPECT_TRUE(contains(result.out, ghost)) << result.out;
  EXPECT_EQ(field_line(result.out, "empty concepts"), "empty concepts 2: jazz, silence") << result.out;
}

TEST(CliInfo, MissingFileIsAOneLineErrorNamingIt) {
  const ScratchDir scratch;
  const fs::path missing = scratch / "no_such_store.h5";

  const CommandResult result = run_cli(quoted_args({"info", missing.string()}));

  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(result.out.empty()) << result.out;
  EXPECT_EQ(split_lines(result.err).size(), 1u) << result.err;
  EXPECT_TRUE(contains(result.err, missing.string())) << result.err;
}

TEST(CliInfo, RandomBinaryFileIsAOneLineErrorNamingIt) {
  const ScratchDir scratch;
  std::mt19937 rng(3);
  std::string noise(4096, '\0');
  for (auto& byte : noise) byte = static_cast<char>(rng() & 0xff);
  for (const std::string name : {"noise.bin", "noise.h5"}) {
    const fs::path file = scratch / name;
    write_text(file, noise);

    const CommandResult result = run_cli(quoted_args({"info", file.string()}));

    EXPECT_EQ(result.exit_code, 1) << name;
    EXPECT_EQ(split_lines(result.err).size(), 1u) << result.err;
    EXPECT_TRUE(contains(result.err, file.string())) << result.err;
  }
}

// ---------------------------------------------------------------------------------------------
// synth

constexpr std::uint64_t kSynthTracks = 30;
constexpr std::uint64_t kSynthFrames = 3;
constexpr std::uint64_t kSynthDim = 8;

std::string synth_args(const fs::path& output, const std::string& layout, int seed) {
  return quoted_args({"synth", "-o", output.string(), "--layout", layout, "--seed", std::to_string(seed), "--tracks",
               std::to_string(kSynthTracks), "--frames", std::to_string(kSynthFrames), "--dim", std::to_string(kSynthDim),
               "--families", "2", "--concepts-per-family", "3", "--min-concept-tracks", "4", "--max-concept-tracks", "12"});
}

// Every file under `folder`, by relative path, with its bytes.
std::map<std::string, std::string> files_under(const fs::path& folder) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file()) files[entry.path().lexically_relative(folder).generic_string()] = read_text(entry.path());
  }
  return files;
}

std::vector<std::string> names_of(const std::map<std::string, std::string>& files) {
  std::vector<std::string> names;
  for (const auto& [name, bytes] : files) names.push_back(name);
  return names;
}

// Files that embed the time they were written (e.g. HDF5 object timestamps, one-second
// resolution) only show it when two runs fall in different seconds.
void wait_for_next_second() {
  const std::time_t start = std::time(nullptr);
  while (std::time(nullptr) == start) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

class CliSynthLayout : public ::testing::TestWithParam<std::string> {};

TEST_P(CliSynthLayout, WritesMembershipsTruthAndEmbeddings) {
  const ScratchDir scratch;
  const fs::path corpus = scratch / "corpus";

  const CommandResult result = run_cli(synth_args(corpus, GetParam(), 1));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto memberships = split_lines(read_text(corpus / "memberships.tsv"));
  ASSERT_GE(memberships.size(), 2u);
  EXPECT_EQ(memberships[0], "concept\ttrack_id\ttype");
  const auto truth = split_lines(read_text(corpus / "truth.tsv"));
  ASSERT_EQ(truth.size(), 1u + 2 * 3);
  EXPECT_EQ(truth[0], "child\tparent");
  EXPECT_EQ(truth[1], "family00_c00\tfamily00");

  fs::path store_for_check;
  if (GetParam() == "npy-dir") {
    std::size_t count = 0;
    for (const auto& entry : fs::directory_iterator(corpus / "embeddings")) {
      const NpyReader reader(entry.path());
      EXPECT_EQ(reader.header().shape, (std::vector<std::uint64_t>{kSynthFrames, kSynthDim})) << entry.path();
      ++count;
    }
    EXPECT_EQ(count, kSynthTracks);
    EXPECT_TRUE(fs::exists(corpus / "embeddings" / "track0000000.npy"));
  } else if (GetParam() == "npy") {
    const NpyReader frames(corpus / "embeddings.npy");
    EXPECT_EQ(frames.header().shape, (std::vector<std::uint64_t>{kSynthTracks * kSynthFrames, kSynthDim}));
    const auto offsets = NpyReader(corpus / "offsets.npy").read_all_as_uint64();
    ASSERT_EQ(offsets.size(), kSynthTracks + 1);
    EXPECT_EQ(offsets.back(), kSynthTracks * kSynthFrames);
    EXPECT_EQ(split_lines(read_text(corpus / "ids.txt")).size(), kSynthTracks);
  } else {
    store_for_check = corpus / "store.h5";
    const EmbeddingStore store(store_for_check);
    EXPECT_EQ(store.track_count(), kSynthTracks);
    EXPECT_EQ(store.dim(), kSynthDim);
    EXPECT_EQ(store.total_frames(), kSynthTracks * kSynthFrames);
    EXPECT_EQ(store.provenance().backbone, "synthetic");
  }
  if (!store_for_check.empty()) {
    // Every track the memberships name is in the embeddings.
    const CommandResult info = run_cli(
        quoted_args({"info", (corpus / "memberships.tsv").string(), "--embeddings", store_for_check.string()}));
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_TRUE(field_line(info.out, "unknown ids").starts_with("unknown ids 0 tracks")) << info.out;
  }
}

INSTANTIATE_TEST_SUITE_P(EachLayout, CliSynthLayout, ::testing::Values("npy-dir", "npy", "store"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(CliSynth, SameSeedGivesIdenticalFilesAndAnotherSeedDifferentForEveryLayout) {
  const ScratchDir scratch;
  const std::vector<std::string> layouts = {"npy-dir", "npy", "store"};
  for (const auto& layout : layouts) {
    ASSERT_EQ(run_cli(synth_args(scratch / fmt::format("first-{}", layout), layout, 7)).exit_code, 0);
  }
  wait_for_next_second();
  for (const auto& layout : layouts) {
    SCOPED_TRACE(layout);
    ASSERT_EQ(run_cli(synth_args(scratch / fmt::format("again-{}", layout), layout, 7)).exit_code, 0);
    ASSERT_EQ(run_cli(synth_args(scratch / fmt::format("other-{}", layout), layout, 8)).exit_code, 0);

    const auto first = files_under(scratch / fmt::format("first-{}", layout));
    const auto again = files_under(scratch / fmt::format("again-{}", layout));
    const auto other = files_under(scratch / fmt::format("other-{}", layout));
    ASSERT_EQ(names_of(first), names_of(again));
    for (const auto& [name, bytes] : first) {
      EXPECT_TRUE(bytes == again.at(name)) << name << " differs between two runs with the same seed";
    }
    ASSERT_EQ(names_of(first), names_of(other));
    EXPECT_NE(first.at("memberships.tsv"), other.at("memberships.tsv"));
    for (const auto& [name, bytes] : first) {
      // These depend only on the corpus size, not on the seed.
      const bool seed_independent = name == "truth.tsv" || name == "ids.txt" || name == "offsets.npy";
      if (!seed_independent) {
        EXPECT_FALSE(bytes == other.at(name)) << name << " is the same for seeds 7 and 8";
      }
    }
  }
}

TEST(CliSynth, FilesDoNotDependOnThreadCount) {
  const ScratchDir scratch;
  ASSERT_EQ(run_cli(synth_args(scratch / "one", "npy-dir", 3) + " --jobs 1").exit_code, 0);
  ASSERT_EQ(run_cli(synth_args(scratch / "two", "npy-dir", 3) + " --jobs 2").exit_code, 0);
  EXPECT_TRUE(files_under(scratch / "one") == files_under(scratch / "two"));
}

TEST(CliSynth, ExistingCorpusIsKeptUnlessOverwrite) {
  const ScratchDir scratch;
  ASSERT_EQ(run_cli(synth_args(scratch / "corpus", "npy", 1)).exit_code, 0);
  const std::string memberships = read_text(scratch / "corpus" / "memberships.tsv");

  const CommandResult refused = run_cli(synth_args(scratch / "corpus", "npy", 2));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(contains(refused.err, "--overwrite")) << refused.err;
  EXPECT_EQ(read_text(scratch / "corpus" / "memberships.tsv"), memberships);

  ASSERT_EQ(run_cli(synth_args(scratch / "corpus", "npy", 2) + " --overwrite").exit_code, 0);
  EXPECT_NE(read_text(scratch / "corpus" / "memberships.tsv"), memberships);
}

// ---------------------------------------------------------------------------------------------
// --quiet

TEST(CliQuiet, SuppressesInformationalLines) {
  const ScratchDir scratch;
  const CommandResult normal = run_cli(synth_args(scratch / "normal", "npy-dir", 1));
  ASSERT_EQ(normal.exit_code, 0) << normal.err;
  EXPECT_TRUE(contains(normal.err, fmt::format("conceptree: wrote {} tracks", kSynthTracks))) << normal.err;

  const CommandResult before = run_cli(fmt::format("--quiet {}", synth_args(scratch / "before", "npy-dir", 1)));
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_EQ(before.err, "");

  // The flag belongs to the top-level program but is accepted after the subcommand too.
  const CommandResult after = run_cli(synth_args(scratch / "after", "npy-dir", 1) + " -q");
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.err, "");

  const CommandResult imported = run_cli(quoted_args({"-q", "import", "--format", "npy-dir", (scratch / "normal" / "embeddings").string(),
                                               "-o", (scratch / "store.h5").string()}));
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(imported.err, "");
  EXPECT_EQ(EmbeddingStore(scratch / "store.h5").track_count(), kSynthTracks);
}

TEST(CliQuiet, KeepsWarnings) {
  const ScratchDir scratch;
  const std::vector<float> frames = {1, 2, 3, 4};
  const std::uint64_t shape[] = {2, 2};
  fs::create_directories(scratch / "in");
  write_npy(scratch / "in" / "good.npy", frames, shape);
  write_text(scratch / "in" / "broken.npy", "not numpy at all");

  const CommandResult result = run_cli(quoted_args({"--quiet", "import", "--format", "npy-dir", (scratch / "in").string(), "-o",
                                             (scratch / "store.h5").string()}));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.err, "warning:")) << result.err;
  EXPECT_TRUE(contains(result.err, "broken")) << result.err;
  EXPECT_FALSE(contains(result.err, "imported 1 tracks")) << result.err;
}

}  // namespace
}  // namespace conceptree
