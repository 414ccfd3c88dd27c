#include "conceptree/batch_errors.hpp"

#include <system_error>

#include "conceptree/atomic_file.hpp"
#include "conceptree/names.hpp"

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

std::filesystem::path BatchErrors::write_report(const std::filesystem::path& output) const {
  const auto path = report_path(output);
  const auto skipped = items();
  if (skipped.empty()) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
    return {};
  }
  std::string contents = "item\tproblem\n";
  // Printable, so a tab or newline in a name cannot break the two-column layout.
  for (const auto& bad : skipped) contents += printable_name(bad.item) + "\t" + printable_name(bad.problem) + "\n";
  write_file_atomically(path, contents);
  return path;
}

}  // namespace conceptree
