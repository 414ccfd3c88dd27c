#pragma once
// Plain-text inputs read line by line: tab-separated tables (memberships, taxonomies, labels, audio
// lists) and lists with one entry per line (track ids, concept names), all under the same rules.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace conceptree {

// One non-blank line of a tab-separated file.
struct TsvLine {
  const std::filesystem::path& file;
  std::size_t number;               // 1-based, blank lines counted, as an editor shows it
  std::vector<std::string> fields;  // split on every '\t', so empty fields stay where they were

  // "file:number", the item of an InputError about this line.
  std::string where() const;
  // The fields from `first` on as the line held them, tabs included: a last column of free text
  // (a label, a path) or a whole line.
  std::string text_from(std::size_t first) const;
};

// Tells a header line by its fields; it is asked about the first non-blank line only.
using TsvHeaderTest = std::function<bool(const std::vector<std::string>& fields)>;

// Calls `visit` for each line of `path` in order, after dropping a trailing '\r' (CRLF files) and
// skipping lines of only spaces and tabs, and a first line that `is_header` (when given) accepts.
// Throws InputError naming the file when it cannot be opened or read.
void for_each_tsv_line(const std::filesystem::path& path, const std::function<void(const TsvLine&)>& visit,
                       const TsvHeaderTest& is_header = {});

// One entry per line, read as above; blank lines at the end are allowed. Throws InputError naming
// the file and line for a blank line inside the list.
std::vector<std::string> read_text_list(const std::filesystem::path& path);

}  // namespace conceptree
