// The commands that split their work under `mpirun -np N` (N = 2 and 3, more ranks than this machine has cores,
// as root in CI): every output byte for byte the one-process run's, a failing rank stopping the job
// with one message naming the rank and the item and nothing under the output's name, and a job
// killed under MPI resuming, under another rank count, to the same bytes.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace fs = std::filesystem;
using conceptree::testing::quoted_args;
using conceptree::testing::read_text;
using conceptree::testing::read_text_or_empty;
using conceptree::testing::run_cli;
using conceptree::testing::run_command;
using conceptree::testing::ScratchDir;
using conceptree::testing::tone;
using conceptree::testing::write_text;
using conceptree::testing::write_wav;

namespace {

#ifdef CONCEPTREE_MPIRUN
constexpr const char* kMpirun = CONCEPTREE_MPIRUN;
#else
constexpr const char* kMpirun = "";
#endif

#define REQUIRE_MPI() \
  if (std::string(kMpirun).empty()) GTEST_SKIP() << "conceptree was built without MPI (scripts/setup.sh installs OpenMPI)"

// mpirun's arguments for `ranks` ranks of one thread each, allowed as root and beyond the cores; the
// sanitiser's leak check is off in the ranks, as OpenMPI's runtime keeps its allocations to the end.
std::vector<std::string> mpirun_arguments(int ranks) {
  return {kMpirun, "--allow-run-as-root", "--oversubscribe", "-np", std::to_string(ranks), "-x", "OMP_NUM_THREADS=1", "-x",
          "ASAN_OPTIONS=detect_leaks=0", CONCEPTREE_CLI};
}

conceptree::testing::CommandResult run_mpi(int ranks, const std::vector<std::string>& arguments) {
  std::vector<std::string> words = mpirun_arguments(ranks);
  words.insert(words.end(), arguments.begin(), arguments.end());
  return run_command(quoted_args(words));
}

// `arguments` with its output (the argument after -o) moved to `output`.
std::vector<std::string> writing_to(std::vector<std::string> arguments, const fs::path& output) {
  for (std::size_t i = 0; i + 1 < arguments.size(); ++i)
    if (arguments[i] == "-o") arguments[i + 1] = output.string();
  return arguments;
}

// Runs `arguments` (writing `output`) as one process, then under 2 and 3 ranks: same bytes.
void expect_ranks_change_nothing(const std::vector<std::string>& arguments, const fs::path& output) {
  const auto alone = run_cli(quoted_args(arguments));
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  const std::string reference = read_text_or_empty(output);
  ASSERT_FALSE(reference.empty()) << output;
  for (int ranks : {2, 3}) {
    const fs::path ranked = output.string() + ".np" + std::to_string(ranks);
    const auto result = run_mpi(ranks, writing_to(arguments, ranked));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(read_text_or_empty(ranked) == reference) << arguments.front() << " under " << ranks << " ranks differs from one process";
  }
}

fs::path synth_store(const ScratchDir& dir, const std::string& tracks, const std::string& concepts_per_family) {
  const fs::path corpus = dir / "corpus";
  const auto result = run_cli(quoted_args({"synth", "-o", corpus.string(), "--layout", "store", "--tracks", tracks, "--frames", "6", "--dim", "24",
                                       "--families", "3", "--concepts-per-family", concepts_per_family}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return corpus;
}

TEST(MpiCli, TrainSimilarityAndBootstrapMatchOneProcessByteForByte) {
  REQUIRE_MPI();
  const ScratchDir dir;
  const fs::path corpus = synth_store(dir, "1200", "4");
  const std::string store = (corpus / "store.h5").string();
  const std::string memberships = (corpus / "memberships.tsv").string();
  expect_ranks_change_nothing({"train", "-e", store, "-m", memberships, "-o", (dir / "concepts.h5").string(), "-j", "1"}, dir / "concepts.h5");
  expect_ranks_change_nothing(
      {"similarity", "-c", (dir / "concepts.h5").string(), "-e", store, "-o", (dir / "similarity.h5").string(), "-j", "1"},
      dir / "similarity.h5");
  expect_ranks_change_nothing({"bootstrap", "-e", store, "-m", memberships, "-o", (dir / "consensus.json").string(), "--runs", "3", "-j", "1"},
                              dir / "consensus.json");
}

TEST(MpiCli, TcavMatchesOneProcessByteForByte) {
  REQUIRE_MPI();
  const ScratchDir dir;
  const auto synth = run_cli(quoted_args({"synth", "-o", (dir / "npy").string(), "--layout", "npy", "--tracks", "400", "--frames", "4", "--dim", "12"}));
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  const std::string embeddings = (dir / "npy" / "embeddings.npy").string();
  // The frames stand in for a model's gradients: only their shape matters here.
  const auto imported = run_cli(quoted_args({"import", "-f", "npy", embeddings, "--ids", (dir / "npy" / "ids.txt").string(), "--offsets",
                                         (dir / "npy" / "offsets.npy").string(), "--gradient", "happy=" + embeddings, "-o", (dir / "store.h5").string()}));
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  const auto trained = run_cli(quoted_args({"train", "-e", (dir / "store.h5").string(), "-m", (dir / "npy" / "memberships.tsv").string(), "-o",
                                        (dir / "concepts.h5").string(), "--min-tracks", "20"}));
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  expect_ranks_change_nothing({"tcav", "-e", (dir / "store.h5").string(), "-c", (dir / "concepts.h5").string(), "-t", "happy", "-o",
                               (dir / "tcav.json").string(), "--runs", "4", "--random", "6", "-j", "1"},
                              dir / "tcav.json");
}

TEST(MpiCli, ImportAndEmbedMatchOneProcessAndNameABadItemOnce) {
  REQUIRE_MPI();
  const ScratchDir dir;
  const auto synth = run_cli(quoted_args({"synth", "-o", (dir / "npy").string(), "--tracks", "300", "--frames", "4", "--dim", "8"}));
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  write_text(dir / "npy" / "embeddings" / "zz-broken.npy", "not an array");
  expect_ranks_change_nothing({"import", "-f", "npy-dir", (dir / "npy" / "embeddings").string(), "-o", (dir / "imported.h5").string()},
                              dir / "imported.h5");
  EXPECT_EQ(read_text(dir / "imported.h5.errors.tsv"), read_text(dir / "imported.h5.np3.errors.tsv"));

  fs::create_directories(dir / "music");
  for (int i = 0; i < 7; ++i) write_wav(dir / "music" / ("track" + std::to_string(i) + ".wav"), tone(2.0 + i * 0.3, 220.0 * (i + 1)));
  write_text(dir / "music" / "track9.wav", "RIFF but not audio");
  const auto result = run_mpi(2, {"embed", (dir / "music").string(), "-o", (dir / "audio_np2.h5").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::size_t named = 0;
  for (std::size_t at = result.err.find("track9.wav"); at != std::string::npos; at = result.err.find("track9.wav", at + 1)) ++named;
  EXPECT_EQ(named, 1u) << "the bad file is named once, by rank 0:\n" << result.err;
  expect_ranks_change_nothing({"embed", (dir / "music").string(), "-o", (dir / "audio.h5").string()}, dir / "audio.h5");
}

TEST(MpiCli, AFailingRankStopsTheJobNamingRankAndItemAndLeavesNoOutput) {
  REQUIRE_MPI();
  const ScratchDir dir;
  const auto synth = run_cli(quoted_args({"synth", "-o", (dir / "npy").string(), "--tracks", "60", "--frames", "4", "--dim", "8"}));
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  write_text(dir / "npy" / "embeddings" / "t0031-broken.npy", "not an array");
  const fs::path output = dir / "strict.h5";
  const auto result = run_mpi(2, {"import", "-f", "npy-dir", (dir / "npy" / "embeddings").string(), "-o", output.string(), "--strict"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("conceptree: error: rank 0 of 2:"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("t0031-broken.npy"), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(output));

  // A rank that cannot even start its share (here every rank: a missing store) says which rank it is.
  const auto missing = run_mpi(3, {"train", "-e", (dir / "absent.h5").string(), "-m", (dir / "npy" / "memberships.tsv").string(), "-o",
                                   (dir / "c.h5").string()});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("of 3:"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("absent.h5"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(dir / "c.h5"));
}

TEST(MpiCli, CommandsThatDoNotSplitRunOnceOnRankZero) {
  REQUIRE_MPI();
  const ScratchDir dir;
  const auto result = run_mpi(3, {"synth", "-o", (dir / "corpus").string(), "--tracks", "50", "--frames", "2", "--dim", "4"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(fs::exists(dir / "corpus" / "memberships.tsv"));
}

// The processes whose parent is `parent`, from /proc.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid: comm may hold spaces, so read after its closing parenthesis.
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == parent) children.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return children;
}

// Starts `words` and kills the whole MPI job once `partial` has grown past its first size (a
// journal holding finished work); returns false when the job ended first.
bool kill_once_journalled(const std::vector<std::string>& words, const fs::path& partial, const fs::path& log) {
  const pid_t child = ::fork();
  if (child < 0) return false;
  if (child == 0) {
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(out, 2);
    std::vector<char*> argv;
    for (const auto& word : words) argv.push_back(const_cast<char*>(word.c_str()));
    argv.push_back(nullptr);
    ::execv(argv.front(), argv.data());
    ::_exit(127);
  }
  std::uintmax_t first_size = 0;
  int status = 0;
  for (;;) {
    if (::waitpid(child, &status, WNOHANG) == child) return false;
    std::error_code error;
    const auto size = fs::file_size(partial, error);
    if (!error && first_size == 0) first_size = size;
    if (!error && first_size > 0 && size > first_size) break;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  // The ranks die at once, as on a lost node; mpirun then ends the job. (A signal to mpirun reaches
  // the ranks only after a grace period in which they may finish.)
  for (const pid_t rank : children_of(child)) ::kill(rank, SIGKILL);
  ::waitpid(child, &status, 0);
  return true;
}

TEST(MpiCli, AJobKilledUnderMpiResumesUnderAnotherRankCountToTheSameBytes) {
  REQUIRE_MPI();
  const ScratchDir dir;
  const fs::path corpus = synth_store(dir, "4000", "40");
  const std::vector<std::string> train = {"train", "-e", (corpus / "store.h5").string(), "-m", (corpus / "memberships.tsv").string(), "-o",
                                          (dir / "concepts.h5").string(), "-j", "1"};
  const auto alone = run_cli(quoted_args(train));
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  const std::string reference = read_text(dir / "concepts.h5");
  fs::remove(dir / "concepts.h5");

  std::vector<std::string> words = mpirun_arguments(2);
  words.insert(words.end(), train.begin(), train.end());
  const fs::path partial = dir / "concepts.h5.partial";
  if (!kill_once_journalled(words, partial, dir / "killed.log")) GTEST_SKIP() << "the job finished before it could be killed";
  EXPECT_FALSE(fs::exists(dir / "concepts.h5")) << "a killed job left a file under the output's name";
  ASSERT_TRUE(fs::exists(partial));

  const auto resumed = run_mpi(3, train);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming"), std::string::npos) << resumed.err;
  EXPECT_TRUE(read_text(dir / "concepts.h5") == reference) << "the resumed output differs from the uninterrupted run's";
  EXPECT_FALSE(fs::exists(partial));
}

}  // namespace
