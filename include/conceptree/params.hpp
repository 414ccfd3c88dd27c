#pragma once
// One declaration per parameter (name, default, range, one-line description), visited by the CLI
// to build its options and by the library to validate a config, so the two never drift apart.
//
// A config struct declares its parameters once:
//   template <class Visitor> void visit(Visitor&& v) {
//     v(layer, {.name = "layer", .help = "name of the frames dataset"});
//     v(dim, {.name = "dim", .help = "...", .min = 0, .max = 1 << 20});
//   }

#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "conceptree/error.hpp"
#include "conceptree/strings.hpp"

namespace conceptree {

// A parameter with a fixed set of values is an enum class with one table of names, declared once
// beside the enum; the CLI's options, the validators, the Python bindings, the recorded settings
// and the docs all read the names from it:
//   enum class LargeConcepts { Sample, Skip };
//   template <> inline constexpr ChoiceNames<LargeConcepts, 2> kChoiceNames<LargeConcepts>{{{
//       {LargeConcepts::Sample, "sample"}, {LargeConcepts::Skip, "skip"}}}};
// A std::optional<Enum> parameter is a choice that may be left unset (the job decides).
template <class E, std::size_t N>
struct ChoiceNames {
  std::array<std::pair<E, std::string_view>, N> names;
};
template <class E>
inline constexpr std::nullptr_t kChoiceNames = nullptr;

template <class E>
concept Choice = std::is_enum_v<E> && !std::is_same_v<std::remove_cvref_t<decltype(kChoiceNames<E>)>, std::nullptr_t>;

template <Choice E>
constexpr std::string_view choice_name(E value) {
  for (const auto& [choice, name] : kChoiceNames<E>.names)
    if (choice == value) return name;
  return "?";
}

template <Choice E>
constexpr std::optional<E> parse_choice(std::string_view name) {
  for (const auto& [choice, choice_text] : kChoiceNames<E>.names)
    if (choice_text == name) return choice;
  return std::nullopt;
}

template <Choice E>
std::vector<std::string> choice_names() {
  std::vector<std::string> names;
  for (const auto& entry : kChoiceNames<E>.names) names.emplace_back(entry.second);
  return names;
}

// `name` as a value of E; throws FatalError naming the option and the allowed values otherwise.
template <Choice E>
E parse_choice_option(std::string_view name, std::string_view option) {
  if (const auto choice = parse_choice<E>(name)) return *choice;
  std::string allowed;
  for (const auto& entry : kChoiceNames<E>.names) allowed += (allowed.empty() ? "" : ", ") + std::string(entry.second);
  throw FatalError("--" + std::string(option) + " = '" + std::string(name) + "' is not one of: " + allowed);
}

template <class T>
struct IsOptionalChoice : std::false_type {};
template <Choice E>
struct IsOptionalChoice<std::optional<E>> : std::true_type {
  using type = E;
};

struct ParamSpec {
  const char* name;                   // option name without dashes ("min-tracks")
  const char* help;                   // one line, shown by --help
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices{};  // allowed values of a string parameter; empty = any (enum parameters: their table)
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
    } else if constexpr (IsOptionalChoice<T>::value) {
      if (spec.required && !value) throw FatalError("--" + std::string(spec.name) + " is required");
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
