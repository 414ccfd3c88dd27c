#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace conceptree {

// "a, b, c"; with `limit`, at most that many items followed by ", ..." when there are more.
inline std::string join(std::span<const std::string> items, std::string_view separator,
                        std::size_t limit = static_cast<std::size_t>(-1)) {
  std::string text;
  for (std::size_t i = 0; i < items.size() && i < limit; ++i) {
    if (i > 0) text += separator;
    text += items[i];
  }
  if (items.size() > limit) {
    text += separator;
    text += "...";
  }
  return text;
}

// The items of a `separator`-separated list; empty items are kept ("a,,b" has three).
inline std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> items;
  std::size_t start = 0;
  for (std::size_t at; (at = text.find(separator, start)) != std::string_view::npos; start = at + 1) {
    items.emplace_back(text.substr(start, at - start));
  }
  items.emplace_back(text.substr(start));
  return items;
}

}  // namespace conceptree
