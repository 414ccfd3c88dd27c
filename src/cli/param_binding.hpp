#pragma once
// Turns a config struct's parameter declarations (conceptree/params.hpp) into CLI11 options.

#include <CLI/CLI.hpp>

#include <string>
#include <type_traits>
#include <utility>

#include "conceptree/params.hpp"
#include "conceptree/strings.hpp"

namespace conceptree::cli {

class OptionBinder {
 public:
  explicit OptionBinder(CLI::App& app) : app_(app) {}

  template <class T>
  void operator()(T& value, const ParamSpec& spec) {
    std::string names = spec.positional ? std::string(spec.name) : "--" + std::string(spec.name);
    if (spec.short_name) names = "-" + std::string(spec.short_name) + "," + names;
    CLI::Option* option = nullptr;
    if constexpr (std::is_same_v<T, bool>) {
      option = app_.add_flag(names, value, spec.help);
    } else if constexpr (Choice<T> || IsOptionalChoice<T>::value) {
      option = add_choice(names, value, spec);
    } else {
      option = app_.add_option(names, value, spec.help);
      if (!spec.required) option->capture_default_str();
      if constexpr (std::is_arithmetic_v<T>) {
        if (spec.min > -std::numeric_limits<double>::infinity() || spec.max < std::numeric_limits<double>::infinity()) {
          option->check(CLI::Range(spec.min, spec.max));
        }
      }
      if (!spec.choices.empty() && spec.choice_list) {
        option->check(CLI::Validator(
            [spec](std::string& value) {
              try {
                ParamValidator{}(value, spec);
              } catch (const FatalError& error) {
                return std::string(error.what());
              }
              return std::string();
            },
            "{" + join(spec.choices, ",") + "},..."));
      } else if (!spec.choices.empty()) {
        option->check(CLI::IsMember(spec.choices));
      }
    }
    if (spec.required) option->required();
  }

 private:
  // An enum parameter: given by name, checked against its table, shown with its default's name.
  template <class T>
  CLI::Option* add_choice(const std::string& names, T& value, const ParamSpec& spec) {
    using Enum = typename std::conditional_t<Choice<T>, std::type_identity<T>, IsOptionalChoice<T>>::type;
    CLI::Option* option = app_.add_option_function<std::string>(
        names, [&value, spec](const std::string& name) { value = parse_choice_option<Enum>(name, spec.name); }, spec.help);
    option->check(CLI::IsMember(choice_names<Enum>()));
    if constexpr (Choice<T>) {
      option->default_str(std::string(choice_name(value)));
    } else if (value) {
      option->default_str(std::string(choice_name(*value)));
    }
    return option;
  }

  CLI::App& app_;
};

template <class Config>
void bind_options(CLI::App& app, Config& config) {
  config.visit(OptionBinder(app));
}

}  // namespace conceptree::cli
