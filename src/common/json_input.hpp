#pragma once
// JSON read from user files. nlohmann's parser is iterative, but copying, comparing and dumping a
// document recurse once per nesting level, so a file nested 100,000 deep would overflow the
// stack later on; no conceptree file nests deeper than a handful of levels.

#include <algorithm>
#include <istream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "conceptree/error.hpp"

namespace conceptree {

inline constexpr int kMaxJsonDepth = 64;

// The deepest nesting of arrays and objects in JSON text, counted outside strings. A separate pass:
// nlohmann's callback parser, which could count while parsing, rescans a parent array each time a
// child closes, which is quadratic in a long list.
inline int json_nesting_depth(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// Parses `in` as JSON (Json: nlohmann::json or nlohmann::ordered_json); throws InputError(name, ...)
// when it is not valid JSON or nests deeper than kMaxJsonDepth.
template <class Json>
Json parse_json_input(std::istream& in, const std::string& name) {
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (json_nesting_depth(text) > kMaxJsonDepth) {
    throw InputError(name, "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::exception& error) {
    throw InputError(name, std::string("not valid JSON: ") + error.what());
  }
}

}  // namespace conceptree
