#include "conceptree/log.hpp"

#include <atomic>
#include <cstdio>
#include <string>

namespace conceptree {

namespace {
std::atomic<Verbosity> current_verbosity{Verbosity::Normal};

void write_line(std::string_view prefix, std::string_view message) {
  std::string line = "conceptree: ";
  line += prefix;
  line += message;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}
}  // namespace

void set_verbosity(Verbosity verbosity) { current_verbosity = verbosity; }
Verbosity verbosity() { return current_verbosity; }

void log_info(std::string_view message) {
  if (current_verbosity == Verbosity::Normal) write_line("", message);
}

void log_warning(std::string_view message) { write_line("warning: ", message); }

}  // namespace conceptree
