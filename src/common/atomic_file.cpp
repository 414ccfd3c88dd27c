#include "conceptree/atomic_file.hpp"

#include <unistd.h>

#include <fstream>
#include <string>
#include <system_error>

#include "conceptree/error.hpp"

namespace conceptree {
namespace fs = std::filesystem;

AtomicOutput::AtomicOutput(fs::path final_path, TempKind kind) : final_path_(std::move(final_path)), kind_(kind) {
  temp_path_ = final_path_;
  temp_path_ += kind == TempKind::Resumable ? ".partial" : ".tmp." + std::to_string(::getpid());
  const fs::path parent = final_path_.parent_path();
  if (!parent.empty() && !fs::is_directory(parent)) {
    throw FatalError(final_path_.string() + ": output folder " + parent.string() + " does not exist");
  }
}

AtomicOutput::~AtomicOutput() {
  if (!done_ && kind_ == TempKind::Scratch) {
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

void AtomicOutput::discard() {
  std::error_code ignored;
  fs::remove(temp_path_, ignored);
  done_ = true;
}

void write_file_atomically(const fs::path& path, const std::string& contents) {
  AtomicOutput output(path, TempKind::Scratch);
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
