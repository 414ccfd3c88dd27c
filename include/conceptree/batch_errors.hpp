#pragma once
// The policy for bad items in long batch jobs: skip, name and count each one and go on, or stop
// at the first one under --strict. Skipped items are listed in <output>.errors.tsv.

#include <cstddef>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "conceptree/context.hpp"
#include "conceptree/error.hpp"

namespace conceptree {

struct BadItem {
  std::string item;
  std::string problem;
};

class BatchErrors {
 public:
  // Skipped items are told to the user through `context`, which must outlive this object.
  BatchErrors(bool strict, const Context& context) : strict_(strict), context_(context) {}

  // Records a skipped item and tells the user; under --strict throws FatalError instead.
  void report(const InputError& error);
  std::size_t count() const;
  std::vector<BadItem> items() const;
  bool strict() const { return strict_; }

  // Writes `item<TAB>problem` lines to the errors file of `output` (or removes a stale one when
  // nothing was skipped). Returns the file's path, empty when there was nothing to write.
  std::filesystem::path write_report(const std::filesystem::path& output) const;

  static std::filesystem::path report_path(const std::filesystem::path& output);

 private:
  bool strict_;
  const Context& context_;
  mutable std::mutex mutex_;
  std::vector<BadItem> items_;
};

}  // namespace conceptree
