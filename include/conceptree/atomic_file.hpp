#pragma once
// An output that only appears under its final name once it is complete, so a killed run never
// leaves a corrupt file there.

#include <filesystem>
#include <string>

namespace conceptree {

// Written as PATH.tmp.<pid> and renamed onto PATH by commit(); the temporary file is removed when
// the job fails. One that a killed run left (its process is gone) is removed by the next
// AtomicOutput of the same PATH, so a rerun leaves no stray temporaries.
class AtomicOutput {
 public:
  explicit AtomicOutput(std::filesystem::path final_path);
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  ~AtomicOutput();

  const std::filesystem::path& temp_path() const { return temp_path_; }
  const std::filesystem::path& final_path() const { return final_path_; }
  // Renames the temporary file onto the final path (atomic within one file system).
  void commit();

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  bool done_ = false;
};

// PATH.partial: the progress journal a resumable job keeps beside its output (conceptree/journal.hpp).
std::filesystem::path partial_path(const std::filesystem::path& final_path);

// Throws FatalError when `path` exists and the user did not ask to overwrite it.
void refuse_to_overwrite(const std::filesystem::path& path, bool overwrite);

// Writes `contents` to `path` through a scratch file and a rename.
void write_file_atomically(const std::filesystem::path& path, const std::string& contents);

}  // namespace conceptree
