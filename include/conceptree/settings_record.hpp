#pragma once
// A config's settings as JSON, read through its parameter declarations (conceptree/params.hpp):
// what a job records with its outputs (concept set attributes, hierarchy params, demo.json, the
// bootstrap's settings) and in its resume fingerprints, so no list of settings is kept by hand.
//   auto settings = record_settings([&](auto&& v) { visit_except(config, {"output", "jobs"}, v); });
// Keys are the option names with '_' for '-' ("min_tracks"); choices are their names.

#include <nlohmann/json.hpp>

#include <string>

#include "conceptree/params.hpp"

namespace conceptree {

template <class T>
nlohmann::ordered_json setting_json(const T& value) {
  if constexpr (Choice<T>) {
    return std::string(choice_name(value));
  } else if constexpr (IsOptionalChoice<T>::value) {
    return value ? nlohmann::ordered_json(std::string(choice_name(*value))) : nlohmann::ordered_json();
  } else {
    return value;
  }
}

inline std::string setting_key(const char* option) {
  std::string key(option);
  for (char& c : key)
    if (c == '-') c = '_';
  return key;
}

// `visit` is called with a visitor and must pass it every parameter to record.
template <class Visit>
nlohmann::ordered_json record_settings(Visit&& visit) {
  nlohmann::ordered_json settings = nlohmann::ordered_json::object();
  visit([&settings](const auto& value, const ParamSpec& spec) { settings[setting_key(spec.name)] = setting_json(value); });
  return settings;
}

}  // namespace conceptree
