#include "conceptree/atomic_file.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <string>
#include <system_error>

#include "conceptree/error.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

constexpr const char* kScratchInfix = ".tmp.";

// Removes the PATH.tmp.<pid> files of processes that no longer exist: runs killed before they
// could remove their own. A live process's file (another run writing the same output) is kept.
void remove_abandoned_scratch_files(const fs::path& final_path) {
  const fs::path folder = final_path.parent_path().empty() ? fs::path(".") : final_path.parent_path();
  const std::string prefix = final_path.filename().string() + kScratchInfix;
  std::error_code error;
  for (fs::directory_iterator entry(folder, error), end; !error && entry != end; entry.increment(error)) {
    const std::string name = entry->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.empty() || digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); })) continue;
    const auto pid = static_cast<pid_t>(std::stol(digits));
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code ignored;
    fs::remove(entry->path(), ignored);
  }
}

}  // namespace

AtomicOutput::AtomicOutput(fs::path final_path) : final_path_(std::move(final_path)) {
  temp_path_ = final_path_;
  temp_path_ += kScratchInfix + std::to_string(::getpid());
  const fs::path parent = final_path_.parent_path();
  if (!parent.empty() && !fs::is_directory(parent)) {
    throw FatalError(final_path_.string() + ": output folder " + parent.string() + " does not exist");
  }
  remove_abandoned_scratch_files(final_path_);
}

AtomicOutput::~AtomicOutput() {
  if (!done_) {
    std::error_code ignored;
    fs::remove(temp_path_, ignored);
  }
}

void AtomicOutput::commit() {
  std::error_code error;
  fs::rename(temp_path_, final_path_, error);
  if (error) throw FatalError(final_path_.string() + ": cannot move finished output into place: " + error.message());
  done_ = true;
}

fs::path partial_path(const fs::path& final_path) {
  fs::path partial = final_path;
  partial += ".partial";
  return partial;
}

void write_file_atomically(const fs::path& path, const std::string& contents) {
  AtomicOutput output(path);
  {
    std::ofstream stream(output.temp_path(), std::ios::binary | std::ios::trunc);
    stream.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    stream.flush();
    if (!stream) throw FatalError(path.string() + ": cannot write file");
  }
  output.commit();
}

void refuse_to_overwrite(const std::filesystem::path& path, bool overwrite) {
  if (!overwrite && std::filesystem::exists(path)) {
    throw FatalError(path.string() + ": already exists (pass --overwrite to replace it)");
  }
}

}  // namespace conceptree
