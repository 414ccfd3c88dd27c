#include "conceptree/context.hpp"

#include <cstdio>
#include <string>

namespace conceptree {

namespace {
void write_line(std::string_view prefix, std::string_view text) {
  std::string line = "conceptree: ";
  line += prefix;
  line += text;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}
}  // namespace

void Context::info(std::string_view text) const {
  if (quiet) return;
  if (messages) {
    messages(MessageLevel::Info, text);
  } else {
    write_line("", text);
  }
}

void Context::warning(std::string_view text) const {
  if (messages) {
    messages(MessageLevel::Warning, text);
  } else {
    write_line("warning: ", text);
  }
}

const Context& default_context() {
  static const Context context;
  return context;
}

}  // namespace conceptree
