#pragma once
// One declaration per parameter (name, default, range, one-line description), visited by the CLI
// to build its options and by the library to validate a config, so the two never drift apart.
//
// A config struct declares its parameters once:
//   template <class Visitor> void visit(Visitor&& v) {
//     v(layer, {.name = "layer", .help = "name of the frames dataset"});
//     v(dim, {.name = "dim", .help = "...", .min = 0, .max = 1 << 20});
//   }

#include <cmath>
#include <concepts>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "conceptree/error.hpp"
#include "conceptree/strings.hpp"

namespace conceptree {

struct ParamSpec {
  const char* name;                   // option name without dashes ("min-tracks")
  const char* help;                   // one line, shown by --help
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices{};  // allowed values of a string parameter; empty = any
  bool choice_list = false;           // the string is a comma-separated list of choices
  bool positional = false;            // given without a flag
  bool required = false;
  const char* short_name = nullptr;   // one letter, e.g. "o"
};

// Throws FatalError when a value lies outside its declared range or choices.
class ParamValidator {
 public:
  template <class T>
  void operator()(const T& value, const ParamSpec& spec) const {
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      const double v = static_cast<double>(value);
      if (!(v >= spec.min && v <= spec.max)) {
        throw FatalError("--" + std::string(spec.name) + " = " + std::to_string(value) + " is outside [" +
                         format_bound(spec.min) + ", " + format_bound(spec.max) + "]");
      }
    } else if constexpr (std::is_same_v<T, std::vector<double>>) {
      if (value.empty()) throw FatalError("--" + std::string(spec.name) + " needs at least one value");
      for (double element : value) (*this)(element, spec);
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (spec.required && value.empty()) throw FatalError("--" + std::string(spec.name) + " is required");
      if (!spec.choices.empty() && !value.empty()) {
        for (const auto& item : spec.choice_list ? split(value, ',') : std::vector<std::string>{value}) {
          if (!is_choice(item, spec)) {
            throw FatalError("--" + std::string(spec.name) + " = '" + item + "' is not one of: " + join_choices(spec));
          }
        }
      }
    }
  }

 private:
  static bool is_choice(const std::string& value, const ParamSpec& spec) {
    for (const auto& choice : spec.choices)
      if (choice == value) return true;
    return false;
  }
  static std::string join_choices(const ParamSpec& spec) {
    std::string allowed;
    for (const auto& choice : spec.choices) allowed += (allowed.empty() ? "" : ", ") + choice;
    return allowed;
  }

  static std::string format_bound(double bound) {
    if (std::isinf(bound)) return bound < 0 ? "-inf" : "inf";
    const auto as_int = static_cast<long long>(bound);
    return static_cast<double>(as_int) == bound ? std::to_string(as_int) : std::to_string(bound);
  }
};

template <class Config>
void validate(Config& config) {
  config.visit(ParamValidator{});
}

}  // namespace conceptree

namespace conceptree {

// Visits only the named parameters of `config`: lets a composite job (the demo) offer some of a
// stage's options under the stage's own declarations instead of repeating them.
template <class Config, class Visitor>
void visit_only(Config& config, std::initializer_list<std::string_view> names, Visitor&& visitor) {
  config.visit([&](auto& value, const ParamSpec& spec) {
    for (std::string_view name : names) {
      if (name == spec.name) {
        visitor(value, spec);
        return;
      }
    }
  });
}

// Visits every parameter of `config` but the named ones: a job built on a stage (the bootstrap on
// train) offers the stage's settings under their own declarations and supplies the rest itself.
template <class Config, class Visitor>
void visit_except(Config& config, std::initializer_list<std::string_view> names, Visitor&& visitor) {
  config.visit([&](auto& value, const ParamSpec& spec) {
    for (std::string_view name : names) {
      if (name == spec.name) return;
    }
    visitor(value, spec);
  });
}

}  // namespace conceptree
