#pragma once
// Messages for the person running a job. Everything goes to stderr so stdout stays clean for data.

#include <string_view>

namespace conceptree {

enum class Verbosity { Quiet, Normal };

void set_verbosity(Verbosity verbosity);
Verbosity verbosity();

void log_info(std::string_view message);     // dropped when quiet
void log_warning(std::string_view message);  // always shown, prefixed "warning: "

}  // namespace conceptree
