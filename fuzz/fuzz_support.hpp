#pragma once
// What every harness shares: the input as a file where the reader under test wants a path, a quiet
// context, and the rule that InputError and FatalError are the only clean ends of a bad input.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

#include "conceptree/context.hpp"
#include "conceptree/error.hpp"

namespace conceptree::fuzz {

// A directory of this process's own under $CONCEPTREE_FUZZ_SCRATCH when set (scripts/fuzz.sh
// points it at a folder it removes afterwards, with whatever crashed fork-mode jobs left in it),
// else /dev/shm (memory, no disk wear at thousands of writes a second), else $TMPDIR or /tmp.
// Removed when the harness exits normally. Per process, so parallel jobs never share a file.
inline const std::filesystem::path& scratch_dir() {
  static const struct Scratch {
    std::filesystem::path path;
    Scratch() {
      const char* chosen = std::getenv("CONCEPTREE_FUZZ_SCRATCH");
      std::filesystem::path base = chosen && *chosen ? chosen : "/dev/shm";
      if (!std::filesystem::is_directory(base) || access(base.c_str(), W_OK) != 0) {
        const char* tmpdir = std::getenv("TMPDIR");
        base = tmpdir && *tmpdir ? tmpdir : "/tmp";
      }
      path = base / ("conceptree-fuzz-" + std::to_string(getpid()));
      std::filesystem::create_directories(path);
    }
    ~Scratch() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  } scratch;
  return scratch.path;
}

inline std::span<const unsigned char> bytes_of(const std::string& text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

// Writes `bytes` to `name` in the scratch directory and returns its path.
inline std::filesystem::path write_input(const std::string& name, std::span<const unsigned char> bytes) {
  const std::filesystem::path path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

// Messages of the code under test would flood the fuzzer's log; they are not what is tested.
inline const Context& quiet_context() {
  static const Context context = [] {
    Context silent;
    silent.quiet = true;
    silent.messages = [](MessageLevel, std::string_view) {};
    silent.progress = [](const ProgressUpdate&) {};
    return silent;
  }();
  return context;
}

// Runs `read` on one input. A user is told about a bad file by InputError or FatalError, one
// message naming it. Anything else (std::bad_alloc, std::out_of_range, a JSON library exception,
// ...) would reach them as an unexplained failure, so nothing here catches it: with no handler
// anywhere, the C++ runtime calls std::terminate at the throw, before unwinding, and libFuzzer
// records the abort with the stack of the code that threw (std::terminate's message names the
// exception's type).
template <class Read>
void expect_clean_outcome(Read&& read) {
  try {
    read();
  } catch (const InputError&) {
  } catch (const FatalError&) {
  }
}

}  // namespace conceptree::fuzz
