#pragma once
// Helpers shared by the test programs: scratch folders, running the CLI, the Python peer, where
// the test data is (in-repo fixtures, and ../shared/data for what may not be redistributed).

#include <gtest/gtest.h>

#include "conceptree/error.hpp"

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace conceptree::testing {

// A fresh folder under the system temp dir, removed when the test ends.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs a shell command line, capturing stdout and stderr.
CommandResult run_command(const std::string& command_line);
// Runs the conceptree CLI built with these tests; `arguments` is appended as shell text.
CommandResult run_cli(const std::string& arguments);
// Quotes a string for the shell.
std::string shell_quote(const std::string& text);
// Shell text for a command's arguments: each quoted, separated by spaces.
std::string quoted_args(std::initializer_list<std::string> parts);
std::string quoted_args(const std::vector<std::string>& parts);

// /usr/bin/python3 when it has numpy and h5py (Debian packages), else empty.
std::string python_with_h5py();
// /usr/bin/python3 when it has networkx (Debian python3-networkx), else empty: the reference for
// graph algorithms and a real GraphML reader.
std::string python_with_networkx();

// Writes `script` to `script_path` and runs it with `python` and the quoted `arguments`.
CommandResult run_python_script(const std::string& python, const std::filesystem::path& script_path, const std::string& script,
                                std::initializer_list<std::string> arguments);

void write_text(const std::filesystem::path& path, const std::string& contents);
// A 16-bit PCM mono wav of `samples`.
void write_wav(const std::filesystem::path& path, const std::vector<std::int16_t>& samples, std::uint32_t rate = 16000);
// A sine at 16 kHz.
std::vector<std::int16_t> tone(double seconds, double frequency, double amplitude = 8000);
std::string read_text(const std::filesystem::path& path);
// The file's contents, or empty when there is no such file.
std::string read_text_or_empty(const std::filesystem::path& path);

// In-repo fixtures, always present: tests/data/golden (our parity arrays) and tests/data/audio
// (musicnn's two demo clips). See tests/data/README.md.
std::filesystem::path test_data();
// musicnn's MSD_vgg Keras weights and its 50 tags in output order, in the repo (models/musicnn).
std::filesystem::path musicnn_weights();
std::filesystem::path msd_tags();

// ../shared/data beside the checkout: data we may not redistribute (apm_cavs, deezer_table1,
// philharmonia_dev), which never enters the repo. Reach its files with CONCEPTREE_REQUIRE_SHARED.
std::filesystem::path shared_data();

// Where a file of ../shared/data is, or why a test cannot have it.
struct SharedFile {
  enum class Status {
    found,    // the file exists: `path`
    skip,     // ../shared/data is not beside the checkout at all: the test skips
    missing,  // ../shared/data is there but lacks the file: the test fails
  };
  Status status = Status::missing;
  std::filesystem::path path;  // shared_data() / relative, found or not
  std::string message;         // one line naming the file and why it is not there; empty when found
};
// Looks up `relative` (e.g. "deezer_table1/usage_embeddings.npy") under shared_data().
SharedFile shared_file(const std::string& relative);

// Values of src= and href= attributes that point off the page: http(s) or protocol-relative URLs.
std::vector<std::string> remote_references(const std::string& html);

// Expects an HTML page that works offline: nothing remote, no stylesheet link or external
// script, d3 inlined, and exactly `scripts` script elements each closed where it should be (a
// label that closes one early adds an element).
void expect_self_contained_page(const std::string& html, std::size_t scripts);

// The data object an HTML page embeds as `const VARIABLE = {...};` (the report's, the explanation
// page's); null when it is not there.
nlohmann::json page_data(const std::string& html, const std::string& variable);

// Headless Chromium (Debian's `chromium`) for the browser tests of the HTML pages: its path, or
// empty when it is not installed (the tests then skip with kNoChromium).
std::string chromium();
inline constexpr const char* kNoChromium = "chromium is not installed (scripts/setup.sh installs it)";
// Shell text running Chromium headless, without sandbox, GPU or background networking, in a fresh
// profile under `profile`, with `arguments` appended.
std::string chromium_command(const ScratchDir& profile, const std::string& arguments);

// A page opened at #selftest=VALUE: what its script wrote into <pre id="selftest"> (null when
// nothing), every console line Chromium logged (the pages log none), and Chromium's whole log.
struct BrowserRun {
  nlohmann::json selftest;
  std::vector<std::string> console;
  std::string log;
};
BrowserRun open_selftest(const std::filesystem::path& page, const std::string& value);

// A PNG of `page` opened at `fragment` (e.g. "#search=c03", or empty) in a window of `window_size`
// ("1400,1000"), written to `png`.
CommandResult take_screenshot(const std::filesystem::path& page, const std::string& fragment, const std::filesystem::path& png,
                              const std::string& window_size);
// Where a test keeps a file for people to look at afterwards (a screenshot): beside the test programs.
std::filesystem::path test_artefact(const std::string& file_name);

// The InputError `action` throws, or nothing: lets a test inspect the item and problem it names.
template <class Action>
std::optional<InputError> input_error_from(Action&& action) {
  try {
    action();
  } catch (const InputError& error) {
    return error;
  }
  return std::nullopt;
}

}  // namespace conceptree::testing

// In a test body: declares `const std::filesystem::path var`, the file `relative` of
// ../shared/data. Skips the test (GTEST_SKIP) when ../shared/data does not exist at all, a clone
// without it; fails the test (FAIL) when ../shared/data exists but lacks the file, so where the
// data is meant to be (CI) nothing skips silently. Use it once per file the test reads.
#define CONCEPTREE_REQUIRE_SHARED(var, relative)                                                               \
  const ::conceptree::testing::SharedFile var##_shared_lookup_ = ::conceptree::testing::shared_file(relative); \
  if (var##_shared_lookup_.status == ::conceptree::testing::SharedFile::Status::skip) {                        \
    GTEST_SKIP() << var##_shared_lookup_.message;                                                              \
  }                                                                                                            \
  if (var##_shared_lookup_.status == ::conceptree::testing::SharedFile::Status::missing) {                     \
    FAIL() << var##_shared_lookup_.message;                                                                    \
  }                                                                                                            \
  const std::filesystem::path var = var##_shared_lookup_.path
