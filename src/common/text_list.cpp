#include "conceptree/text_list.hpp"

#include <fstream>

#include "conceptree/error.hpp"

namespace conceptree {

std::vector<std::string> read_text_list(const std::filesystem::path& path) {
  std::ifstream stream(path);
  if (!stream) throw InputError(path.string(), "cannot open");
  std::vector<std::string> entries;
  std::string line;
  while (std::getline(stream, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    entries.push_back(line);
  }
  if (stream.bad()) throw InputError(path.string(), "read error");
  while (!entries.empty() && entries.back().empty()) entries.pop_back();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].empty()) throw InputError(path.string() + ":" + std::to_string(i + 1), "empty line in a list of names");
  }
  return entries;
}

}  // namespace conceptree
