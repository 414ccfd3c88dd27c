// Kill anywhere, lose nothing. Every command that writes a file is killed (SIGKILL) at seeded
// random moments, each run going on from what the last one left, then run once more to the end:
// no killed run may leave a file under the output's name, the finished output must be byte for
// byte the one an uninterrupted run writes, and no temporary file may be left behind. A damaged
// OUTPUT.partial (cut short, bytes flipped, empty, not a journal, an HDF5 file) must be named and
// repaired or started over, never a dead end.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "conceptree/store.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using conceptree::testing::quoted_args;
using conceptree::testing::read_text;
using conceptree::testing::read_text_or_empty;
using conceptree::testing::run_cli;
using conceptree::testing::ScratchDir;
using conceptree::testing::tone;
using conceptree::testing::write_text;
using conceptree::testing::write_wav;

namespace {

using Clock = std::chrono::steady_clock;

enum class Ending { killed, finished, failed };

// Runs the CLI with `arguments` (stdout and stderr to `log`) and kills it after `delay` unless it
// ended first.
Ending run_and_kill(const std::vector<std::string>& arguments, std::chrono::microseconds delay, const fs::path& log) {
  const pid_t child = ::fork();
  if (child < 0) return Ending::failed;
  if (child == 0) {
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(out, 2);
    std::vector<char*> argv{const_cast<char*>(CONCEPTREE_CLI)};
    for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    ::execv(CONCEPTREE_CLI, argv.data());
    ::_exit(127);
  }
  const auto deadline = Clock::now() + delay;
  int status = 0;
  while (Clock::now() < deadline) {
    if (::waitpid(child, &status, WNOHANG) == child) return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? Ending::finished : Ending::failed;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, &status, 0);
  if (WIFSIGNALED(status)) return Ending::killed;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? Ending::finished : Ending::failed;
}

// Files a run leaves beside its outputs while it works: PATH.tmp.<pid> and PATH.partial.
std::vector<std::string> leftovers(const fs::path& folder) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp.") != std::string::npos || name.ends_with(".partial")) found.push_back(name);
  }
  return found;
}

// A command writing `outputs` (the first one's folder holds nothing else of the test's making
// that ends like a temporary) and what an uninterrupted run writes there.
class Job {
 public:
  Job(std::vector<std::string> arguments, std::vector<fs::path> outputs) : arguments_(std::move(arguments)), outputs_(std::move(outputs)) {
    const auto started = Clock::now();
    const auto result = run_cli(quoted_args(arguments_));
    seconds_ = std::chrono::duration<double>(Clock::now() - started).count();
    EXPECT_EQ(result.exit_code, 0) << result.err;
    for (const auto& output : outputs_) reference_.push_back(read_text_or_empty(output));
    remove_outputs();
  }

  const std::vector<std::string>& arguments() const { return arguments_; }
  const fs::path& output() const { return outputs_.front(); }
  fs::path partial() const { return fs::path(output().string() + ".partial"); }
  fs::path folder() const { return output().parent_path(); }
  double seconds() const { return seconds_; }
  const std::string& reference() const { return reference_.front(); }

  void remove_outputs() const {
    for (const auto& output : outputs_) fs::remove(output);
  }
  void expect_existing_outputs_whole(const std::string& context) const {
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
      if (!fs::exists(outputs_[i])) continue;
      EXPECT_TRUE(read_text_or_empty(outputs_[i]) == reference_[i]) << context << " left a partial file under the name " << outputs_[i];
    }
  }
  // Every output is the uninterrupted run's, byte for byte.
  void expect_reference_outputs(const std::string& context) const {
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
      ASSERT_TRUE(fs::exists(outputs_[i])) << context << ": " << outputs_[i];
      EXPECT_TRUE(read_text_or_empty(outputs_[i]) == reference_[i]) << context << ": " << outputs_[i] << " differs from the uninterrupted run's";
    }
  }
  // Runs to the end; the outputs must be the reference and nothing temporary may be left.
  std::string finish(const std::string& context) const {
    const auto result = run_cli(quoted_args(arguments_));
    EXPECT_EQ(result.exit_code, 0) << context << ": " << result.err;
    expect_reference_outputs(context);
    EXPECT_EQ(leftovers(folder()), std::vector<std::string>{}) << context;
    return result.err;
  }

 private:
  std::vector<std::string> arguments_;
  std::vector<fs::path> outputs_;
  std::vector<std::string> reference_;
  double seconds_ = 0;
};

// Kills `job` `kills` times at moments drawn from `seed` over its uninterrupted run time, each run
// resuming the last, then finishes it.
void expect_kills_lose_nothing(const Job& job, int kills, unsigned seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> moment(0.0, 1.0);
  int killed = 0, finished = 0;
  const fs::path log = job.folder() / "killed_run.log";
  for (int k = 0; k < kills; ++k) {
    const auto delay = std::chrono::microseconds(static_cast<long>(moment(random) * job.seconds() * 1e6));
    const Ending ending = run_and_kill(job.arguments(), delay, log);
    const std::string context = "run " + std::to_string(k) + " (killed after " + std::to_string(delay.count() / 1000) + " ms)";
    ASSERT_NE(ending, Ending::failed) << context << " failed: " << read_text(log);
    if (ending == Ending::finished) {
      ++finished;
      job.expect_reference_outputs(context + ", finished before the kill");
      job.remove_outputs();
      continue;
    }
    // A file under an output's name must be whole: the kill came after it was moved into place.
    job.expect_existing_outputs_whole(context);
    if (fs::exists(job.output())) {
      ++finished;
      job.remove_outputs();
      continue;
    }
    ++killed;
  }
  fs::remove(log);
  job.finish("the run after " + std::to_string(kills) + " kills");
  std::cout << "[ kills    ] " << job.output().filename().string() << ": " << killed << " killed, " << finished
            << " finished (or had moved their output into place) before their kill, run " << job.seconds() << " s; resumed output identical\n";
  EXPECT_GE(killed, kills / 4) << "runs should mostly be killed before they finish";
}

// Kills `job` until it leaves an OUTPUT.partial holding work, and returns that file's bytes.
std::string killed_partial(const Job& job) {
  for (double fraction : {0.7, 0.5, 0.85, 0.3, 0.6, 0.4, 0.8, 0.5}) {
    fs::remove(job.partial());
    job.remove_outputs();
    const auto delay = std::chrono::microseconds(static_cast<long>(fraction * job.seconds() * 1e6));
    if (run_and_kill(job.arguments(), delay, job.folder() / "killed_run.log") == Ending::killed && fs::exists(job.partial()) &&
        fs::file_size(job.partial()) > 200) {
      fs::remove(job.folder() / "killed_run.log");
      return read_text_or_empty(job.partial());
    }
  }
  ADD_FAILURE() << "no kill left " << job.partial() << " with work in it";
  return {};
}

// Damages a real OUTPUT.partial in every way, reruns each time: the run must finish with the
// uninterrupted run's output, naming the partial when it could not keep all of it.
void expect_damaged_partials_are_survived(const Job& job, const std::string& other_hdf5_file, unsigned seed) {
  const std::string partial = killed_partial(job);
  ASSERT_FALSE(partial.empty());
  std::mt19937 random(seed);
  struct Damage {
    std::string name;
    std::string bytes;
    bool named;  // the rerun must name the partial as damaged
  };
  std::vector<Damage> damages;
  for (int i = 0; i < 4; ++i) {
    const std::size_t length = std::uniform_int_distribution<std::size_t>(0, partial.size() - 1)(random);
    damages.push_back({"cut to " + std::to_string(length) + " bytes", partial.substr(0, length), length < 8});
  }
  for (int i = 0; i < 4; ++i) {
    std::string flipped = partial;
    const std::size_t at = std::uniform_int_distribution<std::size_t>(0, partial.size() - 1)(random);
    flipped[at] = static_cast<char>(flipped[at] ^ (1 + std::uniform_int_distribution<int>(0, 254)(random)));
    damages.push_back({"byte " + std::to_string(at) + " flipped", flipped, true});
  }
  damages.push_back({"empty", "", true});
  damages.push_back({"text", "not a progress journal\n", true});
  damages.push_back({"an HDF5 file", other_hdf5_file, true});
  for (const auto& damage : damages) {
    job.remove_outputs();
    write_text(job.partial(), damage.bytes);
    const std::string err = job.finish(damage.name);
    if (damage.named) {
      EXPECT_NE(err.find(job.partial().string() + ": damaged ("), std::string::npos) << damage.name << ": " << err;
    }
    EXPECT_EQ(err.find("HDF5:"), std::string::npos) << damage.name << ": " << err;
  }
}

// A synthetic corpus: embeddings as a folder of .npy files or a store, and memberships.
fs::path synth(const ScratchDir& dir, const std::string& layout, const std::string& tracks, const std::string& frames, const std::string& dim) {
  const fs::path corpus = dir / ("corpus-" + layout);
  const auto made = run_cli(quoted_args({"synth", "-o", corpus.string(), "--layout", layout, "--tracks", tracks, "--frames", frames, "--dim", dim,
                                          "--families", "3", "--concepts-per-family", "3", "--min-concept-tracks", "40",
                                          "--max-concept-tracks", "120"}));
  EXPECT_EQ(made.exit_code, 0) << made.err;
  return corpus;
}

// A store, the concept set trained on it, and a list of some of its tracks (explain writes about
// 50 tracks a second: all 600 would make every run long), in `dir`.
struct TrainedCorpus {
  fs::path store, memberships, concepts, some_tracks;
};
TrainedCorpus trained_corpus(const ScratchDir& dir) {
  const fs::path corpus = synth(dir, "store", "600", "12", "16");
  TrainedCorpus trained{corpus / "store.h5", corpus / "memberships.tsv", dir / "concepts.h5", dir / "some_tracks.txt"};
  const auto result = run_cli(quoted_args({"train", "-e", trained.store.string(), "-m", trained.memberships.string(), "-o",
                                            trained.concepts.string(), "--max-tracks", "200"}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const conceptree::EmbeddingStore store(trained.store);
  std::string ids;
  for (std::size_t t = 0; t < 60; ++t) ids += store.ids()[t * 10] + "\n";
  write_text(trained.some_tracks, ids);
  return trained;
}

// ---------------------------------------------------------------------------------------------

TEST(KillResume, Import) {
  const ScratchDir dir;
  const fs::path corpus = synth(dir, "npy-dir", "3000", "20", "32");
  fs::create_directories(dir / "out");
  const Job job({"import", "--format", "npy-dir", (corpus / "embeddings").string(), "-o", (dir / "out" / "store.h5").string(), "--jobs", "2"},
                {dir / "out" / "store.h5"});
  expect_kills_lose_nothing(job, 16, 11);
}

TEST(KillResume, ImportSurvivesADamagedPartial) {
  const ScratchDir dir;
  const fs::path corpus = synth(dir, "npy-dir", "3000", "20", "32");
  fs::create_directories(dir / "out");
  const Job job({"import", "--format", "npy-dir", (corpus / "embeddings").string(), "-o", (dir / "out" / "store.h5").string()},
                {dir / "out" / "store.h5"});
  // The HDF5 file: the finished store, as the partial an older conceptree left.
  expect_damaged_partials_are_survived(job, job.reference(), 12);
}

void write_music(const fs::path& folder, int files) {
  fs::create_directories(folder);
  for (int i = 0; i < files; ++i) write_wav(folder / ("tone" + std::to_string(i) + ".wav"), tone(2 + i % 3, 110.0 * (1 + i % 7)));
}

// Embedding 120 short tones into dir/out/store.h5.
Job embed_job(const ScratchDir& dir) {
  write_music(dir / "music", 120);
  fs::create_directories(dir / "out");
  return Job({"embed", (dir / "music").string(), "-o", (dir / "out" / "store.h5").string()}, {dir / "out" / "store.h5"});
}

TEST(KillResume, Embed) {
  const ScratchDir dir;
  expect_kills_lose_nothing(embed_job(dir), 16, 21);
}

TEST(KillResume, EmbedSurvivesADamagedPartial) {
  const ScratchDir dir;
  const Job job = embed_job(dir);
  expect_damaged_partials_are_survived(job, job.reference(), 22);
}

// Training on the synthetic store in `corpus` into dir/out/concepts.h5.
Job train_job(const ScratchDir& dir, const fs::path& corpus) {
  fs::create_directories(dir / "out");
  return Job({"train", "-e", (corpus / "store.h5").string(), "-m", (corpus / "memberships.tsv").string(), "-o",
              (dir / "out" / "concepts.h5").string(), "--max-tracks", "300"},
             {dir / "out" / "concepts.h5"});
}

TEST(KillResume, Train) {
  const ScratchDir dir;
  const fs::path corpus = synth(dir, "store", "1500", "12", "32");
  expect_kills_lose_nothing(train_job(dir, corpus), 16, 31);
}

TEST(KillResume, TrainSurvivesADamagedPartial) {
  const ScratchDir dir;
  const fs::path corpus = synth(dir, "store", "1500", "12", "32");
  expect_damaged_partials_are_survived(train_job(dir, corpus), read_text(corpus / "store.h5"), 32);
}

TEST(KillResume, Similarity) {
  const ScratchDir dir;
  const TrainedCorpus corpus = trained_corpus(dir);
  fs::create_directories(dir / "out");
  const Job job({"similarity", "-c", corpus.concepts.string(), "-e", corpus.store.string(), "-o", (dir / "out" / "similarity.h5").string()},
                {dir / "out" / "similarity.h5"});
  expect_kills_lose_nothing(job, 12, 41);
}

TEST(KillResume, Explain) {
  const ScratchDir dir;
  const TrainedCorpus corpus = trained_corpus(dir);
  fs::create_directories(dir / "out");
  const Job job({"explain", "-c", corpus.concepts.string(), "-e", corpus.store.string(), "--tracks", corpus.some_tracks.string(), "-o",
                 (dir / "out" / "explained.h5").string(), "--json",
                 (dir / "out" / "explained.json").string()},
                {dir / "out" / "explained.h5", dir / "out" / "explained.json"});
  expect_kills_lose_nothing(job, 16, 51);
}

TEST(KillResume, ExplainSurvivesADamagedPartial) {
  const ScratchDir dir;
  const TrainedCorpus corpus = trained_corpus(dir);
  fs::create_directories(dir / "out");
  const Job job({"explain", "-c", corpus.concepts.string(), "-e", corpus.store.string(), "--tracks", corpus.some_tracks.string(), "-o",
                 (dir / "out" / "explained.h5").string()},
                {dir / "out" / "explained.h5"});
  expect_damaged_partials_are_survived(job, job.reference(), 52);
}

// A scratch file a killed run left (its process is gone) is removed by the next run writing the
// same output; one of a live process is not touched.
TEST(KillResume, AbandonedTemporariesAreRemovedByTheNextRunOfTheSameOutput) {
  const ScratchDir dir;
  const TrainedCorpus corpus = trained_corpus(dir);
  const fs::path output = dir / "similarity.h5";
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  const fs::path abandoned = output.string() + ".tmp." + std::to_string(gone);
  const fs::path live = output.string() + ".tmp." + std::to_string(::getppid());
  const fs::path other_output = dir / ("other.h5.tmp." + std::to_string(gone));
  for (const auto& path : {abandoned, live, other_output}) write_text(path, "left behind");
  const auto result = run_cli(quoted_args({"similarity", "-c", corpus.concepts.string(), "-o", output.string()}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_FALSE(fs::exists(abandoned));
  EXPECT_TRUE(fs::exists(live)) << "the file of a process still running is its own";
  EXPECT_TRUE(fs::exists(other_output)) << "only temporaries of the output being written are judged";
}

}  // namespace
