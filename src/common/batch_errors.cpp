#include "conceptree/batch_errors.hpp"

#include <system_error>

#include "conceptree/atomic_file.hpp"

namespace conceptree {

void BatchErrors::report(const InputError& error) {
  if (strict_) throw FatalError(std::string(error.what()) + " (stopped by --strict)");
  std::lock_guard lock(mutex_);
  items_.push_back({error.item(), error.problem()});
  context_.warning("skipping " + std::string(error.what()));
}

std::size_t BatchErrors::count() const {
  std::lock_guard lock(mutex_);
  return items_.size();
}

std::vector<BadItem> BatchErrors::items() const {
  std::lock_guard lock(mutex_);
  return items_;
}

std::filesystem::path BatchErrors::report_path(const std::filesystem::path& output) {
  std::filesystem::path path = output;
  path += ".errors.tsv";
  return path;
}

namespace {
// Tabs and newlines inside a field would break the two-column layout.
std::string tsv_field(std::string text) {
  for (char& c : text)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return text;
}
}  // namespace

std::filesystem::path BatchErrors::write_report(const std::filesystem::path& output) const {
  const auto path = report_path(output);
  const auto skipped = items();
  if (skipped.empty()) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
    return {};
  }
  std::string contents = "item\tproblem\n";
  for (const auto& bad : skipped) contents += tsv_field(bad.item) + "\t" + tsv_field(bad.problem) + "\n";
  write_file_atomically(path, contents);
  return path;
}

}  // namespace conceptree
