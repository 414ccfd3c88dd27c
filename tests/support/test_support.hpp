#pragma once
// Helpers shared by the test programs: scratch folders, running the CLI, the Python peer.

#include <gtest/gtest.h>

#include "conceptree/error.hpp"

#include <filesystem>
#include <initializer_list>
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

// /usr/bin/python3 when it has numpy and h5py (Debian packages), else empty.
std::string python_with_h5py();
// /usr/bin/python3 when it has networkx (Debian python3-networkx), else empty: the reference for
// graph algorithms and a real GraphML reader.
std::string python_with_networkx();

// Writes `script` to `script_path` and runs it with `python` and the quoted `arguments`.
CommandResult run_python_script(const std::string& python, const std::filesystem::path& script_path, const std::string& script,
                                std::initializer_list<std::string> arguments);

void write_text(const std::filesystem::path& path, const std::string& contents);
std::string read_text(const std::filesystem::path& path);

std::filesystem::path shared_data();

// The InputError `action` throws, or nothing: lets a test inspect the item and problem it names.
template <class Action>
std::optional<InputError> input_error_from(Action&& action) {
  try {
    action();
  } catch (const InputError& error) {
    return error;
  }
  return std::nullopt;
}  // ../shared/data beside the checkout

}  // namespace conceptree::testing
