#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

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

}  // namespace conceptree
