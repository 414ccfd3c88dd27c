#pragma once
// Plain-text lists with one entry per line (track ids, concept names).

#include <filesystem>
#include <string>
#include <vector>

namespace conceptree {

// One entry per line; a trailing '\r' is dropped and so are trailing empty lines. Throws
// InputError naming the file and line for an unreadable file or an empty line inside the list.
std::vector<std::string> read_text_list(const std::filesystem::path& path);

}  // namespace conceptree
