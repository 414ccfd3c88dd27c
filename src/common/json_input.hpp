#pragma once
// JSON read from user files. nlohmann's parser is iterative, but copying, comparing and dumping a
// document recurse once per nesting level, so a file nested 100,000 deep would overflow the
// stack later on; no conceptree file nests deeper than a handful of levels.

#include <istream>
#include <string>

#include <nlohmann/json.hpp>

#include "conceptree/error.hpp"

namespace conceptree {

inline constexpr int kMaxJsonDepth = 64;

// Parses `in` as JSON (Json: nlohmann::json or nlohmann::ordered_json); throws InputError(name, ...)
// when it is not valid JSON or nests deeper than kMaxJsonDepth.
template <class Json>
Json parse_json_input(std::istream& in, const std::string& name) {
  const auto limit_depth = [&](int depth, nlohmann::json::parse_event_t event, Json&) {
    if ((event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth) {
      throw InputError(name, "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    return true;
  };
  try {
    return Json::parse(in, limit_depth);
  } catch (const nlohmann::json::exception& error) {
    throw InputError(name, std::string("not valid JSON: ") + error.what());
  }
}

}  // namespace conceptree
