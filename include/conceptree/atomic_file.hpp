#pragma once
// An output that only appears under its final name once it is complete, so a killed run never
// leaves a corrupt file there.

#include <filesystem>

namespace conceptree {

enum class TempKind {
  Scratch,    // PATH.tmp.<pid>: removed when the job fails
  Resumable,  // PATH.partial: kept when the job is killed or fails, so the same command can resume
};

class AtomicOutput {
 public:
  AtomicOutput(std::filesystem::path final_path, TempKind kind);
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  ~AtomicOutput();

  const std::filesystem::path& temp_path() const { return temp_path_; }
  const std::filesystem::path& final_path() const { return final_path_; }
  // Renames the temporary file onto the final path (atomic within one file system).
  void commit();
  // Removes the temporary file, e.g. when --strict stops a job.
  void discard();

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  TempKind kind_;
  bool done_ = false;
};

// Throws FatalError when `path` exists and the user did not ask to overwrite it.
void refuse_to_overwrite(const std::filesystem::path& path, bool overwrite);

// Writes `contents` to `path` through a scratch file and a rename.
void write_file_atomically(const std::filesystem::path& path, const std::string& contents);

}  // namespace conceptree
