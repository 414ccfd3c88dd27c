#include "conceptree/text_list.hpp"

#include <fstream>
#include <utility>

#include "conceptree/error.hpp"

namespace conceptree {

namespace {

std::vector<std::string> split_tabs(const std::string& text) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t tab = text.find('\t', start);
    fields.push_back(text.substr(start, tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

}  // namespace

std::string TsvLine::where() const { return file.string() + ":" + std::to_string(number); }

std::string TsvLine::text_from(std::size_t first) const {
  std::string text;
  for (std::size_t i = first; i < fields.size(); ++i) {
    if (i > first) text += '\t';
    text += fields[i];
  }
  return text;
}

void for_each_tsv_line(const std::filesystem::path& path, const std::function<void(const TsvLine&)>& visit,
                       const TsvHeaderTest& is_header) {
  std::ifstream stream(path);
  if (!stream) throw InputError(path.string(), "cannot open");
  bool header_possible = static_cast<bool>(is_header);
  std::string text;
  for (std::size_t number = 1; std::getline(stream, text); ++number) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    const TsvLine line{path, number, split_tabs(text)};
    if (std::exchange(header_possible, false) && is_header(line.fields)) continue;
    visit(line);
  }
  if (stream.bad()) throw InputError(path.string(), "read error");
}

std::vector<std::string> read_text_list(const std::filesystem::path& path) {
  std::vector<std::string> entries;
  std::size_t previous_number = 0;
  for_each_tsv_line(path, [&](const TsvLine& line) {
    // Entries are matched to rows by position (ids to an array's rows, names to weights), so a
    // skipped line inside the list would shift every later entry: it is an error instead.
    if (line.number != previous_number + 1) {
      throw InputError(path.string() + ":" + std::to_string(previous_number + 1), "empty line in a list of names");
    }
    entries.push_back(line.text_from(0));
    previous_number = line.number;
  });
  return entries;
}

}  // namespace conceptree
